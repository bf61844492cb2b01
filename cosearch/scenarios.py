"""Designs judged on request streams: a config's ``serving`` section → engine scenarios → serving metrics.

* ``resolve_cases(serving, workload)`` — every (scenario, load) case of the
  section as the engine's ``Scenario`` with its load multiplier; tenants
  default to one per model of the workload;
* ``aggregate(values, direction, how, alpha)`` — one design's values over the
  cases as one number: the mean, the worst case, or the CVaR (the mean of the
  worst ``alpha`` share of the cases);
* ``ServingProblem`` — a config's problem whose designs are scored by the
  multi-DNN evaluator and then by the serving engine on every case: a run
  searches it like any other problem, with serving metrics as objectives or
  constraints.

Arrivals are common random numbers: the engine draws every case's requests
from the section's seed, so every design of a batch (and of every batch)
sees the same requests, and comparisons are paired.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from cosearch.config_serving import PLANARIA_PRIORITIES, ServingConfig, parse_qos, sla_quantile

# -- aggregation over cases -----------------------------------------------------------


def aggregate(values: np.ndarray, direction: str, how: str = "mean", alpha: float = 0.25) -> np.ndarray:
    """``(S, P)`` values of P designs over S cases → ``(P,)``.

    ``mean``; ``worst``: the largest when lower is better (``minimize`` or
    ``neither``), the smallest when higher is; ``cvar``: the mean of the worst
    ``alpha`` share of the cases, counting the case at the boundary by the
    fraction of it inside the share (Rockafellar and Uryasev's CVaR of the
    empirical distribution): ``alpha = 1`` is the mean, ``alpha ≤ 1/S`` the worst.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] == 0:
        raise ValueError(f"aggregate: expected (cases, designs) values, got shape {values.shape}")
    if how == "mean":
        return values.mean(axis=0)
    worst_first = np.sort(values, axis=0)
    if direction != "maximize":
        worst_first = worst_first[::-1]
    if how == "worst":
        return worst_first[0]
    if how != "cvar":
        raise ValueError(f"aggregate: unknown aggregation {how!r} (allowed: mean, worst, cvar)")
    if not 0 < alpha <= 1:
        raise ValueError(f"aggregate: alpha must be in (0, 1], got {alpha}")
    S = values.shape[0]
    mass = np.clip(alpha * S - np.arange(S), 0.0, 1.0)  # the share of each sorted case inside the tail
    with np.errstate(invalid="ignore"):  # inf × 0 for cases outside the tail
        weighted = np.where(mass[:, None] > 0, worst_first * mass[:, None], 0.0)
    return weighted.sum(axis=0) / (alpha * S)


# -- resolving the section into the engine's scenarios -------------------------------------


class Case(NamedTuple):
    """One (scenario, load) case: the engine's ``Scenario`` and its load multiplier; per tenant the
    SLA quantile (MLPerf: 99 %, 97 % for translation) and the multiple of its isolated latency that is
    its QoS bound (None: the scenario's ``qos_s`` is the bound)."""

    label: str
    scenario: Any
    load: float
    quantile: tuple[float, ...]
    isolated: tuple[float | None, ...]


