"""Attribution table: the co-search's gain over the homogeneous baseline, split by the choice freed.

    python benchmarks/attribution.py experiments/paper/fpga_vision.yaml --seeds 5 --evaluations 3000
    python benchmarks/attribution.py experiments/paper/herald_arvr_a_cloud.yaml --stock ws_kc --lookahead 4

For each experiment file: its workload and platform (and the co-search's
``max_cores``), the chain of ``cosearch.attribution`` (homogeneous with one
loop order per dataflow → +intra-core mapping, which is the experiments'
homogeneous baseline → +dataflow → +granularity → +partition → +layer
mapping → +schedule; ``--order`` changes it), each step searched by the optimizer per seed and warm-started from
the step before.  Prints a markdown table per experiment: each step's best EDP
(mean and min–max over seeds), its gain over the previous step (mean and
min–max), and seed 0's core mix; ``--json`` also writes every result.

The dataflow step chooses among the experiment space's dataflows (its
``dataflows`` option, or the named space's default, which for ``cosearch`` is
the platform's), so two ablations on one platform with different menus get
different chains.  The stock dataflow of the homogeneous baseline is
``--stock``, or the ``dataflow`` option of the experiment's
``homogeneous_multicore`` baseline, or the space's first dataflow; it stays
available to every step even when the menu leaves it out.  CPU-heavy: each
step is a full search; reduce ``--evaluations`` for a quick look.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys
import time

import numpy as np

from cosearch.attribution import STEPS, StepResult, attribute, chain_dataflows, gains
from cosearch.config_loader import build, load_config
from provenance import checkout, now_utc  # benchmarks/ is on the path as a script


def stock_dataflow(config, menu, given: str | None) -> str:
    if given:
        return given
    for baseline in config.baselines.spaces:
        if baseline.name == "homogeneous_multicore" and "dataflow" in baseline.options:
            return baseline.options["dataflow"]
    return menu[0]


def read_results(path: pathlib.Path) -> dict[str, tuple[dict, list[StepResult]]]:
    """What ``--json`` wrote: per experiment, the settings used and the step results."""
    data = json.loads(pathlib.Path(path).read_text())
    return {name: (entry["settings"], [StepResult(**r) for r in entry["steps"]]) for name, entry in data.items()}


def table(results, seeds) -> list[str]:
    summary = gains(results)
    lines = ["| step | best EDP (J·s), mean | min–max over seeds | gain over previous step | min–max | "
             "cores (seed 0) |", "|---|---|---|---|---|---|"]
    for step in dict.fromkeys(r.step for r in results):
        edps = [r.edp for r in results if r.step == step]
        cores = next(r.cores for r in results if r.step == step and r.seed == seeds[0])
        gain = summary.get(step)
        gain_text = ("—", "—") if gain is None else (f"{gain[0]:.2f}×", f"{gain[1]:.2f}–{gain[2]:.2f}×")
        lines.append(f"| {step} | {np.mean(edps):.4g} | {min(edps):.4g}–{max(edps):.4g} | {gain_text[0]} | "
                     f"{gain_text[1]} | {cores} |")
    total = summary["total"]
    lines.append(f"| **total** (start / everything free) | | | **{total[0]:.2f}×** | "
                 f"{total[1]:.2f}–{total[2]:.2f}× | |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("experiments", nargs="+", help="experiment YAML files")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--evaluations", type=int, default=3000, help="per step and seed")
    parser.add_argument("--optimizer", default="cmaes")
    parser.add_argument("--popsize", type=int, default=16)
    parser.add_argument("--stock", help="the homogeneous baseline's dataflow")
    parser.add_argument("--lookahead", type=int, default=0, help="Herald post-processing depth in the schedule step")
    parser.add_argument("--json", type=pathlib.Path,
                        help="write every step result here, with the settings used, per experiment")
    parser.add_argument("--order", nargs="+", default=list(STEPS[1:]), help="the choices in the order they are freed")
    args = parser.parse_args(argv)
    seeds = tuple(range(args.seeds))
    options = {"popsize": args.popsize} if args.optimizer == "cmaes" else {}
    everything = {}
    for path in args.experiments:
        config = load_config(path)
        built = build(config, str(path))
        menu = built.space.dataflow_names
        stock = stock_dataflow(config, menu, args.stock)
        dataflows = chain_dataflows(built.platform, stock, menu)
        start = time.perf_counter()
        results = attribute(built.workload, built.platform, stock, seeds=seeds, evaluations=args.evaluations,
                            optimizer=args.optimizer, options=options, max_cores=built.space.max_cores,
                            lookahead=args.lookahead, order=args.order, dataflows=menu)
        seconds = time.perf_counter() - start
        print(f"\n### {config.name} (stock dataflow {stock}, dataflows {', '.join(dataflows)}, "
              f"{args.evaluations} evaluations per step and seed, "
              f"{len(seeds)} seeds, {seconds:.0f} s)\n")
        print("\n".join(table(results, seeds)), flush=True)
        everything[config.name] = {
            "settings": {"stock": stock, "dataflows": list(dataflows),
                         "seeds": len(seeds), "evaluations": args.evaluations,
                         "optimizer": args.optimizer, "options": options, "lookahead": args.lookahead,
                         "order": list(args.order), "seconds": round(seconds, 1), **checkout(),
                         "finished": now_utc()},
            "steps": [dataclasses.asdict(r) for r in results],
        }
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
