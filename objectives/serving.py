"""Serving: designs judged on streams of inference requests (inference as a service).

A :class:`Scenario` is a set of tenants, each a model of the workload with
an arrival process (:class:`Poisson`, a :class:`Trace` of arrival times, or a
:class:`ClosedLoop` population), an absolute QoS bound (the caller resolves
multiples of an isolated latency or MLPerf bounds into seconds), a priority
and a request count; and a dispatch policy (:data:`POLICIES`).  The API::

    stream = request_stream(scenario, load)            # the requests, drawn once from the seed
    result = simulate(designs, workload, platform, scenario, load=load)   # ServingResult, (P, R) arrays
    values = serving_metrics(result, scenario)         # metric name -> (P,) or (P, T)
    qps = qps_at_sla(designs, workload, platform, scenario)               # (P,) queries/s at SLA

Arrivals are common random numbers: unit-rate exponential gaps are drawn
once per tenant from ``(seed, tenant)``, and a load multiplier only divides
them by ``rate × load``, so every design and every load sees the same
requests in the same order — comparisons between designs are paired, and
the bisection of :func:`qps_at_sla` moves along one stream.

What a layer costs on a core is the evaluator's: ``evaluator.core_layer_costs``
gives each layer's latency and energy on each core of each design, with its
input from DRAM or, when its only predecessor ran on the same core, from the
buffer.  A request of a tenant runs one inference of its model's layer
graph.  The policies (each documented in ``POLICIES``) are compiled loops
over the stream, one design at a time (``objectives.serving_kernels``,
``objectives.serving_fission``).

Statistics skip each tenant's first ``warmup`` requests.  Energy is the
layers' dynamic energy plus the design's leakage over the whole served
span (from 0 to the last finish), per request served.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping

import numpy as np

from objectives import evaluator, serving_dispatch, serving_kernels
from objectives import serving_metrics as metric_values
from objectives.mapper import OUTPUT
from objectives.workloads import Workload
from spaces.design import DesignBatch
from spaces.hardware import Platform
from spaces.registry import Registry

MAX_GAPS = 8
"""Idle intervals each core keeps open to later requests in the shared and
pinned policies (the latest ones; older ones rarely fit anything new)."""


@dataclasses.dataclass(frozen=True)
class Poisson:
    """Open-loop Poisson arrivals at ``rate_qps`` requests per second (before the load multiplier)."""

    rate_qps: float

    def __post_init__(self):
        if not (np.isfinite(self.rate_qps) and self.rate_qps > 0):
            raise ValueError(f"Poisson rate_qps must be a positive number of requests/s, not {self.rate_qps!r}")


@dataclasses.dataclass(frozen=True)
class Trace:
    """Open-loop arrivals at given times (s, non-decreasing); a load multiplier compresses them."""

    arrival_s: tuple[float, ...]

    def __post_init__(self):
        a = np.asarray(self.arrival_s, dtype=np.float64)
        if a.ndim != 1 or len(a) == 0 or not np.isfinite(a).all() or (a < 0).any() or (np.diff(a) < 0).any():
            raise ValueError("a trace's arrival_s must be a non-empty, non-decreasing list of times ≥ 0 s")

    @property
    def rate_qps(self) -> float:
        span = self.arrival_s[-1] - self.arrival_s[0]
        return (len(self.arrival_s) - 1) / span if span > 0 else float("inf")


@dataclasses.dataclass(frozen=True)
class ClosedLoop:
    """``outstanding`` clients, each sending its next request ``think_s`` after its last one returns.

    Arrivals then depend on the design; a load multiplier does not apply."""

    outstanding: int
    think_s: float = 0.0

    def __post_init__(self):
        if not (isinstance(self.outstanding, (int, np.integer)) and self.outstanding >= 1):
            raise ValueError(f"closed-loop outstanding must be an integer ≥ 1, not {self.outstanding!r}")
        if not (np.isfinite(self.think_s) and self.think_s >= 0):
            raise ValueError(f"closed-loop think_s must be ≥ 0 s, not {self.think_s!r}")


Arrival = Poisson | Trace | ClosedLoop


@dataclasses.dataclass(frozen=True)
class Tenant:
    """A model of the workload served under an arrival process and a QoS bound (s).

    ``priority``: an integer (higher is served first by the priority-aware
    policies), or a ``(low, high)`` pair: each request's priority drawn
    uniformly from ``low..high`` (Planaria §V draws 1–11)."""

    name: str
    model: str
    arrival: Arrival
    qos_s: float
    priority: int | tuple[int, int] = 1
    requests: int = 1000

    def __post_init__(self):
        if not (np.isfinite(self.qos_s) and self.qos_s > 0):
            raise ValueError(f"tenant {self.name!r}: qos_s must be a positive number of seconds, not {self.qos_s!r}")
        if not (isinstance(self.requests, (int, np.integer)) and self.requests >= 1):
            raise ValueError(f"tenant {self.name!r}: requests must be an integer ≥ 1, not {self.requests!r}")
        low, high = self.priority_range
        if not 1 <= low <= high:
            raise ValueError(f"tenant {self.name!r}: priority must be ≥ 1 (or a pair low ≤ high), not {self.priority!r}")
        if isinstance(self.arrival, Trace) and len(self.arrival.arrival_s) < self.requests:
            raise ValueError(f"tenant {self.name!r}: {self.requests} requests but the trace has "
                             f"{len(self.arrival.arrival_s)} arrivals")

    @property
    def priority_range(self) -> tuple[int, int]:
        p = self.priority
        return (int(p[0]), int(p[1])) if isinstance(p, tuple) else (int(p), int(p))


@dataclasses.dataclass(frozen=True)
class Scenario:
    """Tenants served together under one dispatch policy (a name of :data:`POLICIES`)."""

    tenants: tuple[Tenant, ...]
    policy: str = "shared"
    warmup: int = 0
    seed: int = 0
    policy_options: Mapping = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not self.tenants:
            raise ValueError("a scenario needs at least one tenant")
        names = [t.name for t in self.tenants]
        if len(set(names)) != len(names):
            raise ValueError(f"tenant names must be distinct, not {names}")
        POLICIES.check(self.policy)
        too_few = [t.name for t in self.tenants if t.requests <= self.warmup]
        if self.warmup < 0 or too_few:
            raise ValueError(f"warmup {self.warmup} must be ≥ 0 and below every tenant's request count "
                             f"(not: {', '.join(too_few)})")

    @property
    def base_qps(self) -> float:
        """Total open-loop arrival rate at load 1 (requests/s)."""
        return float(sum(t.arrival.rate_qps for t in self.tenants if not isinstance(t.arrival, ClosedLoop)))


@dataclasses.dataclass(frozen=True)
class RequestStream:
    """The requests of a scenario, numbered tenant by tenant.

    ``tenant`` ``(R,)``; ``first``/``count`` ``(T,)`` each tenant's block;
    ``arrival_s`` ``(R,)`` open-loop arrivals at load 1 (NaN for closed
    loop); ``outstanding``/``think_s`` ``(T,)`` (0 for open loop);
    ``priority`` ``(R,)``; ``qos_s`` ``(T,)``; ``measured`` ``(R,)`` false
    for warm-up requests; ``abandon`` ``(T,)``: simulations may stop once a
    tenant has more measured requests than this over its bound (by default
    never; ``qps_at_sla`` sets it to what its SLA allows)."""

    tenant: np.ndarray
    first: np.ndarray
    count: np.ndarray
    arrival_s: np.ndarray
    outstanding: np.ndarray
    think_s: np.ndarray
    priority: np.ndarray
    qos_s: np.ndarray
    measured: np.ndarray
    abandon: np.ndarray

    @property
    def num_requests(self) -> int:
        return len(self.tenant)

    def arrivals_at(self, load: float = 1.0) -> np.ndarray:
        """``(R,)`` open-loop arrival times under ``load`` (NaN for closed loop)."""
        return self.arrival_s / load


def request_stream(scenario: Scenario, load: float = 1.0) -> RequestStream:
    """The scenario's requests (arrivals divided by ``load``), the same for every design."""
    tenants = scenario.tenants
    count = np.array([t.requests for t in tenants], dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    arrival, priority = [], []
    for index, t in enumerate(tenants):
        rng = np.random.default_rng([scenario.seed, index])
        gaps = rng.standard_exponential(t.requests)  # drawn whatever the process, so draws stay aligned
        if isinstance(t.arrival, Poisson):
            arrival.append(np.cumsum(gaps) / t.arrival.rate_qps)
        elif isinstance(t.arrival, Trace):
            arrival.append(np.asarray(t.arrival.arrival_s[: t.requests], dtype=np.float64))
        else:
            arrival.append(np.full(t.requests, np.nan))
        low, high = t.priority_range
        priority.append(rng.integers(low, high + 1, t.requests).astype(np.float64))
    closed = [isinstance(t.arrival, ClosedLoop) for t in tenants]
    return RequestStream(
        tenant=np.repeat(np.arange(len(tenants)), count),
        first=first,
        count=count,
        arrival_s=np.concatenate(arrival) / load,
        outstanding=np.array([t.arrival.outstanding if c else 0 for t, c in zip(tenants, closed)], dtype=np.int64),
        think_s=np.array([t.arrival.think_s if c else 0.0 for t, c in zip(tenants, closed)]),
        priority=np.concatenate(priority),
        qos_s=np.array([t.qos_s for t in tenants]),
        measured=np.concatenate([np.arange(t.requests) >= scenario.warmup for t in tenants]),
        abandon=count.copy(),
    )


@dataclasses.dataclass(frozen=True)
class TenantLayers:
    """Each tenant's model as a local layer graph: ``layer`` ``(T, J)`` global
    layer index (−1 padded), ``preds`` ``(T, J, D)`` local predecessors,
    ``transfer_s`` ``(T, J, D)`` their outputs' NoC delay, ``single`` ``(T, J)``
    whether a layer has exactly one predecessor."""

    layer: np.ndarray
    preds: np.ndarray
    transfer_s: np.ndarray
    single: np.ndarray


def tenant_layers(workload: Workload, scenario: Scenario, platform: Platform) -> TenantLayers:
    """One inference of each tenant's model: its first instance's layers in the workload."""
    return _tenant_layers(workload, tuple(t.model for t in scenario.tenants), platform)


@functools.lru_cache(maxsize=16)
def _tenant_layers(workload: Workload, models: tuple[str, ...], platform: Platform) -> TenantLayers:
    blocks = []
    for name in models:
        if name not in workload.model_names:
            raise ValueError(f"tenant model {name!r} is not in workload {workload.name!r} "
                             f"(allowed: {', '.join(workload.model_names)})")
        m = workload.model_names.index(name)
        blocks.append(np.flatnonzero((workload.model == m) & (workload.instance == 0)))
    T, J, D = len(blocks), max(len(b) for b in blocks), workload.preds.shape[1]
    layer = np.full((T, J), -1, dtype=np.int64)
    preds = np.full((T, J, D), -1, dtype=np.int64)
    transfer = np.zeros((T, J, D))
    output_bytes = workload.operand_bytes(platform.word_bytes)[OUTPUT]
    for t, block in enumerate(blocks):
        local = {int(g): j for j, g in enumerate(block)}
        layer[t, : len(block)] = block
        for j, g in enumerate(block):
            for d, q in enumerate(workload.preds[g]):
                if q >= 0:
                    preds[t, j, d] = local[int(q)]
                    transfer[t, j, d] = output_bytes[q] / (platform.noc_gbps * 1e9)
    single = (preds[:, :, 0] >= 0) & (preds[:, :, 1:] < 0).all(axis=2)
    return TenantLayers(layer=layer, preds=preds, transfer_s=transfer, single=single)


@dataclasses.dataclass(frozen=True)
class ServingResult:
    """What serving a stream did on P designs.

    ``arrival_s``/``finish_s``/``latency_s`` ``(P, R)`` per request (``inf``
    for an infeasible design); ``tenant``, ``measured``, ``priority`` ``(R,)``;
    ``qos_s`` ``(T,)``; ``isolated_s`` ``(P, T)`` one request of each tenant
    alone on the design under the same policy; ``dynamic_j``, ``static_w``,
    ``span_s`` (0 to the last finish), ``energy_j``, ``peak_power_w``,
    ``load`` ``(P,)``; ``busy_s`` ``(P, C)`` each core's time running
    layers; ``reason`` ``(P,)`` the evaluator's infeasibility codes."""

    arrival_s: np.ndarray
    finish_s: np.ndarray
    tenant: np.ndarray
    measured: np.ndarray
    priority: np.ndarray
    qos_s: np.ndarray
    isolated_s: np.ndarray
    dynamic_j: np.ndarray
    static_w: np.ndarray
    busy_s: np.ndarray
    peak_power_w: np.ndarray
    load: np.ndarray
    reason: np.ndarray

    @property
    def latency_s(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.where(self.feasible[:, None], self.finish_s - self.arrival_s, np.inf)

    @property
    def span_s(self) -> np.ndarray:
        return self.finish_s.max(axis=1, initial=0.0)

    @property
    def energy_j(self) -> np.ndarray:
        return self.dynamic_j + self.static_w * self.span_s

    @property
    def feasible(self) -> np.ndarray:
        return self.reason == 0


@dataclasses.dataclass(frozen=True)
class Policy:
    """A dispatch policy: ``run(costs, layers, stream, scenario, load)`` fills a stream's outputs."""

    name: str
    summary: str
    run: Callable


POLICIES: Registry[Policy] = Registry("serving policy")


@dataclasses.dataclass(frozen=True)
class CoreTables:
    """Per design, layer and core ``(P, L, C)`` (layer-major, as the kernels read
    them): latency and dynamic energy with the input from DRAM and chained on
    the same core; ``active`` ``(P, C)``; ``feasible`` ``(P,)``; and each
    tenant's whole model chained on each core, ``work_s``/``work_j``
    ``(P, T, C)``, with its largest layer power ``power_w``; the design's
    leakage ``static_w`` and infeasibility ``reason`` ``(P,)``."""

    latency_s: np.ndarray
    dynamic_j: np.ndarray
    chained_latency_s: np.ndarray
    chained_dynamic_j: np.ndarray
    active: np.ndarray
    feasible: np.ndarray
    work_s: np.ndarray
    work_j: np.ndarray
    power_w: np.ndarray
    static_w: np.ndarray
    reason: np.ndarray


def core_tables(costs: evaluator.CoreLayerCosts, layers: TenantLayers) -> CoreTables:
    def layer_major(a):
        return np.ascontiguousarray(np.swapaxes(a, 1, 2))

    valid = layers.layer >= 0
    index = np.maximum(layers.layer, 0)  # (T, J)

    def per_tenant(table, reduce):  # (P, C, L) -> (P, T, C)
        gathered = np.where(valid[None, None], table[:, :, index], 0.0)  # (P, C, T, J)
        return np.ascontiguousarray(np.swapaxes(reduce(gathered, axis=-1), 1, 2))

    with np.errstate(invalid="ignore", divide="ignore"):
        power = np.where(costs.chained_latency_s > 0, costs.chained_dynamic_j / costs.chained_latency_s, 0.0)
    return CoreTables(
        latency_s=layer_major(costs.latency_s),
        dynamic_j=layer_major(costs.dynamic_j),
        chained_latency_s=layer_major(costs.chained_latency_s),
        chained_dynamic_j=layer_major(costs.chained_dynamic_j),
        active=costs.active,
        feasible=costs.reason == 0,
        work_s=per_tenant(costs.chained_latency_s, np.sum),
        work_j=per_tenant(costs.chained_dynamic_j, np.sum),
        power_w=per_tenant(power, np.max),
        static_w=costs.static_w,
        reason=costs.reason,
    )


@dataclasses.dataclass
class Outputs:
    """What a policy's kernel fills: ``finish``/``arrival`` ``(P, R)``, ``dynamic`` ``(P,)``,
    ``busy``/``peak`` ``(P, C)``."""

    finish: np.ndarray
    arrival: np.ndarray
    dynamic: np.ndarray
    busy: np.ndarray
    peak: np.ndarray

    @classmethod
    def empty(cls, P: int, R: int, C: int) -> "Outputs":
        return cls(np.full((P, R), np.nan), np.full((P, R), np.nan), np.zeros(P), np.zeros((P, C)), np.zeros((P, C)))


def _stream_args(stream: RequestStream, load: np.ndarray, feasible: np.ndarray) -> tuple:
    """The stream as the kernels take it, up to the outputs (see ``objectives.serving_kernels``)."""
    return (stream.first, stream.count, np.ascontiguousarray(stream.arrival_s), stream.outstanding,
            stream.think_s, np.ascontiguousarray(load, dtype=np.float64), feasible, stream.qos_s, stream.measured,
            stream.abandon)


def _run_greedy(tables: CoreTables, layers: TenantLayers, stream: RequestStream, allowed: np.ndarray,
                load: np.ndarray) -> Outputs:
    P, L, C = tables.latency_s.shape
    out = Outputs.empty(P, stream.num_requests, C)
    serving_kernels.greedy_stream_kernel(
        tables.latency_s, tables.dynamic_j, tables.chained_latency_s, tables.chained_dynamic_j,
        np.ascontiguousarray(allowed), layers.layer, layers.preds, layers.transfer_s, layers.single,
        *_stream_args(stream, load, tables.feasible), MAX_GAPS, out.finish, out.arrival, out.dynamic, out.busy, out.peak,
    )  # fmt: skip
    return out


def _every_active_core(tables: CoreTables, T: int) -> np.ndarray:
    return np.repeat(tables.active[:, None, :], T, axis=1)


def _shared(tables, layers, stream, scenario, load):
    return _run_greedy(tables, layers, stream, _every_active_core(tables, len(scenario.tenants)), load)


def _whole_request(tables, layers, stream, scenario, load):
    P, L, C = tables.latency_s.shape
    out = Outputs.empty(P, stream.num_requests, C)
    serving_kernels.whole_request_kernel(
        tables.work_s, tables.work_j, tables.power_w, _every_active_core(tables, len(scenario.tenants)),
        *_stream_args(stream, load, tables.feasible), out.finish, out.arrival, out.dynamic, out.busy, out.peak,
    )  # fmt: skip
    return out


def _demand_qps(scenario: Scenario, work_s: np.ndarray) -> np.ndarray:
    """``(P, T)`` each tenant's request rate: open loop its rate, closed loop its
    clients over their cycle on the fastest core (its rate when never queued)."""
    fastest = work_s.min(axis=2)
    return np.stack([
        np.full(len(fastest), t.arrival.rate_qps) if not isinstance(t.arrival, ClosedLoop)
        else t.arrival.outstanding / (t.arrival.think_s + fastest[:, i])
        for i, t in enumerate(scenario.tenants)
    ], axis=1)  # fmt: skip


def pinned_cores(tables: CoreTables, scenario: Scenario) -> np.ndarray:
    """``(P, T, C)`` the cores each tenant is pinned to.

    From ``policy_options["cores"]`` (tenant name → core indices, the same
    for every design) when given; otherwise a heuristic per design: cores,
    fastest first, go one by one — the first T one per tenant, heaviest
    tenant (rate × work) first; each further core to the tenant whose rate
    is largest against the capacity (Σ 1/work, requests/s) already pinned
    to it, which balances the sets' utilizations.  With fewer active cores than tenants, tenants share them
    round-robin."""
    P, T, C = tables.work_s.shape
    given = scenario.policy_options.get("cores")
    if given is not None:
        return _given_cores(given, scenario, tables)
    allowed = np.zeros((P, T, C), dtype=bool)
    demand = _demand_qps(scenario, tables.work_s)
    with np.errstate(divide="ignore"):
        capacity = 1.0 / tables.work_s  # (P, T, C) requests/s of a core for a tenant
    speed = np.where(tables.active, capacity.mean(axis=1), -np.inf)  # (P, C)
    load = demand * tables.work_s.min(axis=2)  # (P, T) core-seconds per second on the fastest core
    for p in range(P):
        cores = [int(c) for c in np.argsort(-speed[p], kind="stable") if tables.active[p, c]]
        if not cores:
            allowed[p] = True  # an infeasible design: never simulated
            continue
        heaviest = np.argsort(-load[p], kind="stable")
        pinned = np.zeros(T)
        for k, c in enumerate(cores):
            t = int(heaviest[k]) if k < T else int(np.argmax(demand[p] / pinned))
            allowed[p, t, c] = True
            pinned[t] += capacity[p, t, c]
        for k in range(len(cores), T):  # more tenants than cores
            allowed[p, int(heaviest[k]), cores[k % len(cores)]] = True
    return allowed


def _given_cores(given: Mapping, scenario: Scenario, tables: CoreTables) -> np.ndarray:
    P, T, C = tables.work_s.shape
    names = [t.name for t in scenario.tenants]
    unknown = sorted(set(given) - set(names))
    if unknown or set(given) != set(names):
        raise ValueError(f"policy_options.cores must name every tenant once (tenants: {', '.join(names)}; "
                         f"unknown: {', '.join(unknown) or 'none'})")
    allowed = np.zeros((P, T, C), dtype=bool)
    for t, name in enumerate(names):
        cores = list(given[name])
        if not cores or any(not (isinstance(c, (int, np.integer)) and 0 <= c < C) for c in cores):
            raise ValueError(f"policy_options.cores.{name}: {cores!r} must be a non-empty list of core indices "
                             f"0..{C - 1}")
        allowed[:, t, cores] = True
    if tables.feasible.any() and not (allowed & tables.active[:, None, :]).any(axis=2)[tables.feasible].all():
        raise ValueError("policy_options.cores pins a tenant only to inactive cores of some design")
    return allowed & tables.active[:, None, :]


def _pinned(tables, layers, stream, scenario, load):
    return _run_greedy(tables, layers, stream, pinned_cores(tables, scenario), load)


POLICIES["shared"] = Policy("shared", "layers of any request on any active core, each where it finishes first "
                            "(Herald's best fit over the stream), in arrival order; non-preemptive", _shared)
POLICIES["pinned"] = Policy("pinned", "each tenant's layers only on its own set of cores (spatial isolation), "
                            "best fit within the set", _pinned)
POLICIES["whole_request"] = Policy("whole_request", "a request runs all its layers on one core (DPU style): "
                                   "the core where it finishes first; first come, first served per core",
                                   _whole_request)


def _priority(tables, layers, stream, scenario, load):
    P, L, C = tables.latency_s.shape
    out = Outputs.empty(P, stream.num_requests, C)
    serving_dispatch.priority_kernel(
        tables.latency_s, tables.dynamic_j, tables.chained_latency_s, tables.chained_dynamic_j, tables.active,
        layers.layer, layers.preds, layers.transfer_s, stream.priority, *_stream_args(stream, load, tables.feasible),
        out.finish, out.arrival, out.dynamic, out.busy, out.peak,
    )  # fmt: skip
    return out


@dataclasses.dataclass(frozen=True)
class Subarrays:
    """A design's active cores as N equal subarrays (Planaria's fission; PREMA's
    array is all of them fused): per layer ``(P, L)`` its latency on one
    subarray — N over the cores' summed speeds, the harmonic mean of their
    latencies, exact for identical cores — and its energy, the cores'
    energies weighted by their speed; ``remaining_s`` ``(P, T, J + 1)`` the
    rest of a request from each of its layers on one subarray."""

    count: np.ndarray
    latency_s: np.ndarray
    dynamic_j: np.ndarray
    chained_latency_s: np.ndarray
    chained_dynamic_j: np.ndarray
    remaining_s: np.ndarray


def subarrays(tables: CoreTables, layers: TenantLayers) -> Subarrays:
    count = tables.active.sum(axis=1)
    fused = []
    for latency, energy in ((tables.latency_s, tables.dynamic_j), (tables.chained_latency_s, tables.chained_dynamic_j)):
        with np.errstate(divide="ignore", invalid="ignore"):
            speed = np.where(tables.active[:, None, :], 1.0 / latency, 0.0)  # (P, L, C)
            total = speed.sum(axis=2)
            fused.append((count[:, None] / total, np.where(total > 0, (speed * np.nan_to_num(energy, posinf=0.0))
                                                           .sum(axis=2) / total, np.inf)))
    (latency, energy), (chained, chained_energy) = fused
    index = np.maximum(layers.layer, 0)
    per_layer = np.where(layers.single[None], chained[:, index], latency[:, index])  # (P, T, J)
    per_layer = np.where((layers.layer >= 0)[None], per_layer, 0.0)
    remaining = np.concatenate([np.cumsum(per_layer[..., ::-1], axis=2)[..., ::-1],
                                np.zeros(per_layer.shape[:2] + (1,))], axis=2)
    return Subarrays(count=count.astype(np.int64), latency_s=np.ascontiguousarray(latency), dynamic_j=energy,
                     chained_latency_s=np.ascontiguousarray(chained), chained_dynamic_j=chained_energy,
                     remaining_s=np.ascontiguousarray(remaining))


def _fission(policy_code: int):
    def run(tables, layers, stream, scenario, load):
        P, L, C = tables.latency_s.shape
        fused = subarrays(tables, layers)
        out = Outputs.empty(P, stream.num_requests, C)
        serving_dispatch.fission_kernel(
            policy_code, fused.latency_s, fused.dynamic_j, fused.chained_latency_s, fused.chained_dynamic_j,
            fused.count, layers.layer, layers.preds, stream.priority, fused.remaining_s,
            *_stream_args(stream, load, tables.feasible), out.finish, out.arrival, out.dynamic, out.busy, out.peak,
        )  # fmt: skip
        # Subarray-seconds spread over the cores; every subarray at the most power-hungry layer.
        out.busy = out.busy[:, :1] * tables.active / np.maximum(fused.count, 1)[:, None]
        out.peak = out.peak[:, :1] * tables.active
        return out

    return run


POLICIES["priority"] = Policy("priority", "priority queues: whenever a core frees, the ready request of highest "
                              "priority (then earliest arrival) runs its next layer there", _priority)
POLICIES["prema"] = Policy("prema", "PREMA-like temporal multitasking: all cores as one array, one request at a "
                           "time, chosen by priority tokens at every layer boundary", _fission(serving_dispatch.PREMA))
POLICIES["planaria"] = Policy("planaria", "Planaria-like fission: cores as equal subarrays allotted to the requests "
                              "in the system by QoS slack and priority (Algorithm 1)",
                              _fission(serving_dispatch.PLANARIA))


def _isolated(policy: Policy, tables: CoreTables, layers: TenantLayers, stream: RequestStream,
              scenario: Scenario) -> np.ndarray:
    """``(P, T)`` one request of each tenant alone on the design, under the same policy."""
    P, T = tables.feasible.shape[0], len(scenario.tenants)
    isolated = np.empty((P, T))
    for t in range(T):
        count = np.zeros(T, dtype=np.int64)
        count[t] = 1
        alone = dataclasses.replace(
            stream, tenant=np.array([t]), first=np.full(T, 0, dtype=np.int64), count=count,
            arrival_s=np.zeros(1), outstanding=np.zeros(T, dtype=np.int64), priority=stream.priority[[stream.first[t]]],
            measured=np.ones(1, dtype=bool),
        )  # fmt: skip
        out = policy.run(tables, layers, alone, scenario, np.ones(P))
        isolated[:, t] = out.finish[:, 0]
    return isolated


def prepare(designs: DesignBatch, workload: Workload, platform: Platform, scenario: Scenario) -> CoreTables:
    """The cost tables a scenario's simulations read (once per batch: loads only change arrivals)."""
    layers = tenant_layers(workload, scenario, platform)
    return core_tables(evaluator.core_layer_costs(designs, workload, platform), layers)


def simulate(designs: DesignBatch, workload: Workload, platform: Platform, scenario: Scenario, *,
             load: float | np.ndarray = 1.0, tables: CoreTables | None = None) -> ServingResult:
    """Serve the scenario's stream on every design; ``load`` (scalar or ``(P,)``)
    multiplies every open-loop rate.  ``tables`` (from :func:`prepare`) may be
    passed to reuse them across loads and policies."""
    layers = tenant_layers(workload, scenario, platform)
    tables = prepare(designs, workload, platform, scenario) if tables is None else tables
    if tables.work_s.shape[:2] != (designs.num_designs, len(scenario.tenants)):
        raise ValueError(f"tables are for {tables.work_s.shape[:2]} (designs, tenants), not "
                         f"{(designs.num_designs, len(scenario.tenants))}: prepare them with this scenario")
    stream = request_stream(scenario)
    P = designs.num_designs
    loads = np.broadcast_to(np.asarray(load, dtype=np.float64), (P,)).copy()
    if not (np.isfinite(loads).all() and (loads > 0).all()):
        raise ValueError(f"load must be a positive number, not {load!r}")
    policy = POLICIES[scenario.policy]
    out = policy.run(tables, layers, stream, scenario, loads)
    return ServingResult(
        arrival_s=out.arrival, finish_s=out.finish, tenant=stream.tenant, measured=stream.measured,
        priority=stream.priority, qos_s=stream.qos_s, isolated_s=_isolated(policy, tables, layers, stream, scenario),
        dynamic_j=out.dynamic, static_w=tables.static_w, busy_s=out.busy,
        peak_power_w=tables.static_w + out.peak.sum(axis=1), load=loads, reason=tables.reason,
    )  # fmt: skip


def serving_metrics(result: ServingResult, scenario: Scenario | None = None) -> dict[str, np.ndarray]:
    """Every serving metric of the table but ``qps_at_sla`` (see :func:`qps_at_sla`): name →
    ``(P,)`` or ``(P, T)``; definitions in ``objectives.serving_metrics``."""
    return metric_values.serving_metrics(result)


def qps_at_sla(designs: DesignBatch, workload: Workload, platform: Platform, scenario: Scenario, *,
               sla_quantile: float | np.ndarray = 0.99, iterations: int = 12, max_doublings: int = 20,
               tables: CoreTables | None = None) -> np.ndarray:
    """``(P,)`` the largest total arrival rate (queries/s) at which every tenant
    has at least ``sla_quantile`` (scalar or ``(T,)``) of its requests within
    its bound: ``load × base rate``, the load multiplier found per design by
    bracketing (from the load that would keep every core busy, halving or
    doubling) and then ``iterations`` bisection steps in log space, on the
    same stream throughout; 0 where a request alone already misses its
    bound or even ``2**-max_doublings`` of that load misses.

    Every decision compares one design at one load, so a looser bound, which
    meets at every load a tighter one meets, never gives a lower result."""
    if scenario.base_qps <= 0:
        raise ValueError("qps_at_sla needs an open-loop tenant (Poisson or trace): closed-loop arrivals ignore load")
    layers = tenant_layers(workload, scenario, platform)
    tables = prepare(designs, workload, platform, scenario) if tables is None else tables
    stream = request_stream(scenario)
    policy = POLICIES[scenario.policy]
    P = designs.num_designs
    quantile = np.broadcast_to(np.asarray(sla_quantile, dtype=np.float64), stream.qos_s.shape)
    measured = np.bincount(stream.tenant[stream.measured], minlength=len(stream.qos_s))
    # More requests over the bound than the SLA allows: the design misses at this load, whatever follows.
    stream = dataclasses.replace(stream, abandon=np.floor(measured * (1 - quantile) + 1e-9).astype(np.int64))

    def meets(load: np.ndarray, undecided: np.ndarray) -> np.ndarray:
        # Designs already decided are skipped (the kernels pass over infeasible ones).
        out = policy.run(dataclasses.replace(tables, feasible=tables.feasible & undecided), layers, stream,
                         scenario, load)
        result = ServingResult(
            arrival_s=out.arrival, finish_s=out.finish, tenant=stream.tenant, measured=stream.measured,
            priority=stream.priority, qos_s=stream.qos_s, isolated_s=np.ones((P, len(stream.qos_s))),
            dynamic_j=out.dynamic, static_w=tables.static_w, busy_s=out.busy, peak_power_w=tables.static_w,
            load=load, reason=tables.reason,
        )  # fmt: skip
        return metric_values.meets_sla(result, sla_quantile)

    one = np.ones(P)
    # Bracket: no design meets its bounds beyond the load at which its cores,
    # each tenant's work on its fastest core spread perfectly over all of
    # them, are busy all the time; nor at any load if a request alone misses.
    work = (_demand_qps(scenario, tables.work_s) * tables.work_s.min(axis=2)).sum(axis=1)  # core-s per s at load 1
    with np.errstate(divide="ignore", invalid="ignore"):
        saturated = np.where(work > 0, tables.active.sum(axis=1) / work, 1.0)
    alone = _isolated(policy, tables, layers, stream, scenario)
    hopeless = ~tables.feasible | (alone > stream.qos_s).any(axis=1)
    high = np.where(hopeless, 0.0, saturated)
    ok = meets(high, ~hopeless)
    low = np.where(ok, high, 0.0)
    high = np.where(ok, np.inf, high)  # rare: a short stream can meet even past saturation
    for _ in range(max_doublings):
        up, down = np.isinf(high) & ~hopeless, (low == 0) & ~hopeless
        if not (up | down).any():
            break
        load = np.where(up, low * 2.0, np.where(down, high * 0.5, 1.0))
        ok = meets(load, up | down)
        low = np.where((up | down) & ok, load, low)
        high = np.where(up & ~ok, load, np.where(down & ~ok, load, high))
    low = np.where(np.isinf(high), low, low)
    for _ in range(iterations):
        bracketed = (low > 0) & np.isfinite(high)
        if not bracketed.any():
            break
        mid = np.where(bracketed, np.sqrt(np.where(bracketed, low * high, 1.0)), 1.0)
        ok = meets(mid, bracketed)
        low = np.where(bracketed & ok, mid, low)
        high = np.where(bracketed & ~ok, mid, high)
    return np.where(tables.feasible, low * scenario.base_qps, 0.0)
