"""Overview of the serving experiments, from their results directories alone, with the spread over seeds.

    python experiments/serving/overview.py results/serving_planaria_a results/serving_planaria_b ... --out docs/img/serving

Reads each run's best design (``runs/*/run.json``: every seed of the co-search and of each
baseline), and prints the tables docs/serving.md quotes: throughput at SLA per case as the median
over seeds with its range, the Planaria-over-PREMA and co-search-over-PREMA ratios, the SLA rate and
fairness at the configured load, and each seed's core mix.  Draws ``overview-qps.png`` (median bars,
min-max whiskers over seeds) and ``overview-core-mix.png`` (the cores of each experiment's best design),
and copies each experiment's own figures (``cosearch run``'s ``plots/``) as ``<experiment>-<figure>.png``.
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import shutil

import numpy as np

from cosearch import plots
from cosearch.config_loader import build, load_config
from cosearch.report import core_label
from cosearch.results import ResultsDir

FIGURES = ("latency_cdf", "sla_load", "qps", "core_mix")


def run_label(record: dict, baseline_keys: list[str]) -> str:
    """"co-search" for a search run, else the baseline's label (run ids: ``baseline-<label>[-<seed>]``)."""
    if record["kind"] != "baseline":
        return "co-search"
    rest = record["run_id"].removeprefix("baseline-")
    return next(k for k in sorted(baseline_keys, key=len, reverse=True) if rest == k or rest.startswith(k + "-"))


def read_experiment(root: pathlib.Path) -> dict:
    """Per design label, one entry per seed: its evaluations, stop reason, per-case metrics and cores."""
    results = ResultsDir(root)
    summary = results.read_summary()
    config = load_config(root / "config.yaml")
    built = build(config, str(root / "config.yaml"))
    keys = [b.key for b in config.baselines.spaces]
    spaces = {"co-search": built.space, **dict(zip(keys, built.baselines))}
    runs = collections.defaultdict(list)
    for record in summary["runs"]:
        label = run_label(record, keys)
        run = results.read_run(record["run_id"])["summary"]
        metrics = run["best_metrics"] or {}
        cases = metrics.get("scenarios") or []
        cores = []
        if run["best_x"] is not None:
            design = spaces[label].designs(np.asarray(run["best_x"], dtype=np.float64).reshape(1, -1))[0]
            cores = [core_label(c) for c in design.to_dict()["cores"]]
        runs[label].append({"seed": record["seed"], "evaluations": record["evaluations"],
                            "stopped_by": record["stopped_by"], "cases": cases, "cores": cores,
                            "qps_per_watt": metrics.get("qps_per_watt", float("nan"))})
    return {"name": summary["experiment"].removeprefix("serving_"), "runs": dict(runs), "summary": summary}


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


def print_tables(experiments: list[dict]) -> dict:
    """The markdown tables; returns the figure's data: group -> design -> (median, min, max)."""
    bars: dict[str, dict[str, tuple]] = {}
    print("### Throughput at SLA (queries/s): median over seeds [min–max]\n")
    print("| experiment, case | " + " | ".join(["design", "seeds × evaluations", "queries/s", "queries/s/W",
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
                stopped = {e["stopped_by"] for e in entries} - {"evaluations", None}
                print(f"| {group} | {design} | {len(entries)} × {evals}{' (' + ', '.join(stopped) + ')' if stopped else ''}"
                      f" | {fmt(qps, len(entries))} | {per_watt}"
                      f" | {fmt(spread(case_values(entries, case, 'sla_rate')), len(entries))}"
                      f" | {fmt(spread(case_values(entries, case, 'serving_fairness')), len(entries))} |")
    print("\n### Ratios to PREMA (median over the co-search's seeds; PREMA and Planaria are fixed designs)\n")
    print("| experiment, case | Planaria / PREMA | co-search / PREMA | co-search / Planaria |\n|---|---:|---:|---:|")
    for group, designs in bars.items():
        if "prema" in designs:
            prema, planaria, co = designs["prema"][0], designs["planaria"][0], designs["co-search"][0]
            ratio = lambda a, b: "both 0" if a == b == 0 else ("∞ (PREMA/Planaria 0)" if b == 0 else f"{a / b:.3g}×")
            print(f"| {group} | {ratio(planaria, prema)} | {ratio(co, prema)} | {ratio(co, planaria)} |")
    print("\n### Core mix of each seed's best design\n")
    print("| experiment | design | seed | queries/s (first case) | cores |\n|---|---|---:|---:|---|")
    for exp in experiments:
        for design, entries in exp["runs"].items():
            for e in entries:
                qps = e["cases"][0].get("qps_at_sla", np.nan) if e["cases"] else np.nan
                print(f"| {exp['name']} | {design} | {e['seed']} | {qps:.4g} | {mix_text(e['cores'])} |")
    return bars


def spread_bars(path: pathlib.Path, bars: dict[str, dict[str, tuple]], *, ylabel: str, title: str) -> None:
    """Median bars with min-max whiskers over seeds, grouped by experiment and case; a design measured
    as 0 on every seed is marked 0 at the axis floor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(bars)
    designs = list(dict.fromkeys(d for g in groups for d in bars[g]))
    fig, ax = plt.subplots(figsize=(min(16.0, max(7.0, 0.45 * len(groups) * len(designs))), 4.8))
    width = 0.8 / len(designs)
    colors = plt.get_cmap("tab10").colors
    for d, design in enumerate(designs):
        for g, group in enumerate(groups):
            if design not in bars[group]:
                continue
            med, lo, hi = bars[group][design]
            x = g + (d - (len(designs) - 1) / 2) * width
            if hi > 0:
                ax.bar(x, med if med > 0 else np.nan, width=width * 0.92, color=colors[d % 10],
                       label=design if g == next(i for i, gg in enumerate(groups) if design in bars[gg]) else None)
                ax.errorbar(x, med if med > 0 else hi, yerr=[[max(med - lo, 0) if med > 0 else 0], [hi - med if med > 0 else 0]],
                            fmt="none", ecolor="0.2", capsize=2, lw=0.8)
            else:
                ax.annotate("0", (x, 0), xycoords=("data", "axes fraction"), fontsize=7, ha="center",
                            va="bottom", color=colors[d % 10])
    ax.set_yscale("log")
    ax.set_xticks(range(len(groups)), groups, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=min(len(designs), 6), loc="upper center", bbox_to_anchor=(0.5, -0.28))
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=pathlib.Path)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args()
    experiments = [read_experiment(root) for root in args.results]
    bars = print_tables(experiments)
    args.out.mkdir(parents=True, exist_ok=True)
    spread_bars(args.out / "overview-qps.png", bars, ylabel="throughput at SLA (queries/s)",
                title="Throughput at SLA per design: median over seeds, whiskers min–max (0: no seed meets the SLA)")
    mixes = {}
    for exp, root in zip(experiments, args.results):
        best = exp["summary"]["best"]
        best_run = next(e for e in exp["runs"]["co-search"] if f"-{e['seed']}" in best["run"])
        mixes[exp["name"]] = best_run["cores"]
        for figure in FIGURES:
            source = root / "plots" / f"{figure}.png"
            if source.is_file():
                shutil.copyfile(source, args.out / f"{exp['name']}-{figure}.png")
    plots.core_mix(args.out / "overview-core-mix.png", mixes, title="Core mix of each experiment's best design")


if __name__ == "__main__":
    main()
