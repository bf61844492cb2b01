"""One search on 1 and 2 Ray workers and on a 2-node cluster; many runs on 1, 2, … workers.

    python benchmarks/scaling.py [--workload herald_arvr_a] [--platform cloud]
        [--popsize 256] [--generations 24] [--dearer 1] [--min-part-s 0.05]
    python benchmarks/scaling.py --runs [--evaluations 2048] [--runs-per-worker 2] [--max-workers N]

Default (one search): a single CMA-ES run (population ``--popsize``) through
``RayExecutor`` on a private local Ray with 1 CPU (the run's own task), with
2 CPUs (the executor gives the run both, and ``SplitProblem`` sends part of
each batch to the second worker once a part is worth ``--min-part-s``), and
on a ``ray.cluster_utils`` cluster of two 1-CPU nodes (parts reach the other
node through ``scheduling_strategy="SPREAD"``). ``--dearer k`` scores every
batch k times, standing in for an evaluator k times dearer (the serving
simulation). Each setup first runs the same search briefly, so workers have
started and imported the code before the clock starts. It also prints what
the split threshold is made of: a part task's round trip beyond its
evaluation, and the in-process seconds per design.

``--runs``: ``runs-per-worker × w`` independent searches on w workers
(every worker busy), evaluations per second over the wall time.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

from cosearch import distributed  # noqa: E402
from cosearch.experiment import ExperimentSpec, SpaceProblem, run_experiment  # noqa: E402


@dataclasses.dataclass(frozen=True)
class DearerProblem:
    """``problem`` whose every batch is scored ``times`` times (same metrics, k× the work)."""

    problem: SpaceProblem
    times: int

    @property
    def key(self) -> str:
        return self.problem.key

    def build(self):
        built = self.problem.build()
        if self.times > 1:
            evaluate = built.evaluate

            def dearer(X):
                for _ in range(self.times - 1):
                    evaluate(X)
                return evaluate(X)

            built.evaluate = dearer
        return built


def one_search(args, generations: int):
    problem = DearerProblem(SpaceProblem(args.workload, args.platform), args.dearer)
    return ExperimentSpec(
        problems=(problem,), optimizers=(("cmaes", {"popsize": args.popsize}),), seeds=(0,),
        max_evaluations=args.popsize * generations, references={problem.key: (1.0, 1.0, 1.1)},
    )  # fmt: skip


def time_search(args, address=None) -> tuple[float, int]:
    executor = distributed.RayExecutor(address=address, population_split=args.min_part_s)
    run_experiment(one_search(args, 3), executor=executor)  # warm-up: workers start and import
    start = time.perf_counter()
    result = run_experiment(one_search(args, args.generations), executor=executor)
    seconds = time.perf_counter() - start
    (run,) = result.runs.values()
    return seconds, run.evaluations


def split_threshold(args) -> tuple[float, float]:
    """Seconds a part task adds beyond its evaluation, and in-process seconds per design."""
    built = DearerProblem(SpaceProblem(args.workload, args.platform), args.dearer).build()
    X = np.random.default_rng(0).random((args.popsize, built.dim))
    built.evaluate(X)
    start = time.perf_counter()
    built.evaluate(X)
    per_design = (time.perf_counter() - start) / len(X)
    ref = ray.put(built)
    one = X[:1]
    ray.get(distributed._evaluate_part.remote([ref], one))  # the worker fetches the problem once
    trips = []
    for _ in range(10):
        start = time.perf_counter()
        ray.get(distributed._evaluate_part.remote([ref], one))
        trips.append(time.perf_counter() - start)
    return float(np.median(trips)) - per_design, per_design


def main_search(args) -> None:
    print(
        f"one CMA-ES run on {args.workload}@{args.platform}: popsize {args.popsize}, {args.generations} generations, "
        f"evaluator {args.dearer}x, parts worth >= {args.min_part_s} s"
    )
    print(f"{'setup':>22} {'evaluations':>11} {'seconds':>8} {'eval/s':>9} {'speedup':>8}")
    base = None
    setups = [("1 local worker", 1), ("2 local workers", 2), ("2-node cluster", None)]
    for name, cpus in setups:
        # Ray through the project's session: token authentication for every
        # local instance (the cluster's nodes inherit the token), shut down after.
        with contextlib.ExitStack() as stack:
            if cpus is None:
                stack.enter_context(distributed.local_token_auth())
                cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
                stack.callback(cluster.shutdown)
                cluster.add_node(num_cpus=1)
                cluster.wait_for_nodes()
                stack.enter_context(distributed.session(cluster.address))
            else:
                stack.enter_context(distributed.session(num_cpus=cpus))
            if cpus == 2:
                overhead, per_design = split_threshold(args)
            seconds, evaluations = time_search(args)
        rate = evaluations / seconds
        base = base or rate
        print(f"{name:>22} {evaluations:>11} {seconds:>8.2f} {rate:>9.0f} {rate / base:>7.2f}x")
    print(
        f"split threshold: a part task costs {overhead * 1e3:.1f} ms beyond its evaluation; "
        f"in-process {per_design * 1e3:.3f} ms per design, so a part of n designs pays off once "
        f"n >> {overhead / per_design:.0f}"
    )


def measure_runs(workers: int, args) -> tuple[float, int, float]:
    with distributed.session(num_cpus=workers):
        problem = SpaceProblem(args.workload, args.platform)
        options = {"batch_size": args.batch_size}

        def spec(evaluations, runs):
            return ExperimentSpec(
                problems=(problem,), optimizers=(("random", options),), seeds=tuple(range(runs)),
                max_evaluations=evaluations, references={problem.key: (1.0, 1.0, 1.1)},
            )  # fmt: skip

        run_experiment(spec(args.batch_size, workers), executor="ray")  # warm-up: start and import
        runs = args.runs_per_worker * workers
        start = time.perf_counter()
        result = run_experiment(spec(args.evaluations, runs), executor="ray")
        seconds = time.perf_counter() - start
        total = sum(r.evaluations for r in result.runs.values())
        return total / seconds, total, seconds


def main_runs(args) -> None:
    print(f"{args.workload} on {args.platform}, random search, {args.evaluations} evaluations per run")
    print(f"{'workers':>7} {'evaluations':>11} {'seconds':>8} {'eval/s':>9} {'speedup':>8} {'efficiency':>10}")
    base = None
    for workers in range(1, args.max_workers + 1):
        rate, total, seconds = measure_runs(workers, args)
        base = base or rate
        speedup = rate / base
        print(f"{workers:>7} {total:>11} {seconds:>8.2f} {rate:>9.0f} {speedup:>7.2f}x {speedup / workers:>10.0%}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="herald_arvr_a")
    parser.add_argument("--platform", default="cloud")
    parser.add_argument("--popsize", type=int, default=256)
    parser.add_argument("--generations", type=int, default=24)
    parser.add_argument("--dearer", type=int, default=1, help="score every batch this many times")
    parser.add_argument("--min-part-s", type=float, default=distributed.MIN_PART_S)
    parser.add_argument("--runs", action="store_true", help="many independent runs instead of one search")
    parser.add_argument("--evaluations", type=int, default=2048, help="evaluations per run (--runs)")
    parser.add_argument("--batch-size", type=int, default=256, help="points per evaluate call (--runs)")
    parser.add_argument("--runs-per-worker", type=int, default=2)
    parser.add_argument("--max-workers", type=int, default=os.cpu_count())
    args = parser.parse_args(argv)
    (main_runs if args.runs else main_search)(args)


if __name__ == "__main__":
    main()
