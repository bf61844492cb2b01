"""Overview of the serving experiments, from their results directories alone, with the spread over seeds.

    python experiments/serving/overview.py results/serving_planaria_a ... results/serving_mixed --out docs/img/serving

Reads each run's best design (``runs/*/run.json``: every seed of the co-search and of each
baseline), and prints the tables docs/serving.md quotes: throughput at SLA per case as the median
over seeds with its range, the Planaria-over-PREMA and co-search-over-PREMA ratios, the SLA rate and
fairness at the configured load, and each seed's core mix.  Draws ``overview-qps.png`` (median bars,
min-max whiskers over seeds) and ``overview-core-mix.png`` (the cores of each experiment's best design),
and copies each experiment's own figures (``cosearch run``'s ``plots/``) as ``<experiment>-<figure>.png``.

``--rescore`` scores each run's best design again under the metric definitions of this checkout
(one evaluation per run, under the run's own policy) instead of reading the metrics the run recorded:
for results older than a change of definition (``qps_at_sla``'s search) or of a baseline's policy.  The
designs are still the ones each search picked under the definitions it ran with.
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import shutil

import numpy as np

from cosearch import plots
from cosearch.config_loader import build, config_problems, load_config
from cosearch.report import core_label
from cosearch.results import ResultsDir
from cosearch.run import objective_matrix

FIGURES = ("latency_cdf", "sla_load", "qps", "core_mix")
# The poster's granularity classes of DPU sizes: its "small cores" are B512 and B800, its "large" B3136
# and B4096; B1024-B1152 are counted small and B1600-B2304 medium here.
DPU_CLASSES = {"small": ("B512", "B800", "B1024", "B1152"), "medium": ("B1600", "B2304"), "large": ("B3136", "B4096")}


def run_label(record: dict, baseline_keys: list[str]) -> str:
    """"co-search" for a search run, else the baseline's label (run ids: ``baseline-<label>[-<seed>]``)."""
    if record["kind"] != "baseline":
        return "co-search"
    rest = record["run_id"].removeprefix("baseline-")
    return next(k for k in sorted(baseline_keys, key=len, reverse=True) if rest == k or rest.startswith(k + "-"))


def read_experiment(root: pathlib.Path, rescore: bool = False) -> dict:
    """Per design label, one entry per seed: its evaluations, stop reason, per-case metrics and cores.

    From the finished runs' ``run.json`` alone, so an experiment still running (no ``summary.json``
    yet) is reported on the runs it has finished; ``rescore``: the metrics of each run's best design
    scored again here, not the recorded ones."""
    results = ResultsDir(root)
    summary = results.read_summary() if results.summary_path.exists() else None
    config = load_config(root / "config.yaml")
    built = build(config, str(root / "config.yaml"))
    keys = [b.key for b in config.baselines.spaces]
    labels = ["co-search", *keys]
    spaces = dict(zip(labels, (built.space, *built.baselines)))
    problems = dict(zip(labels, config_problems(config, built).values()))  # each served under its own policy
    runs = {label: [] for label in labels}
    for run_id in sorted(results.finished_runs()):
        run = results.read_run(run_id)["summary"]
        label = run_label(run, keys)
        metrics = run["best_metrics"] or {}
        objective = (run["best_objectives"] or [np.inf])[0]
        if rescore and run["best_x"] is not None:
            metrics, objective = score_again(problems[label], run["best_x"], config)
        cores, pes = [], []
        if run["best_x"] is not None:
            design = spaces[label].designs(np.asarray(run["best_x"], dtype=np.float64).reshape(1, -1))[0]
            cores = [core_label(c) for c in design.to_dict()["cores"]]
            pes = [c.pes for c in design.cores]
        runs[label].append({"seed": run["seed"], "evaluations": run["evaluations"], "stopped_by": run["stopped_by"],
                            "seconds": run["seconds"],
                            "cases": metrics.get("scenarios") or [], "cores": cores, "pes": pes,
                            "qps_per_watt": metrics.get("qps_per_watt", float("nan")),
                            "objective": objective, "x": run["best_x"]})
    return {"name": config.name.removeprefix("serving_"), "runs": {k: v for k, v in runs.items() if v},
            "summary": summary, "root": root, "problems": problems, "workload": built.workload}


