"""What one serving evaluation costs, per space of a serving config: the figure the budgets are set from.

    python experiments/serving/cost.py experiments/serving/vision.yaml --requests 500 --designs 12

Scores ``--designs`` uniformly random points of the config's space and of each baseline's space, as a
run evaluates them (every case of the serving section, with the bisection of ``qps_at_sla`` where
the objective names it), after a first batch of two that compiles the kernels, and prints designs
per second of wall time.  On a shared machine the figure is this process's share of it; random
points are cheaper than a converged search's (an infeasible design is not served), so a budget set
from it needs a margin.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cosearch.config_loader import build, config_problems, load_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--requests", type=int, default=None, help="requests per tenant (default: the config's)")
    parser.add_argument("--designs", type=int, default=12)
    args = parser.parse_args()
    overrides = {} if args.requests is None else {"serving.requests": args.requests}
    config = load_config(args.config, overrides)
    problems = config_problems(config, build(config, args.config))
    rng = np.random.default_rng(0)
    for key, problem in problems.items():
        X = rng.random((args.designs, problem.dim))
        problem.evaluate(X[:2])
        start = time.perf_counter()
        problem.evaluate(X)
        rate = args.designs / (time.perf_counter() - start)
        print(f"{key}: {problem.dim} genes, {rate:.3g} designs/s ({1 / rate:.3g} s per design)", flush=True)


if __name__ == "__main__":
    main()
