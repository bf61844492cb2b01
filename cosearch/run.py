"""One search run: an optimizer drives a problem within a budget.

A run is described by a picklable ``RunSpec`` (problem, optimizer and its
options, seed, objectives, constraints, budget in evaluations and/or
seconds) and executed by ``run(spec)`` in whatever process holds it: the
driver (``experiment.LocalExecutor``) or a Ray worker
(``cosearch.distributed``). Each batch the optimizer asks for is evaluated in
one call; objectives of designs that are infeasible or violate a constraint
are ``inf``. The run records best-so-far against evaluations and wall time and
offers every feasible point to its Pareto archive.

Determinism: with an evaluation budget, the same spec gives the same points,
best design and front wherever it runs; a seconds budget stops wherever the
clock says.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from cosearch.optimizers import check_optimizer, make_optimizer, optimizer_options
from cosearch.pareto import DEFAULT_KEYS, ParetoArchive
from objectives.metrics import METRICS

RUN_KINDS = ("search", "baseline")
OPERATORS = {
    "<=": np.less_equal,
    "<": np.less,
    ">=": np.greater_equal,
    ">": np.greater,
    "==": np.equal,
}


def sign(name: str) -> float:
    """The table's ``Metric.sign`` (−1 when maximised: the objective is the negative);
    a metric outside the table (a custom problem's) is minimised."""
    return METRICS[name].sign if name in METRICS else 1.0


def metric_values(metrics, name: str) -> np.ndarray:
    """``(n,)`` values of metric ``name`` from a ``Metrics`` record or a mapping of arrays."""
    return np.asarray(metrics[name] if isinstance(metrics, Mapping) else getattr(metrics, name))


@dataclasses.dataclass(frozen=True)
class Constraint:
    """``metric op bound``, e.g. ``Constraint("latency_s", "<=", 0.033)``; parse with ``Constraint.parse``."""

    metric: str
    op: str
    bound: float

    def __post_init__(self):
        if self.op not in OPERATORS:
            raise ValueError(f"constraint {self}: operator {self.op!r} is not one of {', '.join(OPERATORS)}")

    @classmethod
    def parse(cls, text: "str | Constraint") -> "Constraint":
        if isinstance(text, Constraint):
            return text
        for op in sorted(OPERATORS, key=len, reverse=True):
            left, found, right = str(text).partition(op)
            if found:
                try:
                    return cls(left.strip(), op, float(right))
                except ValueError:
                    break
        raise ValueError(f"constraint {text!r} is not 'metric OP number' with OP one of {', '.join(OPERATORS)}")

    def satisfied(self, metrics) -> np.ndarray:
        return OPERATORS[self.op](metric_values(metrics, self.metric), self.bound)

    def __str__(self) -> str:
        # Short when exact (``0.05``, ``1``), else every digit: the text is parsed back
        # and hashed into a run's identity, so two bounds must never print alike.
        short = f"{self.bound:g}"
        return f"{self.metric} {self.op} {short if float(short) == self.bound else repr(self.bound)}"


# The same default as the CLI: within budget. Meeting every latency target is
# opt-in (sla_violations <= 0), since on several mixes no design in budget
# meets all MLPerf bounds and every run would end with nothing feasible.
DEFAULT_CONSTRAINTS = (Constraint("resource_fraction", "<=", 1.0),)


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs to run one search (picklable, no live objects).

    ``problem``: a problem spec with ``build()`` and ``key`` (``problems.SpaceProblem``…).
    ``objectives``: metric names, minimised (those the table maximises negated).
    ``reference``: the hypervolume reference point over ``archive_keys``,
    fixed per experiment; None computes one from a fixed sample of the problem.
    ``initial_X``: encoded baseline designs the optimizer evaluates first.
    ``kind``: ``search`` (a run of the experiment's own space) or ``baseline``
    (a brief run of a restricted space it is compared with).
    ``name``: the run's id in a results directory (``runs/<name>/``); None: its ``label``.
    """

    problem: Any
    optimizer: str
    seed: int = 0
    objectives: tuple[str, ...] = ("edp",)
    constraints: tuple[Constraint, ...] = DEFAULT_CONSTRAINTS
    max_evaluations: int | None = None
    max_seconds: float | None = None
    optimizer_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    archive_keys: tuple[str, ...] = DEFAULT_KEYS
    reference: tuple[float, ...] | None = None
    initial_X: tuple[tuple[float, ...], ...] = ()
    kind: Literal["search", "baseline"] = "search"
    name: str | None = None

    def __post_init__(self):
        if self.kind not in RUN_KINDS:
            raise ValueError(f"run kind {self.kind!r} is not one of {', '.join(RUN_KINDS)}")
        object.__setattr__(self, "objectives", tuple(self.objectives))
        object.__setattr__(self, "constraints", tuple(Constraint.parse(c) for c in self.constraints))
        object.__setattr__(self, "archive_keys", tuple(self.archive_keys))

    @property
    def label(self) -> str:
        """``problem/optimizer-seed``: unique within an experiment, a path for the run's files."""
        return f"{self.problem.key}/{self.optimizer}-{self.seed}"

    @property
    def run_id(self) -> str:
        """The run's id in a results directory and on the console."""
        return self.name or self.label

    def validate(self, metric_names: Sequence[str] | None = None) -> None:
        """The ``ValueError`` a bad spec gets before any work (names checked when ``metric_names`` given)."""
        if self.max_evaluations is None and self.max_seconds is None:
            raise ValueError("run budget: give max_evaluations, max_seconds or both")
        if self.max_evaluations is not None and (
            isinstance(self.max_evaluations, bool) or int(self.max_evaluations) != self.max_evaluations
            or self.max_evaluations < 1
        ):
            raise ValueError(f"max_evaluations must be a positive integer, got {self.max_evaluations!r}")
        if self.max_seconds is not None and not (self.max_seconds > 0 and math.isfinite(self.max_seconds)):
            raise ValueError(f"max_seconds must be a positive number of seconds, got {self.max_seconds!r}")
        if not self.objectives:
            raise ValueError("objectives: give at least one metric name")
        check_optimizer(self.optimizer, len(self.objectives), self.optimizer_options)
        if metric_names is not None:
            allowed = ", ".join(metric_names)
            for what, names in (
                ("objective", self.objectives),
                ("constraint metric", [c.metric for c in self.constraints]),
                ("archive key", self.archive_keys),
            ):
                for name in names:
                    if name not in metric_names:
                        raise ValueError(f"{what} {name!r} is not a metric (allowed: {allowed})")
        if self.reference is not None and len(self.reference) != len(self.archive_keys):
            raise ValueError(f"reference has {len(self.reference)} values for archive keys {self.archive_keys}")


@dataclasses.dataclass
class RunResult:
    """What one run found. ``history`` columns are equal-length lists, one entry per batch:
    ``evaluations`` (cumulative), ``seconds`` (wall time since start), ``best`` (best first
    objective so far, inf before any feasible design), ``hypervolume`` (of this run's archive)."""

    label: str
    spec: RunSpec
    evaluations: int
    seconds: float
    stopped_by: str  # evaluations | seconds | exhausted | interrupted
    best_x: np.ndarray | None
    best_objectives: np.ndarray | None
    best_metrics: dict | None
    history: dict[str, list]
    archive: ParetoArchive
    feasible_evaluations: int = 0

    def summary(self) -> dict:
        """Plain-type summary for JSON (the archive is ``archive.to_dict()``)."""
        return {
            "label": self.label,
            "optimizer": self.spec.optimizer,
            "seed": self.spec.seed,
            "problem": self.spec.problem.key,
            "objectives": list(self.spec.objectives),
            "evaluations": self.evaluations,
            "feasible_evaluations": self.feasible_evaluations,
            "seconds": self.seconds,
            "stopped_by": self.stopped_by,
            "best_x": None if self.best_x is None else self.best_x.tolist(),
            "best_objectives": None if self.best_objectives is None else self.best_objectives.tolist(),
            "best_metrics": self.best_metrics,
            "hypervolume": self.history["hypervolume"][-1] if self.history["hypervolume"] else float("nan"),
        }


def objective_matrix(metrics, objectives: Sequence[str], constraints: Sequence[Constraint]) -> np.ndarray:
    """``(n, n_obj)`` minimised objectives; rows infeasible or violating a constraint are inf."""
    F = np.stack([metric_values(metrics, name) for name in objectives], axis=1).astype(np.float64)
    F = F * np.array([sign(name) for name in objectives])
    ok = np.asarray(metric_values(metrics, "feasible"), dtype=bool)
    for constraint in constraints:
        ok = ok & constraint.satisfied(metrics)
    ok &= ~np.isnan(F).any(axis=1)
    return np.where(ok[:, None], F, np.inf)


def reference_point(problem, keys: Sequence[str], constraints=(), samples: int = 256, seed: int = 0):
    """A hypervolume reference over ``keys``: 1.1 × the worst feasible value of a fixed uniform sample.

    None when no sampled design is feasible (hypervolumes are then NaN).
    """
    # A space with no genes holds one design: a sample of it is that design repeated, so it is
    # scored once (a fixed serving baseline such as PREMA on Planaria's Workload-C costs 19-33 s
    # per evaluation, and 64 copies of it cost half an hour for the same reference).
    X = np.random.default_rng(seed).random((samples if problem.dim else 1, problem.dim))
    metrics = problem.evaluate(X)
    ok = np.isfinite(objective_matrix(metrics, keys, constraints)).all(axis=1)
    if not ok.any():
        return None
    worst = np.stack([metric_values(metrics, k) for k in keys], axis=1)[ok].max(axis=0)
    return tuple(float(w * 1.1 if w > 0 else w + 0.1 * abs(w) + 1e-12) for w in worst)


def failure_line(error: BaseException) -> str:
    """``Type: first line of the message``: what a console shows of a failed run (the
    last line of a traceback may be a driver's URL or a wrapped error's detail)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def objective_names(spec: RunSpec) -> dict:
    """``metric_names`` for optimizers that take them (Optuna's, shown by optuna-dashboard): what each
    minimised value is, from the metrics table."""
    if "metric_names" not in optimizer_options(spec.optimizer) or "metric_names" in spec.optimizer_options:
        return {}
    return {"metric_names": [METRICS[k].objective_title if k in METRICS else k for k in spec.objectives]}


class _OnlyDesign:
    """The optimizer of a space with no free genes: its one design, asked once."""

    batch_size = 1

    def __init__(self):
        self.done = False

    def ask(self, n: int) -> np.ndarray:
        self.done = True
        return np.empty((1, 0))

    def tell(self, X, F) -> None:
        pass


def run(
    spec: RunSpec,
    *,
    problem=None,
    on_batch: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RunResult:
    """Run ``spec``; ``problem`` is ``spec.problem.build()`` unless given (built once, reused).

    ``on_batch(event)`` gets after every batch a dict with the run ``label``,
    ``evaluations``, ``seconds``, ``best``, ``hypervolume`` and the batch's
    points that entered the run's front (``front_values``, ``front_X``,
    ``front_evaluation``). ``should_stop()`` is polled between batches.
    """
    spec.validate()
    problem = spec.problem.build() if problem is None else problem
    spec.validate(problem.metric_names)
    reference = spec.reference
    if reference is None:
        reference = reference_point(problem, spec.archive_keys, spec.constraints,
                                    samples=getattr(problem, "reference_samples", 256))
    if problem.dim == 0:
        optimizer = _OnlyDesign()
    else:
        optimizer = make_optimizer(
            spec.optimizer,
            dim=problem.dim,
            n_obj=len(spec.objectives),
            seed=spec.seed,
            genes=problem.genes,
            initial_X=np.asarray(spec.initial_X, dtype=np.float64).reshape(-1, problem.dim),
            **objective_names(spec),
            **spec.optimizer_options,
        )
    label = spec.label
    archive = ParetoArchive(spec.archive_keys, reference, dim=problem.dim)
    history = {"evaluations": [], "seconds": [], "best": [], "hypervolume": []}
    best_F, best_x, best_metrics = None, None, None
    evaluations, feasible, hv = 0, 0, archive.hypervolume()
    start = time.perf_counter()
    while True:
        elapsed = time.perf_counter() - start
        if spec.max_evaluations is not None and evaluations >= spec.max_evaluations:
            stopped_by = "evaluations"
        elif spec.max_seconds is not None and elapsed >= spec.max_seconds:
            stopped_by = "seconds"
        elif optimizer.done:
            stopped_by = "exhausted"
        elif should_stop is not None and should_stop():
            stopped_by = "interrupted"
        else:
            stopped_by = None
        if stopped_by:
            break
        n = optimizer.batch_size
        if spec.max_evaluations is not None:
            n = min(n, spec.max_evaluations - evaluations)
        X = optimizer.ask(n)
        if len(X) == 0:
            stopped_by = "exhausted"
            break
        metrics = problem.evaluate(X)
        F = objective_matrix(metrics, spec.objectives, spec.constraints)
        optimizer.tell(X, F)
        ok = np.isfinite(F).all(axis=1)
        feasible += int(ok.sum())
        if ok.any():
            rows = np.flatnonzero(ok)
            order = np.lexsort(F[rows].T[::-1])
            p = int(rows[order[0]])
            if best_F is None or tuple(F[p]) < tuple(best_F):
                best_F, best_x = F[p].copy(), X[p].copy()
                best_metrics = problem.metrics_row(metrics, p)
        values = np.stack([metric_values(metrics, k) for k in spec.archive_keys], axis=1).astype(np.float64)
        values[~ok] = np.inf
        index = evaluations + np.arange(len(X))
        kept = archive.add(values, X, label, index)
        if kept.any():
            hv = archive.hypervolume()
        evaluations += len(X)
        best = float(best_F[0]) if best_F is not None else float("inf")
        history["evaluations"].append(evaluations)
        history["seconds"].append(time.perf_counter() - start)
        history["best"].append(best)
        history["hypervolume"].append(hv)
        if on_batch is not None:
            on_batch({
                "label": label,
                "evaluations": evaluations,
                "seconds": history["seconds"][-1],
                "best": best,
                "hypervolume": hv,
                "front_values": values[kept],
                "front_X": X[kept],
                "front_evaluation": index[kept],
            })  # fmt: skip
    return RunResult(
        label=label,
        spec=spec,
        evaluations=evaluations,
        seconds=time.perf_counter() - start,
        stopped_by=stopped_by,
        best_x=best_x,
        best_objectives=best_F,
        best_metrics=best_metrics,
        history=history,
        archive=archive,
        feasible_evaluations=feasible,
    )
