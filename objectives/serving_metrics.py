"""What a served stream is judged by: latency percentiles, SLA, throughput, energy per query, fairness.

``ServingResult`` (what serving a stream did, per design and request) is defined here, with the
statistics over it; ``objectives.serving`` makes it and re-exports it.

Every statistic is over each tenant's *measured* requests (its first
``warmup`` are skipped).  Definitions, after Planaria §V (which follows
MLPerf's server scenario) and PREMA:

* a tenant meets its SLA when at least ``sla_quantile`` of its requests
  (MLPerf: 99 %, 97 % for translation) finish within its QoS bound; the
  SLA satisfaction rate of a tenant is the fraction of its requests that do;
* ``qps_at_sla`` (``objectives.serving.qps_at_sla``): the largest total
  arrival rate at which every tenant meets its SLA;
* a request's normalised progress is its latency alone on the design (same
  policy, empty chip) over its latency in the stream; PREMA's fairness is
  ``min_i PP_i / max_j PP_j`` with ``PP_i = NP_i / (priority_i / Σ priority)``
  — taken here over tenants, each with its requests' mean progress and
  mean priority: a min/max over thousands of single requests would only
  measure the tail of the stream;
* energy per query: dynamic energy plus leakage over the whole span served
  (from 0 to the last finish), over the requests served; its EDP multiplies
  it by the worst tenant's p99 latency;
* peak power: leakage plus every core at the most power-hungry layer it ran
  (a bound reached when all cores run those layers together).

The metrics are declared in ``objectives.metrics.METRICS`` (``source="serving"``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

PERCENTILES = (50, 95, 99)


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


def tenant_columns(result: ServingResult) -> list[np.ndarray]:
    """Each tenant's measured request indices, in arrival order of its numbering."""
    T = len(result.qos_s)
    return [np.flatnonzero((result.tenant == t) & result.measured) for t in range(T)]


def tenant_sla_rate(result: ServingResult) -> np.ndarray:
    """``(P, T)`` each tenant's fraction of measured requests within its bound."""
    latency = result.latency_s
    return np.stack([(latency[:, cols] <= result.qos_s[t]).mean(axis=1)
                     for t, cols in enumerate(tenant_columns(result))], axis=1)


def meets_sla(result: ServingResult, sla_quantile: float | np.ndarray = 0.99) -> np.ndarray:
    """``(P,)`` whether every tenant has at least its ``sla_quantile`` (scalar or ``(T,)``) within bound."""
    quantile = np.broadcast_to(np.asarray(sla_quantile, dtype=np.float64), result.qos_s.shape)
    return (tenant_sla_rate(result) >= quantile - 1e-12).all(axis=1) & result.feasible


def serving_metrics(result: ServingResult) -> dict[str, np.ndarray]:
    """Every serving metric of the table but ``qps_at_sla``: name → ``(P,)`` or ``(P, T)``."""
    ok = result.feasible
    latency = np.where(ok[:, None], result.latency_s, np.inf)
    columns = tenant_columns(result)
    out = {}
    for q in PERCENTILES:
        out[f"tenant_p{q}_latency_s"] = np.stack([np.percentile(latency[:, c], q, axis=1) for c in columns], axis=1)
    out["tenant_sla_rate"] = np.where(ok[:, None], tenant_sla_rate(result), 0.0)
    span = [result.finish_s[:, c].max(axis=1) - result.arrival_s[:, c].min(axis=1) for c in columns]
    out["tenant_throughput_qps"] = np.stack([np.where(ok & (s > 0), len(c) / s, 0.0) for c, s in zip(columns, span)],
                                            axis=1)
    measured = np.concatenate(columns)
    out["p99_latency_s"] = out["tenant_p99_latency_s"].max(axis=1)
    out["sla_rate"] = np.where(ok, (latency[:, measured] <= result.qos_s[result.tenant[measured]]).mean(axis=1), 0.0)
    whole = result.finish_s[:, measured].max(axis=1) - result.arrival_s[:, measured].min(axis=1)
    out["throughput_qps"] = np.where(ok & (whole > 0), len(measured) / whole, 0.0)
    served = result.finish_s.shape[1]
    out["energy_per_query_j"] = np.where(ok, result.energy_j / served, np.inf)
    out["edp_per_query"] = out["energy_per_query_j"] * out["p99_latency_s"]
    progress = result.isolated_s[:, result.tenant] / latency  # (P, R) normalised progress per request
    tenant_progress = np.stack([progress[:, c].mean(axis=1) for c in columns], axis=1)
    priority = np.array([result.priority[c].mean() for c in columns])
    weighted = tenant_progress / (priority / priority.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        fairness = weighted.min(axis=1) / weighted.max(axis=1)
    out["serving_fairness"] = np.where(ok, np.nan_to_num(fairness, nan=0.0), 0.0)
    out["mean_slowdown"] = np.where(ok, (1.0 / progress[:, measured]).mean(axis=1), np.inf)
    out["peak_power_w"] = np.where(ok, result.peak_power_w, np.inf)
    return out
