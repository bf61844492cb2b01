"""What a served stream is judged by: latency percentiles, SLA, throughput, energy per query, fairness.

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

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from objectives.serving import ServingResult

PERCENTILES = (50, 95, 99)


def tenant_columns(result: "ServingResult") -> list[np.ndarray]:
    """Each tenant's measured request indices, in arrival order of its numbering."""
    T = len(result.qos_s)
    return [np.flatnonzero((result.tenant == t) & result.measured) for t in range(T)]


def tenant_sla_rate(result: "ServingResult") -> np.ndarray:
    """``(P, T)`` each tenant's fraction of measured requests within its bound."""
    latency = result.latency_s
    return np.stack([(latency[:, cols] <= result.qos_s[t]).mean(axis=1)
                     for t, cols in enumerate(tenant_columns(result))], axis=1)


def meets_sla(result: "ServingResult", sla_quantile: float | np.ndarray = 0.99) -> np.ndarray:
    """``(P,)`` whether every tenant has at least its ``sla_quantile`` (scalar or ``(T,)``) within bound."""
    quantile = np.broadcast_to(np.asarray(sla_quantile, dtype=np.float64), result.qos_s.shape)
    return (tenant_sla_rate(result) >= quantile - 1e-12).all(axis=1) & result.feasible


def serving_metrics(result: "ServingResult") -> dict[str, np.ndarray]:
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
