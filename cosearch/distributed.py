"""Everything Ray: connecting to a cluster and executing runs as Ray tasks.

Imported only when an experiment asks for Ray (``executor="ray"``), so the
rest of cosearch starts without it.

* ``session(address, num_cpus)``: no address starts a private local instance
  (``address="local"``, never a bare ``ray.init()``, which may join a dead
  cluster left in Ray's temp dir) with token authentication and a fresh
  random token of its own; ``"auto"``, ``"ray://host:10001"`` or
  ``"host:port"`` joins a running cluster. An unreachable address is a
  ``ClusterUnreachableError`` (a ``ConnectionError``) before any work.
* ``RayExecutor.execute(specs, collector, problems)``: one task per run, given
  the problem the driver built (put in the object store once per problem)
  (``scheduling_strategy="SPREAD"`` so runs spread over nodes, ``max_retries``
  re-runs a task whose worker died), at most ``max_in_flight`` at once. Runs
  stream events (start with node and pid, progress with new front points)
  through a small actor the driver drains while it waits with ``ray.wait``;
  results are merged as they come. Ctrl-C cancels what is still running and
  keeps every finished run and the archive streamed so far.
* ``SplitProblem``: one run's batches split across Ray tasks once they cost
  enough to pay for it. ``RayExecutor`` wraps each run's problem in one when
  the cluster has more CPUs than runs left, so a single search uses them all.

Losing a process costs at most a retry: a dead task worker's run is re-run
(``max_retries``); the event actor is restarted by Ray and a run never fails
because its events could not be delivered (a run's result carries its whole
front, so events lost with the actor change no result, only the live view).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from urllib.parse import urlsplit

import numpy as np
import ray
from numba.core import event as numba_event

from cosearch.run import RunResult, RunSpec, failure_line, run


class ClusterUnreachableError(ConnectionError):
    """The Ray cluster address given cannot be reached."""


class LocalRayError(RuntimeError):
    """A private local Ray instance did not start."""


def _unreachable(address: str, why: str) -> ClusterUnreachableError:
    return ClusterUnreachableError(
        f"cannot reach the Ray cluster at {address!r} ({why}); start one with `ray start --head` or "
        "`ray up cluster.yaml`, or leave the address unset to run on this machine"
    )


def check_address(address: str | None, timeout_s: float = 3.0) -> None:
    """Refuse a malformed or unreachable cluster address before any work starts.

    ``None``/``"local"``: a private local instance; ``"auto"``: Ray's own
    lookup (checked when connecting); ``"ray://host:port"`` (Ray Client) and
    ``"host:port"`` (GCS) are probed with a TCP connection.
    """
    if address in (None, "local", "auto"):
        return
    text = str(address)
    parts = urlsplit(text if "://" in text else f"gcs://{text}")
    if parts.scheme not in ("ray", "gcs") or not parts.hostname:
        raise ValueError(f"cluster address {text!r} is not one of: local, auto, ray://host:port, host:port")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        raise ValueError(f"cluster address {text!r} has no valid port (ray://host:10001 or host:6379)")
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout_s).close()
    except OSError as e:
        raise _unreachable(text, e.strerror or str(e) or type(e).__name__) from e


AUTH_VARIABLES = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


def _reload_auth_settings() -> None:
    """Make this process's Ray core see the authentication variables as they now are.

    Ray caches its config and token on first use; without this a second
    local instance in one process would keep the previous run's token.
    """
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


@contextlib.contextmanager
def local_token_auth() -> Iterator[None]:
    """Token authentication with a fresh random token for a private local Ray instance.

    Ray 2.x's gcs_server, raylet, driver and workers listen on every
    interface even when asked for 127.0.0.1, so without authentication anyone
    on the network could run code through them (the "ShadowRay" exposure).
    The token lives only in this process's environment, which Ray's own
    processes inherit, and is dropped afterwards. A ``RAY_AUTH_MODE`` the user
    set is theirs to keep (Ray itself then reads ``RAY_AUTH_TOKEN`` or the
    token file); setting the mode explicitly also spares every run Ray's
    notice that it switched token authentication on by itself.
    """
    if "RAY_AUTH_MODE" in os.environ:
        yield
        return
    saved = {name: os.environ.pop(name, None) for name in AUTH_VARIABLES}
    os.environ["RAY_AUTH_MODE"], os.environ["RAY_AUTH_TOKEN"] = "token", secrets.token_hex(32)
    _reload_auth_settings()
    try:
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value
        _reload_auth_settings()


def _init_keeping_sigterm(**options) -> None:
    """``ray.init`` without losing a SIGTERM handler the caller installed.

    ``ray.init`` replaces the SIGTERM handler with one that exits at once; the
    CLI's handler turns SIGTERM into a Ctrl-C so finished runs are kept.
    """
    previous = signal.getsignal(signal.SIGTERM)
    ray.init(**options)
    if callable(previous) and not getattr(previous, "__module__", "").startswith("ray."):  # not a past session's
        signal.signal(signal.SIGTERM, previous)


LOCAL_SYSTEM_CONFIG = {"prestart_worker_first_driver": False}
"""Ray settings of a private local instance. The raylet already starts one worker per CPU as it
comes up; by default it starts more when the driver connects, which on a small machine import
Python beside those (about 1 s of CPU and 80 MB each) and exit unused: the event actor and one
warm-up task per CPU need no more (measured: 3 worker processes instead of 4)."""


@contextlib.contextmanager
def session(address: str | None = None, *, num_cpus: int | None = None,
            runtime_env: dict | None = None) -> Iterator[None]:
    """Ray, initialised for the ``with`` block: an already initialised session is reused
    as it is; one started here (a private local instance, or a connection to a
    cluster) is shut down at the end."""
    if ray.is_initialized():
        yield
        return
    check_address(address)
    options = {"include_dashboard": False, "logging_level": "warning", "runtime_env": runtime_env}
    if address in (None, "local"):
        with local_token_auth():
            try:
                _init_keeping_sigterm(address="local", num_cpus=num_cpus or os.cpu_count(),
                                      _system_config=LOCAL_SYSTEM_CONFIG, **options)
            except Exception as e:  # Ray raises a bare Exception when its processes do not come up in time
                ray.shutdown()  # what did start is stopped
                raise LocalRayError(
                    f"local Ray did not start ({failure_line(e)}); Ray gives its processes about 30 s, which "
                    "a machine busy with other work can exceed: try again, or run in this process with --no-ray"
                ) from e
            try:
                yield
            finally:
                ray.shutdown()
        return
    try:
        _init_keeping_sigterm(address=address, **options)
    except (ConnectionError, TimeoutError, RuntimeError) as e:
        raise _unreachable(address, str(e).splitlines()[0] if str(e) else type(e).__name__) from e
    try:
        yield
    finally:
        ray.shutdown()


# --- one run's population across workers -----------------------------------------

MIN_PART_S = 0.05
"""Seconds of in-process evaluation a part of a batch must be worth before it
is sent to another worker: a few times a task's round trip with its rows and
metrics (``benchmarks/scaling.py`` measures both)."""

_PROBLEMS: dict[str, object] = {}  # per worker process: problems fetched, by object id


@ray.remote(num_cpus=1)
def _evaluate_part(problem: list, X: np.ndarray):
    """Score rows of a batch. ``problem`` is ``[ObjectRef]``, not the ref itself,
    so Ray hands over the reference and the problem is fetched once per worker
    process: its evaluator caches (core tables, orders) then stay warm."""
    key = problem[0].hex()
    if key not in _PROBLEMS:
        if len(_PROBLEMS) >= 4:
            _PROBLEMS.clear()
        _PROBLEMS[key] = ray.get(problem[0])
    return _PROBLEMS[key].evaluate(X)


def concatenate_metrics(parts: Sequence):
    """The metrics of consecutive row blocks as one batch's (``Metrics`` or a dict of arrays)."""
    first = parts[0]
    if isinstance(first, Mapping):
        return {key: np.concatenate([part[key] for part in parts]) for key in first}
    return type(first).concatenate(parts)


