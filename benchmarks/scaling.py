"""Evaluations per second with 1, 2, … Ray workers, and the speedup over one worker.

    python benchmarks/scaling.py [--workload herald_arvr_a] [--platform cloud]
        [--evaluations 2048] [--runs-per-worker 2] [--max-workers N] [--optimizer random]

For each worker count w a private local Ray instance with w CPUs runs
``runs-per-worker × w`` searches of ``--evaluations`` each (so every worker
stays busy), after a warm-up that starts the workers and imports the code.
Evaluations per second is the total evaluated over the wall time of the
timed experiment, which includes scheduling and result transfer.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cosearch import distributed  # noqa: E402
from cosearch.experiment import ExperimentSpec, SpaceProblem, run_experiment  # noqa: E402


def measure(workers: int, args) -> tuple[float, int, float]:
    with distributed.session(None, num_cpus=workers):  # the private, token-protected instance runs use
        problem = SpaceProblem(args.workload, args.platform)
        options = {"batch_size": args.batch_size} if args.optimizer == "random" else {}

        def spec(evaluations, runs):
            return ExperimentSpec(
                problems=(problem,), optimizers=((args.optimizer, options),), seeds=tuple(range(runs)),
                max_evaluations=evaluations, references={problem.key: (1.0, 1.0, 1.1)},
            )  # fmt: skip

        run_experiment(spec(args.batch_size, workers), executor="ray")  # warm-up: start and import
        runs = args.runs_per_worker * workers
        start = time.perf_counter()
        result = run_experiment(spec(args.evaluations, runs), executor="ray")
        seconds = time.perf_counter() - start
        total = sum(r.evaluations for r in result.runs.values())
        return total / seconds, total, seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="herald_arvr_a")
    parser.add_argument("--platform", default="cloud")
    parser.add_argument("--optimizer", default="random")
    parser.add_argument("--evaluations", type=int, default=2048, help="evaluations per run")
    parser.add_argument("--batch-size", type=int, default=256, help="points per evaluate call (random search)")
    parser.add_argument("--runs-per-worker", type=int, default=2)
    parser.add_argument("--max-workers", type=int, default=os.cpu_count())
    args = parser.parse_args(argv)

    print(f"{args.workload} on {args.platform}, {args.optimizer}, {args.evaluations} evaluations per run")
    print(f"{'workers':>7} {'evaluations':>11} {'seconds':>8} {'eval/s':>9} {'speedup':>8} {'efficiency':>10}")
    base = None
    for workers in range(1, args.max_workers + 1):
        rate, total, seconds = measure(workers, args)
        base = base or rate
        speedup = rate / base
        print(f"{workers:>7} {total:>11} {seconds:>8.2f} {rate:>9.0f} {speedup:>7.2f}x {speedup / workers:>10.0%}")


if __name__ == "__main__":
    main()
