"""What a design is judged by: the metrics table, the ``Metrics`` record and the multi-DNN metrics.

``METRICS`` declares every metric once (name, unit, label, direction, shape,
meaning, how it is shown); config validation, results columns, reports,
plots, Pareto-front keys and Optuna's metric names all read it.  A new
metric is an entry here plus its computation in ``objectives.evaluator``
(the ``Metrics(...)`` call), or an entry with ``derive`` alone when it
follows from the other metrics.

Multi-tenant metrics follow "Multi-DNN Accelerators for Next-Generation AI
Systems" (Venieris, Bouganis, Lane; §2.2) and PREMA.  They are taken per
model *instance*: a model served ``batch`` times is ``batch`` DNN executions,
each slowed down by co-location on its own:

* ``T_alone[i]``: instance i's layers scheduled exactly as in the shared
  schedule (same cores, order and transfers) with nothing else on the chip;
* ``T_shared[i]``: when instance i's last layer finishes in the shared
  schedule (every instance arrives at time 0);
* normalised progress ``NP = T_alone / T_shared``, in (0, 1]: removing the
  other instances' layers from a fixed per-core order can only make each
  layer start earlier; ``STP = Σ NP`` (at most the number of instances);
  ``ANTT = mean(1 / NP)``; PREMA fairness ``min_i PP_i / max_j PP_j`` with
  priority-weighted progress ``PP_i = NP_i / (priority_i / Σ priority)``,
  an instance carrying its model's priority;
* SLA violations: models with a latency target that their last instance's
  ``T_shared`` exceeds.

(Summing a model's instances into one ``T_alone`` while ``T_shared`` is its
last instance's finish counted overlapped instances several times: progress
3.86 and an STP of 4 with three models.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Literal

import numpy as np

Direction = Literal["minimize", "maximize", "neither"]
Shape = Literal["design", "model", "tenant"]


@dataclasses.dataclass(frozen=True)
class Metric:
    """One metric, declared once: everything that names, checks, stores or shows it reads this.

    ``name`` is the ``Metrics`` attribute and the results column; ``unit`` the
    SI unit its values are in (``""`` for a ratio); ``label`` how people call
    it; ``direction`` whether lower or higher is better (``neither``: a
    quantity, not a goal; it can bound a constraint but is no objective);
    ``shape`` what one value describes: a design (``(P,)``), each model of the
    mix (``(P, M)``) or each tenant, a model instance (``(P, I)``).
    ``shown``: listed when a design is printed, as ``value × display_scale``
    in ``display_unit`` (the stored unit unless given).  ``front``: a key of
    every Pareto front (``pareto.csv``), whatever the objectives.  ``derive``: for a
    metric that follows from others, its values from the record's other
    metrics by name; the evaluator then need not compute it.  ``column_name``:
    the name of its column in results files when ``name`` does not end in its
    unit (``edp`` is ``edp_j_s``), so a CSV read without this table still says it.  ``source``:
    who computes it — ``evaluate`` (every record has it) or ``serving``
    (``objectives.serving_metrics``, present only when a design is scored
    on a serving scenario).
    """

    name: str
    unit: str
    label: str
    direction: Direction
    shape: Shape
    meaning: str
    shown: bool = False
    display_unit: str | None = None
    display_scale: float = 1.0
    front: bool = False
    derive: Callable[[Mapping[str, np.ndarray]], np.ndarray] | None = None
    column_name: str | None = None
    source: Literal["evaluate", "serving"] = "evaluate"

    def __post_init__(self):
        if not self.name.isidentifier():
            raise ValueError(f"metric name {self.name!r} is not an identifier")
        if self.direction not in ("minimize", "maximize", "neither"):
            raise ValueError(f"metric {self.name!r}: direction {self.direction!r} is not minimize, maximize or neither")
        if self.shape not in ("design", "model", "tenant"):
            raise ValueError(f"metric {self.name!r}: shape {self.shape!r} is not design, model or tenant")
        if self.source not in ("evaluate", "serving"):
            raise ValueError(f"metric {self.name!r}: source {self.source!r} is not evaluate or serving")

    @property
    def sign(self) -> float:
        """−1 when maximised, else +1: optimizers minimise ``sign × value``."""
        return -1.0 if self.direction == "maximize" else 1.0

    @property
    def is_objective(self) -> bool:
        """Whether it can be minimised or maximised: a per-design value with a direction."""
        return self.shape == "design" and self.direction != "neither"

    @property
    def column(self) -> str:
        """Its column in results files (``pareto.csv``, ``history.csv``): the name, with its unit."""
        return self.column_name or self.name

    @property
    def shown_unit(self) -> str:
        return self.unit if self.display_unit is None else self.display_unit

    @property
    def title(self) -> str:
        """The label with its unit, for axes and headers: ``latency (s)``, ``STP``."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    @property
    def objective_title(self) -> str:
        """The title of the value an optimizer minimises: maximised metrics are negated."""
        return f"−{self.title}" if self.direction == "maximize" else self.title


