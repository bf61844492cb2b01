"""The per-layer mapper's cold cost: CPU per (core configuration, layer), and the quickstart's first batch.

    python benchmarks/mapper.py [--workload herald_arvr_a planaria_b] [--platform cloud] [--repeats 3]
        [--no-quickstart]

A design's first evaluation on a core configuration (dataflow, PE count,
size) maps every layer of the workload on that core at every buffer rung
(``objectives.mapper.map_layers`` through the evaluator's ``TableStore``);
later designs gather from the table. This prints that cold cost:

* per workload, every dataflow × core size of the platform up to a quarter
  of its PEs (the configurations a 4-core design draws), each mapped from an
  empty store: CPU ms per (configuration, layer) and µs per (configuration,
  rung, layer), best of ``--repeats``; the same figure over the CPU time of
  a fixed numpy kernel (``benchmarks/evaluator.py``'s ceiling), a ratio
  that moves with the code rather than with the machine's load;
* the quickstart's first batch, in a fresh process (compiled kernels
  already cached): ``cosearch run experiments/quickstart.yaml``'s first
  CMA-ES run up to its first population — the run's reference point (256
  uniform designs) and 16 CMA-ES points — CPU seconds, the part spent in
  the mapper (the first mapper call also loads the compiled kernels) and
  the number of core configurations it mapped; the rest is mostly
  importing ``cma`` (which imports ``scipy.stats``) and scoring.

Timings on a shared machine are noisy; compare figures of one session.
Run against another checkout (``PYTHONPATH=<checkout> python
benchmarks/mapper.py``) for before/after figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from objectives.evaluator import TableStore, config_core
from objectives.workloads import get_workload
from spaces import get_platform
from spaces.hardware import DATAFLOWS

from evaluator import numpy_ceiling  # this directory is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]


def cold_cost(workload, platform, repeats: int) -> tuple[float, int, int]:
    """Best CPU seconds over ``repeats`` to map ``workload`` on every configuration
    of a 4-core design from an empty store; the configuration and rung counts."""
    dataflows = tuple(DATAFLOWS[n] for n in platform.dataflows)
    rows = [(d, size.pes, s) for d in range(len(dataflows)) for s, size in enumerate(platform.core_sizes)
            if size.pes <= platform.pes // 4]
    cores = [config_core(row, dataflows, platform) for row in rows]
    TableStore(workload, platform).costs(cores[0])  # compile or load the kernels, outside the timing
    best = float("inf")
    for _ in range(repeats):
        store = TableStore(workload, platform)
        start = time.process_time()
        for core in cores:
            store.costs(core)
        best = min(best, time.process_time() - start)
    return best, len(cores), store.rungs


QUICKSTART = """
import dataclasses, time
from cosearch.config_loader import load_config, run_specs
from cosearch.run import run
from objectives import evaluator
mapping = [0.0]
costs = evaluator.TableStore.costs
def timed(store, core):
    start = time.process_time()
    try:
        return costs(store, core)
    finally:
        mapping[0] += time.process_time() - start
evaluator.TableStore.costs = timed
config = load_config({path!r})
spec = next(s for s in run_specs(config) if s.optimizer == "cmaes")
popsize = int(spec.optimizer_options.get("popsize", 16))
spec = dataclasses.replace(spec, max_evaluations=popsize, max_seconds=None)
start = time.process_time()
result = run(spec)
seconds = time.process_time() - start
print(seconds, mapping[0], sum(len(store.offsets) for store in evaluator._STORES.values()), popsize)
"""


def quickstart_first_batch() -> tuple[float, float, int, int]:
    """``(CPU s, of which mapping, configurations mapped, population)`` of the
    quickstart's first CMA-ES batch in a fresh process."""
    code = QUICKSTART.format(path=str(ROOT / "experiments" / "quickstart.yaml"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, check=True)  # caches kernels
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    seconds, mapping, configs, popsize = out.stdout.split()
    return float(seconds), float(mapping), int(configs), int(popsize)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", nargs="+", default=["herald_arvr_a", "planaria_b"])
    parser.add_argument("--platform", default="cloud")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-quickstart", action="store_true", help="skip the quickstart's first batch")
    args = parser.parse_args(argv)
    platform = get_platform(args.platform)
    ceiling = (1 << 20) / numpy_ceiling()  # CPU s of one pass of the fixed kernel
    print(f"platform {platform.name}; numpy ceiling {ceiling * 1e3:.2f} ms (maximum(a * b + c, d), 2^20 float64)")
    print(f"{'workload':>14} {'layers':>7} {'configs':>8} {'rungs':>6} {'CPU s':>7} {'ms/(config x layer)':>20} "
          f"{'us/(config x rung x layer)':>27} {'/ ceiling':>10}")
    for name in args.workload:
        workload = get_workload(name)
        seconds, configs, rungs = cold_cost(workload, platform, args.repeats)
        per = seconds / (configs * workload.num_layers)
        print(f"{name:>14} {workload.num_layers:>7} {configs:>8} {rungs:>6} {seconds:>7.2f} {per * 1e3:>20.3f} "
              f"{per / rungs * 1e6:>27.2f} {per / ceiling:>10.3f}")
    if not args.no_quickstart:
        seconds, mapping, configs, popsize = quickstart_first_batch()
        print(f"quickstart, first CMA-ES batch (reference point of 256 designs + {popsize} points), fresh process: "
              f"{seconds:.2f} CPU s, of which {mapping:.2f} s mapping {configs} core configurations")


if __name__ == "__main__":
    main()
