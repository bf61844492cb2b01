"""A tiny serving experiment run once per session and digested: tests of experiments/serving/overview.py
and of benchmarks/paper.py's serving section read it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Planaria's comparison in small: the co-search against PREMA's monolithic array and Planaria's subarrays (the
# labels overview.py's ratio table names), two cases, two seeds; about 6 s on one core.
SERVING_CONFIG = """\
name: serving_tiny
workload:
  models: [{model: mobilenet_v1}, {model: tiny_yolo}]
platform: {preset: edge, max_cores: 4}
space: {name: cosearch, options: {max_cores: 2, mapping: greedy}}
objective:
  minimize: []
  maximize: [qps_at_sla]
serving:
  arrival: {poisson: 20}
  requests: 30
  warmup: 5
  scenarios:
    - {name: QoS-S, qos: QoS-S}
    - {name: loose, qos: 4x isolated, requests: 25}
optimizers: [{name: cmaes, options: {popsize: 4}}]
seeds: 2
budget: 8
baselines:
  spaces:
    - {name: fda, options: {size: PE1024, dataflow: systolic}, label: prema, policy: prema}
    - {name: homogeneous_multicore, options: {cores: 4, size: PE256, dataflow: systolic}, label: planaria,
       policy: planaria}
  evaluations: 4
ray: false
"""


@pytest.fixture(scope="session")
def overview():
    """experiments/serving/overview.py (a script, not a package), under the name benchmarks/paper.py loads it by."""
    name = "serving_overview"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "experiments" / "serving" / "overview.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


@pytest.fixture(scope="session")
def serving_digest(tmp_path_factory, overview):
    """The tiny experiment's results directory, read (``experiment``) and digested into ``data/tiny.json``."""
    root = tmp_path_factory.mktemp("serving_digest")
    (root / "tiny.yaml").write_text(SERVING_CONFIG)
    subprocess.run([sys.executable, "-m", "cosearch", "run", str(root / "tiny.yaml"), "--no-ray",
                    "--out", str(root / "results")], check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    experiment = overview.read_experiment(root / "results")
    path = overview.write_digest(experiment, root / "results", root / "data")
    return types.SimpleNamespace(root=root, results=root / "results", data=root / "data", path=path,
                                 experiment=experiment)