def _table(*metrics: Metric) -> dict[str, Metric]:
    return {m.name: m for m in metrics}


# The metrics table: order is the order results and reports list them in.
METRICS: dict[str, Metric] = _table(
    Metric("latency_s", "s", "latency", "minimize", "design",
           "makespan: when the last layer of the mix finishes, every model arriving at time 0",
           shown=True, display_unit="ms", display_scale=1e3, front=True),
    Metric("energy_j", "J", "energy", "minimize", "design",
           "dynamic plus static energy of one pass of the mix", shown=True, display_unit="mJ", display_scale=1e3,
           front=True),
    Metric("edp", "J·s", "EDP", "minimize", "design", "energy-delay product: energy × latency", shown=True,
           column_name="edp_j_s"),
    Metric("dynamic_energy_j", "J", "dynamic energy", "minimize", "design",
           "energy of the MACs, buffer and DRAM accesses and transfers"),
    Metric("static_energy_j", "J", "static energy", "minimize", "design",
           "leakage of the active cores over the makespan"),
    Metric("dram_bytes", "B", "DRAM traffic", "minimize", "design", "bytes moved between the cores and off-chip memory"),
    Metric("area_mm2", "mm²", "area", "minimize", "design", "silicon area of the PEs, buffers and active cores",
           shown=True),
    Metric("resource_fraction", "", "resources used", "minimize", "design",
           "share of the platform's scarcest compute budget the cores take (at most 1 fits)",
           shown=True, display_unit="% of budget", display_scale=100.0, front=True),
    Metric("pes_used", "PEs", "PEs used", "neither", "design", "processing elements over all cores"),
    Metric("dsp_used", "DSPs", "DSPs used", "neither", "design", "FPGA DSP slices over all cores (0 on an ASIC)"),
    Metric("lut_used", "LUTs", "LUTs used", "neither", "design", "FPGA lookup tables over all cores (0 on an ASIC)"),
    Metric("bram36_used", "BRAM36", "BRAM36 used", "neither", "design",
           "FPGA 36 Kb block RAMs over all cores (0 on an ASIC)"),
    Metric("uram_used", "URAM", "UltraRAM used", "neither", "design",
           "FPGA 288 Kb UltraRAM blocks over all cores (0 on an ASIC or with UltraRAM off)"),
    Metric("average_power_w", "W", "average power", "minimize", "design", "energy / latency", shown=True),
    Metric("utilization", "", "PE utilization", "maximize", "design",
           "share of the PE-cycles the layers keep busy, over their run time on their cores", shown=True),
    Metric("throughput_ips", "inferences/s", "throughput", "maximize", "design",
           "inferences of the mix finished per second of makespan", shown=True),
    Metric("model_latency_s", "s", "model latency", "neither", "model",
           "when each model's last layer finishes in the shared schedule"),
    Metric("progress", "", "normalised progress", "neither", "tenant",
           "each model instance's time alone over its time shared, in (0, 1]"),
    Metric("stp", "", "STP", "maximize", "design", "system throughput: the sum of the normalised progress",
           shown=True),
    Metric("antt", "", "ANTT", "minimize", "design", "average normalised turnaround time: mean of 1 / progress",
           shown=True),
    Metric("fairness", "", "fairness", "maximize", "design",
           "PREMA fairness: least over most priority-weighted progress", shown=True),
    Metric("sla_violations", "models", "SLA violations", "minimize", "design",
           "models whose latency target the shared schedule misses", shown=True),
    # Serving (objectives.serving_metrics): a design judged on a stream of requests.
    Metric("tenant_p50_latency_s", "s", "p50 latency", "minimize", "tenant",
           "each scenario tenant's median request latency (arrival to last layer)", source="serving"),
    Metric("tenant_p95_latency_s", "s", "p95 latency", "minimize", "tenant",
           "each scenario tenant's 95th-percentile request latency", source="serving"),
    Metric("tenant_p99_latency_s", "s", "p99 latency", "minimize", "tenant",
           "each scenario tenant's 99th-percentile request latency", source="serving"),
    Metric("tenant_sla_rate", "", "tenant SLA rate", "maximize", "tenant",
           "each scenario tenant's fraction of requests within its QoS bound", source="serving"),
    Metric("tenant_throughput_qps", "queries/s", "tenant throughput", "maximize", "tenant",
           "each scenario tenant's requests served per second, first arrival to last finish", source="serving"),
    Metric("qps_at_sla", "queries/s", "throughput at SLA", "maximize", "design",
           "largest total arrival rate (one multiple of every tenant's rate) at which every tenant meets its SLA "
           "(Planaria §V)", source="serving"),
    Metric("p99_latency_s", "s", "p99 latency", "minimize", "design",
           "the worst tenant's 99th-percentile request latency", display_unit="ms", display_scale=1e3,
           source="serving"),
    Metric("sla_rate", "", "SLA rate", "maximize", "design",
           "fraction of all requests that finish within their tenant's QoS bound", source="serving"),
    Metric("throughput_qps", "queries/s", "served throughput", "maximize", "design",
           "requests of every tenant served per second, first arrival to last finish", source="serving"),
    Metric("energy_per_query_j", "J", "energy per query", "minimize", "design",
           "dynamic energy plus leakage over the span served, per request", display_unit="mJ", display_scale=1e3,
           source="serving"),
    Metric("edp_per_query", "J·s", "EDP per query", "minimize", "design",
           "energy per query × the worst tenant's p99 latency", source="serving"),
    Metric("serving_fairness", "", "serving fairness", "maximize", "design",
           "PREMA fairness over scenario tenants: least over most priority-weighted mean normalised progress "
           "(latency alone / latency in the stream)", source="serving"),
    Metric("mean_slowdown", "", "mean slowdown", "minimize", "design",
           "mean over requests of latency in the stream / latency alone", source="serving"),
    Metric("peak_power_w", "W", "peak power", "minimize", "design",
           "leakage plus every core at the most power-hungry layer it ran", source="serving"),
    # Computed beside qps_at_sla (cosearch.scenarios), where the load search runs.
    Metric("qps_per_watt", "queries/s/W", "throughput at SLA per watt", "maximize", "design",
           "qps_at_sla over peak power: what a watt of provisioned power serves within the SLA", source="serving"),
)  # fmt: skip


