"""Experiments: many runs (optimizers × seeds × problems), executed in-process or on Ray.

``run_experiment(spec)`` validates everything first (budgets, optimizer names
and options, objective and metric names, the cluster address), fixes one
hypervolume reference point per problem, then hands the runs to an executor:
``LocalExecutor`` (this process, one run after another) or
``cosearch.distributed.RayExecutor`` (Ray tasks, imported only when asked
for). Both report to one driver-side ``Collector`` that merges every point
into one Pareto archive per problem as runs stream progress, so a Ctrl-C
returns every finished run and the partial archive. The same spec gives the
same best designs and fronts on either executor.

Problems are picklable specs a worker builds on its side:
``SpaceProblem`` (a named space over a zoo workload and a platform preset),
``TinyProblem`` (``spaces.tiny``) and ``SyntheticProblem`` (closed-form
metrics on [0, 1]^d, for tests and scaling checks).
"""

from __future__ import annotations

import dataclasses
import os
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from cosearch.pareto import DEFAULT_KEYS, ParetoArchive
from cosearch.run import DEFAULT_CONSTRAINTS, RunResult, RunSpec, reference_point, run


# --- problems ------------------------------------------------------------------


class BuiltProblem:
    """A space ready to evaluate: ``dim``, ``genes``, ``evaluate(X) -> Metrics``."""

    def __init__(self, space, workload, platform):
        from objectives import Metrics

        self.space, self.workload, self.platform = space, workload, platform
        self.dim, self.genes = space.dim, space.genes
        skip = ("model_latency_s", "progress", "layer_core", "schedule")
        self.metric_names = tuple(f.name for f in dataclasses.fields(Metrics) if f.name not in skip)

    def evaluate(self, X: np.ndarray):
        import objectives

        return objectives.evaluate(self.space.decode(X), self.workload, self.platform)

    @staticmethod
    def metrics_row(metrics, p: int) -> dict:
        return metrics.row(p)


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
    """The enumerable tiny co-design problem of ``spaces.tiny``."""

    key: str = "tiny"

    def build(self) -> BuiltProblem:
        from spaces.tiny import tiny_problem

        tiny = tiny_problem()
        return BuiltProblem(tiny.space, tiny.workload, tiny.platform)


class _BuiltSynthetic:
    metric_names = ("latency_s", "energy_j", "edp", "resource_fraction", "sla_violations", "feasible")

    def __init__(self, spec: "SyntheticProblem"):
        from cosearch.optimizers import Gene

        self.spec, self.dim = spec, spec.dim
        discrete = spec.dim // 3
        self.genes = [Gene(f"c{i}", "categorical", choices=tuple(range(4))) for i in range(discrete)]
        self.genes += [Gene(f"x{i}", "continuous") for i in range(spec.dim - discrete)]

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
        labels = [s.label for s in specs]
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise ValueError(f"runs would share labels {duplicates}: list each optimizer once per problem")
        return specs


# --- driver side -----------------------------------------------------------------


@dataclasses.dataclass
class ExperimentResult:
    """``runs``: finished runs by label (spec order); ``failures``: label → error text;
    ``archives``: problem key → merged Pareto archive; ``retries``: label → attempts − 1;
    ``nodes``: label → node of its last attempt; ``interrupted``: stopped by Ctrl-C."""

    runs: dict[str, RunResult]
    failures: dict[str, str]
    archives: dict[str, ParetoArchive]
    retries: dict[str, int]
    nodes: dict[str, str]
    interrupted: bool = False

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

    def result(self, interrupted: bool) -> ExperimentResult:
        ordered = {label: self.results[label] for label in self.specs if label in self.results}
        retries = {label: n - 1 for label, n in self.starts.items()}
        return ExperimentResult(ordered, dict(self.failures), self.archives, retries, dict(self.nodes), interrupted)


def failure_line(error: BaseException) -> str:
    """``Type: first line of the message``: what a console shows of a failed run (the
    last line of a traceback may be a driver's URL or a wrapped error's detail)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


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


def prepare(spec: ExperimentSpec) -> tuple[list[RunSpec], dict[str, Any]]:
    """Validated run specs with the reference point of their problem fixed, and the built problems."""
    specs = spec.runs()
    for s in specs:
        s.validate()
    problems, references = {}, {}
    for s in specs:
        key = s.problem.key
        if key not in problems:
            problems[key] = s.problem.build()
            s.validate(problems[key].metric_names)
            references[key] = s.reference or reference_point(problems[key], s.archive_keys, s.constraints)
    return [dataclasses.replace(s, reference=references[s.problem.key]) for s in specs], problems


def run_experiment(
    spec: ExperimentSpec,
    *,
    executor: str | Any = "local",
    address: str | None = None,
    num_cpus: int | None = None,
    runtime_env: dict | None = None,
    on_event: Callable[[dict], None] | None = None,
) -> ExperimentResult:
    """Run every run of ``spec``; ``executor`` is ``"local"``, ``"ray"`` or an executor object.

    With ``"ray"``: ``address`` None starts a local Ray instance with
    ``num_cpus`` CPUs; ``"auto"``, ``"ray://host:10001"`` or ``"host:port"``
    joins a cluster (unreachable: ``distributed.ClusterUnreachableError``, a
    ``ConnectionError``, before any run starts); ``runtime_env`` is passed to
    ``ray.init`` (e.g. ``{"py_modules": [cosearch, objectives, spaces]}`` to
    ship this checkout to a cluster that lacks it). ``on_event`` sees every
    event (see ``Collector``); the CLI writes result files from it.
    """
    if isinstance(executor, str):
        if executor not in ("local", "ray"):
            raise ValueError(f"executor {executor!r} is not one of local, ray")
        if executor == "ray":
            from cosearch import distributed

            distributed.check_address(address)
    specs, problems = prepare(spec)
    if executor == "local":
        executor = LocalExecutor()
    elif executor == "ray":
        from cosearch import distributed

        executor = distributed.RayExecutor(address=address, num_cpus=num_cpus, runtime_env=runtime_env)
    collector = Collector(specs, on_event)
    interrupted = executor.execute(specs, collector, problems)
    return collector.result(interrupted)
