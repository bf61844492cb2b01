"""Experiments in-process: expansion, merged archives, Ctrl-C and up-front validation."""

import os
import sys

import numpy as np
import pytest

import dataclasses

from cosearch.experiment import ExperimentSpec, SpaceProblem, SyntheticProblem, prepare, run_experiment
from cosearch.pareto import ParetoArchive

SPEC = ExperimentSpec(
    problems=(SyntheticProblem(dim=6), SyntheticProblem(dim=4)),
    optimizers=("random", ("cmaes", {"popsize": 8})),
    seeds=(0, 1),
    max_evaluations=120,
)


def test_experiment_runs_every_combination_and_merges_fronts():
    events = []
    result = run_experiment(SPEC, on_event=lambda e: events.append(e["type"]))
    assert list(result.runs) == [
        f"{p}/{o}-{s}" for p in ("synthetic6", "synthetic4") for o in ("random", "cmaes") for s in (0, 1)
    ]
    assert events.count("started") == events.count("finished") == 8 and not result.failures
    assert not result.interrupted and set(result.retries.values()) == {0}
    for key, archive in result.archives.items():
        union = ParetoArchive(archive.keys, archive.reference)
        for run in result.runs.values():
            if run.spec.problem.key == key:
                union.merge(run.archive)
                assert run.spec.reference == archive.reference  # one reference point per problem
        assert union.same_front(archive)
        assert archive.hypervolume() >= max(
            r.history["hypervolume"][-1] for r in result.runs.values() if r.spec.problem.key == key
        )
    best = result.best("synthetic6")
    assert best.best_objectives[0] == min(
        r.best_objectives[0] for r in result.runs.values() if r.spec.problem.key == "synthetic6"
    )


def test_ctrl_c_keeps_finished_runs_and_the_partial_archive():
    seen = {"finished": 0}

    def interrupt(event):
        if event["type"] == "finished":
            seen["finished"] += 1
        if event["type"] == "progress" and seen["finished"] == 2:
            raise KeyboardInterrupt

    result = run_experiment(SPEC, on_event=interrupt)
    assert result.interrupted and len(result.runs) == 2
    archive = result.archives["synthetic6"]
    finished = ParetoArchive(archive.keys, archive.reference)
    for run in result.runs.values():
        finished.merge(run.archive)
    assert len(archive) >= 1 and archive.hypervolume() >= finished.hypervolume()
    assert "synthetic6/cmaes-0" in result.nodes and "synthetic6/cmaes-0" not in result.runs


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"optimizers": ("random", "anneal")}, "unknown optimizer 'anneal'"),
        ({"max_evaluations": 0}, "max_evaluations must be a positive integer"),
        ({"optimizers": ("random", "random")}, "runs would share labels"),
        ({"seeds": ()}, "at least one problem, one optimizer and one seed"),
        ({"objectives": ("edp", "latency_s")}, "'cmaes' is single-objective but 2 objectives were given"),
    ],
)
def test_bad_experiments_fail_before_any_run(changes, message):
    spec = ExperimentSpec(**{**SPEC.__dict__, **changes})
    events = []
    with pytest.raises(ValueError, match=message):
        run_experiment(spec, on_event=events.append)
    assert events == []


def test_bad_executor_and_space_problem_names():
    with pytest.raises(ValueError, match="executor 'dask' is not one of local, ray"):
        run_experiment(SPEC, executor="dask")
    spec = ExperimentSpec.grid(workloads=["herald_arvr_a"], platforms=["cloud"], optimizers=("random",),
                               max_evaluations=10, objectives=("edp", "watts"))  # fmt: skip
    with pytest.raises(ValueError, match="objective 'watts' is not a metric"):
        run_experiment(spec)


def test_space_problem_key_and_build():
    problem = SpaceProblem("herald_arvr_a", "cloud")
    assert problem.key == "herald_arvr_a@cloud"
    assert SpaceProblem("herald_arvr_a", "cloud", space="fda").key == "fda:herald_arvr_a@cloud"
    built = problem.build()
    metrics = built.evaluate(np.full((2, built.dim), 0.5))
    assert metrics.edp.shape == (2,) and "edp" in built.metric_names


BUILT = []


@dataclasses.dataclass(frozen=True)
class CountedProblem(SyntheticProblem):
    def build(self):
        BUILT.append(self.key)
        return super().build()


def test_prepare_builds_each_problem_once_and_reuses_those_given():
    spec = ExperimentSpec(problems=(CountedProblem(dim=3), CountedProblem(dim=4)), optimizers=("random", "cmaes"),
                          seeds=(0, 1), max_evaluations=10)
    BUILT.clear()
    specs, problems = prepare(spec)
    assert BUILT == ["synthetic3", "synthetic4"] and len(specs) == 8
    BUILT.clear()
    given = {"synthetic3": CountedProblem(dim=3).build()}
    BUILT.clear()
    _, again = prepare(spec, given)
    assert BUILT == ["synthetic4"] and again["synthetic3"] is given["synthetic3"]
    result = run_experiment(spec, problems=again)
    assert BUILT == ["synthetic4"] and len(result.runs) == 8  # the runs reuse them too


