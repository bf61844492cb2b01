"""Which mapping mode finds the lowest EDP per evaluation?  (docs/spaces.md quotes the output.)

For each workload, each mapping mode of the ``cosearch`` space, each search
(CMA-ES from the ``cma`` package; uniform random search) and each seed, run
the same budget of evaluations and record the best EDP found after 10 %,
30 % and 100 % of it.  CMA-ES starts at the centre of the cube (even shares,
default order; in ``layer``/``model`` mode the centre selects the greedy
switch) with σ0 = 0.3, bounds [0, 1], and uses the separable variant
(``CMA_diagonal``) above 200 dimensions, where full covariance updates
cost more than the evaluations.

    python benchmarks/mapping_modes.py                      # herald_arvr_a, planaria_c
    python benchmarks/mapping_modes.py --budget 600 --seeds 1   # quick look
"""

from __future__ import annotations

import argparse
import time

import cma
import numpy as np

import objectives
from objectives.workloads import get_workload
from spaces import MAPPING_MODES, get_platform, make_space

CHECKPOINTS = (0.1, 0.3, 1.0)


def run_random(space, workload, platform, budget, seed, batch=100):
    rng = np.random.default_rng(seed)
    trace = []
    while len(trace) < budget:
        X = space.sample(min(batch, budget - len(trace)), rng)
        trace.extend(objectives.evaluate(space.decode(X), workload, platform).edp)
    return np.minimum.accumulate(trace)


def run_cma(space, workload, platform, budget, seed):
    options = {"bounds": [0, 1], "seed": seed + 1, "verbose": -9, "CMA_diagonal": space.dim > 200}
    es = cma.CMAEvolutionStrategy(np.full(space.dim, 0.5), 0.3, options)
    trace = []
    while len(trace) < budget:
        X = np.clip(np.array(es.ask()), 0.0, 1.0)
        edp = objectives.evaluate(space.decode(X), workload, platform).edp
        es.tell(list(X), np.log(np.where(np.isfinite(edp), edp, 1e300)).tolist())
        trace.extend(edp)
    return np.minimum.accumulate(trace[:budget])


SEARCHES = {"cma": run_cma, "random": run_random}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["herald_arvr_a:mobile", "planaria_c:cloud"],
                        help="workload:platform pairs")
    parser.add_argument("--spaces", nargs="+", default=["cosearch", "hda_one_core_per_dataflow"],
                        help="named spaces to compare the modes in")
    parser.add_argument("--modes", nargs="+", default=[*MAPPING_MODES, "layer_noswitch", "model_noswitch"],
                        help="mapping modes; a '_noswitch' suffix drops the greedy switch gene")
    parser.add_argument("--searches", nargs="+", default=list(SEARCHES))
    parser.add_argument("--budget", type=int, default=3000, help="evaluations per run")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)

    for pair in args.workloads:
        workload_name, platform_name = pair.split(":")
        workload, platform = get_workload(workload_name), get_platform(platform_name)
        for space_name in args.spaces:
            print(f"\n{space_name} space, {workload_name} ({workload.num_layers} layers) on {platform_name}: best EDP "
                  f"(J·s), median over {args.seeds} seeds [min–max], after "
                  f"{', '.join(str(int(c * args.budget)) for c in CHECKPOINTS)} evaluations")
            print(f"{'mode':14s} {'dim':>5s} {'search':7s} "
                  + " ".join(f"{int(c * args.budget):>26d}" for c in CHECKPOINTS) + "   time")
            for mode in args.modes:
                switch = not mode.endswith("_noswitch")
                space = make_space(space_name, workload, platform, mapping=mode.removesuffix("_noswitch"),
                                   greedy_switch=switch)
                for search in args.searches:
                    start = time.perf_counter()
                    traces = np.array([SEARCHES[search](space, workload, platform, args.budget, seed)
                                       for seed in range(args.seeds)])
                    cells = []
                    for c in CHECKPOINTS:
                        at = traces[:, int(c * args.budget) - 1]
                        cells.append(f"{np.median(at):.4g} [{at.min():.3g}–{at.max():.3g}]")
                    print(f"{mode:14s} {space.dim:5d} {search:7s} " + " ".join(f"{cell:>26s}" for cell in cells)
                          + f"  {time.perf_counter() - start:5.1f}s", flush=True)

if __name__ == "__main__":
    main()
