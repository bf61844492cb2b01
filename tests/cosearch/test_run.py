"""One run: budgets, best-so-far, the archive, constraints and the errors a bad spec gets."""

import numpy as np
import pytest

from cosearch.experiment import SyntheticProblem
from cosearch.pareto import hypervolume, nondominated_mask
from cosearch.run import Constraint, RunSpec, objective_matrix, run

PROBLEM = SyntheticProblem(dim=6)


def spec(**changes):
    base = {"problem": PROBLEM, "optimizer": "random", "seed": 0, "max_evaluations": 150}
    return RunSpec(**{**base, **changes})


def test_run_spends_exactly_its_evaluation_budget():
    result = run(spec(max_evaluations=150, optimizer_options={"batch_size": 64}))
    assert result.evaluations == 150 and result.stopped_by == "evaluations"
    assert result.history["evaluations"] == [64, 128, 150]
    best = np.array(result.history["best"])
    assert (np.diff(best) <= 0).all() and best[-1] == result.best_objectives[0]
    hv = np.array(result.history["hypervolume"])
    assert (np.diff(hv) >= 0).all() and hv[-1] > 0
    assert 0 < result.feasible_evaluations < 150  # x[-1] > 0.9 is infeasible
    assert result.best_metrics["edp"] == pytest.approx(result.best_objectives[0])
    assert result.label == "synthetic6/random-0"


def test_run_archive_is_the_front_of_everything_evaluated():
    problem = PROBLEM.build()
    points = []
    result = run(spec(), problem=problem, on_batch=lambda e: points.append(len(e["front_values"])))
    X = np.random.default_rng(0).random((150, 6))  # random search with seed 0 asks these, snapped
    from cosearch.optimizers import gene_table

    X = gene_table(problem.genes, 6).snap(X)
    metrics = problem.evaluate(X)
    values = np.stack([metrics[k] for k in ("latency_s", "energy_j", "resource_fraction")], axis=1)
    values = values[np.isfinite(values).all(axis=1)]
    front = values[nondominated_mask(values)]
    assert sorted(map(tuple, front)) == sorted(map(tuple, result.archive.values))
    assert sum(points) >= len(front)


def test_same_spec_same_result():
    a, b = run(spec(optimizer="cmaes")), run(spec(optimizer="cmaes"))
    np.testing.assert_array_equal(a.best_x, b.best_x)
    assert a.archive.same_front(b.archive)
    assert not np.array_equal(a.best_x, run(spec(optimizer="cmaes", seed=1)).best_x)


def test_seconds_budget_and_exhausted_grid():
    slow = SyntheticProblem(dim=3, seconds_per_batch=0.05)
    result = run(RunSpec(slow, "random", max_seconds=0.2, optimizer_options={"batch_size": 4}))
    assert result.stopped_by == "seconds" and 0.2 <= result.seconds < 1.0
    grid = run(RunSpec(SyntheticProblem(dim=3), "grid", max_evaluations=10**6, optimizer_options={"levels": 3}))
    assert grid.stopped_by == "exhausted" and grid.evaluations == 4 * 3 * 3


def test_constraints_and_maximised_objectives():
    metrics = {
        "latency_s": np.array([1.0, 2.0, np.inf]),
        "stp": np.array([3.0, 4.0, 0.0]),
        "feasible": np.array([True, True, False]),
    }
    F = objective_matrix(metrics, ["latency_s", "stp"], [Constraint.parse("latency_s <= 1.5")])
    np.testing.assert_array_equal(F, [[1.0, -3.0], [np.inf, np.inf], [np.inf, np.inf]])
    nothing = run(spec(constraints=("latency_s < 0.5",)))
    assert nothing.best_x is None and nothing.feasible_evaluations == 0 and len(nothing.archive) == 0


def test_multi_objective_run():
    result = run(spec(optimizer="nsga2", objectives=("latency_s", "energy_j"), max_evaluations=100))
    assert result.best_objectives.shape == (2,)


