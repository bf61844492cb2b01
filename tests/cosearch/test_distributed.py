"""Real Ray (one local session, 2 CPUs, shared by this module): same results as in-process,
a killed worker loses nothing, Ctrl-C keeps what finished, bad addresses fail fast."""

import dataclasses
import os
import signal

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from cosearch import distributed  # noqa: E402
from cosearch.experiment import ExperimentSpec, SyntheticProblem, TinyProblem, _BuiltSynthetic, run_experiment  # noqa: E402


@pytest.fixture(scope="module")
def ray_session():
    if ray.is_initialized():
        ray.shutdown()
    with distributed.session(None, num_cpus=2):
        yield


def assert_same(local, remote):
    assert list(local.runs) == list(remote.runs) and not remote.failures
    for label, a in local.runs.items():
        b = remote.runs[label]
        np.testing.assert_array_equal(a.best_x, b.best_x)
        np.testing.assert_array_equal(a.best_objectives, b.best_objectives)
        assert a.history["evaluations"] == b.history["evaluations"]
        assert a.archive.same_front(b.archive)
    for key, archive in local.archives.items():
        assert archive.same_front(remote.archives[key])


def in_process(spec):
    """``run_experiment(spec)`` in this process without the simulated evaluation time: the sleep only keeps
    the Ray runs going long enough to be killed, and the synthetic metrics do not depend on it (the
    problem key and every run label stay the same), so the reference runs need not wait it out again."""
    fast = tuple(dataclasses.replace(p, seconds_per_batch=0.0) for p in spec.problems)
    return run_experiment(dataclasses.replace(spec, problems=fast))


def test_ray_gives_the_in_process_results(ray_session):
    spec = ExperimentSpec(
        problems=(TinyProblem(), SyntheticProblem(dim=6)),
        optimizers=("cmaes", "tpe"),
        seeds=(0, 1),
        max_evaluations=96,
    )
    events = []
    remote = run_experiment(spec, executor="ray", on_event=lambda e: events.append(e["type"]))
    assert_same(run_experiment(spec), remote)
    assert events.count("started") == 8 and events.count("progress") > 8
    assert set(remote.retries.values()) == {0}


def test_split_batches_give_the_in_process_metrics(ray_session):
    problem = TinyProblem().build()
    X = np.random.default_rng(0).random((10, problem.dim))
    split = distributed.SplitProblem(problem, workers=3, min_part_s=0.0)
    first, second = split.evaluate(X[:4]), split.evaluate(X)
    assert split.parts_used == [1, 3]  # timed in-process first, then three parts
    for rows, got in ((X[:4], first), (X, second)):
        want = problem.evaluate(rows)
        for name in (*want.values, "feasible", "reason", "layer_core"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name), name)


def test_split_waits_until_a_part_is_worth_a_task():
    split = distributed.SplitProblem(None, workers=4, min_part_s=0.05)
    assert split.parts(256) == 1  # nothing timed yet
    split.seconds_per_design = 0.001  # 256 designs: 0.256 s, five parts' worth, four workers
    assert (split.parts(256), split.parts(100), split.parts(60), split.parts(40)) == (4, 2, 1, 1)


def test_one_run_split_over_the_session_gives_the_in_process_results(ray_session):
    spec = ExperimentSpec(
        problems=(TinyProblem(),), optimizers=(("cmaes", {"popsize": 24}),), seeds=(0,), max_evaluations=96
    )
    executor = distributed.RayExecutor(population_split=0.0)  # 2 CPUs, one run: every batch after the first split
    assert_same(run_experiment(spec), run_experiment(spec, executor=executor))