class SplitProblem:
    """A built problem whose ``evaluate`` spreads a large batch over Ray tasks.

    The problem (its workload and platform) goes to the object store once.
    The first batch is scored in this process and timed; a later batch of n
    designs is cut into ``min(workers, n * seconds_per_design / min_part_s)``
    contiguous parts, the first scored here while the others run as tasks
    (``scheduling_strategy="SPREAD"``, so they reach other nodes). Every
    design is scored by the same evaluator on its own, so the joined metrics
    are those of one in-process call, bit for bit.
    """

    def __init__(self, problem, workers: int, min_part_s: float = MIN_PART_S):
        self.problem, self.workers, self.min_part_s = problem, int(workers), float(min_part_s)
        self.seconds_per_design: float | None = None
        self.parts_used: list[int] = []  # parts of each batch, for tests and benchmarks
        self._ref = None

    def __getattr__(self, name):  # dim, genes, metric_names, metrics_row...
        if name == "problem":  # not yet set (unpickling)
            raise AttributeError(name)
        return getattr(self.problem, name)

    def parts(self, n: int) -> int:
        if self.seconds_per_design is None or self.workers <= 1 or n < 2:
            return 1
        if self.min_part_s <= 0:
            return min(self.workers, n)
        return int(max(min(self.workers, n, n * self.seconds_per_design // self.min_part_s), 1))

    def evaluate(self, X: np.ndarray):
        parts = self.parts(len(X))
        self.parts_used.append(parts)
        if parts == 1:
            start = time.perf_counter()
            metrics = self.problem.evaluate(X)
            self.seconds_per_design = (time.perf_counter() - start) / max(len(X), 1)
            return metrics
        if self._ref is None:
            self._ref = ray.put(self.problem)
        blocks = np.array_split(X, parts)
        task = _evaluate_part.options(scheduling_strategy="SPREAD")
        remote = [task.remote([self._ref], block) for block in blocks[1:]]
        return concatenate_metrics([self.problem.evaluate(blocks[0]), *ray.get(remote)])


# Restarted by Ray when its process dies; calls to it are retried until it is back.
@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)
class _EventSink:
    """Where running tasks push their events until the driver drains them."""

    def __init__(self):
        self.events = []

    def push(self, event: dict) -> None:
        self.events.append(event)

    def drain(self) -> list:
        events, self.events = self.events, []
        return events

    def pid(self) -> int:
        return os.getpid()


@ray.remote
def _run_task(spec: RunSpec, problem, sink, workers: int = 1, min_part_s: float | None = None) -> RunResult:
    """``problem``: the one the driver built (fetched from the object store), or None to build it here."""
    node = ray.get_runtime_context().get_node_id()
    sink.push.remote({"type": "started", "label": spec.label, "node": node, "pid": os.getpid()})
    if workers > 1 and min_part_s is not None:
        problem = SplitProblem(spec.problem.build() if problem is None else problem, workers, min_part_s)
    result = run(spec, problem=problem, on_batch=lambda event: sink.push.remote({"type": "progress", **event}))
    try:
        ray.get(sink.push.remote({"type": "done", "label": spec.label}))  # every event delivered before we return
    except ray.exceptions.RayError:
        pass  # the events are lost with the actor; the result carries the run's whole front
    return result


class RayExecutor:
    """Runs as Ray tasks; see the module docstring. ``max_in_flight`` defaults to the cluster's CPUs:
    a run waits for its last event's delivery before it returns, and Ray lends a waiting task's CPU
    to a queued one, for which it starts a new worker process (about 1 s of CPU, 80 MB) that is then
    not needed; the driver sends the next run as soon as one finishes instead.

    ``population_split``: the ``min_part_s`` of ``SplitProblem`` for runs
    given more than one CPU (the cluster's CPUs over the runs left, at
    launch); None keeps every run in its one task.

    ``sink`` is the event actor while ``execute`` runs (tests kill it to show that costs nothing).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        max_retries: int = 1,
        max_in_flight: int | None = None,
        runtime_env: dict | None = None,
        poll_seconds: float = 0.2,
        population_split: float | None = MIN_PART_S,
    ):
        check_address(address)
        self.population_split = population_split
        self.address, self.num_cpus, self.runtime_env = address, num_cpus, runtime_env
        self.max_retries, self.max_in_flight, self.poll_seconds = int(max_retries), max_in_flight, poll_seconds
        self.sink = None
        self._session: contextlib.ExitStack | None = None

    def start(self) -> None:
        """Open the session now (``execute`` opens it otherwise): start a local instance or connect,
        create the event actor, and on a local instance this started run one ``_warm_up`` per CPU.

        ``run_experiment`` calls it while another thread builds the problems, so Ray's start and the
        workers' imports overlap the driver's own set-up. It stays in the calling (main) thread:
        Ray ties its processes' lives to the thread that spawned them (``PR_SET_PDEATHSIG``), and
        forking from a side thread while the main one computes can deadlock the child.
        A second call does nothing; ``close`` ends what this opened.
        """
        if self._session is not None:
            return
        stack = contextlib.ExitStack()
        try:
            fresh = not ray.is_initialized()
            stack.enter_context(session(self.address, num_cpus=self.num_cpus, runtime_env=self.runtime_env))
            self.sink = _EventSink.remote()  # its process starts now
            if fresh and self.address in (None, "local"):
                warm = [_warm_up.remote() for _ in range(int(ray.cluster_resources().get("CPU", 1)))]
                with contextlib.suppress(ray.exceptions.RayError):  # a worker that cannot warm up fails its run
                    ray.get(warm)
        except BaseException:
            stack.close()
            raise
        self._session = stack

    def close(self) -> None:
        """End the session ``start`` opened (one this executor found running is left running)."""
        stack, self._session = self._session, None
        if stack is not None:
            if self.sink is not None:
                ray.kill(self.sink, no_restart=True)
                self.sink = None
            stack.close()

    def execute(self, specs: Sequence[RunSpec], collector, problems: Mapping | None = None) -> bool:
        """Run every spec, reporting to ``collector``; returns True when interrupted by Ctrl-C.

        ``problems``: the driver's built problems by key, each put in the object
        store once and handed to its runs' tasks; a run whose problem is not
        there builds it on its worker. A session this call opens it closes; one
        opened by ``start`` stays open for its caller to ``close`` (``run_experiment``
        closes it while the results are written).
        """
        opened_here = self._session is None
        self.start()
        try:
            return self._execute(list(specs), collector, problems or {})
        finally:
            if opened_here:
                self.close()

    def _execute(self, specs: list[RunSpec], collector, problems: Mapping) -> bool:
        sink = self.sink
        refs = {key: ray.put(problems[key]) for key in dict.fromkeys(s.problem.key for s in specs) if key in problems}
        cpus = ray.cluster_resources().get("CPU", 1)
        limit = self.max_in_flight or max(int(cpus), 1)
        task = _run_task.options(scheduling_strategy="SPREAD", max_retries=self.max_retries, num_cpus=1)
        queue, pending = list(specs), {}

        def drain():
            try:
                events = ray.get(sink.drain.remote())
            except ray.exceptions.RayActorError:
                return  # only if Ray gave up restarting it: the results still arrive
            for event in events:
                kind = event.pop("type")
                if kind == "started":
                    collector.started(event["label"], event["node"], event["pid"])
                elif kind == "progress":
                    collector.progress(event)

        try:
            while queue or pending:
                while queue and len(pending) < limit:
                    workers = max(int(cpus) // min(len(queue) + len(pending), limit), 1)
                    spec = queue.pop(0)
                    problem = refs.get(spec.problem.key)
                    pending[task.remote(spec, problem, sink, workers, self.population_split)] = spec.label
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=self.poll_seconds)
                if ready:  # with every other run finished by now
                    ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0)
                drain()
                for ref in ready:
                    label = pending.pop(ref)
                    try:
                        collector.finished(ray.get(ref))
                    except ray.exceptions.RayError as e:  # the run failed after its retries: report it
                        collector.failed(label, *_task_failure(e))
            drain()
            return False
        except KeyboardInterrupt:
            for ref in pending:
                ray.cancel(ref, force=True)
            try:
                drain()
            except (ray.exceptions.RayError, KeyboardInterrupt):
                pass  # keep what was already merged
            return True


class _NotCached(Exception):
    """A kernel the warm-up asked for is not in numba's disk cache."""


class _RefuseCompiles(numba_event.Listener):
    """Stops a compile before it starts (numba's event API): a cache hit raises no event."""

    def on_start(self, event) -> None:
        raise _NotCached(event.data["dispatcher"].py_func.__name__)

    def on_end(self, event) -> None:
        pass


@contextlib.contextmanager
def _loading_kernels_only() -> Iterator[None]:
    """Numba kernels called in the block load from the disk cache (or this process) as usual; the first
    that would be compiled ends the block instead, quietly, before its compile starts."""
    with numba_event.install_listener("numba:compile", _RefuseCompiles()), contextlib.suppress(_NotCached):
        yield


@ray.remote(num_cpus=1)
def _warm_up() -> int:
    """Load in a new worker what every run needs before its first batch: cosearch's modules (by
    unpickling this function), CMA-ES, and the evaluator's compiled kernels from numba's disk
    cache (by scoring designs of the tiny problem, whose batches call every kernel with the types
    any problem's do). A second or two of CPU per worker, spent while the driver still prepares;
    it changes nothing a run computes (mapper tables are kept per workload and platform).

    A kernel missing from the cache (the first run after an install or an edit) is not compiled
    here: the driver compiles every kernel while it prepares (its reference sample scores
    designs), each worker compiling them too put three compiles of about 8 CPU s on a 2-core
    machine, and the runs, which start once the driver has prepared, load them from the cache."""
    import objectives
    from cosearch.optimizers.cma_es import import_cma
    from cosearch.testing import tiny_problem

    import_cma()
    tiny = tiny_problem()
    with _loading_kernels_only():
        objectives.evaluate(tiny.space.decode(np.random.default_rng(0).random((4, tiny.space.dim))), tiny.workload,
                            tiny.platform)  # fmt: skip
    return os.getpid()


def _task_failure(error: BaseException) -> tuple[str, str]:
    """The whole text of a failed task (Ray's holds the remote traceback with its causes)
    and the ``Type: first line`` of the task's own exception, not of Ray's wrapper."""
    cause = getattr(error, "cause", None)
    return str(error), failure_line(cause if isinstance(cause, BaseException) else error)