def register(metric: Metric) -> Metric:
    """Add ``metric`` to the table (the one other place is where it is computed); refuses a taken name."""
    if metric.name in METRICS:
        raise ValueError(f"metric {metric.name!r} is already in the table")
    METRICS[metric.name] = metric
    return metric


def lookup(name: str) -> Metric:
    """The table's entry for ``name``; a ``ValueError`` listing the metrics otherwise."""
    try:
        return METRICS[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r} (allowed: {', '.join(METRICS)})") from None


def names(*, direction: Direction | None = None, shape: Shape | None = None) -> tuple[str, ...]:
    """Metric names in table order, those with ``direction`` and/or ``shape`` when given."""
    return tuple(m.name for m in METRICS.values()
                 if (direction is None or m.direction == direction) and (shape is None or m.shape == shape))


@dataclasses.dataclass(frozen=True, init=False)
class Metrics:
    """Scores of P designs: one array per metric of the table, by name.

    ``metrics.latency_s`` reads ``values["latency_s"]``; a metric's shape is
    ``(P,)``, ``(P, M)`` or ``(P, I)`` as the table says.  Built with one
    keyword per metric (and ``feasible``, ``reason``, ``layer_core``,
    ``schedule``), which must name every ``evaluate`` metric of the table
    that has no ``derive`` and no other, so a metric added to the table and
    not computed (or the reverse) fails at once.  ``serving`` metrics are
    there when given (a design scored on a serving scenario).

    Infeasible designs carry ``inf`` in every cost and their ``reason`` code
    (see ``spaces.design.REASONS``); nothing here is ever NaN.
    """

    values: dict[str, np.ndarray]  # metric name → array, in table order
    feasible: np.ndarray
    reason: np.ndarray
    layer_core: np.ndarray  # (P, L) the mapping evaluated (greedy resolved)
    schedule: dict | None = None

    def __init__(self, *, feasible, reason, layer_core, schedule=None, **values):
        unknown = [name for name in values if name not in METRICS]
        missing = [m.name for m in METRICS.values()
                   if m.name not in values and m.derive is None and m.source == "evaluate"]
        if unknown or missing:
            problems = [f"{what}: {', '.join(names)}" for what, names in
                        (("not in the metrics table", unknown), ("not given", missing)) if names]
            raise TypeError(f"Metrics: {'; '.join(problems)}")
        given = dict(values)
        for m in METRICS.values():
            if m.name not in given and m.derive is not None:
                given[m.name] = np.asarray(m.derive(given))
        object.__setattr__(self, "values", {name: given[name] for name in METRICS if name in given})
        object.__setattr__(self, "feasible", feasible)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "layer_core", layer_core)
        object.__setattr__(self, "schedule", schedule)

    def __getattr__(self, name: str):
        # Only reached when ordinary lookup fails; dunders and ``values`` itself
        # (absent while unpickling) are not metrics.
        if name.startswith("__") or name == "values":
            raise AttributeError(name)
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(f"Metrics has no metric {name!r} (the table has: {', '.join(self.values)})") from None

    @property
    def num_designs(self) -> int:
        return self.feasible.shape[0]

    @classmethod
    def concatenate(cls, parts: "list[Metrics]") -> "Metrics":
        """The metrics of consecutive blocks of designs as one batch's."""
        first = parts[0]
        schedule = None if first.schedule is None else {
            key: np.concatenate([part.schedule[key] for part in parts]) for key in first.schedule}
        return cls(
            feasible=np.concatenate([part.feasible for part in parts]),
            reason=np.concatenate([part.reason for part in parts]),
            layer_core=np.concatenate([part.layer_core for part in parts]),
            schedule=schedule,
            **{name: np.concatenate([part.values[name] for part in parts]) for name in first.values},
        )

    def row(self, p: int) -> dict:
        """Design p as plain Python data: its per-design metrics as numbers, ``feasible``,
        ``reason``, then its per-model metrics as lists (what a design file records)."""
        present = [m for m in METRICS.values() if m.name in self.values]
        out = {m.name: self.values[m.name][p].item() for m in present if m.shape == "design"}
        out.update(feasible=self.feasible[p].item(), reason=self.reason[p].item())
        out.update({m.name: self.values[m.name][p].tolist() for m in present if m.shape == "model"})
        return out


