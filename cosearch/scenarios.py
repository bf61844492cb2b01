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

from cosearch.config_serving import PLANARIA_PRIORITIES, QosBound, ServingConfig, parse_qos

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
    """One (scenario, load) case: the engine's ``Scenario``, its load multiplier, and per tenant the
    multiple of its isolated latency that is its QoS bound (None: ``scenario`` holds the bound)."""

    label: str
    scenario: Any
    load: float
    isolated: tuple[float | None, ...]


def resolve_cases(serving: ServingConfig, workload) -> list[Case]:
    """The section's cases, scenario by scenario then load by load.

    Raises ``ValueError`` naming the tenant whose model the workload lacks (its message starts with the
    config key, ``serving.tenants[i]`` or ``serving.scenarios[s].tenants[i]``).
    """
    from objectives import serving as engine

    cases = []
    mixes = serving.mixes()
    for s, mix in enumerate(mixes):
        key = "serving" if mix is serving else f"serving.scenarios[{s}]"
        name = getattr(mix, "name", None) or (f"scenario{s}" if len(mixes) > 1 else "serving")
        tenants, isolated = [], []
        rng = np.random.default_rng([serving.seed, s])
        configs = mix.tenants if mix.tenants is not None else serving.tenants
        if configs is None:
            configs = [None] * workload.num_models
        seen: dict[str, int] = {}
        for i, tenant in enumerate(configs):
            model = workload.model_names[i] if tenant is None else tenant.model_name()
            if model not in workload.model_names:
                raise ValueError(f"{key}.tenants[{i}]: model {model!r} is not a model of workload "
                                 f"{workload.name!r} (allowed: {', '.join(workload.model_names)})")
            pick = lambda field: _first(tenant and getattr(tenant, field), getattr(mix, field), getattr(serving, field))  # noqa: E731
            arrival = pick("arrival")
            if arrival is None:
                raise ValueError(f"{key}.tenants[{i}]: no arrival process: give arrival here or in the serving "
                                 "section ({poisson: QPS}, {trace: FILE} or {closed_loop: N})")
            bound = parse_qos(pick("qos"))
            priority = pick("priority")
            if priority == "uniform":  # Planaria §VI-A: priorities drawn uniformly from 1–11
                priority = float(rng.integers(PLANARIA_PRIORITIES[0], PLANARIA_PRIORITIES[1] + 1))
            seen[model] = seen.get(model, 0) + 1
            label = (tenant.name if tenant is not None and tenant.name else model)
            label += f"#{seen[model]}" if seen[model] > 1 else ""
            qos_s = _bound_seconds(bound, model, f"{key}.tenants[{i}].qos")
            tenants.append(engine.Tenant(name=label, model=model, arrival=arrival.build(), qos_s=qos_s,
                                         priority=float(priority), requests=int(pick("requests"))))
            isolated.append(bound.value if bound.kind == "isolated" else None)
        scenario = engine.Scenario(tenants=tuple(tenants), policy=serving.policy, warmup=serving.warmup,
                                   seed=serving.seed + s, policy_options=dict(serving.policy_options))
        for load in mix.loads or serving.loads:
            suffix = f"@{load:g}x" if len(mix.loads or serving.loads) > 1 else ""
            cases.append(Case(name + suffix, scenario, float(load), tuple(isolated)))
    return cases


def _first(*values):
    return next((v for v in values if v is not None), None)


def _bound_seconds(bound: QosBound, model: str, key: str) -> float:
    try:
        seconds = bound.seconds(model)
    except ValueError as e:
        raise ValueError(f"{key}: {e}") from None
    return math.inf if seconds is None else seconds  # "Nx isolated": set per design when scored


# -- scoring designs on the cases ---------------------------------------------------------


def serving_metric_names() -> tuple[str, ...]:
    """The per-design serving metrics of the table (the engine registers them)."""
    from objectives import serving as engine
    from objectives.metrics import METRICS

    return tuple(name for name in engine.SERVING_METRICS if METRICS[name].shape == "design")


class ServingMetrics:
    """A batch's ``objectives.Metrics`` with the serving metrics aggregated over the cases added.

    Reads like ``Metrics`` (``m.qps_at_sla``, ``m.edp``, ``m.feasible``, ``m.row(p)``);
    ``cases``: each case's label and its ``(P,)`` serving metrics, for the per-scenario table.
    """

    def __init__(self, base, values: Mapping[str, np.ndarray], cases: list[tuple[str, dict]]):
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

    def row(self, p: int) -> dict:
        """Design p as plain data: the multi-DNN metrics, the aggregated serving metrics, and
        ``scenarios``: one entry per case with its serving metrics (the per-scenario table)."""
        out = self.base.row(p)
        out.update({name: v[p].item() for name, v in self.values.items()})
        out["scenarios"] = [{"case": label, **{name: v[p].item() for name, v in values.items()}}
                            for label, values in self.cases]
        return out


