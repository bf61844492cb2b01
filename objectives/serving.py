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
``objectives.serving_dispatch``).

Statistics skip each tenant's first ``warmup`` requests.  Energy is the
layers' dynamic energy plus the design's leakage over the whole served
span (from 0 to the last finish), per request served.

Policies, and where they simplify (every layer runs to completion unless
said otherwise):

* ``shared`` — requests first come, first served; each layer on the active
  core where it would finish first (Herald's best fit, over the stream),
  NoC transfers and on-chip chained inputs priced; idle intervals of a
  core stay open to later requests' layers (insertion, as HEFT's; each
  core keeps its ``Scenario.backfill`` latest, every one by default — the
  backfilling depth, docs/serving.md).  A later request never delays an
  earlier one.
* ``pinned`` — the same within each tenant's own cores
  (``policy_options["cores"]``: tenant → core indices, or a load-balancing
  heuristic, :func:`pinned_cores`).
* ``whole_request`` — a request runs all its layers on one core (DPU
  style), the core where it would finish first; FIFO per core.
* ``priority`` — when a core frees, the ready request of highest priority
  (then earliest arrival) runs its next layer there.  A request's layers
  run one at a time, in topological order.
* ``prema`` — PREMA (Choi and Rhu, HPCA 2020) as Planaria §V compares
  against it: temporal multitasking on one monolithic array, here all the
  design's cores fused (a layer runs at their summed speed — exact for a
  one-core design, optimistic for several), one request at a time,
  preempted only at layer boundaries; at each, requests whose token
  (priority × (1 + time waited / time alone)) reaches the highest
  priority present are candidates and the shortest remaining one runs.
  PREMA's preemption mechanisms (checkpoint, kill, drain) and their costs
  are not modelled.
* ``planaria`` — Planaria's fission (§III–V): the active cores as N equal
  subarrays, re-allotted by Algorithm 1 (fewest subarrays meeting each
  request's QoS slack, spare shared by priority / remaining time; when the
  minima do not fit, by priority / (slack × minimum)) whenever a request
  arrives or finishes; a layer given k subarrays runs k times faster than
  on one (ideal fission; one subarray is the cores' harmonic mean), and a
  new allotment is taken up at the request's next layer boundary rather
  than at the next tile.  A request that cannot meet its bound even on
  the whole array asks for all of it.

Per-request priorities may be drawn uniformly from a range, as Planaria
§V draws 1–11 (``Tenant.priority = (1, 11)``).
"""


from __future__ import annotations

import dataclasses

import numpy as np

from objectives import evaluator
from objectives import serving_metrics as metric_values
from objectives.serving_metrics import ServingResult
from objectives.serving_policies import (  # noqa: F401  (the serving API, in one place)
    POLICIES, CoreTables, Policy, Subarrays, TenantLayers, core_tables, demand_qps, pinned_cores,
    subarrays, tenant_layers,
)
from objectives.serving_scenario import (  # noqa: F401
    BACKFILL, Arrival, ClosedLoop, Poisson, RequestStream, Scenario, Tenant, Trace, request_stream,
)
from objectives.workloads import Workload
from spaces.design import DesignBatch
from spaces.hardware import Platform


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
               confirm: int = 3, tables: CoreTables | None = None) -> np.ndarray:
    """``(P,)`` the largest total arrival rate (queries/s) at which every tenant
    has at least ``sla_quantile`` (scalar or ``(T,)``) of its requests within
    its bound, on the same stream throughout: ``load × base rate``, the load
    multiplier found per design in two steps.

    1. On the grid ``s × 2**k`` (``s`` the load at which the design's cores,
       each tenant's work on its fastest core spread perfectly over them, are
       busy all the time; ``|k| <= max_doublings``): the first failing grid
       load above an unbroken run of meeting ones.  From ``s``, doubling while
       the SLA is met or halving until it is; then the ``confirm`` grid loads
       below the meeting one are tested too, and if one fails the search goes
       on down from it.  So every grid load from the result down to
       ``2**-confirm`` of it meets.
    2. ``iterations`` bisection steps in log space inside that interval: a
       load that meets raises the lower end, one that misses lowers the upper.

    The result meets, and every load tested below it met.  0 where a request
    alone already misses its bound, or even ``2**-max_doublings × s`` misses.

    Why the confirmation: meeting the SLA is not monotone in the load —
    compressing time reorders arrivals against layer boundaries, so a design
    can miss at one load and meet at a slightly higher one
    (tests/objectives/test_serving.py has such designs).  A bisection alone
    can then settle on a meeting island above a failing load; the result is
    kept to the first failure going up (up to ``2**-confirm`` below the
    bracket).  For a design whose SLA is monotone in the load the
    confirmation changes nothing.  Every decision compares one design at one
    load, and a looser bound meets wherever a tighter one does, so a looser
    bound never gives a lower result."""
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

    # Bracket: no design meets its bounds beyond the load at which its cores,
    # each tenant's work on its fastest core spread perfectly over all of
    # them, are busy all the time; nor at any load if a request alone misses.
    work = (demand_qps(scenario, tables.work_s) * tables.work_s.min(axis=2)).sum(axis=1)  # core-s per s at load 1
    with np.errstate(divide="ignore", invalid="ignore"):
        saturated = np.where(work > 0, tables.active.sum(axis=1) / work, 1.0)
    alone = _isolated(policy, tables, layers, stream, scenario)
    hopeless = ~tables.feasible | (alone > stream.qos_s).any(axis=1)
    high = np.where(hopeless, 0.0, saturated)
    ok = meets(high, ~hopeless)
    low = np.where(ok, high, 0.0)
    high = np.where(ok, np.inf, high)  # rare: a short stream can meet even past saturation
    floor = low.copy()  # the lowest of the unbroken run of grid loads tested and met up to ``low``
    top, bottom = saturated * 2.0**max_doublings, saturated * 2.0**-max_doublings  # exact: powers of two
    for _ in range(4 * max_doublings + confirm + 2):  # each step moves along the finite grid; ends far sooner
        up = np.isinf(high) & (low * 2.0 <= top) & ~hopeless
        down = (low == 0) & (high * 0.5 >= bottom) & ~hopeless
        check = (low > 0) & ~up & (floor * 0.5 >= low * 2.0**-confirm) & (floor * 0.5 >= bottom) & ~hopeless
        if not (up | down | check).any():
            break
        load = np.where(up, low * 2.0, np.where(down, high * 0.5, np.where(check, floor * 0.5, 1.0)))
        ok = meets(load, up | down | check)
        floor = np.where((down | check) & ok, load, floor)
        low = np.where((up | down) & ok, load, np.where(check & ~ok, 0.0, low))  # a failure below: search on down
        high = np.where((up | down | check) & ~ok, load, high)
    for _ in range(iterations):
        bracketed = (low > 0) & np.isfinite(high)
        if not bracketed.any():
            break
        mid = np.where(bracketed, np.sqrt(np.where(bracketed, low * high, 1.0)), 1.0)
        ok = meets(mid, bracketed)
        low = np.where(bracketed & ok, mid, low)
        high = np.where(bracketed & ~ok, mid, high)
    return np.where(tables.feasible, low * scenario.base_qps, 0.0)
