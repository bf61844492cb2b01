"""``cosearch compare``: one table and one overlay plot across experiments."""

from __future__ import annotations

import math
import pathlib

from cosearch.cli.console import console, make_table


def add_parser(sub) -> None:
    compare = sub.add_parser("compare", help="one table and one overlay plot across experiments")
    compare.add_argument("results_dirs", metavar="DIR", nargs="+")
    compare.add_argument("--out", metavar="FILE", help="overlay plot path (default: compare.png here)")
    compare.add_argument("--format", choices=("png", "svg"), default="png")
    compare.set_defaults(func=command)


def command(args) -> int:
    return compare_results(args.results_dirs, out_path=args.out, fmt=args.format, out=console())


def compare_results(dirs, *, out_path=None, fmt="png", out) -> int:
    """One table (best design per experiment, against its baselines) and one overlay of the fronts."""
    from cosearch import plots
    from cosearch.results import ResultsDir

    rows, fronts = [], {}
    baseline_names: list[str] = []
    loaded = []
    for d in dirs:
        results = ResultsDir(d)
        summary = results.read_summary()
        loaded.append((results, summary))
        for name in summary.get("baselines", {}):
            if name not in baseline_names:
                baseline_names.append(name)
    names = [summary["experiment"] for _, summary in loaded]
    unique = len(set(names)) == len(names)
    ratios = {b: [] for b in baseline_names}  # baseline → its EDP over each experiment's best
    for results, summary in loaded:
        best = (summary.get("best") or {}).get("metrics") or {}
        name = summary["experiment"] if unique else str(results.root)
        edp = best.get("edp", math.inf)
        for b in baseline_names:
            base = summary.get("baselines", {}).get(b, {}).get("metrics")
            ratios[b].append(f"{base['edp'] / edp:.2f}×" if base and edp and math.isfinite(edp) else "—")
        rows.append([name, summary["workload"], summary["platform"], summary["space"], summary["evaluations"],
                     plots.si(edp, "J·s", 4), plots.si(best.get("latency_s", math.nan), "s", 4),
                     plots.si(best.get("energy_j", math.nan), "J", 4)])
        pareto = results.read_pareto()
        fronts[name] = (pareto.get("latency_s", []), pareto.get("energy_j", []))
    columns = ["experiment", "workload", "platform", "space", "evaluations", "best EDP", "latency", "energy"]
    out.print(make_table("experiments compared", columns, rows, right=set(range(4, len(columns)))))
    if baseline_names:  # one row per baseline, one column per experiment: long names stay whole
        out.print(make_table("baselines: their EDP over each experiment's best", ["baseline", *(r[0] for r in rows)],
                             [[b, *ratios[b]] for b in baseline_names], right=set(range(1, len(rows) + 1))))
    path = pathlib.Path(out_path or f"compare.{fmt}")
    plots.compare_fronts(path, fronts, title="Pareto fronts compared")
    out.print(f"wrote {path}")
    return 0
