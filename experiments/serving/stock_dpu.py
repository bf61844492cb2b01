"""Each tenant's latency alone on homogeneous stock DPU designs, against its bound: can any of them serve?

    python experiments/serving/stock_dpu.py experiments/serving/vision.yaml

For every DPU size of the platform, one core of it -- which has the chip's whole DRAM bandwidth; more
cores split it, so a request alone runs no faster on them unless its layers run in parallel -- serves
one request of each tenant on the idle chip (the config's policy and first case) and prints its
latency over its QoS bound.  A tenant over its bound on every size means the homogeneous baseline's
throughput at SLA is 0 whatever its search finds.
"""

from __future__ import annotations

import argparse

import numpy as np

from cosearch.config_loader import build, config_problems, load_config
from cosearch.scenarios import resolve_cases
from objectives import serving as engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--baseline", default="homogeneous_multicore", help="the baseline's label in the config")
    args = parser.parse_args()
    config = load_config(args.config)
    built = build(config, args.config)
    labels = ["", *(b.key for b in config.baselines.spaces)]
    problem = dict(zip(labels, config_problems(config, built).values()))[args.baseline]
    names = [gene.name for gene in problem.genes]
    if names != ["cores", "core0.size"]:
        raise SystemExit(f"{args.baseline}: expected the genes cores and core0.size, got {names}")
    case = resolve_cases(problem.serving, built.workload)[0]
    sizes = len(problem.genes[1].choices)
    print(f"| design | {' | '.join(t.name for t in case.scenario.tenants)} |")
    print("|---|" + "---:|" * len(case.scenario.tenants))
    for s in range(sizes):
        design = problem.space.designs(np.array([[0.0, (s + 0.5) / sizes]]))[0]  # one core of size s
        result = engine.simulate(design.to_batch(problem.platform), built.workload, problem.platform,
                                 case.scenario, load=case.load)
        cells = [f"{1e3 * iso:.3g}/{1e3 * q:.3g}{' ✗' if iso > q else ''}"
                 for iso, q in zip(result.isolated_s[0], result.qos_s)]
        core = design.cores[0]
        print(f"| {len(design.cores)} × {core.size} {core.dataflow} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
