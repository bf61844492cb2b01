"""Evaluator throughput: (design x layer) evaluations per second, peak memory, cold start.

    python benchmarks/evaluator.py [--workload herald_arvr_a] [--platform cloud]
        [--sizes 16 64 1024] [--no-cold]

Random 4-core designs (sizes from the platform menu, random dataflows and
shares, explicit per-layer mapping and priorities, plus the greedy-mapped
variant) are scored in batches of P = 16 (a CMA-ES population), 64 and 1024.
Targets: >= 1e7 (design x layer)/s at P = 1024 and >= 5e6 at P = 16, both
mappings, on herald_arvr_a; Herald needs 11.09 ms per layer per design
point (90 per second).

Timings on a shared machine are noisy, so the same run also times a fixed
synthetic numpy kernel (one fused-free pass of multiply, add and maximum
over 2^20 float64) and prints each figure as a ratio to it: the ratio moves
with the code, not with the neighbours.

The batches are scored with the per-layer mapper's tables already built
(warm); the mapper's own cold cost — building one core configuration's
tables for every buffer rung and layer — is printed per (configuration,
layer) and per (configuration, rung, layer).

Each row is followed by where the time went, in ns per (design x layer):
the evaluator's steps (feasibility, core resources, placement order, layer
placement — the greedy kernel —, the scoring kernel, the rest: chip costs
and metrics), timed in a separate pass so the row's own figure carries no
timer overhead.

Cold start: fresh processes score one P = 16 batch of each mapping, first
with an empty numba cache (compiling the kernels) and then with the cache
just written (loading them), against importing the evaluator alone; the
first batch also maps the layers on the batch's cores.  The empty-cache
process also prints each kernel's compile CPU seconds (nested compiles
counted in the kernel that asked for them).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from objectives import evaluate
from objectives import evaluator as evaluator_module
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


STEPS = {
    "feasibility": "design_reasons",
    "core resources": "_core_resources",
    "placement order": "_placement_order",
    "layer placement": "_place_layers",
    "scoring kernel": "_layer_costs_and_schedule",
}


@contextlib.contextmanager
def timed_steps(totals: dict):
    """Add each step's CPU seconds to ``totals`` while inside (the evaluator's
    step functions wrapped, and put back on leaving)."""
    saved = {name: getattr(evaluator_module, name) for name in STEPS.values()}

    def timer(label, function):
        def timed(*args, **kwargs):
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                totals[label] = totals.get(label, 0.0) + time.process_time() - start
        return timed

    try:
        for label, name in STEPS.items():
            setattr(evaluator_module, name, timer(label, saved[name]))
        yield totals
    finally:
        for name, function in saved.items():
            setattr(evaluator_module, name, function)


def step_profile(workload, platform, num_designs, greedy, repeats) -> dict:
    """ns per (design x layer) in each evaluator step, best of ``repeats`` per step, and the rest."""
    designs = random_batch(np.random.default_rng(0), workload, platform, num_designs, greedy=greedy)
    evaluate(designs, workload, platform)
    best: dict = {}
    for _ in range(repeats):
        with timed_steps({}) as totals:
            start = time.process_time()
            evaluate(designs, workload, platform)
            totals["total"] = time.process_time() - start
        for label, seconds in totals.items():
            best[label] = min(best.get(label, float("inf")), seconds)
    best["rest"] = max(best["total"] - sum(best.get(label, 0.0) for label in STEPS), 0.0)
    scale = 1e9 / (num_designs * workload.num_layers)
    return {label: seconds * scale for label, seconds in best.items() if label != "total"}


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


def numpy_ceiling(repeats=20) -> float:
    """Elements per CPU second of ``maximum(a * b + c, d)`` over 2^20 float64, best of ``repeats``."""
    rng = np.random.default_rng(0)
    a, b, c, d = rng.random((4, 1 << 20))
    out = np.empty_like(a)
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        np.multiply(a, b, out=out)
        out += c
        np.maximum(out, d, out=out)
        best = min(best, time.process_time() - start)
    return a.size / max(best, 1e-9)


COLD = """
import time
start = time.process_time()
compiled = {{}}
if {score}:
    from numba.core import event

    class Compiles(event.Listener):
        depth = []

        def on_start(self, ev):
            self.depth.append(time.process_time())

        def on_end(self, ev):
            seconds = time.process_time() - self.depth.pop()
            if not self.depth:
                name = ev.data["dispatcher"].py_func.__qualname__
                compiled[name] = compiled.get(name, 0.0) + seconds

    event.register("numba:compile", Compiles())
