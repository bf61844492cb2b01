"""Herald checks that need no search: Table V's partitions scored as published, with and without
Herald's schedule post-processing, and the ShiDianNao core as MAESTRO maps it.

    python benchmarks/herald_checks.py                      # every mix on every budget
    python benchmarks/herald_checks.py --mixes arvr_a --budgets cloud --lookahead 4 8

Prints, per (mix, budget):

* EDP of Herald's Table V partition (greedy best-fit mapping, even buffer
  split) in the default breadth-first order and in a depth-first order
  (each model's layers before the next's, Herald's other initial order),
  each without and with the look-ahead post-processing (Fig. 9), as
  ratios with / without (below 1: the pass helped) and the post-processing's
  CPU time per design;
* on ``--shi`` budgets, the MAC-weighted utilization of one core of the
  whole budget per ShiDianNao variant, and Table V's partition re-scored
  with each variant as its Shi core, over the better FDA;
* with ``--search N``, Maelstrom's partition searched (space ``hda``, PE
  splits in 1/128 steps, CMA-ES, N evaluations per seed over ``--seeds``):
  our PE and NoC split next to Table V's, like for like (both split the
  global NoC), and Table V's partition's EDP over ours.

Timings are per process on a shared machine: read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from cosearch.attribution import search_step
from objectives import chip, evaluate
from objectives.workloads import get_workload
from paper import HERALD_TABLE_V, shi_platform  # benchmarks/ is on the path when run as a script
from spaces import get_platform, make_space, single_design
from spaces.hardware import budget_menu

SHI_VARIANTS = ("os_yx", "os_yx_maestro", "os_yx16_k")


def table_v_design(mix: str, budget: str, shi="os_yx", priority=None):
    (bw_nvdla, bw_shi), (pe_nvdla, pe_shi) = HERALD_TABLE_V[(mix, budget)]
    layers = get_workload(f"herald_{mix}").num_layers
    return single_design(core_pes=[pe_nvdla, pe_shi], core_dataflow=["ws_kc", shi], layer_core=[-1] * layers,
                         bw_share=[bw_nvdla / (bw_nvdla + bw_shi), bw_shi / (bw_nvdla + bw_shi)],
                         layer_priority=priority)


def depth_first(workload) -> list[float]:
    """Priorities that run each model instance's layers before the next instance's."""
    return np.arange(workload.num_layers, dtype=float).tolist()


def post_processing(mix: str, budget: str, depths: list[int]) -> list[str]:
    workload, platform = get_workload(f"herald_{mix}"), get_platform(budget)
    cells = []
    for order_name, priority in (("breadth", None), ("depth", depth_first(workload))):
        design = table_v_design(mix, budget, priority=priority)
        base = evaluate(design, workload, platform)
        for depth in depths:
            start = time.perf_counter()
            after = evaluate(design, workload, platform.replace(schedule_lookahead=depth))
            seconds = time.perf_counter() - start
            cells.append(f"{order_name} LA{depth}: EDP x{after.edp[0] / base.edp[0]:.3f} "
                         f"latency x{after.latency_s[0] / base.latency_s[0]:.3f} ({seconds * 1e3:.0f} ms)")
    return cells


def fda_edp(workload, platform, dataflow) -> float:
    design = single_design(core_pes=[platform.pes], core_dataflow=[dataflow], layer_core=[0] * workload.num_layers)
    return float(evaluate(design, workload, platform).edp[0])


def utilization(workload, platform, dataflow) -> float:
    design = single_design(core_pes=[platform.pes], core_dataflow=[dataflow], layer_core=[0] * workload.num_layers)
    return float(evaluate(design, workload, platform).utilization[0])


def shi_variants(mix: str, budget: str) -> list[str]:
    workload, platform = get_workload(f"herald_{mix}"), shi_platform(budget)
    nvdla = fda_edp(workload, platform, "ws_kc")
    cells = [f"util ws_kc {utilization(workload, platform, 'ws_kc'):.0%}"]
    for name in SHI_VARIANTS:
        shi = name
        best_fda = min(nvdla, fda_edp(workload, platform, shi))
        maelstrom = float(evaluate(table_v_design(mix, budget, shi), workload, platform).edp[0])
        cells.append(f"{name}: util {utilization(workload, platform, shi):.0%}, "
                     f"best FDA / Table V HDA {best_fda / maelstrom:.2f}x")
    return cells


def searched_partition(mix: str, budget: str, evaluations: int, seeds: int) -> str:
    workload = get_workload(f"herald_{mix}")
    platform = get_platform(budget)  # PE splits in 1/128 steps, as experiments/paper/herald_*.yaml
    platform = platform.replace(core_sizes=budget_menu(platform, platform.pes, pe_step=platform.pes // 128))
    space = make_space("hda", workload, platform, dataflows=["ws_kc", "os_yx"])
    (hbw, hpe) = HERALD_TABLE_V[(mix, budget)]
    published = float(evaluate(table_v_design(mix, budget), workload, platform).edp[0])
    cells = []
    for seed in range(seeds):
        edp, x = search_step(space, workload, platform, seed=seed, evaluations=evaluations,
                             options={"popsize": 16})
        design = space.decode(x[None])
        pes = "/".join(str(int(p)) for p in design.core_pes[0])
        noc = "/".join(f"{b * chip.partitioned_gbps(platform):.0f}" for b in design.bw_share[0])
        cells.append(f"seed {seed}: PEs {pes}, NoC {noc} GB/s, Table V EDP / ours {published / edp:.2f}x")
    return f"Table V PEs {hpe[0]}/{hpe[1]}, NoC {hbw[0]}/{hbw[1]} GB/s; " + "; ".join(cells)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mixes", nargs="+", default=["arvr_a", "arvr_b", "mlperf"])
    parser.add_argument("--budgets", nargs="+", default=["edge", "mobile", "cloud"])
    parser.add_argument("--lookahead", nargs="+", type=int, default=[4, 8])
    parser.add_argument("--shi", nargs="*", default=["cloud"], help="budgets for the ShiDianNao variants")
    parser.add_argument("--search", type=int, default=0, help="evaluations per seed of a partition search (0: none)")
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args(argv)
    for mix in args.mixes:
        for budget in args.budgets:
            print(f"{mix:7s} {budget:6s} post-processing: " + "; ".join(post_processing(mix, budget, args.lookahead)),
                  flush=True)
            if budget in args.shi:
                print(f"{mix:7s} {budget:6s} Shi variants: " + "; ".join(shi_variants(mix, budget)), flush=True)
            if args.search:
                print(f"{mix:7s} {budget:6s} searched partition: "
                      + searched_partition(mix, budget, args.search, args.seeds), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
