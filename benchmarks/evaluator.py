"""Evaluator throughput: (design x layer) evaluations per second and peak memory.

    python benchmarks/evaluator.py [--workload herald_arvr_a] [--platform cloud]

Random 4-core designs (sizes from the platform menu, random dataflows and
shares, explicit per-layer mapping and priorities, plus the greedy-mapped
variant) are scored in batches of P = 1, 64 and 1024, with the per-layer
mapper's tables already built (warm).  Target: >= 3e6 per second at
P = 1024 on one core; Herald needs 11.09 ms per layer per design point
(90 per second).  It also prints the mapper's cold cost: building one core
configuration's tables for every buffer rung and layer, per (configuration,
layer) and per (configuration, rung, layer).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from objectives import evaluate
from objectives.evaluator import TableStore, config_core
from objectives.workloads import get_workload
from spaces import DesignBatch, get_platform
from spaces.hardware import DATAFLOWS


def random_batch(rng, workload, platform, num_designs, num_cores=4, greedy=False) -> DesignBatch:
    P, C, L = num_designs, num_cores, workload.num_layers
    menu = np.array([s.pes for s in platform.core_sizes])
    affordable = np.flatnonzero(menu <= platform.pes // C)
    size = rng.choice(affordable, (P, C))
    names = [n for n in platform.dataflows]
    dataflows = tuple(DATAFLOWS[n] for n in names)
    bw, buf = rng.uniform(0.1, 1, (P, C)), rng.uniform(0.1, 1, (P, C))
    return DesignBatch(
        core_pes=menu[size],
        core_size=size,
        core_dataflow=rng.integers(0, len(dataflows), (P, C)),
        bw_share=bw / bw.sum(1, keepdims=True),
        buffer_share=buf / buf.sum(1, keepdims=True),
        layer_core=np.full((P, L), -1) if greedy else rng.integers(0, C, (P, L)),
        layer_priority=rng.uniform(0, 1, (P, L)),
        dataflows=dataflows,
    )


def measure(workload, platform, num_designs, greedy, repeats):
    rng = np.random.default_rng(0)
    designs = random_batch(rng, workload, platform, num_designs, greedy=greedy)
    evaluate(designs, workload, platform)  # warm caches
    # CPU time of this process, best of several: other processes on a shared
    # machine stretch wall time but not the work done here.
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        evaluate(designs, workload, platform)
        best = min(best, time.process_time() - start)
    tracemalloc.start()
    evaluate(designs, workload, platform)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak


def mapper_cold_cost(workload, platform, repeats=1):
    """CPU seconds to map every layer of ``workload`` at every rung, per core configuration."""
    dataflows = tuple(DATAFLOWS[n] for n in platform.dataflows)
    store = TableStore(workload, platform)
    rows = [(d, size.pes, s) for d in range(len(dataflows)) for s, size in enumerate(platform.core_sizes)
            if size.pes <= platform.pes // 4]
    start = time.process_time()
    for _ in range(repeats):
        for row in rows:
            store.costs(config_core(row, dataflows, platform))
    seconds = (time.process_time() - start) / repeats
    return seconds, len(rows), store.rungs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="herald_arvr_a")
    parser.add_argument("--platform", default="cloud")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 64, 1024])
    args = parser.parse_args(argv)
    workload, platform = get_workload(args.workload), get_platform(args.platform)
    L = workload.num_layers
    print(f"workload {workload.name}: {L} layers, {workload.num_models} models; platform {platform.name}; 4 cores")
    print(f"{'mapping':>8} {'P':>6} {'CPU s':>9} {'(design x layer)/s':>20} {'designs/s':>10} {'peak MiB':>9}")
    for greedy in (False, True):
        for P in args.sizes:
            seconds, peak = measure(workload, platform, P, greedy, repeats=5 if P < 1024 else 3)
            mode = "greedy" if greedy else "explicit"
            print(f"{mode:>8} {P:>6} {seconds:>9.4f} {P * L / seconds:>20,.0f} {P / seconds:>10,.0f} {peak / 2**20:>9.1f}")
    seconds, configs, rungs = mapper_cold_cost(workload, platform)
    per = seconds / (configs * L)
    print(f"mapper, cold: {configs} configurations x {L} layers x {rungs} rungs in {seconds:.2f} CPU s = "
          f"{per * 1e3:.3f} ms per (configuration, layer), {per / rungs * 1e6:.1f} us per (configuration, rung, layer)")


if __name__ == "__main__":
    main()