def test_killed_worker_is_retried_and_no_finished_run_is_lost(ray_session):
    spec = ExperimentSpec(
        # 24 batches of 0.06 s: a run lasts ~1.4 s, so one caught in its first
        # half is still running when the kill lands, even on a loaded machine.
        problems=(SyntheticProblem(dim=5, seconds_per_batch=0.06),),
        optimizers=(("random", {"batch_size": 10}),),
        seeds=(0, 1, 2, 3),
        max_evaluations=240,
    )
    state = {"finished": set(), "pids": {}, "killed": None}

    def kill_one(event):
        if event["type"] == "started":
            state["pids"][event["label"]] = event["pid"]
        elif event["type"] == "finished":
            state["finished"].add(event["label"])
        elif event["type"] == "progress" and state["finished"] and state["killed"] is None:
            # early in its run, so the pid still runs this label (events lag ≲ 0.3 s)
            if event["label"] not in state["finished"] and event["evaluations"] <= 120:
                state["killed"] = event["label"]
                os.kill(state["pids"][event["label"]], signal.SIGKILL)

    remote = run_experiment(spec, executor="ray", on_event=kill_one)
    assert state["killed"] is not None
    assert remote.retries[state["killed"]] == 1 and sum(remote.retries.values()) == 1
    assert_same(in_process(spec), remote)


def test_killed_event_actor_costs_nothing(ray_session):
    spec = ExperimentSpec(
        problems=(SyntheticProblem(dim=5, seconds_per_batch=0.03),),
        optimizers=(("random", {"batch_size": 10}), "tpe"),
        seeds=(0, 1),
        max_evaluations=150,
    )
    executor = distributed.RayExecutor()
    pids = []

    def kill_sink(event):
        if event["type"] == "progress" and len(pids) < 2:
            pids.append(ray.get(executor.sink.pid.remote()))  # the second call waits for the restarted actor
            if len(pids) == 1:
                os.kill(pids[0], signal.SIGKILL)

    remote = run_experiment(spec, executor=executor, on_event=kill_sink)
    assert len(pids) == 2 and pids[0] != pids[1], pids  # it died and Ray brought up another
    assert_same(in_process(spec), remote)


class _BrokenBuilt(_BuiltSynthetic):
    def evaluate(self, X):
        if os.getpid() != self.spec.driver_pid:
            try:
                raise OSError("disk on fire")
            except OSError as e:
                raise RuntimeError("could not build the problem\nsecond line") from e
        return super().evaluate(X)


@dataclasses.dataclass(frozen=True)
class BrokenOnWorkers(SyntheticProblem):
    """Evaluates in the driver (its reference point); on a worker fails with a chained, two-line error."""

    driver_pid: int = 0

    def build(self):
        return _BrokenBuilt(self)


@dataclasses.dataclass(frozen=True)
class BuildsOnlyInTheDriver(SyntheticProblem):
    driver_pid: int = 0

    def build(self):
        if os.getpid() != self.driver_pid:
            raise RuntimeError("built again on a worker")
        return super().build()


def test_ray_runs_use_the_problem_the_driver_built(ray_session):
    spec = ExperimentSpec(problems=(BuildsOnlyInTheDriver(driver_pid=os.getpid()),), optimizers=("random",),
                          seeds=(0, 1), max_evaluations=20)
    result = run_experiment(spec, executor="ray")
    assert not result.failures and len(result.runs) == 2


def test_a_failed_task_reports_its_own_exception_and_the_whole_chain(ray_session):
    spec = ExperimentSpec(problems=(BrokenOnWorkers(driver_pid=os.getpid()),), optimizers=("random",),
                          max_evaluations=10)
    events = []
    result = run_experiment(spec, executor="ray", on_event=events.append)
    failed = [e for e in events if e["type"] == "failed"]
    assert len(failed) == 1 and not result.runs
    assert failed[0]["line"] == "RuntimeError: could not build the problem"
    assert "OSError: disk on fire" in failed[0]["error"] and "second line" in failed[0]["error"]
    assert result.failures == {failed[0]["label"]: failed[0]["error"]}


def test_ctrl_c_on_ray_keeps_finished_runs(ray_session):
    spec = ExperimentSpec(
        problems=(SyntheticProblem(dim=4, seconds_per_batch=0.02),),
        optimizers=(("random", {"batch_size": 8}),),
        seeds=tuple(range(6)),
        max_evaluations=200,
    )

    def interrupt(event):
        if event["type"] == "finished":
            raise KeyboardInterrupt

    result = run_experiment(spec, executor="ray", on_event=interrupt)
    assert result.interrupted and 1 <= len(result.runs) < 6
    assert len(result.archives["synthetic4"]) >= len(next(iter(result.runs.values())).archive) > 0
    assert ray.is_initialized()  # the session we did not start is left running


