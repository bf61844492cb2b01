"""Hardware templates: dataflows, core sizes and platform budgets, as data.

Sources for the tables below:

* Budgets of the ASIC classes: Herald (Kwon et al., HPCA'21) Table IV.
* DPU core granularity B512…B4096: Xilinx PG338 (DPUCZDX8G), high-DSP-usage
  column on ZCU102; "peak ops/cycle" counts 2 ops per MAC, so a core's
  MACs per cycle is ``PP × ICP × OCP``.  UltraRAM banks per size: the Vitis
  AI DPU-TRD's recommended numbers; the DPU clock: the DPU-TRD's 300 MHz.
* Board budgets: the XCZU9EG's and the Alveo U250's (DS962) resources; the
  U250's idle card power: an ``xbutil examine`` sample (XRT PR #3697).
  docs/costmodel.md, "FPGA platforms", tabulates each figure with its source.
* Dynamic energy (ASIC): Horowitz, "Computing's energy problem", ISSCC'14
  (45 nm: 8-bit multiply 0.2 pJ, 8-bit add 0.03 pJ) for the MAC, and the
  Eyeriss hierarchy (Chen et al., ISCA'16, normalised to one MAC: RF 1×,
  array/NoC 2×, global buffer 6×, DRAM 200×) for data movement per byte.
* FPGA energies and static powers are order-of-magnitude estimates for a
  16 nm UltraScale+ device (DSP48E2 MAC, BRAM36 access, DDR4 ≈ 20 pJ/bit);
  treat FPGA energy as relative, not absolute.
* ASIC area: 28 nm estimates (8-bit MAC + register file ≈ 0.002 mm², SRAM
  ≈ 1 mm² per MiB, 0.05 mm² per core for control and NoC port).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

from spaces.registry import Registry

LOOP_DIMS = ("N", "G", "K", "C", "Y", "X", "R", "S")
"""Loop dimensions of a layer: batch, groups, output channels per group,
input channels per group, output rows, output columns, filter rows, filter
columns.  A depthwise layer is G = channels, K = C = 1, as ONNX, Timeloop and
ZigZag write it; no preset dataflow unrolls G."""

STATIONARY = ("weight", "output", "input")

MAPPING_OBJECTIVES = ("edp", "latency", "energy")
"""What the per-layer mapper minimizes for each layer on each core."""

# Bounds far beyond any chip built (a wafer-scale engine has under a million
# cores and 44 GB of SRAM; HBM3e stacks give a few TB/s), so that a typo such
# as ``pes: 1e29`` is refused instead of overflowing the cost model's int64
# arithmetic or sizing its arrays.  Platform files and configs validate their
# keys against the same numbers (spaces.userdefs).
MAX_PES = 1 << 24
MAX_BW_GBPS = 1e6
MAX_BUFFER_BYTES = 1 << 40
MAX_CLOCK_HZ = 1e10
MAX_CORES = 256
MAX_WORD_BYTES = 16
MAX_SETUP_CYCLES = 10**9
MAX_FPGA_RESOURCE = 1e9
MAX_MENU = 4096
"""Core sizes in a menu (``pe_step`` makes one of every multiple)."""

PLATFORM_LIMITS: dict[str, float] = {
    "pes": MAX_PES, "bw_gbps": MAX_BW_GBPS, "noc_gbps": MAX_BW_GBPS, "buffer_bytes": MAX_BUFFER_BYTES,
    "clock_hz": MAX_CLOCK_HZ, "max_cores": MAX_CORES, "word_bytes": MAX_WORD_BYTES, "acc_bytes": MAX_WORD_BYTES,
    "rf_bytes": MAX_BUFFER_BYTES, "layer_setup_cycles": MAX_SETUP_CYCLES,
    "dsp": MAX_FPGA_RESOURCE, "lut": MAX_FPGA_RESOURCE, "bram36": MAX_FPGA_RESOURCE, "uram": MAX_FPGA_RESOURCE,
}
"""The largest value of each numeric platform field; every one but those of :data:`MAY_BE_ZERO` must also be positive."""

MAY_BE_ZERO = ("layer_setup_cycles", "uram")
"""Fields that may be 0: no per-layer overhead; a device without UltraRAM (the ZCU102's XCZU9EG)."""

FPGA_RESOURCES = ("dsp", "lut", "bram36", "uram")
"""The FPGA budgets, in the order the resource arrays list them."""

UNLIMITED = FPGA_RESOURCES
"""Budgets an ASIC leaves infinite: it has no DSPs, LUTs, BRAMs or UltraRAMs to run out of."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Dataflow:
    """What a core's PE array unrolls in space, as the axes of the array.

    ``unrolled`` names the array's axes by their main loop dim, outermost
    first; with ``P`` PEs the extents follow
    :func:`objectives.mapper.derived_extents` unless the core size fixes
    them (DPU cores: PP × ICP × OCP). ``axes`` optionally lists, per axis,
    every dim it may unroll, its main dim first (the DPU pixel axis takes
    any of N·Y·X, so transformer tokens land on it; ``[K, G]`` lets a K axis
    run depthwise groups); by default an axis unrolls only its main dim.
    ``max_extents`` caps the extent of an axis (the rest of the PEs go to
    the axes after it). ``fill_drain`` adds a systolic pipeline fill and
    drain per tile of the register-file operand. ``rf_operands``: the
    operands the mapper may keep in a PE's register file (the reference's
    constraint: ShiDianNao keeps outputs, a TPU keeps weights).
    ``stationary`` is the v1 model's single fixed loop order (kept to
    compare against and for the v1 cost terms).
    """

    name: str
    unrolled: tuple[str, ...]
    stationary: Literal["weight", "output", "input"]
    fill_drain: bool = False
    max_extents: tuple[tuple[str, int], ...] = ()
    description: str = ""
    axes: tuple[tuple[str, ...], ...] = ()
    rf_operands: tuple[str, ...] = STATIONARY

    @property
    def axes_dims(self) -> tuple[tuple[str, ...], ...]:
        """Per axis, the dims it may unroll, its main dim first."""
        return self.axes or tuple((d,) for d in self.unrolled)

    def __post_init__(self):
        where = f"dataflow {self.name!r}"
        if not self.unrolled:
            raise ValueError(f"{where}: unrolled must name at least one loop dim (allowed: {', '.join(LOOP_DIMS)})")
        for dim in self.unrolled:
            if dim not in LOOP_DIMS:
                raise ValueError(f"{where}: unrolled dim {dim!r} is not a loop dim (allowed: {', '.join(LOOP_DIMS)})")
        if len(set(self.unrolled)) != len(self.unrolled):
            raise ValueError(f"{where}: unrolled dims repeat: {self.unrolled}")
        if self.stationary not in STATIONARY:
            raise ValueError(f"{where}: stationary {self.stationary!r} is not one of {', '.join(STATIONARY)}")
        for dim, cap in self.max_extents:
            if dim not in self.unrolled:
                raise ValueError(f"{where}: max_extents names {dim!r}, which is not unrolled {self.unrolled}")
            if int(cap) != cap or cap < 1:
                raise ValueError(f"{where}: max_extents for {dim!r} must be a positive integer, got {cap!r}")
        if self.axes:
            if len(self.axes) != len(self.unrolled) or any(
                not dims or dims[0] != main for dims, main in zip(self.axes, self.unrolled)
            ):
                raise ValueError(f"{where}: axes must list, per unrolled dim {self.unrolled}, the dims that "
                                 f"axis may unroll with that dim first; got {self.axes}")
            for dims in self.axes:
                for dim in dims:
                    if dim not in LOOP_DIMS:
                        raise ValueError(f"{where}: axes dim {dim!r} is not a loop dim "
                                         f"(allowed: {', '.join(LOOP_DIMS)})")
                if len(set(dims)) != len(dims):
                    raise ValueError(f"{where}: an axis lists a dim twice: {dims}")
        if not self.rf_operands or any(o not in STATIONARY for o in self.rf_operands):
            raise ValueError(f"{where}: rf_operands {self.rf_operands} must name at least one of "
                             f"{', '.join(STATIONARY)}")


DATAFLOWS: Registry[Dataflow] = Registry("dataflow")
for _df in (
    # MAESTRO's NVDLA mapping: SpatialMap K over clusters, SpatialMap C
    # inside, Y and X temporal.  Groups are not unrollable, so depthwise
    # layers run one channel at a time.
    Dataflow(
        name="ws_kc",
        unrolled=("K", "C"),
        stationary="weight",
        description="NVDLA-style: output channels x input channels; spatial reduction over C",
    ),
    # Herald Fig. 4(b) / MAESTRO's Shi mapping: Y and X spatial, K and C
    # temporal outermost; each PE accumulates its own output pixel.
    Dataflow(
        name="os_yx",
        unrolled=("Y", "X"),
        stationary="output",
        rf_operands=("output",),
        description="ShiDianNao-style output stationary over output rows x cols",
    ),
    # Eyeriss (Chen et al., ISCA'16): filter rows down the array, output
    # rows across it, the 12 x 14 array replicating a 3-row filter over
    # filters and channels; a wider R extent would idle on 3x3 layers.
    Dataflow(
        name="rs",
        unrolled=("R", "Y", "K"),
        stationary="weight",
        max_extents=(("R", 3),),
        axes=(("R",), ("Y",), ("K", "C")),
        rf_operands=("weight", "output"),
        description="Eyeriss-style row stationary: filter rows x output rows, replicated over filters",
    ),
    # Xilinx PG338: PP pixels x ICP input channels x OCP output channels;
    # the pixel axis takes any of batch x height x width (the poster's
    # `for _P in batch*width*height`), so tokens land on it.
    Dataflow(
        name="dpu_pck",
        unrolled=("X", "C", "K"),
        stationary="weight",
        axes=(("X", "Y", "N"), ("C",), ("K",)),
        description="Xilinx DPU-style: pixel x input-channel x output-channel parallelism (PP x ICP x OCP)",
    ),
    # TPU v1 (Jouppi et al., ISCA'17): weights preloaded into the array,
    # inputs flow across, partial sums down to the accumulators.
    Dataflow(
        name="systolic",
        unrolled=("C", "K"),
        stationary="weight",
        fill_drain=True,
        rf_operands=("weight",),
        description="TPU-style weight-stationary systolic array with pipeline fill and drain",
    ),
):
    DATAFLOWS[_df.name] = _df


def get_dataflow(name: str) -> Dataflow:
    return DATAFLOWS[name]


@dataclasses.dataclass(frozen=True, kw_only=True)
class CoreSize:
    """One entry of a granularity menu: a core's MACs per cycle and its cost.

    ``unroll`` fixes the array extents per loop dim (DPU cores) for dataflows
    that unroll exactly those dims; otherwise extents follow the PE count.
    ``uram`` counts UltraRAM blocks (288 Kb) next to ``bram36`` (36 Kb).
    ``clock_hz`` is the core's own clock where it differs from the
    platform's (``None``: the platform clock); its cycles are charged at it.
    """

    name: str
    pes: int
    dsp: float = 0.0
    lut: float = 0.0
    bram36: float = 0.0
    uram: float = 0.0
    unroll: tuple[tuple[str, int], ...] = ()
    clock_hz: float | None = None

    def __post_init__(self):
        if self.pes <= 0:
            raise ValueError(f"core size {self.name!r}: pes must be positive, got {self.pes}")
        if self.clock_hz is not None and not 0 < self.clock_hz <= MAX_CLOCK_HZ:
            raise ValueError(f"core size {self.name!r}: clock_hz must be positive and at most {MAX_CLOCK_HZ:g}, "
                             f"got {self.clock_hz!r}")


# PG338's on-chip memory unit (UltraRAM option): a bank ICP x 8 bits wide and
# 2048 words deep.  A BRAM36 is 18 bits wide at that depth (2K x 18) and an
# UltraRAM 72 bits wide (4K x 72; UG573), so a bank takes ceil(8·ICP/18)
# BRAM36 or ceil(8·ICP/72) UltraRAMs.
BANK_DEPTH_WORDS = 2048
BRAM36_BITS_AT_BANK_DEPTH = 18
URAM_BITS_WIDE = 72


def dpu_bank_blocks(icp: int) -> tuple[int, int]:
    """``(BRAM36, UltraRAM)`` blocks one DPU memory bank of ``icp`` input channels takes."""
    return -(-8 * icp // BRAM36_BITS_AT_BANK_DEPTH), -(-8 * icp // URAM_BITS_WIDE)


def dpu_core(name: str, pp: int, icp: int, ocp: int, lut: float, dsp: float, bram36: float,
             uram_banks: int = 0) -> CoreSize:
    """A DPUCZDX8G size; with ``uram_banks`` of its memory banks moved from BRAM36 to UltraRAM."""
    bram_per_bank, uram_per_bank = dpu_bank_blocks(icp)
    return CoreSize(
        name=name, pes=pp * icp * ocp, lut=lut, dsp=dsp, bram36=bram36 - uram_banks * bram_per_bank,
        uram=uram_banks * uram_per_bank, unroll=(("X", pp), ("C", icp), ("K", ocp)),
    )


# (name, PP, ICP, OCP, LUT, DSP, BRAM36) -- PG338 v1.2 Table 9, high DSP usage on a
# ZCU102; then the UltraRAM banks (image + weight + bias) the Vitis AI DPU TRD
# recommends per size when UltraRAM is enabled (Vitis AI 1.0 DPU-TRD README, "URAM Number").
_DPU_TABLE = (
    ("B512", 4, 8, 8, 20177, 98, 69.5, 2 + 9 + 1),
    ("B800", 4, 10, 10, 20617, 142, 87, 2 + 11 + 1),
    ("B1024", 8, 8, 8, 27377, 194, 101.5, 4 + 9 + 1),
    ("B1152", 4, 12, 12, 28698, 194, 117.5, 2 + 13 + 1),
    ("B1600", 8, 10, 10, 30877, 282, 123, 4 + 11 + 1),
    ("B2304", 8, 12, 12, 34379, 386, 161.5, 4 + 13 + 1),
    ("B3136", 8, 14, 14, 38555, 506, 203.5, 4 + 15 + 1),
    ("B4096", 8, 16, 16, 40865, 642, 249.5, 5 + 17 + 1),
)
DPU_CORES = tuple(dpu_core(*row[:7]) for row in _DPU_TABLE)
"""The DPU sizes with every buffer in BRAM36 (devices without UltraRAM, e.g. the ZCU102's XCZU9EG)."""
DPU_CORES_URAM = tuple(dpu_core(*row) for row in _DPU_TABLE)
"""The DPU sizes with UltraRAM enabled: the recommended banks map to UltraRAM first, the rest stays BRAM36."""


def fpga_max_cores(core_sizes, budgets: dict[str, float]) -> int:
    """How many cores of the menu's most numerous size fit the FPGA budgets (DSP, LUT, BRAM36, UltraRAM):
    the core-count gene's range; at least 1 and at most :data:`MAX_CORES`."""
    best = 0
    for size in core_sizes:
        counts = [budgets[r] // getattr(size, r) for r in FPGA_RESOURCES if getattr(size, r) > 0]
        if counts and all(c >= 1 for c in counts) and size.pes <= budgets.get("pes", math.inf):
            best = max(best, int(min(min(counts), MAX_CORES)))
        elif not counts:  # a size that costs no FPGA resource: only MAX_CORES bounds it
            best = MAX_CORES
    return max(best, 1)


def power_of_two_cores(smallest: int, largest: int) -> tuple[CoreSize, ...]:
    sizes, pes = [], smallest
    while pes <= largest:
        sizes.append(CoreSize(name=f"PE{pes}", pes=pes))
        pes *= 2
    return tuple(sizes)


def pe_multiple_cores(step: int, largest: int) -> tuple[CoreSize, ...]:
    """Cores of every multiple of ``step`` PEs up to ``largest``: a fine
    partition menu, as Herald's searched PE splits (e.g. 9728 / 6656) need."""
    if step <= 0 or step > largest:
        raise ValueError(f"pe_step {step} exceeds the PE budget {largest}" if step > 0 else
                         f"pe_step must be positive, got {step}")
    if largest // step > MAX_MENU:
        raise ValueError(f"pe_step {step} makes a menu of {largest // step:,} core sizes "
                         f"(allowed: at most {MAX_MENU:,}; pe_step at least {-(-largest // MAX_MENU)})")
    return tuple(CoreSize(name=f"PE{pes}", pes=pes) for pes in range(step, largest + 1, step))


def budget_menu(base: "Platform", pes: int, pe_step: int | None = None) -> tuple[CoreSize, ...]:
    """The core menu of ``base`` once its PE budget becomes ``pes``: the one rule for every way to change it.

    ``pe_step`` asks for every multiple of that many PEs (ASICs only).  An
    ASIC whose menu is the default powers of two up to its budget keeps
    that default up to the new one; any other menu (an FPGA's DPU cores, a
    listed one) is the platform's own and stays.
    """
    if pe_step is not None:
        if base.kind != "asic":
            raise ValueError(f"pe_step applies to ASIC platforms; {base.name!r} is an FPGA with a fixed core menu")
        return pe_multiple_cores(pe_step, pes)
    smallest = min(size.pes for size in base.core_sizes)
    if base.kind == "asic" and base.core_sizes == power_of_two_cores(smallest, base.pes):
        return power_of_two_cores(smallest, pes)
    return base.core_sizes


@dataclasses.dataclass(frozen=True, kw_only=True)
class EnergyTable:
    """Dynamic energy in pJ: per MAC and per byte moved at each level.

    ``rf_pj_per_byte`` and ``buffer_pj_per_byte`` are reads; their writes
    default to the same cost (Eyeriss's normalized table gives one cost per
    access of a level)."""

    mac_pj: float
    rf_pj_per_byte: float
    noc_pj_per_byte: float
    buffer_pj_per_byte: float
    dram_pj_per_byte: float
    rf_write_pj_per_byte: float | None = None
    buffer_write_pj_per_byte: float | None = None

    @property
    def rf_write_pj(self) -> float:
        return self.rf_pj_per_byte if self.rf_write_pj_per_byte is None else self.rf_write_pj_per_byte

    @property
    def buffer_write_pj(self) -> float:
        return self.buffer_pj_per_byte if self.buffer_write_pj_per_byte is None else self.buffer_write_pj_per_byte


@dataclasses.dataclass(frozen=True, kw_only=True)
class StaticPower:
    """Leakage in W: per PE (ASIC) or per FPGA resource, per buffer MiB, fixed."""

    w_per_pe: float = 0.0
    w_per_dsp: float = 0.0
    w_per_lut: float = 0.0
    w_per_bram36: float = 0.0
    w_per_uram: float = 0.0
    w_per_buffer_mib: float = 0.0
    w_fixed: float = 0.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class AreaTable:
    """ASIC area estimates in mm²."""

    mm2_per_pe: float = 0.002
    mm2_per_buffer_mib: float = 1.0
    mm2_per_core: float = 0.05


@dataclasses.dataclass(frozen=True, kw_only=True)
class Platform:
    """A hardware budget plus its technology tables.

    ``pes`` is the compute budget of an ASIC (MACs per cycle over all cores);
    FPGA platforms set ``dsp``/``lut``/``bram36``/``uram`` budgets instead and
    leave ``pes`` as the largest PE total any core mix could reach, and
    ``max_cores`` as how many of their most numerous size fit
    (:func:`fpga_max_cores`).  ``dataflows`` is the co-search menu;
    ``stock_dataflows`` what the board's stock cores run (a DPU runs its own
    dataflow only), the menu of the homogeneous baseline (empty: all of
    ``dataflows``).
    """

    name: str
    kind: Literal["asic", "fpga"]
    pes: int
    bw_gbps: float
    buffer_bytes: int
    clock_hz: float
    noc_gbps: float
    energy: EnergyTable
    static: StaticPower
    core_sizes: tuple[CoreSize, ...]
    dataflows: tuple[str, ...] = ("ws_kc", "os_yx", "rs", "systolic")
    stock_dataflows: tuple[str, ...] = ()
    max_cores: int = 4
    word_bytes: int = 1
    acc_bytes: int = 4
    rf_bytes: int = 64
    layer_setup_cycles: int = 64
    mapping_objective: Literal["edp", "latency", "energy"] = "edp"
    dsp: float = float("inf")
    lut: float = float("inf")
    bram36: float = float("inf")
    uram: float = float("inf")
    area: AreaTable = AreaTable()

    def __post_init__(self):
        where = f"platform {self.name!r}"
        for field, high in PLATFORM_LIMITS.items():
            value = getattr(self, field)
            counts = field in MAY_BE_ZERO
            if not ((value >= 0 if counts else value > 0) and (value <= high or (field in UNLIMITED and value == math.inf))):
                raise ValueError(f"{where}: {field} must be {'non-negative' if counts else 'positive'} and at most "
                                 f"{high:g}, got {value!r}")
        if self.mapping_objective not in MAPPING_OBJECTIVES:
            raise ValueError(f"{where}: mapping_objective {self.mapping_objective!r} is not one of "
                             f"{', '.join(MAPPING_OBJECTIVES)}")
        if self.kind not in ("asic", "fpga"):
            raise ValueError(f"{where}: kind {self.kind!r} is not one of asic, fpga")
        if not self.core_sizes:
            raise ValueError(f"{where}: core_sizes is empty")
        for name in self.dataflows:
            get_dataflow(name)
        stray = [name for name in self.stock_dataflows if name not in self.dataflows]
        if stray:
            raise ValueError(f"{where}: stock_dataflows {stray} are not in dataflows (allowed: "
                             f"{', '.join(self.dataflows)})")
        smallest = min(self.core_sizes, key=lambda size: size.pes)
        if not self.fits(smallest):
            raise ValueError(f"{where}: no core size fits the budget (smallest is {smallest.name})")

    def fits(self, size: CoreSize) -> bool:
        return size.pes <= self.pes and all(getattr(size, r) <= getattr(self, r) for r in FPGA_RESOURCES)

    @property
    def baseline_dataflows(self) -> tuple[str, ...]:
        """The dataflows the board's stock cores run: ``stock_dataflows``, else every one of ``dataflows``."""
        return self.stock_dataflows or self.dataflows

    def size_index(self, name: str) -> int:
        for i, size in enumerate(self.core_sizes):
            if size.name == name:
                return i
        raise ValueError(
            f"platform {self.name!r}: unknown core size {name!r} "
            f"(allowed: {', '.join(size.name for size in self.core_sizes)})"
        )

    def replace(self, **changes) -> "Platform":
        return dataclasses.replace(self, **changes)


MiB = 1 << 20

# Eyeriss ratios anchored on Horowitz's 8-bit MAC (0.2 pJ multiply + 0.03 pJ add).
_ASIC_MAC_PJ = 0.23
ASIC_ENERGY = EnergyTable(
    mac_pj=_ASIC_MAC_PJ,
    rf_pj_per_byte=1 * _ASIC_MAC_PJ,
    noc_pj_per_byte=2 * _ASIC_MAC_PJ,
    buffer_pj_per_byte=6 * _ASIC_MAC_PJ,
    dram_pj_per_byte=200 * _ASIC_MAC_PJ,
)
ASIC_STATIC = StaticPower(w_per_pe=2e-5, w_per_buffer_mib=5e-3, w_fixed=0.02)

FPGA_ENERGY = EnergyTable(
    mac_pj=1.0, rf_pj_per_byte=0.5, noc_pj_per_byte=1.0, buffer_pj_per_byte=2.5, dram_pj_per_byte=160.0
)
# Per-resource leakage: order-of-magnitude estimates; an UltraRAM (288 Kb) leaks
# as eight BRAM36 (36 Kb) -- the estimate scaled by capacity (UG573).
FPGA_STATIC = StaticPower(w_per_dsp=1.5e-3, w_per_lut=5e-6, w_per_bram36=1e-3, w_per_uram=8e-3, w_fixed=0.5)
U250_IDLE_W = 17.4
"""An Alveo U200/U250-class card idle with its shell loaded, no kernel running: the ``xbutil examine``
sample in XRT pull request #3697 (17.42 W; rails DDR Vpp Top/Bottom, 12 V AUX, a fan).  The board's
fixed draw (shell, DDR4, regulators, fan) that a design's leakage adds to."""


def _herald(name: str, pes: int, bw_gbps: float, buffer_mib: int) -> Platform:
    return Platform(
        name=name,
        kind="asic",
        pes=pes,
        bw_gbps=bw_gbps,
        buffer_bytes=buffer_mib * MiB,
        clock_hz=1e9,
        noc_gbps=8 * bw_gbps,
        energy=ASIC_ENERGY,
        static=ASIC_STATIC,
        core_sizes=power_of_two_cores(64, pes),
    )


DPU_CLOCK_HZ = 300e6
"""Every DPUCZDX8G size's clock in the Vitis AI reference designs (``aclk`` 300 MHz, DSPs on
``ap_clk_2`` at 600 MHz: the DPU-TRD ``prj_config``); PG338 gives no per-size Fmax."""


def _fpga(name: str, *, dsp, lut, bram36, uram, bw_gbps, buffer_mib, static: StaticPower) -> Platform:
    """A DPU board: UltraRAM-enabled DPU sizes where the device has UltraRAM, as many cores as fit."""
    cores = DPU_CORES_URAM if uram > 0 else DPU_CORES
    max_cores = fpga_max_cores(cores, {"dsp": dsp, "lut": lut, "bram36": bram36, "uram": uram})
    return Platform(
        name=name,
        kind="fpga",
        pes=max_cores * max(size.pes for size in cores),
        dsp=dsp,
        lut=lut,
        bram36=bram36,
        uram=uram,
        bw_gbps=bw_gbps,
        buffer_bytes=buffer_mib * MiB,
        clock_hz=DPU_CLOCK_HZ,
        noc_gbps=8 * bw_gbps,
        energy=FPGA_ENERGY,
        static=static,
        core_sizes=cores,
        dataflows=("dpu_pck", "ws_kc", "os_yx"),
        stock_dataflows=("dpu_pck",),
        max_cores=max_cores,
    )


PLATFORMS: Registry[Platform] = Registry("platform")
for _platform in (
    _herald("edge", 1024, 16, 4),
    _herald("mobile", 4096, 64, 8),
    _herald("cloud", 16384, 256, 16),
    # XCZU9EG: 2520 DSP, 274080 LUT, 912 BRAM36, no UltraRAM; PS DDR4-2400 x64 = 19.2 GB/s.
    _fpga("zcu102", dsp=2520, lut=274080, bram36=912, uram=0, bw_gbps=19.2, buffer_mib=2, static=FPGA_STATIC),
    # Alveo U250 (DS962): 12288 DSP, 1728000 LUT, 2688 BRAM36, 1280 UltraRAM; 4 x DDR4-2400 = 77 GB/s.
    _fpga("u250", dsp=12288, lut=1728000, bram36=2688, uram=1280, bw_gbps=77, buffer_mib=16,
          static=dataclasses.replace(FPGA_STATIC, w_fixed=U250_IDLE_W)),
):
    PLATFORMS[_platform.name] = _platform


def get_platform(name: str) -> Platform:
    return PLATFORMS[name]
