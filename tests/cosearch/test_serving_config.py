"""The ``serving`` section: forms, round-trips, resolution into engine scenarios, and bad input."""

from __future__ import annotations

import pytest

from cosearch.config import ConfigError
from cosearch.config_loader import build, parse_config
from cosearch.config_serving import QosBound, parse_qos, read_trace
from cosearch.scenarios import resolve_cases
from objectives import serving as engine

BASE = {"workload": "planaria_a", "platform": "cloud", "space": {"name": "cosearch", "options": {"max_cores": 2}},
        "ray": False}


def config(serving, **rest):
    return parse_config({**BASE, **rest, "serving": serving}, "test.yaml")


@pytest.mark.parametrize("text, bound", [
    ("QoS-S", QosBound("mlperf", 1.0)), ("qos-m", QosBound("mlperf", 0.25)), ("QoS-H", QosBound("mlperf", 1 / 16)),
    ("15 ms", QosBound("seconds", 0.015)), (15, QosBound("seconds", 0.015)), ("0.2 s", QosBound("seconds", 0.2)),
    ("4x isolated", QosBound("isolated", 4.0)), ("2.5 x isolated", QosBound("isolated", 2.5)),
])
def test_qos_forms(text, bound):
    assert parse_qos(text) == bound
    assert parse_qos(str(bound)) == bound  # the canonical text reads back as itself


def test_mlperf_levels_are_planarias_fractions_of_the_server_bound():
    # ResNet-50's MLPerf server bound is 15 ms; GNMT's 250 ms (docs/workloads.md).
    assert parse_qos("QoS-S").seconds("resnet50") == pytest.approx(0.015)
    assert parse_qos("QoS-M").seconds("gnmt") == pytest.approx(0.250 / 4)
    assert parse_qos("QoS-H").seconds("googlenet") == pytest.approx(0.015 / 16)  # by analogy with ResNet-50
    assert parse_qos("4x isolated").seconds("resnet50") is None


def test_resolved_cases_default_tenants_loads_and_quantiles():
    c = config({"arrival": {"poisson": 20}, "qos": "QoS-M", "requests": 50, "warmup": 5, "loads": [0.5, 2]})
    workload = build(c).workload
    cases = resolve_cases(c.serving, workload)
    assert [k.label for k in cases] == ["serving@0.5x", "serving@2x"]
    assert [k.load for k in cases] == [0.5, 2.0]
    scenario = cases[0].scenario
    assert [t.model for t in scenario.tenants] == list(workload.model_names)
    assert all(t.arrival == engine.Poisson(20.0) and t.requests == 50 for t in scenario.tenants)
    assert all(t.priority == (1, 11) for t in scenario.tenants)  # uniform 1–11
    assert scenario.tenants[0].qos_s == pytest.approx(0.015 / 4)
    # MLPerf (Planaria §VI-A): 99 % of requests within the bound, 97 % for GNMT.
    assert dict(zip(workload.model_names, cases[0].quantile)) == {
        "resnet50": 0.99, "googlenet": 0.99, "yolov3": 0.99, "ssd_resnet34": 0.99, "gnmt": 0.97}
    assert scenario.warmup == 5 and scenario.policy == "shared"
    assert scenario.backfill == engine.BACKFILL


def test_the_backfilling_depth_reaches_every_scenario():
    c = config({"arrival": 5, "backfill": 64, "scenarios": [{"qos": "QoS-S"}, {"qos": "QoS-M"}]})
    assert [k.scenario.backfill for k in resolve_cases(c.serving, build(c).workload)] == [64, 64]


@pytest.mark.parametrize("written", ["all", "ALL", None])
def test_backfill_all_keeps_every_interval(written):
    c = config({"arrival": 5, "backfill": written})
    assert c.serving.backfill is None
    assert resolve_cases(c.serving, build(c).workload)[0].scenario.backfill is None