def resolve_cases(serving: ServingConfig, workload) -> list[Case]:
    """The section's cases, scenario by scenario then load by load.

    Raises ``ValueError`` whose message starts with the config key it is about
    (``serving.tenants[i]``, ``serving.scenarios[s].tenants[i]``), e.g. a tenant
    whose model the workload lacks.
    """
    from objectives import serving as engine

    cases = []
    mixes = serving.mixes()
    for s, mix in enumerate(mixes):
        key = "serving" if mix is serving else f"serving.scenarios[{s}]"
        name = getattr(mix, "name", None) or (f"scenario{s}" if len(mixes) > 1 else "serving")
        configs = mix.tenants if mix.tenants is not None else serving.tenants
        if configs is None:
            configs = [None] * workload.num_models
        tenants, quantiles, isolated = [], [], []
        seen: dict[str, int] = {}
        declared = f"{key}.tenants" if mix.tenants is not None else "serving.tenants"
        for i, tenant in enumerate(configs):
            at = f"{declared}[{i}]"
            model = workload.model_names[i] if tenant is None else tenant.model_name()
            if model not in workload.model_names:
                raise ValueError(f"{at}: model {model!r} is not a model of workload {workload.name!r} "
                                 f"(allowed: {', '.join(workload.model_names)})")

            def pick(field, tenant=tenant):
                return _first(tenant and getattr(tenant, field), getattr(mix, field), getattr(serving, field))

            arrival = pick("arrival")
            if arrival is None:
                raise ValueError(f"{at}: no arrival process: give arrival here or in the serving section "
                                 "({poisson: QPS}, {trace: FILE} or {closed_loop: N})")
            bound = parse_qos(pick("qos"))
            try:
                qos_s = bound.seconds(model)
            except ValueError as e:
                raise ValueError(f"{at}.qos: {e}") from None
            priority = pick("priority")
            priority = PLANARIA_PRIORITIES if priority == "uniform" else (
                tuple(priority) if isinstance(priority, list) else priority)
            seen[model] = seen.get(model, 0) + 1
            label = (tenant.name if tenant is not None and tenant.name else model)
            label += f"#{seen[model]}" if seen[model] > 1 else ""
            try:  # "Nx isolated": a placeholder bound, set per design when scored
                tenants.append(engine.Tenant(name=label, model=model, arrival=arrival.build(),
                                             qos_s=1.0 if qos_s is None else qos_s, priority=priority,
                                             requests=int(pick("requests"))))
            except ValueError as e:
                raise ValueError(f"{at}: {e}") from None
            quantiles.append(tenant.sla_quantile if tenant is not None and tenant.sla_quantile
                             else sla_quantile(model))
            isolated.append(bound.value if bound.kind == "isolated" else None)
        try:
            scenario = engine.Scenario(tenants=tuple(tenants), policy=serving.policy, warmup=serving.warmup,
                                       seed=serving.seed, policy_options=dict(serving.policy_options),
                                       backfill=serving.backfill)
        except ValueError as e:
            raise ValueError(f"{key}: {e}") from None
        loads = mix.loads or serving.loads
        for load in loads:
            suffix = f"@{load:g}x" if len(loads) > 1 else ""
            cases.append(Case(name + suffix, scenario, float(load), tuple(quantiles), tuple(isolated)))
    return cases


def _first(*values):
    return next((v for v in values if v is not None), None)


# -- scoring designs on the cases ---------------------------------------------------------


def serving_metric_names(shape: str = "design") -> tuple[str, ...]:
    """The serving metrics of the table of one shape (``design``: one value per design)."""
    from objectives import serving as _engine  # noqa: F401  (the engine's metrics are in the table)
    from objectives.metrics import METRICS

    return tuple(m.name for m in METRICS.values() if m.source == "serving" and m.shape == shape)