def _unserved(direction: str) -> float:
    """What an infeasible design scores: the worst value (inf when lower is better, 0 when higher)."""
    return 0.0 if direction == "maximize" else math.inf


class Judge:
    """Scores design batches of one workload and platform on a serving section's cases."""

    def __init__(self, workload, platform, serving: ServingConfig):
        self.workload, self.platform, self.serving = workload, platform, serving
        self.cases = resolve_cases(serving, workload)
        self.names = serving_metric_names()

    def score(self, batch, *, with_schedule: bool = False) -> ServingMetrics:
        """Score a ``DesignBatch``: the evaluator, then the serving engine on every case (feasible designs)."""
        from objectives import evaluate
        from objectives.metrics import METRICS

        base = evaluate(batch, self.workload, self.platform, with_schedule=with_schedule)
        rows = np.flatnonzero(base.feasible)
        P = base.num_designs
        per_case = []
        for case in self.cases:
            values = {name: np.full(P, _unserved(METRICS[name].direction)) for name in self.names}
            if rows.size:
                served = serve_case(batch.take(rows) if rows.size < P else batch, self.workload, self.platform, case)
                for name in self.names:
                    values[name][rows] = served[name]
            per_case.append((case.label, values))
        how, alpha = self.serving.aggregate, self.serving.cvar_alpha
        totals = {name: aggregate(np.stack([values[name] for _, values in per_case]), METRICS[name].direction,
                                  how, alpha) for name in self.names}
        return ServingMetrics(base, totals, per_case if len(per_case) > 1 else [])


class ServingProblem:
    """A built problem (``experiment.BuiltProblem``'s interface) whose designs a ``Judge`` scores:
    the multi-DNN metrics plus the serving metrics aggregated over the section's cases."""

    def __init__(self, built, serving: ServingConfig):
        self.space, self.workload, self.platform = built.space, built.workload, built.platform
        self.dim, self.genes = built.dim, built.genes
        self.serving = serving
        self.judge = Judge(built.workload, built.platform, serving)
        self.metric_names = (*built.metric_names, *self.judge.names)

    def evaluate(self, X: np.ndarray) -> ServingMetrics:
        return self.judge.score(self.space.decode(X))

    def score(self, batch, *, with_schedule: bool = False) -> ServingMetrics:
        return self.judge.score(batch, with_schedule=with_schedule)

    @staticmethod
    def metrics_row(metrics, p: int) -> dict:
        return metrics.row(p)


def serve_case(designs, workload, platform, case: Case) -> dict[str, np.ndarray]:
    """``(P,)`` serving metrics of the designs on one case (QoS bounds given as multiples of the
    isolated latency resolved per design first)."""
    from objectives import serving as engine

    scenario = with_isolated_bounds(designs, workload, platform, case)
    result = engine.simulate(designs, workload, platform, scenario, load=case.load)
    return engine.serving_metrics(result, scenario)


def with_isolated_bounds(designs, workload, platform, case: Case):
    """The case's scenario with every "Nx isolated" bound set to N × the tenant's model latency alone on
    each design (``qos_s`` then a ``(P,)`` array)."""
    if all(f is None for f in case.isolated):
        return case.scenario
    alone = isolated_latency_s(designs, workload, platform)
    tenants = tuple(
        t if f is None else dataclasses.replace(t, qos_s=f * alone[:, workload.model_names.index(t.model)])
        for t, f in zip(case.scenario.tenants, case.isolated))
    return dataclasses.replace(case.scenario, tenants=tenants)


def isolated_latency_s(designs, workload, platform) -> np.ndarray:
    """``(P, M)`` each model's latency on each design with nothing else on the chip: its layers on the
    cores the design maps them to, one request, arriving at an idle chip."""
    from objectives import serving as engine

    out = np.empty((designs.num_designs, workload.num_models))
    for m, name in enumerate(workload.model_names):
        tenant = engine.Tenant(name=name, model=name, arrival=engine.Trace(arrival_s=(0.0,)), qos_s=math.inf,
                               priority=1.0, requests=1)
        scenario = engine.Scenario(tenants=(tenant,), policy="shared", warmup=0, seed=0, policy_options={})
        result = engine.simulate(designs, workload, platform, scenario, load=1.0)
        out[:, m] = engine.serving_metrics(result, scenario)["p99_latency_s"]
    return out


class ServingSpec(NamedTuple):
    """A picklable problem spec (``config_loader.ConfigProblem``'s fields plus the ``serving`` section as
    plain data), rebuilt as a ``ServingProblem`` wherever the run goes."""

    key: str
    workload: dict
    platform: dict
    space: str
    space_options: dict
    serving: dict

    def build(self) -> ServingProblem:
        from cosearch.config_loader import ConfigProblem

        built = ConfigProblem(*self[:5]).build()
        return ServingProblem(built, ServingConfig.model_validate(self.serving))
