"""Homogeneous DPU boards: as many stock cores of one size as the FPGA holds, scored on a mix.

    python benchmarks/fpga_homogeneous.py                       # vision on u250
    python benchmarks/fpga_homogeneous.py --mix nlp --platform zcu102
    python benchmarks/fpga_homogeneous.py --cores 8             # the old 8-core cap, for comparison

For each DPU size of the platform's menu: how many fit (the binding resource
named), and the one-pass metrics of that many cores running the stock DPU
dataflow with even bandwidth and buffer shares and Herald's greedy mapping —
what the `homogeneous_multicore` baseline's corner designs are.  Figures
depend only on the cost model (docs/costmodel.md, "FPGA platforms"), not on
timing, so they reproduce exactly.
"""

from __future__ import annotations

import argparse

from objectives import evaluate
from objectives.workloads import get_workload
from spaces import get_platform, single_design
from spaces.hardware import FPGA_RESOURCES, fpga_max_cores


def binding(platform, size, count: int) -> str:
    """The resource that stops one more core of ``size``."""
    over = [r for r in FPGA_RESOURCES if getattr(size, r) and (count + 1) * getattr(size, r) > getattr(platform, r)]
    return ", ".join(over) or "max_cores"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mix", default="vision")
    parser.add_argument("--platform", default="u250")
    parser.add_argument("--cores", type=int, default=None, help="cap the core count (default: as many as fit)")
    args = parser.parse_args(argv)
    platform, workload = get_platform(args.platform), get_workload(args.mix)
    dataflow = platform.baseline_dataflows[0]
    print(f"{args.mix} on {platform.name} ({workload.num_layers} layers), stock dataflow {dataflow}, "
          f"static {platform.static.w_fixed:g} W fixed")
    print("| size | cores | bound by | latency ms | energy mJ | EDP mJ·s | inferences/s | average W |")
    print("|---|---|---|---|---|---|---|---|")
    for index, size in enumerate(platform.core_sizes):
        fits = fpga_max_cores((size,), {r: getattr(platform, r) for r in FPGA_RESOURCES})
        count = fits if args.cores is None else min(fits, args.cores)
        design = single_design(core_pes=[size.pes] * count, core_size=[index] * count,
                               core_dataflow=[dataflow] * count, layer_core=[-1] * workload.num_layers)
        m = evaluate(design, workload, platform)
        bound = binding(platform, size, fits) if count == fits else "--cores"
        print(f"| {size.name} | {count} | {bound} | {m.latency_s[0] * 1e3:.3f} | "
              f"{m.energy_j[0] * 1e3:.2f} | {m.edp[0] * 1e3:.4g} | {m.throughput_ips[0]:.1f} | "
              f"{m.average_power_w[0]:.1f} |")


if __name__ == "__main__":
    main()
