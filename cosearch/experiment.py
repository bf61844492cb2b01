"""Experiments: many runs (optimizers × seeds × problems), executed in-process or on Ray.

``run_experiment`` is the one orchestrator: the tests, the benchmarks and
``cosearch run`` all go through it. It takes an ``ExperimentSpec`` (a grid of
problems × optimizers × seeds) or the run specs themselves (a config's:
``config_loader.run_specs``), and

1. prepares: validates everything first (budgets, optimizer names and
   options, objective and metric names, the cluster address), builds each
   problem once and fixes one hypervolume reference point per problem;
2. executes the runs on ``LocalExecutor`` (this process, one run after
   another) or ``cosearch.distributed.RayExecutor`` (Ray tasks, imported only
   when asked for, given the problems the driver built);
3. collects: one driver-side ``Collector`` merges every point into one Pareto
   archive per problem as runs stream progress, so a Ctrl-C returns every
   finished run and the partial archive;
4. writes, when given a ``results_writer.ResultsWriter``: each run's files as
   it finishes, the designs, front, plots and summary at the end.

The same spec gives the same best designs and fronts on either executor.

Problems are picklable specs with a ``key`` and a ``build()``:
``SpaceProblem`` (a named space over a zoo workload and a platform preset),
``config_loader.ConfigProblem`` (a config's sections), ``TinyProblem``
(``cosearch.testing``) and ``SyntheticProblem`` (closed-form metrics on
[0, 1]^d, for tests and scaling checks).
"""
from __future__ import annotations

import dataclasses
import os
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from cosearch.pareto import DEFAULT_KEYS, ParetoArchive
from cosearch.run import DEFAULT_CONSTRAINTS, RunResult, RunSpec, failure_line, reference_point, run


# --- problems ------------------------------------------------------------------


class BuiltProblem:
    """A space ready to evaluate: ``dim``, ``genes``, ``evaluate(X) -> Metrics``."""

    def __init__(self, space, workload, platform):
        from objectives import metrics as metric_table

        self.space, self.workload, self.platform = space, workload, platform
        self.dim, self.genes = space.dim, space.genes
        self.metric_names = (*metric_table.names(shape="design"), "feasible", "reason")

    def evaluate(self, X: np.ndarray):
        import objectives

        return objectives.evaluate(self.space.decode(X), self.workload, self.platform)

    @staticmethod
    def metrics_row(metrics, p: int) -> dict:
        return metrics.row(p)

    def __getstate__(self) -> dict:
        """Pickled (to a Ray worker) with the mapper tables this process has for it: the driver maps
        every core its hypervolume reference sample met, and a worker need not map them again.
        One problem per (workload, platform) carries them, so the object store holds them once
        (tens of MB); the baselines' problems share them in the worker that received them."""
        from objectives.evaluator import known_tables

        import weakref

        tables = known_tables(self.workload, self.platform)
        carrier = tables.carrier() if tables is not None and tables.carrier is not None else None
        if carrier is not None and carrier is not self:
            tables = None
        elif tables is not None:
            tables.carrier = weakref.ref(self)
        return {**self.__dict__, "_tables": tables}

    def __setstate__(self, state: dict) -> None:
        from objectives.evaluator import adopt_tables

        tables = state.pop("_tables", None)
        self.__dict__.update(state)
        if tables is not None:
            adopt_tables(tables, self.workload, self.platform)


@dataclasses.dataclass(frozen=True)
class SpaceProblem:
    """``spaces.make_space(space, get_workload(workload), get_platform(platform), **space_options)``."""

    workload: str
    platform: str
    space: str = "cosearch"
    space_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def key(self) -> str:
        prefix = "" if self.space == "cosearch" else f"{self.space}:"
        return f"{prefix}{self.workload}@{self.platform}"

    def build(self) -> BuiltProblem:
        from objectives.workloads import get_workload
        from spaces import get_platform, make_space

        workload, platform = get_workload(self.workload), get_platform(self.platform)
        return BuiltProblem(make_space(self.space, workload, platform, **self.space_options), workload, platform)