def test_scenarios_override_the_section_and_tenants_take_every_arrival_form(tmp_path):
    trace = tmp_path / "arrivals.csv"
    trace.write_text("time_s\n0.0\n0.01, x\n0.02  # third\n0.05\n")
    c = parse_config({**BASE, "serving": {
        "arrival": 10, "requests": 4, "warmup": 1, "priority": 3,
        "scenarios": [
            {"name": "heavy", "tenants": [{"model": "resnet50", "arrival": {"trace": "arrivals.csv"}},
                                          {"model": "gnmt", "arrival": {"closed_loop": 2, "think_ms": 5},
                                           "qos": "3x isolated", "priority": [2, 4], "name": "translate"}]},
            {"name": "light", "qos": "20 ms", "tenants": ["resnet50", "resnet50"]},
        ]}}, "test.yaml", base_dir=tmp_path)
    cases = resolve_cases(c.serving, build(c).workload)
    heavy, light = cases[0].scenario, cases[1].scenario
    assert heavy.tenants[0].arrival == engine.Trace((0.0, 0.01, 0.02, 0.05))
    assert heavy.tenants[1].arrival == engine.ClosedLoop(outstanding=2, think_s=0.005)
    assert heavy.tenants[1].name == "translate" and heavy.tenants[1].priority == (2, 4)
    assert heavy.tenants[0].priority == 3
    assert cases[0].isolated == (None, 3.0)
    assert [t.name for t in light.tenants] == ["resnet50", "resnet50#2"]
    assert all(t.qos_s == pytest.approx(0.020) for t in light.tenants)


def test_round_trip_through_the_resolved_config():
    c = config({"arrival": {"poisson": 20}, "qos": 12, "scenarios": [{"name": "a", "qos": "QoS-H"}],
                "aggregate": "cvar", "cvar_alpha": 0.5},
               baselines={"spaces": [{"name": "fda", "label": "prema", "policy": "whole_request"}]})
    again = parse_config(c.resolved(), "config.yaml")
    assert again.serving == c.serving and again.baselines == c.baselines and again.resolved() == c.resolved()
    assert c.resolved()["serving"]["qos"] == "12 ms"
    assert again.baselines.spaces[0].policy == "whole_request"


def test_without_serving_the_resolved_config_records_no_baseline_policy():
    c = parse_config({**BASE, "baselines": ["fda"]}, "test.yaml")
    assert c.resolved()["serving"] is None
    assert "policy" not in c.resolved()["baselines"]["spaces"][0]


