"""Helpers for driving the ``cosearch`` command as a subprocess."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]

# A small experiment: one light DNN twice, two optimizers × two seeds, one baseline.
TINY_CONFIG = """\
name: tiny
workload:
  models:
    - {model: mobilenet_v1, batch: 2}
    - {model: tiny_yolo, latency_target_s: 0.05}
platform: {preset: edge, max_cores: 3}
space: {name: cosearch, options: {max_cores: 3}}
objective: edp
optimizers:
  - name: cmaes
    options: {popsize: 8}
  - name: random
    options: {batch_size: 16}
seeds: 2
budget: {evaluations: 48}
baselines: {spaces: [fda], optimizer: random, evaluations: 16}
ray: {enabled: false}
"""


def cosearch(*args, cwd=None, env=None, timeout=120) -> subprocess.CompletedProcess:
    """Run ``python -m cosearch ARGS`` and capture its output."""
    full_env = {k: v for k, v in os.environ.items() if k != "COSEARCH_DEBUG"}
    full_env.update({"COLUMNS": "200", **(env or {})})
    return subprocess.run([sys.executable, "-m", "cosearch", *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def write_config(directory: pathlib.Path, text: str, name: str = "config.yaml") -> pathlib.Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(scope="session")
def tiny_results(tmp_path_factory) -> pathlib.Path:
    """The results directory of one finished tiny experiment (run once per session)."""
    root = tmp_path_factory.mktemp("tiny")
    config = write_config(root, TINY_CONFIG)
    result = cosearch("run", config, "--out", root / "results", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root / "results"