@dataclasses.dataclass(frozen=True)
class TinyProblem:
    """The enumerable tiny co-design problem of ``cosearch.testing``."""

    key: str = "tiny"

    def build(self) -> BuiltProblem:
        from cosearch.testing import tiny_problem

        tiny = tiny_problem()
        return BuiltProblem(tiny.space, tiny.workload, tiny.platform)


class _BuiltSynthetic:
    metric_names = ("latency_s", "energy_j", "edp", "resource_fraction", "sla_violations", "feasible")

    def __init__(self, spec: "SyntheticProblem"):
        from spaces.genes import Gene

        self.spec, self.dim = spec, spec.dim
        discrete = spec.dim // 3
        self.genes = [Gene(name=f"c{i}", kind="categorical", choices=tuple(range(4))) for i in range(discrete)]
        self.genes += [Gene(name=f"x{i}", kind="continuous") for i in range(spec.dim - discrete)]

    def evaluate(self, X: np.ndarray) -> dict:
        if self.spec.seconds_per_batch:
            time.sleep(self.spec.seconds_per_batch)
        X = np.asarray(X, dtype=np.float64)
        latency = 1.0 + ((X - 0.3) ** 2).sum(axis=1)
        energy = 1.0 + ((X - 0.6) ** 2).sum(axis=1)
        feasible = X[:, -1] <= 0.9
        cost = lambda v: np.where(feasible, v, np.inf)  # noqa: E731
        return {
            "latency_s": cost(latency),
            "energy_j": cost(energy),
            "edp": cost(latency * energy),
            "resource_fraction": cost(X.mean(axis=1)),
            "sla_violations": np.zeros(len(X)),
            "feasible": feasible,
        }

    @staticmethod
    def metrics_row(metrics, p: int) -> dict:
        return {k: v[p].item() for k, v in metrics.items()}


@dataclasses.dataclass(frozen=True)
class SyntheticProblem:
    """Closed-form latency/energy/resources on [0, 1]^d (a third of the genes categorical,
    designs with ``x[-1] > 0.9`` infeasible); ``seconds_per_batch`` simulates a slow evaluator."""

    dim: int = 6
    seconds_per_batch: float = 0.0
    name: str = "synthetic"

    @property
    def key(self) -> str:
        return f"{self.name}{self.dim}"

    def build(self) -> _BuiltSynthetic:
        return _BuiltSynthetic(self)


# --- experiment spec -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ExperimentSpec:
    """Runs = problems × optimizers × seeds, sharing objectives, constraints and budget.

    ``optimizers``: names, or ``(name, options)`` pairs. ``references``: the
    hypervolume reference per problem key; missing ones are computed once by
    the driver from a fixed sample (``run.reference_point``).
    """

    problems: tuple
    optimizers: tuple
    seeds: tuple[int, ...] = (0,)
    objectives: tuple[str, ...] = ("edp",)
    constraints: tuple = DEFAULT_CONSTRAINTS
    max_evaluations: int | None = None
    max_seconds: float | None = None
    archive_keys: tuple[str, ...] = DEFAULT_KEYS
    references: Mapping[str, tuple[float, ...]] = dataclasses.field(default_factory=dict)
    name: str = "experiment"

    @classmethod
    def grid(cls, *, workloads: Sequence[str], platforms: Sequence[str], space: str = "cosearch",
             space_options: Mapping[str, Any] | None = None, **rest) -> "ExperimentSpec":  # fmt: skip
        """Every workload × platform as a ``SpaceProblem`` of one space."""
        problems = tuple(
            SpaceProblem(w, p, space, dict(space_options or {})) for w in workloads for p in platforms
        )
        return cls(problems=problems, **rest)

    def runs(self) -> list[RunSpec]:
        if not self.problems or not self.optimizers or not self.seeds:
            raise ValueError("an experiment needs at least one problem, one optimizer and one seed")
        specs = []
        for problem in self.problems:
            for entry in self.optimizers:
                name, options = (entry, {}) if isinstance(entry, str) else (entry[0], dict(entry[1]))
                for seed in self.seeds:
                    specs.append(RunSpec(
                        problem=problem, optimizer=name, seed=int(seed), objectives=tuple(self.objectives),
                        constraints=tuple(self.constraints), max_evaluations=self.max_evaluations,
                        max_seconds=self.max_seconds, optimizer_options=options,
                        archive_keys=tuple(self.archive_keys), reference=self.references.get(problem.key),
                    ))  # fmt: skip
        return specs


