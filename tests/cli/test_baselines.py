"""Baselines with options, labels and several seeds; each reports its best run."""

import json

import pytest
import yaml

from cosearch.config import ConfigError
from cosearch.config_loader import build, parse_config
from tests.cli.conftest import TINY_CONFIG, cosearch, write_config

BASELINES = """\
baselines:
  spaces:
    - {name: fda, options: {dataflow: ws_kc}, label: fda_ws}
    - {name: fda, options: {dataflow: os_yx}, label: fda_os}
    - homogeneous_multicore
  optimizer: random
  optimizer_options: {batch_size: 8}
  evaluations: 16
  seeds: 2
"""


def with_baselines(text):
    return TINY_CONFIG.replace("baselines: {spaces: [fda], optimizer: random, evaluations: 16}\n", text)


def test_each_baseline_runs_every_seed_and_reports_its_best(tmp_path):
    config = write_config(tmp_path, with_baselines(BASELINES))
    done = cosearch("run", config, "--out", tmp_path / "out", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert set(summary["baselines"]) == {"fda_ws", "fda_os", "homogeneous_multicore"}
    runs = {r["run_id"]: r for r in summary["runs"] if r["kind"] == "baseline"}
    assert set(runs) == {f"baseline-{b}-{s}" for b in ("fda_ws", "fda_os", "homogeneous_multicore") for s in (0, 1)}
    for label, entry in summary["baselines"].items():
        seeds = [runs[f"baseline-{label}-{s}"]["best_objectives"][0] for s in (0, 1)]
        assert entry["metrics"]["edp"] == pytest.approx(min(seeds))
        design = json.loads((tmp_path / "out" / entry["design"]).read_text())
        dataflows = {core["dataflow"] for core in design["design"]["cores"]}
        if label == "fda_ws":
            assert dataflows == {"ws_kc"}
        if label == "fda_os":
            assert dataflows == {"os_yx"}


@pytest.mark.parametrize(
    "baselines, message",
    [
        ("baselines: {spaces: [fda, fda]}\n", "baselines.spaces: baseline 'fda' is listed twice; give each a distinct label"),
        ("baselines: {spaces: [fda], seeds: 3}\n", "baselines.seeds: 3 baseline seeds but only 2 in seeds"),
        ("baselines: {spaces: [{name: fda, options: {dataflow: nvdla}}]}\n", "baselines.spaces[0]: option dataflow: unknown dataflow 'nvdla'"),
    ],
)
def test_bad_baselines_are_config_errors(baselines, message):
    with pytest.raises(ConfigError) as info:
        build(parse_config(yaml.safe_load(with_baselines(baselines))))
    assert message in str(info.value)
