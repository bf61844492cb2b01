"""Serving scenarios: tenants, their arrival processes and QoS bounds, and the requests they send.

Arrivals are common random numbers: each tenant's unit-rate exponential
gaps are drawn once from ``(seed, tenant)`` and a load multiplier only
divides them, so every design and every load sees the same requests (see
``objectives.serving``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np


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


BACKFILL = None
"""The shared and pinned policies' default backfilling depth: how many of each core's latest idle
intervals stay open to later requests' layers; None keeps every one, as the sources do (HEFT's
insertion policy, conservative backfilling; docs/serving.md, "Backfilling depth")."""


@dataclasses.dataclass(frozen=True)
class Scenario:
    """Tenants served together under one dispatch policy (a name of ``objectives.serving.POLICIES``,
    checked when the scenario is simulated)."""

    tenants: tuple[Tenant, ...]
    policy: str = "shared"
    warmup: int = 0
    seed: int = 0
    policy_options: Mapping = dataclasses.field(default_factory=dict)
    backfill: int | None = BACKFILL

    def __post_init__(self):
        if self.backfill is not None and (isinstance(self.backfill, bool) or not isinstance(
                self.backfill, (int, np.integer)) or self.backfill < 0):
            raise ValueError(f"backfill must be a whole number of idle intervals ≥ 0 or None (every one), "
                             f"not {self.backfill!r}")
        if not self.tenants:
            raise ValueError("a scenario needs at least one tenant")
        names = [t.name for t in self.tenants]
        if len(set(names)) != len(names):
            raise ValueError(f"tenant names must be distinct, not {names}")
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