# --- driver side -----------------------------------------------------------------


@dataclasses.dataclass
class ExperimentResult:
    """``runs``: finished runs by label (spec order); ``failures``: label → error text;
    ``archives``: problem key → merged Pareto archive; ``retries``: label → attempts − 1;
    ``nodes``: label → node of its last attempt; ``interrupted``: stopped by Ctrl-C;
    ``summary``: what ``summary.json`` holds, when the experiment wrote a results directory."""

    runs: dict[str, RunResult]
    failures: dict[str, str]
    archives: dict[str, ParetoArchive]
    retries: dict[str, int]
    nodes: dict[str, str]
    interrupted: bool = False
    summary: dict | None = None

    def best(self, problem_key: str | None = None) -> RunResult:
        """The finished run with the lowest best objectives (of one problem, if given)."""
        candidates = [
            r for r in self.runs.values()
            if r.best_objectives is not None and problem_key in (None, r.spec.problem.key)
        ]  # fmt: skip
        if not candidates:
            raise ValueError("no finished run found a feasible design")
        return min(candidates, key=lambda r: tuple(r.best_objectives))


class Collector:
    """Receives events from an executor; merges fronts; forwards every event to ``on_event``.

    Events are dicts with a ``type``: ``started`` (label, node, pid),
    ``progress`` (see ``run.run``'s ``on_batch``), ``finished`` (label,
    result) or ``failed`` (label, error: the whole traceback, line: its
    ``Type: first line``).
    """

    def __init__(self, specs: Sequence[RunSpec], on_event: Callable[[dict], None] | None = None):
        self.specs = {s.label: s for s in specs}
        self.on_event = on_event
        self.results: dict[str, RunResult] = {}
        self.failures: dict[str, str] = {}
        self.starts: dict[str, int] = {}
        self.nodes: dict[str, str] = {}
        self.archives: dict[str, ParetoArchive] = {}
        for s in specs:
            self.archives.setdefault(s.problem.key, ParetoArchive(s.archive_keys, s.reference))

    def _forward(self, event: dict) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def started(self, label: str, node: str, pid: int) -> None:
        self.starts[label] = self.starts.get(label, 0) + 1
        self.nodes[label] = node
        self._forward({"type": "started", "label": label, "node": node, "pid": pid, "attempt": self.starts[label]})

    def progress(self, event: dict) -> None:
        archive = self.archives[self.specs[event["label"]].problem.key]
        if len(event["front_values"]):
            archive.add(event["front_values"], event["front_X"], event["label"], event["front_evaluation"])
        self._forward({"type": "progress", **event})

    def finished(self, result: RunResult) -> None:
        self.results[result.label] = result
        self.failures.pop(result.label, None)
        self.archives[result.spec.problem.key].merge(result.archive)
        self._forward({"type": "finished", "label": result.label, "result": result})

    def failed(self, label: str, error: str, line: str | None = None) -> None:
        """``error``: the whole text (traceback with its causes); ``line``: ``Type: first line`` for a console."""
        self.failures[label] = error
        line = line or (error.strip().splitlines() or ["failed"])[-1]
        self._forward({"type": "failed", "label": label, "error": error, "line": line})

    def result(self, interrupted: bool, restored: Mapping[str, RunResult] | None = None) -> ExperimentResult:
        """What was collected; ``restored``: runs finished before (read back), listed first among
        ``runs`` (their fronts are not merged into ``archives``)."""
        ordered = {**(restored or {}), **{label: self.results[label] for label in self.specs if label in self.results}}
        retries = {label: n - 1 for label, n in self.starts.items()}
        return ExperimentResult(ordered, dict(self.failures), self.archives, retries, dict(self.nodes), interrupted)