class ServingMetrics:
    """A batch's ``objectives.Metrics`` with the serving metrics aggregated over the cases added.

    Reads like ``Metrics`` (``m.qps_at_sla``, ``m.edp``, ``m.feasible``, ``m.row(p)``);
    ``cases``: each case's label, tenants and metrics (``(P,)`` per design, ``(P, T)`` per tenant),
    for the per-scenario table.
    """

    def __init__(self, base, values: Mapping[str, np.ndarray], cases: list[tuple[str, tuple, dict]]):
        self.base, self.values, self.cases = base, dict(values), cases

    def __getattr__(self, name: str):
        if name in ("base", "values", "cases") or name.startswith("__"):
            raise AttributeError(name)
        if name in self.values:
            return self.values[name]
        return getattr(self.base, name)

    @property
    def num_designs(self) -> int:
        return self.base.num_designs

    @classmethod
    def concatenate(cls, parts: "list[ServingMetrics]") -> "ServingMetrics":
        """The metrics of consecutive blocks of designs as one batch's (a population split over workers)."""
        first = parts[0]
        cases = [(label, tenants, {name: np.concatenate([part.cases[i][2][name] for part in parts])
                                   for name in values})
                 for i, (label, tenants, values) in enumerate(first.cases)]
        return cls(type(first.base).concatenate([part.base for part in parts]),
                   {name: np.concatenate([part.values[name] for part in parts]) for name in first.values}, cases)

    def row(self, p: int) -> dict:
        """Design p as plain data: the multi-DNN metrics, the serving metrics aggregated over the
        cases, and ``scenarios``: per case its serving metrics and, by tenant, the per-tenant ones."""
        from objectives.metrics import METRICS

        out = self.base.row(p)
        out.update({name: v[p].item() for name, v in self.values.items()})
        table = []
        for label, tenants, values in self.cases:
            entry = {"case": label}
            entry.update({n: v[p].item() for n, v in values.items() if METRICS[n].shape == "design"})
            entry["tenants"] = {t: {n: v[p, i].item() for n, v in values.items() if METRICS[n].shape == "tenant"}
                                for i, t in enumerate(tenants)}
            table.append(entry)
        out["scenarios"] = table
        return out


def _unserved(name: str) -> float:
    """What an infeasible design scores: the worst value (inf when lower is better, 0 when higher)."""
    from objectives.metrics import METRICS

    return 0.0 if METRICS[name].direction == "maximize" else math.inf


class Judge:
    """Scores design batches of one workload and platform on a serving section's cases.

    ``needs``: the metrics a search reads (objectives, constraints); ``qps_at_sla``
    (a bisection: about twenty simulations) is computed only when they name it
    or ``qps_per_watt``, or when a design is scored in full (design files).
    """

    def __init__(self, workload, platform, serving: ServingConfig, needs=None):
        self.workload, self.platform, self.serving = workload, platform, serving
        self.cases = resolve_cases(serving, workload)
        self.names = serving_metric_names()
        self.qps = needs is None or bool({"qps_at_sla", "qps_per_watt"} & set(needs))

    def score(self, batch, *, with_schedule: bool = False, full: bool = False) -> ServingMetrics:
        """Score a ``DesignBatch``: the evaluator, then the serving engine on every case (feasible designs).

        ``full``: every serving metric (``qps_at_sla`` too, whatever the search reads)."""
        from objectives import evaluate
        from objectives.metrics import METRICS

        base = evaluate(batch, self.workload, self.platform, with_schedule=with_schedule)
        rows = np.flatnonzero(base.feasible)
        P = base.num_designs
        qps = self.qps or full
        per_case = []
        for case in self.cases:
            T = len(case.scenario.tenants)
            values = {}
            for name in serving_metric_names("design") + serving_metric_names("tenant"):
                if name in ("qps_at_sla", "qps_per_watt") and not qps:
                    continue
                shape = (P,) if METRICS[name].shape == "design" else (P, T)
                values[name] = np.full(shape, _unserved(name))
            if rows.size:
                served = serve_case(batch.take(rows) if rows.size < P else batch, self.workload, self.platform,
                                    case, qps=qps)
                for name, v in values.items():
                    v[rows] = served[name]
            per_case.append((case.label, tuple(t.name for t in case.scenario.tenants), values))
        how, alpha = self.serving.aggregate, self.serving.cvar_alpha
        totals = {name: aggregate(np.stack([values[name] for _, _, values in per_case]), METRICS[name].direction,
                                  how, alpha) for name in self.names if name in per_case[0][2]}
        return ServingMetrics(base, totals, per_case)