import numpy as np
from benchmarks.evaluator import random_batch
from objectives import evaluate
from objectives.workloads import get_workload
from spaces import get_platform
workload, platform = get_workload({workload!r}), get_platform({platform!r})
imported = time.process_time()
if {score}:
    for greedy in (False, True):
        evaluate(random_batch(np.random.default_rng(0), workload, platform, 16, greedy=greedy), workload, platform)
print(imported - start, time.process_time() - imported)
print(" ".join(f"{{name}}={{seconds:.3f}}" for name, seconds in sorted(compiled.items(), key=lambda kv: -kv[1])))
"""


def cold_start(workload: str, platform: str) -> list[tuple[str, float, float, str]]:
    """``(what, import CPU s, first two calls CPU s, compile CPU s per kernel)`` of fresh processes."""
    root = Path(__file__).resolve().parents[1]
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))
        for what, score in (("import only", False), ("empty cache", True), ("cached", True)):
            code = COLD.format(workload=workload, platform=platform, score=score)
            out = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True)
            times, compiles = (out.stdout.split("\n") + [""])[:2]
            imported, scored = map(float, times.split())
            rows.append((what, imported, scored, compiles))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="herald_arvr_a")
    parser.add_argument("--platform", default="cloud")
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 64, 1024])
    parser.add_argument("--no-cold", action="store_true", help="skip the fresh-process cold-start measurement")
    args = parser.parse_args(argv)
    workload, platform = get_workload(args.workload), get_platform(args.platform)
    L = workload.num_layers
    print(f"workload {workload.name}: {L} layers, {workload.num_models} models; platform {platform.name}; 4 cores")
    ceiling = numpy_ceiling()
    print(f"numpy ceiling (maximum(a * b + c, d), 2^20 float64): {ceiling:,.0f} elements/s")
    header = f"{'mapping':>8} {'P':>6} {'CPU s':>9} {'(design x layer)/s':>20} {'/ ceiling':>9} {'designs/s':>10} {'peak MiB':>9}"
    print(header)
    for greedy in (False, True):
        for P in args.sizes:
            seconds, peak = measure(workload, platform, P, greedy, repeats=20 if P < 1024 else 5)
            mode, rate = "greedy" if greedy else "explicit", P * L / seconds
            print(
                f"{mode:>8} {P:>6} {seconds:>9.4f} {rate:>20,.0f} {rate / ceiling:>9.4f} {P / seconds:>10,.0f} "
                f"{peak / 2**20:>9.1f}"
            )
            steps = step_profile(workload, platform, P, greedy, repeats=10 if P < 1024 else 3)
            print(f"{'':>17}ns per (design x layer): " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items()))
    if not args.no_cold:
        print("cold start, fresh process (CPU s): import, then one P = 16 batch of each mapping")
        for what, imported, scored, compiles in cold_start(args.workload, args.platform):
            print(f"{what:>12}: import {imported:6.2f}  first calls {scored:6.2f}")
            if compiles:
                print(f"{'':>14}compile CPU s by kernel: {compiles.replace('=', ' ')}")
    seconds, configs, rungs = mapper_cold_cost(workload, platform)
    per = seconds / (configs * L)
    print(f"mapper, cold: {configs} configurations x {L} layers x {rungs} rungs in {seconds:.2f} CPU s = "
          f"{per * 1e3:.3f} ms per (configuration, layer), {per / rungs * 1e6:.1f} us per (configuration, rung, layer)")


if __name__ == "__main__":
    main()
