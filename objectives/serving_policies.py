"""The serving policies: each tenant's layer graph, the cost tables the kernels read, and one
``run`` per policy over them (semantics and simplifications: ``objectives.serving``)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping

import numpy as np

from objectives import evaluator, serving_dispatch, serving_kernels
from objectives.mapper import OUTPUT
from objectives.serving_scenario import ClosedLoop, RequestStream, Scenario
from objectives.workloads import Workload
from spaces.hardware import Platform
from spaces.registry import Registry

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
    leakage ``static_w`` and infeasibility ``reason`` ``(P,)``; each layer's
    dynamic power on each core ``(P, L, C)``, from DRAM and chained
    (``layer_power_w``, ``chained_layer_power_w``; 0 where the latency is 0),
    divided once here rather than at every layer a stream runs."""

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
    layer_power_w: np.ndarray
    chained_layer_power_w: np.ndarray


def _power(latency: np.ndarray, energy: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(latency > 0, energy / latency, 0.0)


def core_tables(costs: evaluator.CoreLayerCosts, layers: TenantLayers) -> CoreTables:
    def layer_major(a):
        return np.ascontiguousarray(np.swapaxes(a, 1, 2))

    valid = layers.layer >= 0
    index = np.maximum(layers.layer, 0)  # (T, J)

    def per_tenant(table, reduce):  # (P, C, L) -> (P, T, C)
        gathered = np.where(valid[None, None], table[:, :, index], 0.0)  # (P, C, T, J)
        return np.ascontiguousarray(np.swapaxes(reduce(gathered, axis=-1), 1, 2))

    power = _power(costs.chained_latency_s, costs.chained_dynamic_j)
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
        layer_power_w=layer_major(_power(costs.latency_s, costs.dynamic_j)),
        chained_layer_power_w=layer_major(power),
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
                load: np.ndarray, backfill: int | None) -> Outputs:
    """The shared and pinned policies' kernel; each core keeps its ``backfill`` latest idle intervals open
    (None: every one).  Depth 0 runs the kernel without backfilling, when the costs it reads are finite."""
    P, L, C = tables.latency_s.shape
    # None keeps every interval: any depth of at least the stream's request-layers does (the kernel keeps
    # that many, as each layer placed adds at most one interval to its core).
    backfill = np.iinfo(np.int64).max if backfill is None else backfill
    out = Outputs.empty(P, stream.num_requests, C)
    allowed = np.ascontiguousarray(allowed)
    args = (
        tables.latency_s, tables.dynamic_j, tables.chained_latency_s, tables.chained_dynamic_j,
        tables.layer_power_w, tables.chained_layer_power_w, allowed, layers.layer, layers.preds, layers.transfer_s,
        layers.single, *_stream_args(stream, load, tables.feasible),
    )  # fmt: skip
    outputs = (out.finish, out.arrival, out.dynamic, out.busy, out.peak)
    if backfill == 0 and _finite(tables, layers, allowed):
        load = np.ascontiguousarray(load, dtype=np.float64)
        order = _common_order(stream, load)
        if order is None:
            serving_kernels.greedy_no_backfill_kernel(*args, *outputs)
        else:
            _run_lockstep(tables, layers, stream, allowed, order, load, outputs)
    else:
        serving_kernels.greedy_stream_kernel(*args, backfill, *outputs)
    return out


def _common_order(stream: RequestStream, load: np.ndarray) -> np.ndarray | None:
    """The order in which every design takes the requests, if it is one order: open-loop tenants only (a
    closed-loop arrival depends on the design), each tenant's arrivals in time order, and no design whose
    load rounds two tenants' arrivals to one time where the higher tenant's came first at load 1 (the
    kernels break a tie to the lower tenant, so that design would take the two the other way).  Else None."""
    if (stream.outstanding > 0).any() or stream.num_requests == 0:
        return None
    a = stream.arrival_s
    starts = np.isin(np.arange(len(a)), stream.first)  # each tenant's first request
    if not (np.isfinite(a).all() and ((np.diff(a) >= 0) | starts[1:]).all()):
        return None
    order = np.lexsort((np.arange(len(a)), stream.tenant, a))  # arrival, then tenant, then request
    t, a = stream.tenant[order], a[order]
    swap = np.flatnonzero(t[:-1] > t[1:])  # a higher tenant first: its arrival was strictly earlier
    with np.errstate(divide="ignore", invalid="ignore"):
        apart = (a[swap] / load[:, None]) < (a[swap + 1] / load[:, None])  # as the kernels divide
    return order.astype(np.int64) if apart.all() else None