BAD = {
    "unknown qos": ({"arrival": 5, "qos": "QoS-X"}, "serving.qos: unknown QoS bound 'QoS-X' (allowed: QoS-S, QoS-M"),
    "negative rate": ({"arrival": {"poisson": -2}}, "serving.arrival.poisson: input should be greater than 0"),
    "two arrival forms": ({"arrival": {"poisson": 2, "closed_loop": 3}},
                          "serving.arrival: give exactly one of poisson, trace, closed_loop (got poisson, closed_loop)"),
    "think time without closed loop": ({"arrival": {"poisson": 2, "think_ms": 3}},
                                       "serving.arrival: think_ms applies to closed_loop arrivals only"),
    "unknown policy": ({"arrival": 5, "policy": "fifo"}, "serving.policy: unknown serving policy 'fifo' (allowed:"),
    "bad priority": ({"arrival": 5, "priority": 0}, "serving.priority: priority 0 must be ≥ 1"),
    "priority word": ({"arrival": 5, "priority": "high"}, "serving.priority: expected a priority: an integer ≥ 1, "
                                                          "'uniform' (1–11 per request, Planaria) or [low, high]"),
    "warm-up too long": ({"arrival": 5, "requests": 10, "warmup": 10}, "serving: warmup 10 leaves no request to "
                                                                       "measure: a tenant sends 10"),
    "unknown aggregation": ({"arrival": 5, "aggregate": "median"}, "serving.aggregate: input should be 'mean', "
                                                                   "'worst' or 'cvar'"),
    "negative backfill": ({"arrival": 5, "backfill": -1}, "serving.backfill: backfilling depth -1 must be 'all' "
                                                          "(every idle interval) or a whole number of idle "
                                                          "intervals ≥ 0"),
    "backfill word": ({"arrival": 5, "backfill": "deep"}, "serving.backfill: backfilling depth 'deep' must be "
                                                          "'all'"),
    "unknown key": ({"arrival": 5, "rate": 3}, "serving.rate: unknown key (allowed: tenants, arrival, qos,"),
    "missing trace": ({"arrival": {"trace": "nowhere.csv"}}, "serving.arrival.trace: no such file 'nowhere.csv'"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_serving_sections_name_key_value_and_what_is_allowed(case):
    serving, message = BAD[case]
    with pytest.raises(ConfigError) as error:
        config(serving)
    assert message in str(error.value)


def build_errors(tmp_path) -> dict:
    """Sections valid on their own that the workload refuses: (workload, serving, message)."""
    from cosearch.testing import tiny_workload
    from objectives.workloads.files import save_model

    trace = tmp_path / "t.csv"
    trace.write_text("0\n0.1\n0.2\n")
    model = str(save_model(tiny_workload().models[0], tmp_path / "tiny_cnn.csv"))
    return {
        "tenant model not in the workload": (
            "planaria_a", {"arrival": 5, "tenants": ["resnet50", "bert_base"]},
            "serving.tenants[1]: model 'bert_base' is not a model of workload 'planaria_a' "
            "(allowed: resnet50, googlenet,"),
        "no arrival": ("planaria_a", {"tenants": [{"model": "gnmt"}]}, "serving.tenants[0]: no arrival process"),
        "trace shorter than the requests": (
            "planaria_a", {"tenants": [{"model": "gnmt", "arrival": {"trace": str(trace)}}], "requests": 30},
            "serving.tenants[0]: tenant 'gnmt': 30 requests but the trace has 3 arrivals"),
        "mlperf level for a model without a bound": (
            {"models": [{"file": model}]}, {"arrival": 5, "tenants": [{"file": model}]},
            "serving.tenants[0].qos: model 'tiny_cnn' has no MLPerf server latency bound"),
    }


@pytest.mark.parametrize("case", ["tenant model not in the workload", "no arrival", "trace shorter than the requests",
                                  "mlperf level for a model without a bound"])
def test_serving_sections_checked_against_the_workload(case, tmp_path):
    workload, serving, message = build_errors(tmp_path)[case]
    c = parse_config({**BASE, "workload": workload, "serving": serving}, "test.yaml")
    with pytest.raises(ConfigError) as error:
        build(c, "test.yaml")
    assert message in str(error.value)


def test_serving_metric_without_a_serving_section_is_a_config_error():
    c = parse_config({**BASE, "objective": {"minimize": [], "maximize": ["qps_at_sla"]}}, "test.yaml")
    with pytest.raises(ConfigError, match="objective: 'qps_at_sla' is a serving metric: add a serving section"):
        build(c, "test.yaml")


def test_trace_file_errors_name_the_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("0.1\n0.3\n0.2\n")
    with pytest.raises(ValueError, match=r"line 3: 0.2 is not a finite time at or after the previous one \(0.3 s\)"):
        read_trace(str(bad))
    bad.write_text("0.1\nsoon\n")
    with pytest.raises(ValueError, match="line 2: 'soon' is not a time in seconds"):
        read_trace(str(bad))
    good = tmp_path / "good.txt"
    good.write_text("# seconds\n0\n0.5\n")
    assert read_trace(str(good)) == [0.0, 0.5]


def test_throughput_at_sla_needs_open_loop_arrivals():
    c = parse_config({**BASE, "objective": {"minimize": [], "maximize": ["qps_at_sla"]},
                      "serving": {"arrival": {"closed_loop": 2}}}, "test.yaml")
    with pytest.raises(ConfigError, match="objective: 'qps_at_sla' needs an open-loop tenant .* serving has "
                                          "closed-loop tenants only"):
        build(c, "test.yaml")