class LocalExecutor:
    """Runs one after another in this process (each problem built once)."""

    def execute(self, specs: Sequence[RunSpec], collector: Collector, problems: Mapping[str, Any]) -> bool:
        """Returns True when interrupted by Ctrl-C (finished runs and streamed points are kept)."""
        for spec in specs:
            collector.started(spec.label, "local", os.getpid())
            try:
                collector.finished(run(spec, problem=problems[spec.problem.key], on_batch=collector.progress))
            except KeyboardInterrupt:
                return True
            except Exception as e:  # a failed run is reported, the others go on (as on Ray)
                collector.failed(spec.label, traceback.format_exc(), failure_line(e))
        return False


def create_storages(specs: Sequence[RunSpec]) -> None:
    """Create the tables of every Optuna storage the runs name, once, in the driver, before any
    run opens one: runs opening a new database at the same moment race creating them."""
    urls = dict.fromkeys(s.optimizer_options["storage"] for s in specs if s.optimizer_options.get("storage"))
    if urls:
        import optuna

        for url in urls:
            optuna.storages.get_storage(url)


def prepare(spec: "ExperimentSpec | Sequence[RunSpec]", problems: Mapping[str, Any] | None = None, *,
            meanwhile: Callable[[], None] | None = None) -> tuple[list[RunSpec], dict[str, Any]]:  # fmt: skip
    """Validated run specs with the reference point of their problem fixed, and the built problems.

    ``problems``: problems already built, by key (a config's, built while it
    was checked); the others are built here, once each. ``meanwhile``: called
    in this thread, after the checks that need no built problem, while a
    side thread builds the problems and samples their references (what costs:
    the mapper's cold start), so Ray's start overlaps it.
    """
    specs = spec.runs() if isinstance(spec, ExperimentSpec) else list(spec)
    labels = [s.label for s in specs]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ValueError(f"runs would share labels {duplicates}: list each optimizer once per problem")
    for s in specs:
        s.validate()
    if meanwhile is None:
        return _with_references(specs, dict(problems or {}))
    return _alongside(lambda: _with_references(specs, dict(problems or {})), meanwhile)


def _with_references(specs: list[RunSpec], problems: dict[str, Any]) -> tuple[list[RunSpec], dict[str, Any]]:
    references = {}
    for s in specs:
        key = s.problem.key
        if key not in references:
            if key not in problems:
                problems[key] = s.problem.build()
            s.validate(problems[key].metric_names)
            samples = getattr(problems[key], "reference_samples", 256)  # fewer where a design costs a stream
            references[key] = s.reference or reference_point(problems[key], s.archive_keys, s.constraints,
                                                             samples=samples)
    return [dataclasses.replace(s, reference=references[s.problem.key]) for s in specs], problems