class ServingProblem:
    """A built problem (``experiment.BuiltProblem``'s interface) whose designs a ``Judge`` scores:
    the multi-DNN metrics plus the serving metrics aggregated over the section's cases.

    ``reference_samples``: the designs the hypervolume reference point is taken from (256 for
    other problems): serving each costs a stream per case, a bisection where ``qps_at_sla`` is read.
    """

    reference_samples = 64

    def __init__(self, built, serving: ServingConfig, needs=None):
        self.space, self.workload, self.platform = built.space, built.workload, built.platform
        self.dim, self.genes = built.dim, built.genes
        self.serving = serving
        self.judge = Judge(built.workload, built.platform, serving, needs)
        self.metric_names = (*built.metric_names, *self.judge.names)

    def evaluate(self, X: np.ndarray) -> ServingMetrics:
        return self.judge.score(self.space.decode(X))

    def score(self, batch, *, with_schedule: bool = False) -> ServingMetrics:
        """Every metric of a batch (for design files)."""
        return self.judge.score(batch, with_schedule=with_schedule, full=True)

    @staticmethod
    def metrics_row(metrics, p: int) -> dict:
        return metrics.row(p)


def serve_case(designs, workload, platform, case: Case, *, qps: bool = True) -> dict[str, np.ndarray]:
    """The serving metrics of the designs on one case: ``(P,)`` per design, ``(P, T)`` per tenant.

    With "Nx isolated" bounds each design is judged against its own bounds
    (N × each tenant's latency alone on it), one design at a time.
    """
    with np.errstate(invalid="ignore"):  # closed-loop requests never issued: NaN − NaN latencies
        return _serve_case(designs, workload, platform, case, qps)


def _serve_case(designs, workload, platform, case: Case, qps: bool) -> dict[str, np.ndarray]:
    from objectives import serving as engine

    tables = engine.prepare(designs, workload, platform, case.scenario)
    result = engine.simulate(designs, workload, platform, case.scenario, load=case.load, tables=tables)
    quantile = np.array(case.quantile)
    open_loop = case.scenario.base_qps > 0  # closed-loop tenants only: no load to scale, no qps_at_sla
    nan = np.full(designs.num_designs, np.nan)
    if all(f is None for f in case.isolated):
        values = engine.serving_metrics(result, case.scenario)
        if qps:
            values["qps_at_sla"] = nan if not open_loop else engine.qps_at_sla(
                designs, workload, platform, case.scenario, sla_quantile=quantile, tables=tables)
    else:
        rows = []
        for p in range(designs.num_designs):
            scenario = own_bounds(case, result.isolated_s[p])
            one = design_result(result, p, scenario)
            row = engine.serving_metrics(one, scenario)
            if qps:
                row["qps_at_sla"] = nan[:1] if not open_loop else engine.qps_at_sla(
                    designs.take(np.array([p])), workload, platform, scenario, sla_quantile=quantile)
            rows.append(row)
        values = {name: np.concatenate([row[name] for row in rows]) for name in rows[0]}
    if qps:
        with np.errstate(divide="ignore", invalid="ignore"):
            values["qps_per_watt"] = np.where(values["peak_power_w"] > 0,
                                              values["qps_at_sla"] / values["peak_power_w"], 0.0)
    return values


def own_bounds(case: Case, isolated_s: np.ndarray):
    """The case's scenario with every "Nx isolated" bound set to N × that tenant's ``isolated_s``."""
    tenants = tuple(t if f is None else dataclasses.replace(t, qos_s=float(f * alone))
                    for t, f, alone in zip(case.scenario.tenants, case.isolated, isolated_s))
    return dataclasses.replace(case.scenario, tenants=tenants)


PER_DESIGN_FIELDS = ("arrival_s", "finish_s", "isolated_s", "dynamic_j", "static_w", "busy_s", "peak_power_w",
                     "load", "reason")
"""The ``ServingResult`` fields with one row per design."""


def design_result(result, p: int, scenario):
    """Design ``p``'s rows of a ``ServingResult``, judged against ``scenario``'s bounds."""
    rows = {name: getattr(result, name)[p : p + 1] for name in PER_DESIGN_FIELDS}
    return dataclasses.replace(result, qos_s=np.array([t.qos_s for t in scenario.tenants]), **rows)