#: designs simulated in lockstep at a time: their six cost tables (32 KB a design for the benchmark's 165
#: layers on 4 cores, 1 MB for 32) then stay in a core's L2 cache (2 MB here); 64 at a time measured 0.92x
#: as fast, kernel alone (8 alternating pairs, 0.85-1.01x)
LOCKSTEP = 32


def _run_lockstep(tables: CoreTables, layers: TenantLayers, stream: RequestStream, allowed: np.ndarray,
                  order: np.ndarray, load: np.ndarray, outputs: tuple) -> None:
    """``serving_kernels.greedy_lockstep_kernel`` on the tables laid out design-last, :data:`LOCKSTEP`
    designs at a time."""
    inputs, transfer, inputs_of = serving_kernels.packed_inputs(layers.preds, layers.transfer_s)
    costs = (tables.latency_s, tables.dynamic_j, tables.chained_latency_s, tables.chained_dynamic_j,
             tables.layer_power_w, tables.chained_layer_power_w, allowed)
    tenant, arrival_s = stream.tenant.astype(np.int64), np.ascontiguousarray(stream.arrival_s)
    for start in range(0, len(load), LOCKSTEP):
        group = slice(start, start + LOCKSTEP)
        serving_kernels.greedy_lockstep_kernel(
            *(np.moveaxis(a[group], 0, -1).copy(order="C") for a in costs),  # the kernel reorders them
            layers.layer, inputs, transfer, inputs_of, layers.single, order, tenant, arrival_s, load[group],
            tables.feasible[group], stream.qos_s, stream.measured, stream.abandon, *(out[group] for out in outputs),
        )  # fmt: skip


def _finite(tables: CoreTables, layers: TenantLayers, allowed: np.ndarray) -> bool:
    """Whether every cost of a feasible design on a core some tenant may use, and every transfer, is finite
    (what ``serving_kernels.greedy_no_backfill_kernel`` requires)."""
    used = (tables.feasible[:, None] & allowed.any(axis=1))[:, None, :]  # (P, 1, C)
    costs = (tables.latency_s, tables.chained_latency_s, tables.dynamic_j, tables.chained_dynamic_j,
             tables.layer_power_w, tables.chained_layer_power_w)
    return bool(np.isfinite(layers.transfer_s).all() and all(np.isfinite(np.where(used, a, 0.0)).all() for a in costs))


def _every_active_core(tables: CoreTables, T: int) -> np.ndarray:
    return np.repeat(tables.active[:, None, :], T, axis=1)


def _shared(tables, layers, stream, scenario, load):
    return _run_greedy(tables, layers, stream, _every_active_core(tables, len(scenario.tenants)), load,
                       scenario.backfill)


def _whole_request(tables, layers, stream, scenario, load):
    P, L, C = tables.latency_s.shape
    out = Outputs.empty(P, stream.num_requests, C)
    serving_kernels.whole_request_kernel(
        tables.work_s, tables.work_j, tables.power_w, _every_active_core(tables, len(scenario.tenants)),
        *_stream_args(stream, load, tables.feasible), out.finish, out.arrival, out.dynamic, out.busy, out.peak,
    )  # fmt: skip
    return out


def demand_qps(scenario: Scenario, work_s: np.ndarray) -> np.ndarray:
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
    demand = demand_qps(scenario, tables.work_s)
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
    return _run_greedy(tables, layers, stream, pinned_cores(tables, scenario), load, scenario.backfill)


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