@pytest.mark.parametrize("address", ["127.0.0.1:1", "ray://127.0.0.1:1"])
def test_unreachable_address_fails_before_work(address):
    events = []
    spec = ExperimentSpec(problems=(SyntheticProblem(),), optimizers=("random",), max_evaluations=10)
    with pytest.raises(distributed.ClusterUnreachableError) as error:
        run_experiment(spec, executor="ray", address=address, on_event=events.append)
    assert isinstance(error.value, ConnectionError)
    assert f"cannot reach the Ray cluster at '{address}'" in str(error.value)
    assert "leave the address unset to run on this machine" in str(error.value)
    assert events == []


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("http://head:8265", "cluster address 'http://head:8265' is not one of: local, auto, ray://host:port"),
        ("head-node", "cluster address 'head-node' has no valid port"),
        ("ray://head:port", "has no valid port"),
    ],
)
def test_malformed_address(address, message):
    with pytest.raises(ValueError, match=message):
        distributed.check_address(address)


def test_auto_without_a_cluster_is_a_connection_error(monkeypatch):
    def no_cluster(**_):
        raise ConnectionError("Could not find any running Ray instance.")

    monkeypatch.setattr(distributed.ray, "is_initialized", lambda: False)
    monkeypatch.setattr(distributed.ray, "init", no_cluster)
    with pytest.raises(distributed.ClusterUnreachableError, match="cannot reach the Ray cluster at 'auto'"):
        with distributed.session("auto"):
            pass


def test_a_local_ray_that_does_not_start_says_so_and_what_to_do(monkeypatch):
    def too_slow(**_):
        raise Exception("The current node timed out during startup. This could happen because ...")

    shut = []
    monkeypatch.setattr(distributed.ray, "is_initialized", lambda: False)
    monkeypatch.setattr(distributed.ray, "init", too_slow)
    monkeypatch.setattr(distributed.ray, "shutdown", lambda: shut.append(True))
    before = {k: os.environ.get(k) for k in distributed.AUTH_VARIABLES}
    with pytest.raises(distributed.LocalRayError) as error:
        with distributed.session(None, num_cpus=2):
            pass
    assert str(error.value).startswith("local Ray did not start (Exception: The current node timed out during startup.")
    assert "--no-ray" in str(error.value) and shut == [True]
    assert {k: os.environ.get(k) for k in distributed.AUTH_VARIABLES} == before  # the run's token is dropped


def test_serving_metrics_are_the_same_for_any_number_of_workers(ray_session):
    """Serving scores split over 1, 2 or 3 workers: every design sees the same request streams
    (common random numbers from the seed), so the joined metrics are the in-process ones, bit for bit."""
    from cosearch.config_loader import ConfigProblem, parse_config

    config = parse_config({
        "workload": "planaria_b", "platform": "cloud", "space": {"name": "cosearch", "options": {"max_cores": 3}},
        "objective": {"maximize": ["qps_at_sla"]}, "ray": False,
        "serving": {"policy": "shared", "arrival": {"poisson": 10}, "qos": "QoS-S", "requests": 30, "warmup": 5},
    }, "serving.yaml")  # fmt: skip
    problem = ConfigProblem.from_config(config).build()
    X = np.random.default_rng(1).random((6, problem.dim))
    want = problem.evaluate(X)
    assert (want.qps_at_sla > 0).any()
    for workers in (2, 3):
        split = distributed.SplitProblem(problem, workers=workers, min_part_s=0.0)
        split.evaluate(X[:2])  # timed in-process first
        got = split.evaluate(X)
        assert split.parts_used == [1, workers]
        for p in range(len(X)):
            assert repr(got.row(p)) == repr(want.row(p)), (workers, p)  # repr: NaN equals NaN


def test_the_workers_warm_up_loads_compiled_kernels_and_compiles_none():
    """A cold cache is left to the driver, which compiles every kernel while it prepares: the block
    stops at the first kernel it would compile; one already compiled (or on disk) runs."""
    import numba

    square = numba.njit(lambda x: x * x)
    reached = []
    with distributed._loading_kernels_only():
        reached.append(square(3))
    assert reached == [] and square.signatures == []  # stopped before compiling
    assert square(3) == 9  # outside the block: compiled as usual
    with distributed._loading_kernels_only():
        reached.append(square(4))
    assert reached == [16]