def _yield_cpu(by: int = 5) -> None:
    """Lower this thread's priority (Linux: ``nice`` is per thread), so on a busy machine the processes
    ``meanwhile`` starts go first: Ray gives its own about 30 s to come up. On an idle machine the
    thread still has a core of its own; where threads have no priority of their own, nothing changes."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + by)
    except (AttributeError, OSError):
        pass


def _alongside(work: Callable[[], Any], meanwhile: Callable[[], None]):
    """``work()`` in a side thread while ``meanwhile()`` runs in this one; ``work``'s result, or its
    error raised here (``meanwhile``'s first, if both fail). Numerical work releases the GIL
    (numpy, numba's ``nogil`` kernels) and starting processes mostly waits, so on two cores the
    two take about as long as the longer one; ``work`` runs at a lower priority (``_yield_cpu``)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        _yield_cpu()
        try:
            outcome["value"] = work()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = e

    thread = threading.Thread(target=target, name="cosearch-prepare", daemon=True)
    thread.start()
    try:
        meanwhile()
    finally:
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def make_executor(executor: "str | Any", address: str | None = None, num_cpus: int | None = None,
                  runtime_env: dict | None = None, max_in_flight: int | None = None):  # fmt: skip
    """``"local"``, ``"ray"`` (a bad cluster address fails here, before any work) or an executor object."""
    if not isinstance(executor, str):
        return executor
    if executor == "local":
        return LocalExecutor()
    if executor == "ray":
        from cosearch import distributed

        return distributed.RayExecutor(address=address, num_cpus=num_cpus, runtime_env=runtime_env,
                                       max_in_flight=max_in_flight)
    raise ValueError(f"executor {executor!r} is not one of local, ray")


def _redacted(text: str, secrets: Sequence[str]) -> str:
    from cosearch.results import redact_url

    for secret in secrets:
        text = text.replace(secret, redact_url(secret))
    return text


def run_experiment(
    spec: "ExperimentSpec | Sequence[RunSpec]",
    *,
    executor: str | Any = "local",
    address: str | None = None,
    num_cpus: int | None = None,
    runtime_env: dict | None = None,
    on_event: Callable[[dict], None] | None = None,
    writer=None,
    problems: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> ExperimentResult:
    """Run every run of ``spec``: prepare → execute → collect → write.

    ``spec``: an ``ExperimentSpec`` or the run specs themselves (a config's,
    ``config_loader.run_specs``). ``executor`` is ``"local"``, ``"ray"`` or an
    executor object. With ``"ray"``: ``address`` None starts a local Ray
    instance with ``num_cpus`` CPUs; ``"auto"``, ``"ray://host:10001"`` or
    ``"host:port"`` joins a cluster (unreachable:
    ``distributed.ClusterUnreachableError``, a ``ConnectionError``, before any
    run starts); ``runtime_env`` is passed to ``ray.init`` (e.g.
    ``{"py_modules": [cosearch, objectives, spaces]}`` to ship this checkout
    to a cluster that lacks it).

    1. prepare: validate every run, build each problem once (``problems``
       given are reused), fix one hypervolume reference per problem (on Ray,
       in a side thread while Ray starts: ``RayExecutor.start``), create
       the Optuna storages the runs share;
    2. ``writer`` (a ``results_writer.ResultsWriter``), when given, opens its
       directory: the runs it already holds are read back, not re-run;
    3. execute the other runs; every event goes to the writer first (a run's
       files exist before anyone is told it finished), then to ``on_event``
       (see ``Collector``; a storage URL's password never reaches either);
       an extra ``planned`` event (``runs``, ``todo``) comes before the first run;
    4. collect: every run by label in spec order, the merged fronts;
    5. write (with a writer, when every run finished): designs, front, plots
       and ``summary.json`` as ``result.summary``, while a side thread closes
       the executor (Ray's processes stop). A Ctrl-C while writing returns
       ``interrupted`` with every run kept and no summary.
    """
    executor = make_executor(executor, address, num_cpus, runtime_env)
    close = getattr(executor, "close", lambda: None)  # what ``start`` opened (Ray's session)
    try:
        specs, problems = prepare(spec, problems, meanwhile=getattr(executor, "start", None))
        secrets = sorted({s.optimizer_options["storage"] for s in specs if s.optimizer_options.get("storage")})
        restored = writer.open(specs) if writer is not None else {}
        create_storages(specs)
        todo = [s for s in specs if s.label not in restored]

        def forward(event: dict) -> None:
            if event["type"] == "failed" and secrets:
                event = {**event, "error": _redacted(event["error"], secrets),
                         "line": _redacted(event["line"], secrets)}
            if writer is not None:
                writer.record(event)
            if on_event is not None:
                on_event(event)

        forward({"type": "planned", "label": None, "runs": specs, "todo": todo})
        started = time.perf_counter()
        collector = Collector(todo, forward)
        interrupted = executor.execute(todo, collector, problems) if todo else False
    except BaseException:
        close()
        raise
    outcome = collector.result(interrupted, restored)
    outcome.runs = {s.label: outcome.runs[s.label] for s in specs if s.label in outcome.runs}  # spec order
    if writer is None or interrupted or outcome.failures:
        close()
        return outcome
    seconds = time.perf_counter() - started

    def write() -> None:
        try:
            outcome.summary = writer.finish(name or getattr(spec, "name", "experiment"), specs, outcome, problems,
                                            seconds=seconds)
        except KeyboardInterrupt:  # summary.json is written last, so the directory still reads as unfinished
            outcome.interrupted = True

    # Ray's processes take a second or two to stop (mostly waiting for them to exit): written meanwhile.
    _alongside(close, write)
    return outcome