def test_hypervolume_history_is_the_archive_so_far_and_never_decreases():
    """Each batch's hypervolume is that of every design kept so far (not of the batch's population):
    recomputed from the points the run reported entering its front, it matches and never drops."""
    kept = []
    result = run(spec(optimizer="nsga2", objectives=("latency_s", "energy_j"), max_evaluations=240),
                 on_batch=lambda event: kept.append(event["front_values"]))
    fronts = [np.concatenate(kept[: b + 1]) for b in range(len(kept))]
    expected = [hypervolume(f[nondominated_mask(f)], result.archive.reference) if len(f) else 0.0 for f in fronts]
    hv = np.array(result.history["hypervolume"])
    assert len(hv) == len(kept) >= 4 and (np.diff(hv) >= 0).all() and hv[-1] > hv[0]
    np.testing.assert_allclose(hv, expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_evaluations": 0}, "max_evaluations must be a positive integer, got 0"),
        ({"max_evaluations": -5}, "max_evaluations must be a positive integer, got -5"),
        ({"max_evaluations": None}, "run budget: give max_evaluations, max_seconds or both"),
        ({"max_seconds": -1.0}, "max_seconds must be a positive number of seconds, got -1.0"),
        ({"optimizer": "hillclimb"}, "unknown optimizer 'hillclimb' (allowed: cmaes,"),
        ({"optimizer_options": {"sigma": 1}}, "optimizer 'random' does not take option(s) sigma; it takes: batch_size"),
        ({"optimizer": "cmaes", "objectives": ("edp", "area_mm2")}, "'cmaes' is single-objective but 2 objectives"),
        ({"objectives": ("speed",)}, "objective 'speed' is not a metric (allowed: latency_s, energy_j, edp,"),
        ({"archive_keys": ("power",)}, "archive key 'power' is not a metric"),
        ({"constraints": ("watts <= 3",)}, "constraint metric 'watts' is not a metric"),
    ],
)
def test_bad_specs_are_refused_before_work(changes, message):
    calls = []
    with pytest.raises(ValueError) as error:
        run(spec(**changes), on_batch=calls.append)
    assert message in str(error.value)
    assert calls == []


def test_constraint_parse_errors():
    assert Constraint.parse("latency_s<=0.03") == Constraint("latency_s", "<=", 0.03)
    assert str(Constraint.parse("sla_violations == 0")) == "sla_violations == 0"
    tight = Constraint("latency_s", "<=", 0.0123456789)
    assert str(tight) == "latency_s <= 0.0123456789" and Constraint.parse(str(tight)) == tight
    with pytest.raises(ValueError, match="is not 'metric OP number' with OP one of <=, <, >=, >, =="):
        Constraint.parse("latency_s ~ 3")
    with pytest.raises(ValueError, match="operator '!=' is not one of"):
        Constraint("latency_s", "!=", 1)


def test_optuna_studies_name_their_objectives_from_the_metrics_table():
    from cosearch.optimizers import make_optimizer
    from cosearch.run import objective_names

    names = objective_names(spec(optimizer="tpe", objectives=("edp", "stp")))
    assert names == {"metric_names": ["EDP (J·s)", "−STP"]}  # Optuna minimises −STP
    assert objective_names(spec(objectives=("edp",))) == {}  # random search takes no names
    study = make_optimizer("tpe", dim=3, n_obj=2, **names)._study
    assert study.metric_names == ["EDP (J·s)", "−STP"]
    with pytest.raises(ValueError, match="1 metric_names for 2 objectives"):
        make_optimizer("tpe", dim=3, n_obj=2, metric_names=["EDP (J·s)"])


class _Counting:
    """A problem that records how many designs each call scored."""

    def __init__(self, problem):
        self.problem, self.calls = problem, []
        self.dim = problem.dim

    def evaluate(self, X):
        self.calls.append(len(X))
        return self.problem.evaluate(X)


def test_reference_of_a_space_without_genes_scores_its_one_design_once():
    from cosearch.config_loader import ConfigProblem, parse_config
    from cosearch.run import reference_point

    def problem(space):
        config = parse_config({"workload": "planaria_b", "platform": "edge", "space": space, "ray": False}, "x.yaml")
        return _Counting(ConfigProblem.from_config(config).build())

    keys = ("latency_s", "energy_j")
    fixed = problem({"name": "fda", "options": {"dataflow": "ws_kc"}})
    assert fixed.dim == 0
    ref = reference_point(fixed, keys, samples=64)
    assert fixed.calls == [1]
    # the reference 64 copies of that one design give
    repeated = fixed.problem.evaluate(np.empty((64, 0)))
    assert ref == tuple(1.1 * float(getattr(repeated, k).max()) for k in keys)

    free = problem("fda")  # one gene: the dataflow
    reference_point(free, keys, samples=64)
    assert free.calls == [64]