class StartingExecutor:
    """An executor with ``start``/``close`` like Ray's, in process: records which thread started it,
    which thread built each problem, and when it closed."""

    def __init__(self, fail: bool = False):
        import threading

        self.fail, self.threading, self.log = fail, threading, []

    def start(self):
        self.log.append(("start", self.threading.current_thread() is self.threading.main_thread()))
        if self.fail:
            raise ConnectionError("no cluster")

    def close(self):
        self.log.append(("close",))

    def execute(self, specs, collector, problems):
        from cosearch.experiment import LocalExecutor

        self.log.append(("execute",))
        return LocalExecutor().execute(specs, collector, problems)


NICE = []


@dataclasses.dataclass(frozen=True)
class ThreadNamingProblem(SyntheticProblem):
    def build(self):
        import threading

        BUILT.append(threading.current_thread().name)
        NICE.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return super().build()


def test_an_executor_starts_in_this_thread_while_the_problems_build_in_another():
    spec = dataclasses.replace(SPEC, problems=(ThreadNamingProblem(dim=6), ThreadNamingProblem(dim=4)))
    BUILT.clear()
    NICE.clear()
    executor = StartingExecutor()
    result = run_experiment(spec, executor=executor)
    assert executor.log == [("start", True), ("execute",), ("close",)]  # started in the main thread, closed once
    assert BUILT == ["cosearch-prepare", "cosearch-prepare"]
    if sys.platform.startswith("linux"):  # nice is per thread there: the builds yield to what the executor starts
        assert NICE == [os.getpriority(os.PRIO_PROCESS, 0) + 5] * 2
    plain = run_experiment(dataclasses.replace(SPEC, problems=(SyntheticProblem(dim=6), SyntheticProblem(dim=4))))
    for label, run in plain.runs.items():  # the same runs as without the overlap
        np.testing.assert_array_equal(run.best_x, result.runs[label].best_x)
        assert run.spec.reference == result.runs[label].spec.reference


def test_a_failed_start_or_build_closes_the_executor_and_raises_its_own_error():
    spec = ExperimentSpec(problems=(ThreadNamingProblem(dim=3),), optimizers=("random",), max_evaluations=10)
    executor = StartingExecutor(fail=True)
    BUILT.clear()
    with pytest.raises(ConnectionError, match="no cluster"):
        run_experiment(spec, executor=executor)
    assert executor.log == [("start", True), ("close",)] and BUILT == ["cosearch-prepare"]  # the build was joined
    executor = StartingExecutor()
    broken = ExperimentSpec(problems=(SyntheticProblem(dim=3),), optimizers=("random",), objectives=("nonsense",),
                            max_evaluations=10)
    with pytest.raises(ValueError, match="objective 'nonsense' is not a metric"):
        run_experiment(broken, executor=executor)
    assert executor.log == [("start", True), ("close",)]


def test_runs_keep_their_kind_and_name():
    from cosearch.run import RunSpec

    spec = RunSpec(problem=SyntheticProblem(), optimizer="random", max_evaluations=4, kind="baseline", name="b-0")
    assert (spec.kind, spec.run_id) == ("baseline", "b-0")
    assert RunSpec(problem=SyntheticProblem(), optimizer="random").run_id == "synthetic6/random-0"
    with pytest.raises(ValueError, match="run kind 'other' is not one of search, baseline"):
        RunSpec(problem=SyntheticProblem(), optimizer="random", kind="other")


def test_spec_hash_follows_what_decides_a_result_not_where_the_run_sits():
    from cosearch.results_writer import spec_hash
    from cosearch.run import RunSpec

    spec = RunSpec(problem=SyntheticProblem(), optimizer="tpe", max_evaluations=4)
    renamed = dataclasses.replace(spec, kind="baseline", name="baseline-x", reference=(1.0,) * 3,
                                  optimizer_options={"storage": "sqlite:///a.db", "study_name": "e/x"})
    assert spec_hash(renamed) == spec_hash(spec)  # where it sits and where its study lives
    assert spec_hash(dataclasses.replace(spec, seed=1)) != spec_hash(spec)
    assert spec_hash(dataclasses.replace(spec, optimizer_options={"n_startup_trials": 2})) != spec_hash(spec)


def test_a_pickled_problem_carries_the_mapper_tables_once_and_scores_the_same(monkeypatch):
    """A Ray worker receiving the driver's problem maps nothing the driver mapped; a second problem
    of the same workload and platform does not ship them again."""
    import pickle

    from objectives import evaluator, mapper

    problem = SpaceProblem("mobilenet_v1", "edge", "fda").build()
    X = np.random.default_rng(0).random((16, problem.dim))
    expected = problem.evaluate(X)  # maps the cores of these designs in this process
    shipped = pickle.dumps(problem)
    other = SpaceProblem("mobilenet_v1", "edge", "homogeneous_multicore").build()
    assert len(pickle.dumps(other)) < len(shipped) / 10  # the tables went once, with the first problem
    monkeypatch.setattr(evaluator, "_STORES", type(evaluator._STORES)())  # a fresh process: no tables
    calls = []
    monkeypatch.setattr(mapper, "map_layers", lambda *a, **k: calls.append(a) or pytest.fail("mapped again"))
    received = pickle.loads(shipped)
    again = received.evaluate(X)
    assert not calls
    for name in ("latency_s", "energy_j", "edp", "feasible"):
        assert np.array_equal(getattr(again, name), getattr(expected, name)), name
