"""What a serving experiment adds to its results: each written design's SLA rate against load and the
best design's request latencies, so ``cosearch plot`` redraws the serving figures from the files alone.

``serving_summary(entries)`` takes the designs written (the best and each
baseline's best, with the problem that scored each: a baseline may serve
under another policy) and returns the ``serving`` entry of ``summary.json``:

* ``cases``: the (scenario, load) labels, ``aggregate`` and ``cvar_alpha``;
* ``sla_vs_load``: on the first case's scenario, one grid of total offered
  loads (queries/s) shared by every design, from a quarter of the lowest
  throughput at SLA to twice the highest, and each design's SLA rate on it;
* ``latency``: the best design's measured request latencies per tenant on the
  first case's scenario at its throughput at SLA (where its binding tenant's
  99th percentile meets its bound), with each tenant's bound.
"""

from __future__ import annotations

import numpy as np

SWEEP_POINTS = 12


def serving_summary(entries: dict) -> dict:
    """``entries``: label → ``(problem, Design)`` (``scenarios.ServingProblem``); the first is the best."""
    from cosearch.scenarios import design_result, own_bounds, serve_case
    from objectives import serving as engine

    labels = list(entries)
    first_problem = entries[labels[0]][0]
    judge = first_problem.judge
    case = judge.cases[0]
    out = {"cases": [c.label for c in judge.cases], "aggregate": judge.serving.aggregate,
           "cvar_alpha": judge.serving.cvar_alpha}
    if not case.scenario.base_qps > 0:
        return out  # closed-loop tenants only: offered load is not a knob
    batches = {label: design.to_batch(problem.platform) for label, (problem, design) in entries.items()}
    qps = {label: float(serve_case(batches[label], problem.workload, problem.platform, problem.judge.cases[0])
                        ["qps_at_sla"][0]) for label, (problem, _) in entries.items()}
    positive = [q for q in qps.values() if q > 0] or [case.scenario.base_qps * case.load]
    grid = np.geomspace(min(positive) / 4, max(positive) * 2, SWEEP_POINTS)
    curves = {}
    for label, (problem, design) in entries.items():
        scenario_case = problem.judge.cases[0]
        batch = _repeated(design, problem.platform, len(grid))
        with np.errstate(invalid="ignore"):
            result = engine.simulate(batch, problem.workload, problem.platform, scenario_case.scenario,
                                     load=grid / scenario_case.scenario.base_qps)
        if any(f is not None for f in scenario_case.isolated):
            scenario = own_bounds(scenario_case, result.isolated_s[0])
            rates = [engine.serving_metrics(design_result(result, p, scenario), scenario)["sla_rate"][0]
                     for p in range(len(grid))]
        else:
            rates = engine.serving_metrics(result, scenario_case.scenario)["sla_rate"]
        curves[label] = [float(r) for r in rates]
    out["sla_vs_load"] = {"offered_qps": grid.tolist(), "sla_rate": curves, "qps_at_sla": qps}
    best_label, (problem, design) = labels[0], entries[labels[0]]
    load = qps[best_label] / case.scenario.base_qps if qps[best_label] > 0 else case.load
    with np.errstate(invalid="ignore"):
        result = engine.simulate(batches[best_label], problem.workload, problem.platform, case.scenario, load=load)
    scenario = own_bounds(case, result.isolated_s[0])
    latency = result.latency_s[0]
    out["latency"] = {"design": best_label, "case": case.label, "offered_qps": load * case.scenario.base_qps,
                      "tenants": {t.name: {"latency_s": np.sort(latency[(result.tenant == i) & result.measured]).tolist(),
                                           "qos_s": t.qos_s}
                                  for i, t in enumerate(scenario.tenants)}}
    return out


def _repeated(design, platform, n: int):
    from spaces.design_view import designs_to_batch

    return designs_to_batch([design] * n, platform)
