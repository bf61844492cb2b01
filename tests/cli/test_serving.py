"""A small serving experiment through the CLI: search on request streams, the per-scenario table,
the serving figures, re-scoring on another scenario file, and bad serving sections (exit 2)."""

from __future__ import annotations

import json

import matplotlib.image
import pytest

from tests.cli.conftest import cosearch, write_config

SERVING_CONFIG = """\
name: serving_tiny
workload:
  models: [{model: mobilenet_v1}, {model: tiny_yolo}]
platform: {preset: edge, max_cores: 2}
space: {name: cosearch, options: {max_cores: 2, mapping: greedy}}
objective:
  minimize: [energy_per_query_j]
  constraints: [sla_rate >= 0.9]
serving:
  arrival: {poisson: 20}
  requests: 40
  warmup: 5
  scenarios:
    - {name: soft, qos: QoS-S}
    - {name: relative, qos: 4x isolated, loads: [0.5, 1]}
  aggregate: worst
optimizers: [{name: random, options: {batch_size: 8}}]
budget: 16
baselines:
  spaces: [{name: fda, label: whole, policy: whole_request}]
  evaluations: 8
ray: false
"""


@pytest.fixture(scope="module")
def serving_results(tmp_path_factory):
    root = tmp_path_factory.mktemp("serving")
    config = write_config(root, SERVING_CONFIG)
    result = cosearch("run", config, "--out", root / "results", cwd=root, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return root, result.stdout


def test_serving_run_reports_per_scenario_and_aggregates_the_worst(serving_results):
    root, stdout = serving_results
    assert "serving (worst over 3 case(s))" in stdout and "per scenario" in stdout
    summary = json.loads((root / "results" / "summary.json").read_text())
    best = summary["best"]["metrics"]
    cases = best["scenarios"]
    assert [c["case"] for c in cases] == ["soft", "relative@0.5x", "relative@1x"]
    # worst case: the largest energy per query, the smallest SLA rate and throughput at SLA
    assert best["energy_per_query_j"] == max(c["energy_per_query_j"] for c in cases)
    assert best["sla_rate"] == min(c["sla_rate"] for c in cases) >= 0.9
    assert best["qps_at_sla"] == min(c["qps_at_sla"] for c in cases)
    assert set(cases[0]["tenants"]) == {"mobilenet_v1", "tiny_yolo"}
    assert summary["serving"]["cases"] == ["soft", "relative@0.5x", "relative@1x"]
    assert set(summary["serving"]["sla_vs_load"]["sla_rate"]) == {"best (cosearch)", "whole"}
    for name in ("latency_cdf", "sla_load", "qps", "core_mix"):
        assert matplotlib.image.imread(root / "results" / "plots" / f"{name}.png").shape[0] > 200, name


def test_design_file_rescores_on_its_streams_and_on_another_scenario(serving_results):
    root, _ = serving_results
    path = root / "results" / "designs" / "best.json"
    same = cosearch("evaluate", path, "--json", timeout=600)
    assert same.returncode == 0, same.stderr
    scored = json.loads(same.stdout)
    assert scored["matches_recorded"] is True and scored["metrics"]["scenarios"][0]["case"] == "soft"
    other = write_config(root, SERVING_CONFIG.replace("relative, qos: 4x isolated", "hard, qos: QoS-H")
                         .replace("models: [{model: mobilenet_v1}, {model: tiny_yolo}]", "models: [{model: tiny_yolo}]"),
                         name="other.yaml")
    result = cosearch("evaluate", path, "--scenario", other, "--against", root / "results", "--json", timeout=600)
    assert result.returncode == 0, result.stderr
    rescored = json.loads(result.stdout)
    assert [c["case"] for c in rescored["metrics"]["scenarios"]] == ["soft", "hard@0.5x", "hard@1x"]
    assert set(rescored["metrics"]["scenarios"][0]["tenants"]) == {"tiny_yolo"}
    assert rescored["matches_recorded"] is None and "energy_per_query_j" in rescored["regret"]


@pytest.mark.parametrize("change, message", [
    (("qos: QoS-S", "qos: QoS-Z"), "config.yaml: serving.scenarios[0].qos: unknown QoS bound 'QoS-Z'"),
    (("requests: 40", "requests: 4"), "config.yaml: serving: warmup 5 leaves no request to measure"),
    (("policy: whole_request", "policy: lottery"), "baselines.spaces[0].policy: unknown serving policy 'lottery'"),
    (("arrival: {poisson: 20}", "arrival: {closed_loop: 2, think_ms: 1}"), None),  # valid: closed loop
])
def test_bad_serving_sections_exit_2_with_the_key(tmp_path, change, message):
    config = write_config(tmp_path, SERVING_CONFIG.replace(*change))
    result = cosearch("validate", config, cwd=tmp_path, timeout=300)
    if message is None:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_serving_tenant_of_another_workload_exits_2(tmp_path):
    config = write_config(tmp_path, SERVING_CONFIG.replace("arrival: {poisson: 20}",
                                                           "arrival: {poisson: 20}\n  tenants: [resnet50]"))
    result = cosearch("validate", config, cwd=tmp_path, timeout=300)
    assert result.returncode == 2
    assert "serving.tenants[0]: model 'resnet50' is not a model of workload 'custom'" in result.stderr


def test_plot_redraws_the_serving_figures_from_the_files(serving_results):
    root, _ = serving_results
    result = cosearch("plot", root / "results", "--format", "svg", timeout=600)
    assert result.returncode == 0, result.stderr
    for name in ("latency_cdf", "sla_load", "qps", "core_mix"):
        assert (root / "results" / "plots" / f"{name}.svg").read_text().lstrip().startswith("<?xml"), name