def score_again(problem, x, config) -> tuple[dict, float]:
    """One design's metrics row and first minimised objective, scored now."""
    metrics = problem.evaluate(np.asarray(x, dtype=np.float64).reshape(1, -1))
    F = objective_matrix(metrics, config.objective.keys, config.objective.constraint_list())
    return problem.metrics_row(metrics, 0), float(F[0, 0])


def print_isolated(experiments: list[dict]) -> None:
    """Each tenant's latency alone on the best design of each label (one request on an idle chip, under the
    label's policy) over its bound, per case: above 1, no load meets that tenant's SLA."""
    from cosearch.scenarios import resolve_cases
    from objectives import serving as engine

    print("\n### Isolated latency over the QoS bound, per tenant (best seed of each design)\n")
    print("| experiment | design | case | tenant: isolated ms / bound ms |\n|---|---|---|---|")
    for exp in experiments:
        for label, entries in exp["runs"].items():
            best = min(entries, key=lambda e: e["objective"])
            if best["x"] is None:
                continue
            problem = exp["problems"][label]
            batch = problem.space.designs(np.asarray(best["x"], dtype=np.float64).reshape(1, -1))[0].to_batch(
                problem.platform)
            for case in resolve_cases(problem.serving, exp["workload"]):
                result = engine.simulate(batch, exp["workload"], problem.platform, case.scenario, load=case.load)
                cells = ", ".join(f"{t.name} {1e3 * iso:.3g}/{1e3 * q:.3g}{' ✗' if iso > q else ''}" for t, iso, q in
                                  zip(case.scenario.tenants, result.isolated_s[0], result.qos_s))
                print(f"| {exp['name']} | {label} | {case.label} | {cells} |")


def spread(values) -> tuple[float, float, float]:
    v = np.asarray(values, dtype=float)
    return (float(np.median(v)), float(v.min()), float(v.max())) if v.size else (np.nan,) * 3


def fmt(stats: tuple[float, float, float], n: int) -> str:
    med, lo, hi = stats
    if n == 1 or lo == hi:
        return f"{med:.3g}"
    return f"{med:.3g} [{lo:.3g}–{hi:.3g}]"


def case_values(entries: list[dict], case: int, metric: str) -> list[float]:
    return [e["cases"][case].get(metric, np.nan) if len(e["cases"]) > case else np.nan for e in entries]


def mix_text(cores: list[str]) -> str:
    counts = collections.Counter(cores)
    return f"{len(cores)}: " + ", ".join(f"{n} × {c}" if n > 1 else c for c, n in sorted(
        counts.items(), key=lambda kv: (-int(''.join(ch for ch in kv[0].split()[0] if ch.isdigit()) or 0), kv[0])))


def class_shares(cores: list[str], pes: list[int]) -> str:
    """The share of a DPU design's PEs in small / medium / large cores (DPU_CLASSES); empty for other designs."""
    if not cores or not all(c.split()[0] in sum(DPU_CLASSES.values(), ()) for c in cores):
        return ""
    total = sum(pes)
    shares = [sum(n for c, n in zip(cores, pes) if c.split()[0] in sizes) / total for sizes in DPU_CLASSES.values()]
    return " / ".join(f"{s:.0%}" for s in shares)


