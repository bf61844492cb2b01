"""What a design costs as a whole chip: FPGA resources, static power, energy, area.

Small pure functions of a platform's tables and a design's totals, so each
formula can be checked by hand (``tests/objectives/test_chip.py``); the
evaluator calls them once per batch with ``(P,)`` arrays.  The constants
behind the tables and their sources are in docs/costmodel.md.
"""

from __future__ import annotations

import numpy as np

from spaces.design import DesignBatch
from spaces.hardware import FPGA_RESOURCES, AreaTable, Platform, StaticPower

MiB = float(1 << 20)


_TABLES: dict[int, tuple[Platform, np.ndarray, np.ndarray]] = {}


def _fpga_tables(platform: Platform) -> tuple[np.ndarray, np.ndarray]:
    """``(S, 4)`` each menu size's resources (``FPGA_RESOURCES``) and ``(4,)`` the largest's
    per PE, kept per platform object (looked up by identity: a search asks thousands of times)."""
    hit = _TABLES.get(id(platform))
    if hit is None or hit[0] is not platform:
        menu = np.array([[getattr(s, r) for r in FPGA_RESOURCES] for s in platform.core_sizes])
        largest = max(platform.core_sizes, key=lambda s: s.pes)
        per_pe = np.array([getattr(largest, r) for r in FPGA_RESOURCES]) / largest.pes
        if len(_TABLES) > 16:
            _TABLES.clear()
        hit = _TABLES[id(platform)] = (platform, menu, per_pe)  # the platform kept alive, so its id stays its own
    return hit[1], hit[2]


def fpga_resources(designs: DesignBatch, platform: Platform) -> np.ndarray:
    """``(4, P)`` DSP, LUT, BRAM36, UltraRAM used; custom sizes scale the largest menu core per PE."""
    menu, per_pe = _fpga_tables(platform)
    active = designs.core_pes > 0
    by_menu = menu[np.minimum(np.maximum(designs.core_size, 0), len(menu) - 1)]  # (P, C, 3)
    by_pe = designs.core_pes[..., None] * per_pe
    per_core = np.where((designs.core_size >= 0)[..., None], by_menu, by_pe)
    return np.where(active[..., None], per_core, 0.0).sum(axis=1).T


def core_bandwidths(platform: Platform, bw_share: np.ndarray, core_pes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(P, C)`` DRAM and NoC bandwidth (bytes/s) of each core.

    The design's bandwidth shares split the bandwidth the platform
    partitions (``bw_partition``: DRAM channels, or Herald's global NoC
    wires); the other bandwidth is shared in proportion to the cores' PEs.
    """
    pe_share = core_pes / np.maximum(np.where(core_pes > 0, core_pes, 0).sum(axis=1, keepdims=True), 1)
    dram, noc = platform.bw_gbps * 1e9, platform.noc_gbps * 1e9
    if platform.bw_partition == "noc":
        return dram * pe_share, noc * bw_share
    return dram * bw_share, noc * pe_share


PARTITIONED_BANDWIDTH = {"dram": "off-chip bandwidth", "noc": "global NoC bandwidth"}
"""What a design's bandwidth shares split, by the platform's ``bw_partition``, as plots name it."""


def partitioned_gbps(platform: Platform) -> float:
    """The chip bandwidth (GB/s) a design's bandwidth shares split (``PARTITIONED_BANDWIDTH``)."""
    return platform.noc_gbps if platform.bw_partition == "noc" else platform.bw_gbps


def over_fpga_budget(used: np.ndarray, platform: Platform) -> np.ndarray:
    """``(P,)`` bool: any of the ``(4, P)`` resources :func:`fpga_resources` counts exceeds its budget."""
    return (used > np.array([getattr(platform, r) for r in FPGA_RESOURCES])[:, None]).any(axis=0)


def static_power_w(table: StaticPower, pes, dsp, lut, bram36, uram, buffer_bytes: float) -> np.ndarray:
    """Leakage (W) of the PEs (ASIC) or FPGA resources a design uses, of the
    whole on-chip buffer (it is built whatever share a design uses), and the fixed part."""
    return (
        table.w_per_pe * pes
        + table.w_per_dsp * dsp
        + table.w_per_lut * lut
        + table.w_per_bram36 * bram36
        + table.w_per_uram * uram
        + table.w_per_buffer_mib * buffer_bytes / MiB
        + table.w_fixed
    )


def energy_j(dynamic_pj, static_w, makespan_s) -> tuple[np.ndarray, np.ndarray]:
    """``(dynamic J, static J)``: the layers' dynamic picojoules, and leakage paid
    for the whole makespan (the chip is on until the last layer ends)."""
    return dynamic_pj * 1e-12, static_w * makespan_s


def area_mm2(table: AreaTable, pes, cores, buffer_bytes: float) -> np.ndarray:
    """ASIC area: the PEs used, the whole buffer, and a fixed overhead per active core."""
    return pes * table.mm2_per_pe + buffer_bytes / MiB * table.mm2_per_buffer_mib + cores * table.mm2_per_core


def resource_fraction(platform: Platform, pes, dsp, lut, bram36, uram) -> np.ndarray:
    """The largest fraction of a budget used: PEs on an ASIC, the scarcest FPGA resource
    (a device without UltraRAM has a budget of 0 and uses none: that term is left out)."""
    if platform.kind == "fpga":
        fractions = [dsp / platform.dsp, lut / platform.lut, bram36 / platform.bram36]
        if platform.uram > 0:
            fractions.append(uram / platform.uram)
        return np.maximum.reduce(fractions)
    return pes / platform.pes
