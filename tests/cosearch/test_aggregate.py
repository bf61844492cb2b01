"""Aggregating a design's serving metrics over scenarios: mean, worst case and CVaR, computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from cosearch.scenarios import aggregate

# Four cases (rows) of two designs (columns).
VALUES = np.array([[1.0, 10.0], [2.0, 40.0], [3.0, 20.0], [4.0, 30.0]])


def test_mean():
    assert aggregate(VALUES, "minimize", "mean").tolist() == [2.5, 25.0]


def test_worst_is_the_largest_when_lower_is_better_and_the_smallest_when_higher_is():
    assert aggregate(VALUES, "minimize", "worst").tolist() == [4.0, 40.0]
    assert aggregate(VALUES, "maximize", "worst").tolist() == [1.0, 10.0]


@pytest.mark.parametrize("alpha, minimize, maximize", [
    (0.25, [4.0, 40.0], [1.0, 10.0]),                          # one whole case: the worst
    (0.5, [3.5, 35.0], [1.5, 15.0]),                           # the worst two: (4 + 3) / 2, (40 + 30) / 2
    (0.375, [(4 + 0.5 * 3) / 1.5, (40 + 0.5 * 30) / 1.5],      # one and a half cases
     [(1 + 0.5 * 2) / 1.5, (10 + 0.5 * 20) / 1.5]),
    (1.0, [2.5, 25.0], [2.5, 25.0]),                           # every case: the mean
    (0.01, [4.0, 40.0], [1.0, 10.0]),                          # less than one case: the worst
])
def test_cvar_by_hand(alpha, minimize, maximize):
    assert aggregate(VALUES, "minimize", "cvar", alpha) == pytest.approx(minimize)
    assert aggregate(VALUES, "maximize", "cvar", alpha) == pytest.approx(maximize)


def test_cvar_lies_between_mean_and_worst_and_an_infeasible_case_is_worst():
    rng = np.random.default_rng(3)
    values = rng.random((7, 50))
    for alpha in (0.1, 0.3, 0.7):
        cvar = aggregate(values, "minimize", "cvar", alpha)
        assert (values.mean(axis=0) - 1e-12 <= cvar).all() and (cvar <= values.max(axis=0) + 1e-12).all()
    with_inf = np.array([[1.0], [np.inf], [2.0]])
    assert aggregate(with_inf, "minimize", "cvar", 0.5)[0] == np.inf
    assert aggregate(np.array([[1.0], [np.inf]]), "minimize", "cvar", 0.5)[0] == np.inf


def test_bad_aggregation_is_refused():
    with pytest.raises(ValueError, match="unknown aggregation 'median'"):
        aggregate(VALUES, "minimize", "median")
    with pytest.raises(ValueError, match="alpha must be in"):
        aggregate(VALUES, "minimize", "cvar", 0.0)


def test_serving_metrics_of_blocks_concatenate_to_the_batchs(tmp_path):
    """A population split over workers: the blocks' metrics joined equal the whole batch's."""
    from cosearch.config_loader import build, config_problems, parse_config
    from cosearch.scenarios import ServingMetrics

    config = parse_config({"workload": {"models": [{"model": "mobilenet_v1"}, {"model": "tiny_yolo"}]},
                           "platform": {"preset": "edge", "max_cores": 2},
                           "space": {"name": "cosearch", "options": {"max_cores": 2, "mapping": "greedy"}},
                           "serving": {"arrival": 20, "requests": 30, "warmup": 5,
                                       "scenarios": [{"qos": "QoS-S"}, {"qos": "QoS-M"}]}}, "test.yaml")
    problem = next(iter(config_problems(config, build(config)).values()))
    X = np.random.default_rng(1).random((6, problem.dim))
    whole = problem.evaluate(X)
    joined = ServingMetrics.concatenate([problem.evaluate(X[:2]), problem.evaluate(X[2:])])
    for p in range(6):
        assert joined.row(p) == whole.row(p)