def row_total(values: np.ndarray) -> np.ndarray:
    """``(P, L)`` → ``(P,)`` sums added left to right, whatever P is.

    ``ndarray.sum(axis=1)`` picks its summation order from the array's shape,
    so a design scored alone could differ in the last bit from the same
    design scored in a batch.  Reducing the outer axis of the transposed
    array adds one column at a time for every P ≥ 2; a batch of one is
    doubled so it takes the same path.
    """
    if values.shape[0] == 1:
        return row_total(np.concatenate([values, values]))[:1]
    return np.add.reduce(np.ascontiguousarray(values.T), axis=0)


def per_model_max(values: np.ndarray, model: np.ndarray, num_models: int) -> np.ndarray:
    """``(P, L)`` → ``(P, M)`` maxima over each model's layers (0 for a model without layers)."""
    return np.stack([values[:, model == m].max(axis=1, initial=0.0) for m in range(num_models)], axis=1)


def per_block_max(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``(P, L)`` → ``(P, B)`` maxima over contiguous blocks of layers starting at ``starts``."""
    return np.maximum.reduceat(values, starts, axis=1)


def normalized_progress(alone_s: np.ndarray, shared_s: np.ndarray) -> np.ndarray:
    return alone_s / shared_s


def system_throughput(progress: np.ndarray) -> np.ndarray:
    return progress.sum(axis=-1)


def average_normalized_turnaround(progress: np.ndarray) -> np.ndarray:
    return (1.0 / progress).mean(axis=-1)


def prema_fairness(progress: np.ndarray, priority: np.ndarray) -> np.ndarray:
    weighted = progress / (priority / priority.sum())
    return weighted.min(axis=-1) / weighted.max(axis=-1)


def sla_violations(model_latency_s: np.ndarray, latency_target_s: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        missed = model_latency_s > latency_target_s  # NaN targets compare False
    return missed.sum(axis=-1)
