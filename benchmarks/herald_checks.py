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
import pathlib
import sys
import time

import numpy as np

from cosearch.attribution import search_step
from objectives import chip, evaluate
from objectives.workloads import get_workload
from spaces import get_platform, make_space, single_design
from spaces.hardware import budget_menu
from spaces.userdefs import load_platform
from spaces.userfiles import read_yaml

# Herald (Kwon et al., HPCA'21) Table V: Maelstrom's partition, (NoC GB/s, PEs) as NVDLA / ShiDianNao.
HERALD_TABLE_V = {
    ("arvr_a", "edge"): ((4, 12), (128, 896)),
    ("arvr_a", "mobile"): ((40, 24), (1792, 2304)),
    ("arvr_a", "cloud"): ((224, 32), (9728, 6656)),
    ("arvr_b", "edge"): ((4, 12), (128, 896)),
    ("arvr_b", "mobile"): ((48, 16), (1536, 2560)),
    ("arvr_b", "cloud"): ((128, 128), (12032, 4352)),
    ("mlperf", "edge"): ((4, 12), (64, 960)),
    ("mlperf", "mobile"): ((32, 32), (1280, 2816)),
    ("mlperf", "cloud"): ((160, 96), (8192, 8192)),
}
SHI_VARIANTS = ("os_yx", "os_yx_maestro", "os_yx16_k")
LOOKAHEAD_ORDERS = ("breadth", "depth")
# The ShiDianNao variants of the ablations (os_yx_maestro: MAESTRO's cluster
# shape; os_yx16_k: replicated over K, not a Herald or MAESTRO mapping), declared
# once in a platform file whose base is swapped per budget.
SHI_PLATFORM = pathlib.Path(__file__).resolve().parents[1] / "experiments" / "paper" / "platforms" / "cloud_shi.yaml"


def shi_platform(budget: str):
    """Herald's ``budget`` with the ShiDianNao variants of ``SHI_PLATFORM`` (registers them)."""
    return load_platform({**read_yaml(SHI_PLATFORM), "base": budget, "name": f"{budget}_shi"})


def table_v_design(mix: str, budget: str, shi="os_yx", priority=None):
    (bw_nvdla, bw_shi), (pe_nvdla, pe_shi) = HERALD_TABLE_V[(mix, budget)]
    layers = get_workload(f"herald_{mix}").num_layers
    return single_design(core_pes=[pe_nvdla, pe_shi], core_dataflow=["ws_kc", shi], layer_core=[-1] * layers,
                         bw_share=[bw_nvdla / (bw_nvdla + bw_shi), bw_shi / (bw_nvdla + bw_shi)],
                         layer_priority=priority)


def depth_first(workload) -> list[float]:
    """Priorities that run each model instance's layers before the next instance's."""
    return np.arange(workload.num_layers, dtype=float).tolist()


def post_processing(mix: str, budget: str, depths: list[int]) -> list[dict]:
    """Per initial order and look-ahead depth: EDP and latency with the pass over without it, and its CPU time."""
    workload, platform = get_workload(f"herald_{mix}"), get_platform(budget)
    rows = []
    for order_name, priority in zip(LOOKAHEAD_ORDERS, (None, depth_first(workload))):
        design = table_v_design(mix, budget, priority=priority)
        base = evaluate(design, workload, platform)
        for depth in depths:
            start = time.perf_counter()
            after = evaluate(design, workload, platform.replace(schedule_lookahead=depth))
            rows.append({"order": order_name, "depth": depth, "edp": after.edp[0] / base.edp[0],
                         "latency": after.latency_s[0] / base.latency_s[0],
                         "seconds": time.perf_counter() - start})
    return rows


def post_processing_text(rows: list[dict]) -> str:
    return "; ".join(f"{r['order']} LA{r['depth']}: EDP x{r['edp']:.3f} latency x{r['latency']:.3f} "
                     f"({r['seconds'] * 1e3:.0f} ms)" for r in rows)


def fda_edp(workload, platform, dataflow) -> float:
    design = single_design(core_pes=[platform.pes], core_dataflow=[dataflow], layer_core=[0] * workload.num_layers)
    return float(evaluate(design, workload, platform).edp[0])


def utilization(workload, platform, dataflow) -> float:
    design = single_design(core_pes=[platform.pes], core_dataflow=[dataflow], layer_core=[0] * workload.num_layers)
    return float(evaluate(design, workload, platform).utilization[0])


def shi_variants(mix: str, budget: str) -> dict:
    """Utilization of one core of the whole budget per dataflow, and per ShiDianNao variant the better
    FDA's EDP over Table V's partition with that variant as its Shi core (above 1: the HDA wins)."""
    workload, platform = get_workload(f"herald_{mix}"), shi_platform(budget)
    nvdla = fda_edp(workload, platform, "ws_kc")
    out = {"util": {"ws_kc": utilization(workload, platform, "ws_kc")}, "fda_over_hda": {}}
    for shi in SHI_VARIANTS:
        best_fda = min(nvdla, fda_edp(workload, platform, shi))
        maelstrom = float(evaluate(table_v_design(mix, budget, shi), workload, platform).edp[0])
        out["util"][shi] = utilization(workload, platform, shi)
        out["fda_over_hda"][shi] = best_fda / maelstrom
    return out


def shi_variants_text(result: dict) -> str:
    cells = [f"util ws_kc {result['util']['ws_kc']:.0%}"]
    cells += [f"{shi}: util {result['util'][shi]:.0%}, best FDA / Table V HDA {result['fda_over_hda'][shi]:.2f}x"
              for shi in SHI_VARIANTS]
    return "; ".join(cells)


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
            print(f"{mix:7s} {budget:6s} post-processing: "
                  + post_processing_text(post_processing(mix, budget, args.lookahead)), flush=True)
            if budget in args.shi:
                print(f"{mix:7s} {budget:6s} Shi variants: " + shi_variants_text(shi_variants(mix, budget)), flush=True)
            if args.search:
                print(f"{mix:7s} {budget:6s} searched partition: "
                      + searched_partition(mix, budget, args.search, args.seeds), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