def print_tables(experiments: list[dict]) -> dict:
    """The markdown tables; returns the figure's data: group -> design -> (median, min, max)."""
    bars: dict[str, dict[str, tuple]] = {}
    print("### Throughput at SLA (queries/s): median over seeds [min–max]\n")
    print("| experiment, case | " + " | ".join(["design", "seeds × evaluations, s per run", "queries/s", "queries/s/W",
                                              "SLA rate at load 1", "fairness at load 1"]) + " |")
    print("|---|---|---|---:|---:|---:|---:|")
    for exp in experiments:
        runs = exp["runs"]
        n_cases = max(len(e["cases"]) for entries in runs.values() for e in entries)
        for case in range(n_cases):
            label = next(e["cases"][case]["case"] for e in runs["co-search"] if len(e["cases"]) > case)
            group = f"{exp['name']} {label}".strip() if n_cases > 1 else exp["name"]
            for design, entries in runs.items():
                qps = spread(case_values(entries, case, "qps_at_sla"))
                bars.setdefault(group, {})[design] = qps
                per_watt = (fmt(spread([e["qps_per_watt"] for e in entries]), len(entries)) if n_cases == 1
                            else "")
                evals = "/".join(sorted({str(e["evaluations"]) for e in entries}))
                # "exhausted": a space of one design, scored once
                stopped = {e["stopped_by"] for e in entries} - {"evaluations", "exhausted", None}
                note = f" ({', '.join(stopped)})" if stopped else ""
                note += f", {np.median([e['seconds'] for e in entries]):.0f} s" if case == 0 else ""
                print(f"| {group} | {design} | {len(entries)} × {evals}{note}"
                      f" | {fmt(qps, len(entries))} | {per_watt}"
                      f" | {fmt(spread(case_values(entries, case, 'sla_rate')), len(entries))}"
                      f" | {fmt(spread(case_values(entries, case, 'serving_fairness')), len(entries))} |")
    print("\n### Ratios to PREMA (median over the co-search's seeds; PREMA and Planaria are fixed designs)\n")
    print("| experiment, case | Planaria / PREMA | co-search / PREMA | co-search / Planaria |\n|---|---:|---:|---:|")
    for group, designs in bars.items():
        if "prema" in designs:
            prema, planaria, co = designs["prema"][0], designs["planaria"][0], designs["co-search"][0]
            ratio = lambda a, b: "both 0" if a == b == 0 else ("∞ (divisor 0)" if b == 0 else f"{a / b:.3g}×")
            print(f"| {group} | {ratio(planaria, prema)} | {ratio(co, prema)} | {ratio(co, planaria)} |")
    print("\n### Core mix of each seed's best design\n")
    print("| experiment | design | seed | queries/s (first case) | PEs in small / medium / large cores | cores |")
    print("|---|---|---:|---:|---|---|")
    for exp in experiments:
        for design, entries in exp["runs"].items():
            for e in entries:
                qps = e["cases"][0].get("qps_at_sla", np.nan) if e["cases"] else np.nan
                print(f"| {exp['name']} | {design} | {e['seed']} | {qps:.4g} | {class_shares(e['cores'], e['pes'])} | "
                      f"{mix_text(e['cores'])} |")
    return bars


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=pathlib.Path)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--rescore", action="store_true",
                        help="score each run's best design again under this checkout's definitions")
    args = parser.parse_args()
    experiments = [read_experiment(root, args.rescore) for root in args.results]
    bars = print_tables(experiments)
    print_isolated(experiments)
    args.out.mkdir(parents=True, exist_ok=True)
    medians = {g: {d: m for d, (m, _, _) in b.items()} for g, b in bars.items()}
    spreads = {g: {d: (lo, hi) for d, (_, lo, hi) in b.items()} for g, b in bars.items()}
    title = "Throughput at SLA per design: median over seeds, whiskers min–max (0: no seed meets the SLA)"
    plots.grouped_bars(args.out / "overview-qps.png", medians, spread=spreads, ratios=False, metric="qps_at_sla",
                       title=title)
    mixes = {}
    for exp in experiments:
        # the best co-search seed: the lowest minimised objective, as the run's summary picks it
        mixes[exp["name"]] = min(exp["runs"]["co-search"], key=lambda e: e["objective"])["cores"]
        for figure in FIGURES:
            source = exp["root"] / "plots" / f"{figure}.png"
            if exp["summary"] and source.is_file():
                shutil.copyfile(source, args.out / f"{exp['name']}-{figure}.png")
    plots.core_mix(args.out / "overview-core-mix.png", mixes, title="Core mix of each experiment's best design")


if __name__ == "__main__":
    main()
