"""The metrics table and the ``Metrics`` record built from it: names, shapes, refusals, round trips."""

import pickle

import numpy as np
import pytest

from objectives import evaluate, metrics
from objectives.metrics import METRICS, Metric, Metrics
from spaces import get_platform
from tests.objectives.helpers import random_designs, registered_metric, small_cnn, workload_of

EDGE = get_platform("edge")


@pytest.fixture(scope="module")
def scored():
    """Five random designs of a two-model mix, scored."""
    workload = workload_of(small_cnn("a"), small_cnn("b"))
    designs = random_designs(np.random.default_rng(3), workload, 5, 2)
    return evaluate(designs, workload, EDGE), workload


def test_every_metric_has_the_shape_the_table_declares(scored):
    result, workload = scored
    evaluated = [m for m in METRICS.values() if m.source == "evaluate"]
    assert list(result.values) == [m.name for m in evaluated]  # serving metrics only come with a scenario
    columns = {"design": (), "model": (workload.num_models,), "tenant": (int(workload.batch.sum()),)}
    for m in evaluated:
        assert result.values[m.name].shape == (5, *columns[m.shape]), m.name
        assert getattr(result, m.name) is result.values[m.name]


def test_objectives_are_per_design_metrics_with_a_direction():
    assert metrics.names(direction="maximize")[:4] == ("utilization", "throughput_ips", "stp", "fairness")
    assert {"qps_at_sla", "sla_rate", "serving_fairness"} <= set(metrics.names(direction="maximize", shape="design"))
    assert "pes_used" not in [m.name for m in METRICS.values() if m.is_objective]
    assert METRICS["stp"].sign == -1.0 and METRICS["edp"].sign == 1.0 and METRICS["pes_used"].sign == 1.0


def test_a_record_refuses_a_metric_left_out_or_not_in_the_table(scored):
    result, _ = scored
    rest = dict(feasible=result.feasible, reason=result.reason, layer_core=result.layer_core)
    without = {k: v for k, v in result.values.items() if k != "stp"}
    with pytest.raises(TypeError, match="not given: stp"):
        Metrics(**rest, **without)
    with pytest.raises(TypeError, match="not in the metrics table: tail_latency_s"):
        Metrics(**rest, **result.values, tail_latency_s=result.latency_s)


def test_a_derived_metric_is_computed_from_the_others_and_recorded(scored):
    result, _ = scored
    per_mj = Metric("edp_per_mj", "s", "EDP per mJ", "minimize", "design", "EDP over energy in mJ",
                    derive=lambda v: v["edp"] / (v["energy_j"] * 1e3))
    with registered_metric(per_mj):
        rest = dict(feasible=result.feasible, reason=result.reason, layer_core=result.layer_core)
        record = Metrics(**rest, **result.values)
        ok = result.feasible
        np.testing.assert_allclose(record.edp_per_mj[ok], result.latency_s[ok] / 1e3)
        assert record.row(0)["edp_per_mj"] == record.edp_per_mj[0]
        with pytest.raises(ValueError, match="already in the table"):
            metrics.register(per_mj)
    assert "edp_per_mj" not in METRICS


def test_row_lists_design_metrics_then_feasibility_then_per_model_lists(scored):
    result, workload = scored
    row = result.row(2)
    design = [m.name for m in METRICS.values() if m.shape == "design" and m.source == "evaluate"]
    model = [m.name for m in METRICS.values() if m.shape == "model" and m.source == "evaluate"]
    assert list(row) == [*design, "feasible", "reason", *model]
    assert row["latency_s"] == result.latency_s[2] and isinstance(row["feasible"], bool)
    assert row["model_latency_s"] == result.model_latency_s[2].tolist()


def test_records_survive_pickling_and_concatenation(scored):
    result, _ = scored
    again = pickle.loads(pickle.dumps(result))
    assert list(again.values) == list(result.values)
    np.testing.assert_array_equal(again.edp, result.edp)
    joined = Metrics.concatenate([again, result])
    assert joined.num_designs == 10
    np.testing.assert_array_equal(joined.model_latency_s[5:], result.model_latency_s)


def test_unknown_names_are_refused_with_the_table_listed(scored):
    with pytest.raises(ValueError, match=r"unknown metric 'power' \(allowed: latency_s, energy_j"):
        metrics.lookup("power")
    with pytest.raises(AttributeError, match="no metric 'power'"):
        scored[0].power
    with pytest.raises(ValueError, match="direction 'lower'"):
        Metric("x", "", "x", "lower", "design", "")
