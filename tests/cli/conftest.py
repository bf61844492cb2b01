"""Helpers for driving the ``cosearch`` command as a subprocess."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import pathlib
import subprocess
import sys
import textwrap
import traceback
import warnings

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


def cosearch(*args, cwd=None, env=None, timeout=120, process=False) -> subprocess.CompletedProcess:
    """Run ``cosearch ARGS`` and capture its output and exit code.

    In this process by default: a cold ``python -m cosearch`` costs ~0.7 s of imports before it does
    anything, and the suite ran it well over a hundred times. ``cosearch.cli.main`` is what the console
    script calls (it restores the SIGTERM handler it sets), and the call is made to look like the
    program's: its working directory and environment, stdout and stderr captured as pipes (not a
    terminal), argparse's ``SystemExit`` as the exit code, an exception escaping ``main`` printed as the
    interpreter prints it (``Traceback ...``, exit 1), warnings under the interpreter's default filters
    and WARNING log records without a handler of their own written to stderr, as ``logging.lastResort``
    writes them; the dataflow and platform registries are put back as they were. ``process=True``
    runs the real command: for tests about the process boundary (the real exit code, a lock held by another process, Ray's start-up, what the interpreter prints) and
    about output of libraries whose log handlers hold the stream they were created with (Optuna's).
    ``timeout`` applies to a process only.
    """
    full_env = {k: v for k, v in os.environ.items() if k != "COSEARCH_DEBUG"}
    full_env.update({"COLUMNS": "200", **(env or {})})
    if process:
        return subprocess.run([sys.executable, "-m", "cosearch", *map(str, args)], cwd=cwd, env=full_env,
                              capture_output=True, text=True, timeout=timeout)
    return _in_process([str(a) for a in args], cwd, full_env)


def _in_process(argv: list[str], cwd, env: dict) -> subprocess.CompletedProcess:
    from cosearch.cli import main
    from spaces.hardware import DATAFLOWS, PLATFORMS

    # A platform file registers the dataflows it declares, for the rest of its process: a command's own
    # process ends, so the registries are put back as they were (later tests list them in messages).
    registered = [(registry, dict(registry)) for registry in (DATAFLOWS, PLATFORMS)]
    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    last_resort = logging.StreamHandler(err)
    last_resort.setLevel(logging.WARNING)
    root = logging.getLogger()
    try:
        os.environ.clear()
        os.environ.update(env)
        if cwd is not None:
            os.chdir(cwd)
        root.addHandler(last_resort)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            warnings.resetwarnings()  # Python 3.11's defaults, as a fresh interpreter has them
            warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
            for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                warnings.filterwarnings("ignore", category=category, append=True)
            warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: err.write(
                warnings.formatwarning(message, category, filename, lineno, line))
            try:
                code = main(argv)
            except SystemExit as e:  # argparse: --help, --version, usage errors
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                if e.code is not None and not isinstance(e.code, int):
                    print(e.code, file=sys.stderr)
            except BaseException:  # what the interpreter does with an uncaught exception
                traceback.print_exc()
                code = 1
    finally:
        root.removeHandler(last_resort)
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        for registry, entries in registered:
            if dict(registry) != entries:
                registry.clear()
                registry.update(entries)
    return subprocess.CompletedProcess(["cosearch", *argv], code, out.getvalue(), err.getvalue())


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
