"""Overview figures of the serving experiments, from their results directories alone.

    python experiments/serving/overview.py results/serving_planaria_a results/serving_planaria_b ... --out docs/img/serving

Draws ``overview-qps.png`` (throughput at SLA of each experiment's best design and of each baseline,
per scenario; relative to the best) and ``overview-core-mix.png`` (the cores each best design holds),
and prints the table docs/serving.md quotes.
"""

from __future__ import annotations

import argparse
import pathlib

from cosearch import plots
from cosearch.report import core_label
from cosearch.results import ResultsDir, read_design


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=pathlib.Path)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args()
    qps, mixes = {}, {}
    print("| experiment, scenario | throughput at SLA (queries/s) by design |\n|---|---|")
    for root in args.results:
        results = ResultsDir(root)
        summary = results.read_summary()
        name = summary["experiment"].removeprefix("serving_")
        designs = {"co-search": summary["best"]}
        designs.update({label: e for label, e in summary["baselines"].items() if e.get("metrics")})
        for label, entry in designs.items():
            cases = entry["metrics"].get("scenarios") or [{"case": "", **entry["metrics"]}]
            for case in cases:
                group = f"{name} {case['case']}".strip() if len(cases) > 1 else name
                qps.setdefault(group, {})[label] = case.get("qps_at_sla", float("nan"))
        best = read_design(root / summary["best"]["design"])
        mixes[name] = [core_label(core) for core in best["design"]["cores"]]
        for group, values in qps.items():
            if group.startswith(name):
                print(f"| {group} | " + ", ".join(f"{k} {v:.4g}" for k, v in values.items()) + " |")
    args.out.mkdir(parents=True, exist_ok=True)
    plots.grouped_bars(args.out / "overview-qps.png", qps, metric="qps_at_sla",
                       title="Throughput at SLA: co-search against every baseline (labels: relative to co-search)")
    plots.core_mix(args.out / "overview-core-mix.png", mixes, title="Core mix of each experiment's best design")


if __name__ == "__main__":
    main()
