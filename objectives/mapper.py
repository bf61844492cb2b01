"""Per-layer mapping search over an explicit memory hierarchy (core model v2).

Public API — what the evaluator, ``cosearch cost`` and the validation
document call:

* :class:`Core` — a PE array (named axes with extents, the loop dims each
  may unroll) plus its memory hierarchy: per-PE register file, the core's
  buffer (capacity given per call, as a ladder of rungs), DRAM; energies per
  byte read and written at each level; partial sums at accumulator width.
  :func:`core_for` builds one from a platform, a dataflow and a PE count.
* :class:`Layers` — the loop nests to map, ``(L, 8)`` dims in
  :data:`DIMS` order (N, G, K, C, Y, X, R, S) plus stride, dilation, MACs;
  :meth:`Layers.from_workload` converts a workload (or a model).
* :func:`map_layers` ``(core, layers, capacities, objective)`` →
  :class:`LayerCosts`: for every capacity rung and layer the chosen mapping
  (spatial factors, the operand held in the register file, the operand the
  buffer keeps while the others stream, DRAM-level tile counts) and its
  compute cycles, traffic per level, energy per level, latency and bound.
* :func:`latency_cycles` — the latency of a chosen mapping under any
  DRAM/NoC bandwidth (the evaluator's per-design bandwidth shares).

The model, its mapspace and every constant are written out in
``docs/costmodel.md``.  In short: a mapping is a loop nest of three
segments, outermost first — DRAM-level tile loops (the buffer-stationary
operand's dims outermost, so it is fetched once), buffer-level loops (the
register-file operand's dims outermost, so it stays in the PE while the
other loops run inside), and the spatial unrolling over the array.  An
operand crosses a boundary once per iteration of every loop above the
innermost loop that indexes it (Timeloop's and ZigZag's reuse rule); loops
of extent 1 do not count.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math

import numpy as np

from objectives import mapper_kernels
from objectives.schedule import kernel_array
from objectives.workloads._layers import touched_extent
from spaces.hardware import ASIC_ENERGY, LOOP_DIMS

DIMS = LOOP_DIMS
"""N, G, K, C, Y, X, R, S: batch, groups, output and input channels per
group, output rows and columns, filter rows and columns."""
N, G, K, C, Y, X, R, S = range(8)
INPUT, WEIGHT, OUTPUT = range(3)
OPERANDS = ("input", "weight", "output")
OBJECTIVES = ("edp", "latency", "energy")
LEVELS = ("mac", "rf", "noc", "buffer", "dram")
BOUNDS = ("compute", "dram", "buffer")


def _mask(*dims: str) -> np.ndarray:
    return np.array([d in dims for d in DIMS])


# The input window slides over R and S, so the input is indexed by them too:
# a filter tap that changes brings new input pixels (no line buffer in a PE).
OPERAND_DIMS = np.stack(
    [_mask("N", "G", "C", "Y", "X", "R", "S"), _mask("G", "K", "C", "R", "S"), _mask("N", "G", "K", "Y", "X")]
)
"""``(3, 8)`` which loop dims index the input, weight and output."""

# Dims the DRAM-level tiling may split, per buffer-stationary operand: the
# stationary operand's dims that do not index some other operand (splitting
# them is what trades capacity for refetches).  G and N are split too, and X
# under single-row tiles (COLUMN_SPLIT); R and S stay whole; see
# docs/costmodel.md.
SPLIT_DIMS = {INPUT: (Y, C), WEIGHT: (K, C), OUTPUT: (Y, K)}

COLUMN_SPLIT = (INPUT, OUTPUT)
"""Buffer operands whose DRAM tiles may also split X, once Y is split into
single row steps: a wide layer's one row of outputs (or its input window)
can exceed a small buffer (AlexNet CONV1, VGG-16's first layers on
Eyeriss's 108 KB); see docs/costmodel.md."""

TILE_LADDER = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128, 256, 512)
"""Candidate DRAM-level tile counts per split dim (clipped to the dim's steps)."""

RUNG_STEPS_PER_OCTAVE = 4
"""A core's buffer share is rounded down to ``2**(k/4)`` bytes (a rung)."""
SMALLEST_RUNG = 4 * 10  # 1 KiB


@dataclasses.dataclass(frozen=True)
class Axis:
    """One physical axis of the PE array: its extent and the dims it may unroll.

    Several dims may share an axis (a DPU's pixel axis takes N·Y·X); the
    mapper fills it in one of the orders of those dims.
    """

    name: str
    extent: int
    dims: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Core:
    """A PE array plus its memory hierarchy; hashable, so mapper results cache on it.

    Energies are pJ per byte; bandwidths bytes per cycle.  ``rf_bytes`` is
    the register file per PE; ``rf_operands`` the operands it may hold
    (indices into :data:`OPERANDS`).  The buffer's capacity is not part of
    the core: :func:`map_layers` takes a ladder of capacities.
    ``dram_bytes_per_cycle`` and ``noc_bytes_per_cycle`` are the nominal
    shares the mapper optimizes for (the evaluator rescales latency to each
    design's own shares).  The energy defaults are the platform presets' ASIC
    table (``spaces.hardware.ASIC_ENERGY``); :func:`core_for` always passes the
    platform's own.
    """

    axes: tuple[Axis, ...]
    rf_operands: tuple[int, ...] = (INPUT, WEIGHT, OUTPUT)
    buffer_operands: tuple[int, ...] = (INPUT, WEIGHT, OUTPUT)
    rf_bytes: int = 64
    word_bytes: int = 1
    acc_bytes: int = 4
    mac_pj: float = ASIC_ENERGY.mac_pj
    rf_read_pj: float = ASIC_ENERGY.rf_pj_per_byte
    rf_write_pj: float = ASIC_ENERGY.rf_write_pj
    noc_pj: float = ASIC_ENERGY.noc_pj_per_byte
    buffer_read_pj: float = ASIC_ENERGY.buffer_pj_per_byte
    buffer_write_pj: float = ASIC_ENERGY.buffer_write_pj
    dram_pj: float = ASIC_ENERGY.dram_pj_per_byte
    dram_bytes_per_cycle: float = 16.0
    noc_bytes_per_cycle: float = 128.0
    fill_drain: bool = False
    setup_cycles: int = 64
    static_pj_per_cycle: float = 0.0
    cycle_scale: float = 1.0
    """Platform clock over the core's own clock: compute cycles are reported in platform cycles."""

    @property
    def pes(self) -> int:
        return math.prod(a.extent for a in self.axes)


@dataclasses.dataclass(frozen=True, eq=False)
class Layers:
    """Loop nests to map, ``(L,)`` arrays except ``dims`` ``(L, 8)``.

    ``density`` is the fraction of the nest's points that are real MACs
    (a transposed convolution written over its output: ``1/stride²``);
    ``transposed`` marks those layers, whose input rows are ``ceil(Y/stride)``.
    ``weight_is_activation``: attention's second operand, indexed by N too.
    """

    dims: np.ndarray
    stride: np.ndarray
    dilation: np.ndarray
    density: np.ndarray
    transposed: np.ndarray
    weight_is_activation: np.ndarray
    names: tuple[str, ...] = ()

    @property
    def num_layers(self) -> int:
        return len(self.dims)

    @property
    def macs(self) -> np.ndarray:
        return np.prod(self.dims, axis=-1, dtype=np.float64) * self.density

    @classmethod
    def from_workload(cls, workload) -> "Layers":
        """A workload's or model's layers (8-dim nests, stride, dilation, op kinds)."""
        from objectives.workloads._layers import Op

        op = np.asarray(workload.op)
        stride = np.asarray(workload.stride, dtype=np.int64)
        transposed = op == Op.UPCONV
        return cls(
            dims=np.asarray(workload.dims, dtype=np.int64),
            stride=stride,
            dilation=np.asarray(workload.dilation, dtype=np.int64),
            density=np.where(transposed, 1.0 / stride.astype(np.float64) ** 2, 1.0),
            transposed=transposed,
            weight_is_activation=op == Op.MATMUL,
            names=tuple(workload.layer_names),
        )

    def take(self, index: np.ndarray) -> "Layers":
        """The nests at ``index`` (unnamed: the mapper's internal rows)."""
        return Layers(
            self.dims[index], self.stride[index], self.dilation[index], self.density[index],
            self.transposed[index], self.weight_is_activation[index],
        )

    def unique(self) -> tuple["Layers", np.ndarray]:
        """Distinct nests and, per layer, its row among them (batch copies map once)."""
        return self._unique

    @functools.cached_property
    def _unique(self) -> tuple["Layers", np.ndarray]:
        # Cached: a workload's table store maps the same layers on every core.
        rows = np.column_stack(
            [self.dims, self.stride, self.dilation, self.transposed, self.weight_is_activation, self.density * 1e6]
        )
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        return self.take(first), inverse.reshape(-1)


@dataclasses.dataclass(frozen=True)
class LayerCosts:
    """The chosen mapping and its costs; every array is ``(R, L)`` unless noted.

    Mapping: ``spatial`` ``(R, L, 8)`` unrolling factor per dim (product over
    the axes), ``tiles`` ``(R, L, 8)`` DRAM-level tile count per dim,
    ``rf_operand`` / ``buffer_operand`` (indices into :data:`OPERANDS`).
    Costs: ``compute_cycles`` (steps + systolic fill/drain + setup),
    ``dram_bytes`` (reads + writes), ``dram_input_bytes`` (the input's
    share, saved when the producer left it on chip), ``edge_bytes`` (the
    first tile loaded and the last written back, not overlapped with
    compute), ``edge_input_bytes``, ``noc_bytes`` (buffer ↔ array),
    ``buffer_bytes`` (read plus written at the buffer: array traffic,
    partial sums, DRAM fills and write-backs), ``buffer_need`` (bytes the
    double-buffered tiles occupy), ``fits``,
    ``energy_pj`` ``(R, L, 5)`` per level of :data:`LEVELS`,
    ``utilization``, ``latency_cycles`` and ``bound`` (index into
    :data:`BOUNDS`) at the core's nominal bandwidths, ``objective``.
    """

    capacities: np.ndarray
    spatial: np.ndarray
    tiles: np.ndarray
    rf_operand: np.ndarray
    buffer_operand: np.ndarray
    compute_cycles: np.ndarray
    dram_bytes: np.ndarray
    dram_input_bytes: np.ndarray
    edge_bytes: np.ndarray
    edge_input_bytes: np.ndarray
    noc_bytes: np.ndarray
    buffer_bytes: np.ndarray
    buffer_need: np.ndarray
    fits: np.ndarray
    energy_pj: np.ndarray
    utilization: np.ndarray
    latency_cycles: np.ndarray
    bound: np.ndarray
    objective: np.ndarray

    @property
    def dynamic_pj(self) -> np.ndarray:
        return self.energy_pj.sum(axis=-1)


# -- capacity ladder ------------------------------------------------------------


def rung_of(buffer_bytes: np.ndarray) -> np.ndarray:
    """Ladder index ``k`` with ``2**(k/4) <= bytes`` (rounded down), at least the smallest rung."""
    k = np.floor(RUNG_STEPS_PER_OCTAVE * np.log2(np.maximum(buffer_bytes, 1.0)) + 1e-9).astype(np.int64)
    return np.maximum(k, SMALLEST_RUNG)


def rung_bytes(k: np.ndarray) -> np.ndarray:
    return np.floor(2.0 ** (np.asarray(k, dtype=np.float64) / RUNG_STEPS_PER_OCTAVE))


def capacity_ladder(largest_bytes: float) -> np.ndarray:
    """Every rung from 1 KiB up to the rung of ``largest_bytes``, ``(R,)`` bytes."""
    return rung_bytes(np.arange(SMALLEST_RUNG, int(rung_of(np.array(largest_bytes))) + 1))


# -- mapspace ---------------------------------------------------------------------


def _axis_fills(axis: Axis) -> list[tuple[int, ...]]:
    """The orders in which an axis may hand its extent to its dims."""
    dims = [DIMS.index(d) for d in axis.dims]
    return [tuple(p) for p in itertools.permutations(dims)]


def spatial_candidates(core: Core, dims: np.ndarray) -> np.ndarray:
    """``(Sp, L, 8)`` spatial factors: per axis, each order of its dims is filled greedily.

    Each dim takes as much of the axis's remaining extent as it can use,
    balanced so that the steps ``ceil(D/u)`` stay minimal with the fewest
    PEs (``u = ceil(D / ceil(D / E))``); a dim on two axes multiplies.
    """
    L = len(dims)
    out = []
    for fills in itertools.product(*(_axis_fills(a) for a in core.axes)):
        u = np.ones((L, 8), dtype=np.int64)
        for axis, order in zip(core.axes, fills):
            left = np.full(L, axis.extent, dtype=np.int64)
            for d in order:
                need = -(-dims[:, d] // u[:, d])  # what earlier axes left of the dim
                f = np.minimum(need, left)
                f = -(-need // -(-need // np.maximum(f, 1)))
                u[:, d] *= f
                left = left // f
        out.append(u)
    return np.unique(np.stack(out), axis=0) if len(out) > 1 else np.stack(out)


def _rows(extent, taps, stride, dilation, transposed):
    """Input rows touched by ``extent`` output rows and ``taps`` filter rows
    (a 1×1 stride-2 conv touches every other row); a transposed conv reads
    ``ceil(extent/stride)`` rows."""
    touched = touched_extent(extent, taps, stride, dilation)
    return np.where(transposed, -(-extent // stride), touched)


# -- the cost of a batch of candidate mappings --------------------------------------


def loop_order(operand: int) -> tuple[int, ...]:
    """A level's loop permutation, outermost first: the operand's dims, then the rest.

    The operand's tile then stays at the level below while every loop that
    does not index it runs (its reuse); attention's extra N index on its
    second operand is not reordered for.
    """
    return tuple(int(d) for d in np.argsort(~OPERAND_DIMS[operand], kind="stable"))


def _reuse(counts: list[np.ndarray], indexes: list[np.ndarray], shape: tuple[int, ...], above=None):
    """How often one operand crosses a boundary per distinct tile it has.

    ``counts`` are the loop trip counts above the boundary, outermost first;
    ``indexes`` whether each loop indexes the operand (per layer).  The
    operand is fetched again for every iteration of a non-indexing loop
    above its innermost indexing loop; trip counts of 1 are not loops.
    Returns that factor and the product of the non-indexing loops so far,
    the state ``above`` from which a lower boundary continues: its loops
    are the same ones plus its own, so the DRAM level's pass is shared.
    """
    factor, running = (np.ones(shape), np.ones(shape)) if above is None else above
    for count, indexed in zip(counts, indexes):
        if indexed.all():  # the usual case: a dim indexes the operand in every layer or none
            factor = np.where(count > 1, running, factor)
        elif not indexed.any():
            running = running * count
        else:
            factor = np.where(indexed & (count > 1), running, factor)
            running = np.where(indexed, running, running * count)
    return factor, running


def dram_level(core: Core, layers: Layers, u, t, buf_op: int) -> dict:
    """What a mapping's DRAM-level loops decide, whatever the RF operand:
    tiles, their footprints and the DRAM traffic (see :func:`evaluate_mappings`)."""
    D = layers.dims
    w, a = float(core.word_bytes), float(core.acc_bytes)
    u = np.asarray(u, dtype=np.int64)
    steps = -(-D // u)  # temporal steps per dim
    t = np.minimum(np.asarray(t, dtype=np.int64), steps)
    b = -(-steps // t)  # steps per DRAM tile
    t = -(-steps // b)
    shape = np.broadcast_shapes(u.shape, t.shape)
    opdims = np.broadcast_to(OPERAND_DIMS, (len(D), 3, 8)).copy()
    opdims[layers.weight_is_activation, WEIGHT, N] = True  # (L, 3, 8)
    stride, dil, tr = layers.stride, layers.dilation, layers.transposed

    # Volumes that cross the boundary once per distinct tile; the input's sum
    # each tile's touched rows, so the halos of split tiles are read again.
    tile_ext = np.minimum(D, u * b)  # DRAM-level tile extent per dim
    rows_tile = _rows(tile_ext[..., Y], tile_ext[..., R], stride, dil, tr)
    cols_tile = _rows(tile_ext[..., X], tile_ext[..., S], stride, dil, tr)
    nc = (D[:, N] * D[:, G] * D[:, C]).astype(np.float64)
    v_in = nc * (t[..., Y] * t[..., R] * rows_tile) * (t[..., X] * t[..., S] * cols_tile)
    v_w = np.prod(np.where(opdims[:, WEIGHT], D, 1), axis=-1).astype(np.float64)
    v_out = np.prod(np.where(opdims[:, OUTPUT], D, 1), axis=-1).astype(np.float64)

    # DRAM-level loops, the buffer operand's dims outermost; loops of trip
    # count 1 everywhere are no loops (most of them).
    order = [d for d in loop_order(buf_op) if (t[..., d] > 1).any()]
    counts = [t[..., d] for d in order]
    indexes = [[opdims[:, o, d] for d in order] for o in range(3)]
    above = [_reuse(counts, indexes[o], shape[:-1]) for o in range(3)]
    reads, writes, psum_reads, input_reads = _traffic(v_in, v_w, v_out, [r[0] for r in above], w, a)

    # Footprint of one DRAM-level tile (outputs at accumulator width), double-buffered.
    f_in = (tile_ext[..., N] * tile_ext[..., G] * tile_ext[..., C]).astype(np.float64) * rows_tile * cols_tile
    f_w = np.prod(np.where(opdims[:, WEIGHT], tile_ext, 1), axis=-1).astype(np.float64)
    f_out = np.prod(np.where(opdims[:, OUTPUT], tile_ext, 1), axis=-1).astype(np.float64)
    return {
        "u": u, "t": t, "b": b, "steps": steps, "shape": shape, "opdims": opdims, "nc": nc, "v_w": v_w,
        "v_out": v_out, "above": above, "reads": reads, "writes": writes,
        "psum_reads": psum_reads, "input_reads": input_reads, "dram": reads + psum_reads + writes,
        "need": 2.0 * (f_in * w + f_w * w + f_out * a), "edge_in": f_in * w,
        "edge": f_in * w + f_w * w + f_out * w, "buf_op": buf_op,
    }


def _traffic(v_input, v_w, v_out, reuse, w, a):
    """Input/weight bytes read into the lower level; output bytes written back
    (partial sums at accumulator width) and partial sums read back; input bytes."""
    reads = v_input * reuse[INPUT] * w + v_w * reuse[WEIGHT] * w
    passes = reuse[OUTPUT] - 1.0  # extra visits of every output: partial sums
    return reads, v_out * (w + passes * a), v_out * passes * a, v_input * reuse[INPUT] * w


def evaluate_mappings(core: Core, layers: Layers, u, t, rf_op: int, buf_op: int, level=None) -> dict:
    """Costs of candidate mappings, broadcast over any leading shape ``(..., L, 8)``.

    ``u``, ``t``: spatial factors and DRAM-level tile counts per dim;
    ``rf_op``, ``buf_op``: the operand kept in the register file and the
    one the DRAM-level loop order keeps in the buffer; ``level``: their
    :func:`dram_level`, when already computed for another RF operand.  This
    is the whole cost model; :func:`map_layers` calls it on its candidate
    set and the brute-force tests on every point of a mapspace.
    """
    level = dram_level(core, layers, u, t, buf_op) if level is None else level
    D = layers.dims
    w, a = float(core.word_bytes), float(core.acc_bytes)
    u, t, b, steps, shape, opdims = (level[k] for k in ("u", "t", "b", "steps", "shape", "opdims"))
    v_w, v_out, dram, edge = level["v_w"], level["v_out"], level["dram"], level["edge"]
    stride, dil, tr = layers.stride, layers.dilation, layers.transposed

    # At the array, a step delivers the rows its unrolled Y and R touch.  When
    # the filter-tap loops run inside the pixel loops (RF holds outputs or
    # inputs), neighbouring PEs pass inputs along as the window slides
    # (ShiDianNao's inter-PE FIFOs, Eyeriss's diagonal reuse): a pixel step
    # takes its whole window once and the tap loops no longer index the input.
    slide = rf_op != WEIGHT
    if slide:
        a_rows = steps[..., Y] * _rows(u[..., Y], D[:, R], stride, dil, tr)
        a_cols = steps[..., X] * _rows(u[..., X], D[:, S], stride, dil, tr)
    else:
        a_rows = steps[..., Y] * steps[..., R] * _rows(u[..., Y], u[..., R], stride, dil, tr)
        a_cols = steps[..., X] * steps[..., S] * _rows(u[..., X], u[..., S], stride, dil, tr)
    a_in = level["nc"] * a_rows * a_cols

    # Buffer-level loops inside a DRAM tile, the RF operand's dims outermost.
    order = [d for d in loop_order(rf_op) if (b[..., d] > 1).any()]
    counts = [b[..., d] for d in order]
    r_arr = []
    for o in range(3):
        inner = [opdims[:, o, d] & ~(slide and o == INPUT and d in (R, S)) for d in order]
        r_arr.append(_reuse(counts, inner, shape[:-1], level["above"][o])[0])
    a_reads, a_writes, a_psum_reads, _ = _traffic(a_in, v_w, v_out, r_arr, w, a)
    # Partial sums leaving the array are accumulated by read-modify-write at
    # the buffer's accumulation port (NVDLA's CACC, a TPU's accumulators):
    # they cost NoC and buffer energy but not the operand-delivery bandwidth.
    noc = a_reads + v_out * w
    psum = a_psum_reads + (a_writes - v_out * w)

    # Compute: one cycle per temporal step; real MACs only in the dense part.
    total_steps = np.prod(steps, axis=-1).astype(np.float64)
    macs = layers.macs
    utilization = macs / (total_steps * core.pes)
    # A systolic array fills and drains once per tile of its RF operand.
    pipeline = sum(ax.extent for ax in core.axes) if core.fill_drain else 0
    rf_tiles = np.prod(np.where(opdims[:, rf_op], steps, 1), axis=-1) * r_arr[rf_op]
    # Counted in the core's own cycles, charged in the platform clock's (a slower core takes more of them).
    compute = (total_steps * layers.density + rf_tiles * pipeline + core.setup_cycles) * core.cycle_scale

    # Energy per level (pJ).  Every MAC reads two operands and updates a
    # partial sum in its PE; a value arriving at a PE is written to its RF;
    # partial sums reduced across PEs (unrolled C, R, S) hop once each.
    reduction = np.prod(np.where(opdims[:, OUTPUT], 1, u), axis=-1).astype(np.float64)
    pes_used = np.prod(u, axis=-1).astype(np.float64)
    reduce_bytes = total_steps * pes_used * (1.0 - 1.0 / reduction) * layers.density * a
    mac_pj = macs * core.mac_pj
    rf_pj = macs * ((2 * w + a) * core.rf_read_pj + a * core.rf_write_pj) + (a_reads + a_psum_reads) * core.rf_write_pj
    noc_pj = (noc + psum + reduce_bytes) * core.noc_pj
    buffer_read = a_reads + a_psum_reads + level["writes"]  # to the array, partial sums, write-backs
    buffer_written = a_writes + level["reads"] + level["psum_reads"]  # from the array, fills from DRAM
    buffer_pj = buffer_read * core.buffer_read_pj + buffer_written * core.buffer_write_pj
    dram_pj = dram * core.dram_pj
    energy = np.stack(np.broadcast_arrays(mac_pj, rf_pj, noc_pj, buffer_pj, dram_pj), axis=-1)

    latency = latency_cycles(compute, dram, edge, noc, core.dram_bytes_per_cycle, core.noc_bytes_per_cycle)
    bound = bound_of(compute, dram, noc, core.dram_bytes_per_cycle, core.noc_bytes_per_cycle)
    fits_rf = _rf_fits(core, rf_op)
    full = shape[:-1]
    return {
        "spatial": np.broadcast_to(u, shape),
        "tiles": np.broadcast_to(t, shape),
        "rf_operand": np.full(full, rf_op, dtype=np.int8),
        "buffer_operand": np.full(full, buf_op, dtype=np.int8),
        "compute_cycles": np.broadcast_to(compute, full),
        "dram_bytes": np.broadcast_to(dram, full),
        "dram_input_bytes": np.broadcast_to(level["input_reads"], full),
        "edge_bytes": np.broadcast_to(edge, full),
        "edge_input_bytes": np.broadcast_to(level["edge_in"], full),
        "noc_bytes": np.broadcast_to(noc, full),
        "buffer_bytes": np.broadcast_to(buffer_read + buffer_written, full),
        "buffer_need": np.broadcast_to(level["need"], full),
        "fits": np.full(full, fits_rf),
        "energy_pj": np.broadcast_to(energy, full + (len(LEVELS),)),
        "utilization": np.broadcast_to(utilization, full),
        "latency_cycles": np.broadcast_to(latency, full),
        "bound": np.broadcast_to(bound, full),
    }


def _rf_fits(core: Core, rf_op: int) -> bool:
    """Whether the dataflow lets ``rf_op`` stay in a PE and one element fits its register file."""
    need = core.acc_bytes if rf_op == OUTPUT else core.word_bytes
    return rf_op in core.rf_operands and need <= core.rf_bytes


def candidate_scores(core: Core, layers: Layers, layer, u, t, buf_op: int, objective: str):
    """``(len(core.rf_operands), n)`` objectives and ``(n,)`` buffer needs of
    candidates with buffer operand ``buf_op`` (``layer`` indexes ``layers``):
    :func:`evaluate_mappings`' numbers, by its compiled twin
    (``objectives/mapper_kernels.py``) — the search's inner loop."""
    g = np.gcd(layers.stride, layers.dilation)
    opdims = np.broadcast_to(OPERAND_DIMS, (layers.num_layers, 3, 8)).copy()
    opdims[layers.weight_is_activation, WEIGHT, N] = True
    pipeline = sum(ax.extent for ax in core.axes) if core.fill_drain else 0
    params = np.array([
        core.word_bytes, core.acc_bytes, core.mac_pj, core.rf_read_pj, core.rf_write_pj, core.noc_pj,
        core.buffer_read_pj, core.buffer_write_pj, core.dram_pj, core.dram_bytes_per_cycle,
        core.noc_bytes_per_cycle, pipeline, core.setup_cycles, core.static_pj_per_cycle, core.cycle_scale,
    ], dtype=np.float64)
    rf_ops = np.array(core.rf_operands, dtype=np.int64)
    score, need = np.empty((len(rf_ops), len(layer))), np.empty(len(layer))
    mapper_kernels.candidate_scores(
        kernel_array(layer, np.int64), kernel_array(u, np.int64), kernel_array(t, np.int64),
        kernel_array(layers.dims, np.int64), opdims, layers.stride // g, layers.dilation // g,
        layers.stride.astype(np.int64), layers.transposed.astype(np.bool_), layers.density.astype(np.float64),
        kernel_array(layers.macs, np.float64), np.array(loop_order(buf_op), dtype=np.int64),
        np.array([loop_order(rf) for rf in core.rf_operands], dtype=np.int64).reshape(-1, 8),
        rf_ops, params, mapper_kernels.OBJECTIVE_CODES[objective], score, need, np.empty((4, 8), dtype=np.int64),
        np.empty((3, 3)),
    )
    return score, need


def latency_cycles(compute, dram_bytes, edge_bytes, noc_bytes, dram_bytes_per_cycle, noc_bytes_per_cycle):
    """Latency in cycles: a double-buffered steady state — the slowest of
    compute, the DRAM traffic between the first load and the last
    write-back, and the buffer → array traffic — plus the first tile's load
    and the last tile's write-back, which nothing overlaps."""
    steady = np.maximum(np.maximum(dram_bytes - edge_bytes, 0.0) / dram_bytes_per_cycle, noc_bytes / noc_bytes_per_cycle)
    return edge_bytes / dram_bytes_per_cycle + np.maximum(compute, steady)


def bound_of(compute, dram_bytes, noc_bytes, dram_bytes_per_cycle, noc_bytes_per_cycle) -> np.ndarray:
    """What limits a layer (index into :data:`BOUNDS`): the largest of compute
    cycles, all DRAM traffic time and buffer → array traffic time."""
    dram = dram_bytes / dram_bytes_per_cycle
    noc = noc_bytes / noc_bytes_per_cycle
    return np.where((compute >= dram) & (compute >= noc), 0, np.where(dram >= noc, 1, 2)).astype(np.int8)


def objective_of(costs: dict, objective: str, core: Core) -> np.ndarray:
    """Per-layer objective of candidate costs; static energy accrues over the latency."""
    energy = costs["energy_pj"].sum(axis=-1) + core.static_pj_per_cycle * costs["latency_cycles"]
    if objective == "edp":
        return energy * costs["latency_cycles"]
    if objective == "latency":
        return np.broadcast_to(costs["latency_cycles"], energy.shape)
    if objective == "energy":
        return energy
    raise ValueError(f"unknown mapping objective {objective!r} (allowed: {', '.join(OBJECTIVES)})")


def tile_candidates(buf_op: int, shape: tuple[int, ...]) -> np.ndarray:
    """``(T, ...shape..., 8)`` DRAM-level tile counts: :data:`TILE_LADDER` on the
    buffer operand's two split dims (clipped to each dim's steps when costed)."""
    d1, d2 = SPLIT_DIMS[buf_op]
    ladder = np.array(TILE_LADDER)
    j1, j2 = (g.ravel() for g in np.meshgrid(ladder, ladder, indexing="ij"))
    t = np.ones((len(j1),) + tuple(shape) + (8,), dtype=np.int64)
    t[..., d1] = j1.reshape((-1,) + (1,) * len(shape))
    t[..., d2] = j2.reshape((-1,) + (1,) * len(shape))
    return t


def _distinct_tiles(steps: np.ndarray) -> np.ndarray:
    """``(J, ...)`` which ladder entries give a new tile size: a count above the
    steps of a dim, or one rounding to the same steps per tile, repeats one."""
    ladder = np.array(TILE_LADDER).reshape((-1,) + (1,) * steps.ndim)
    per_tile = -(-steps // np.minimum(ladder, steps))
    return np.concatenate([np.ones((1,) + steps.shape, dtype=bool), per_tile[1:] != per_tile[:-1]])


def _finest_tiles(steps: np.ndarray) -> np.ndarray:
    """``(J, ...)`` the ladder entry giving the smallest tile of a dim (one step
    per tile, or the ladder's last entry when the dim has more steps)."""
    ladder = np.array(TILE_LADDER).reshape((-1,) + (1,) * steps.ndim)
    per_tile = -(-steps // np.minimum(ladder, steps))
    smallest = per_tile[-1]
    first = np.argmax(per_tile == smallest, axis=0)
    return np.arange(len(TILE_LADDER)).reshape(ladder.shape) == first


def _ragged_product(masks: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Every combination of each row's allowed ladder entries.

    ``masks``: ``(R, J)`` per dim, which ladder entries a row allows.
    Returns the row of each combination and, per mask, its ladder index
    (the combinations of a row in mixed-radix order, the last mask fastest).
    """
    counts = [m.sum(axis=1) for m in masks]
    total = np.prod(counts, axis=0)
    row = np.repeat(np.arange(len(total)), total)
    k = np.arange(len(row)) - np.repeat(np.cumsum(total) - total, total)
    picks = []
    for m, n in zip(reversed(masks), reversed(counts)):
        allowed = np.argsort(~m, axis=1, kind="stable")  # a row's allowed entries first, ascending
        n_row = n[row]
        picks.append(allowed[row, k % n_row])
        k = k // n_row
    return row, picks[::-1]


def candidate_mappings(core: Core, layers: Layers, buf_op: int, spatial=None) -> tuple[np.ndarray, ...]:
    """The candidates with buffer operand ``buf_op``, one row per (candidate, layer):
    ``(n,)`` layer index, ``(n, 8)`` spatial factors and DRAM tile counts.

    Spatial fills (:func:`spatial_candidates`) × tile counts from
    :data:`TILE_LADDER` on the buffer operand's two split dims, on X for
    the operands X indexes once Y is split into single row steps
    (:data:`COLUMN_SPLIT`), and on the pipelining dims G and N (splitting
    them refetches nothing; smaller tiles shorten the unoverlapped first
    load), keeping only ladder entries that change a tile — so a layer with
    G = N = 1 gets none of the latter.  Candidates come ordered by (X, G, N,
    first and second split dim) ladder entries, then spatial fill, then
    layer: among candidates of equal need and objective the choice takes
    the later one.
    """
    spatial = spatial_candidates(core, layers.dims) if spatial is None else spatial  # (Sp, L, 8)
    Sp, L = spatial.shape[:2]
    steps = -(-layers.dims // spatial)
    d1, d2 = SPLIT_DIMS[buf_op]
    J = len(TILE_LADDER)
    distinct = {d: _distinct_tiles(steps[..., d]).reshape(J, -1).T for d in (d1, d2, G, N, X)}  # (Sp*L, J)
    whole_x = np.zeros_like(distinct[X])
    whole_x[:, 0] = True
    dims = (X, G, N, d1, d2)
    parts = [_ragged_product([whole_x, distinct[G], distinct[N], distinct[d1], distinct[d2]])]
    if buf_op in COLUMN_SPLIT:  # columns split only under single-row tiles
        split_x = distinct[X] & ~whole_x
        finest = _finest_tiles(steps[..., d1]).reshape(J, -1).T
        parts.append(_ragged_product([split_x, distinct[G], distinct[N], finest, distinct[d2]]))
    row = np.concatenate([p[0] for p in parts])
    j = np.stack([np.concatenate([p[1][i] for p in parts]) for i in range(len(dims))])  # (5, n)
    key = np.ravel_multi_index((*j, row), (J,) * len(dims) + (Sp * L,))
    order = np.argsort(key)
    row, j = row[order], j[:, order]
    sp, layer = np.divmod(row, L)
    t = np.ones((len(row), 8), dtype=np.int64)
    t[:, list(dims)] = np.array(TILE_LADDER)[j].T
    return layer, spatial[sp, layer], t


def map_layers(core: Core, layers: Layers, capacities, objective: str = "edp") -> LayerCosts:
    """The best mapping of every layer at every buffer capacity, ``(R, L)``.

    The candidate set: :func:`candidate_mappings` for each buffer operand
    (any of three) × the RF operands the dataflow allows.  Every candidate
    is costed once (costs do not depend on the capacity); per capacity the
    cheapest candidate whose double-buffered tiles fit is chosen.  Where
    none fits, the candidate needing the least buffer is taken and ``fits``
    is False.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown mapping objective {objective!r} (allowed: {', '.join(OBJECTIVES)})")
    capacities = np.atleast_1d(np.asarray(capacities, dtype=np.float64))
    unique, inverse = layers.unique()
    parts = []  # (rf_op, buf_op, layer, u, t, score, need)
    spatial = spatial_candidates(core, unique.dims)
    for buf_op in core.buffer_operands:
        layer, u, t = candidate_mappings(core, unique, buf_op, spatial)
        scores, need = candidate_scores(core, unique, layer, u, t, buf_op, objective)
        for rf_op, score in zip(core.rf_operands, scores):
            fits = _rf_fits(core, rf_op)
            parts.append((rf_op, buf_op, layer, u, t, np.where(fits, score, np.inf), np.where(fits, need, np.inf)))
    layer = np.concatenate([p[2] for p in parts])
    chosen, fits = _choose(
        np.concatenate([p[5] for p in parts]), np.concatenate([p[6] for p in parts]), layer, unique.num_layers,
        capacities,
    )
    # Cost the chosen candidates again, each once (many rungs choose alike),
    # one (RF, buffer) operand pair at a time, and spread them over the layers.
    distinct, back = np.unique(chosen, return_inverse=True)
    sizes = np.cumsum([0] + [len(p[2]) for p in parts])
    part = np.searchsorted(sizes, distinct, side="right") - 1
    values: dict[str, np.ndarray] = {}
    for i, (rf_op, buf_op, layer_i, u, t, _, _) in enumerate(parts):
        where = np.flatnonzero(part == i)
        if not len(where):
            continue
        local = distinct[where] - sizes[i]
        costs = evaluate_mappings(core, unique.take(layer_i[local]), u[local], t[local], rf_op, buf_op)
        costs["objective"] = objective_of(costs, objective, core)
        for name, value in costs.items():
            if name not in values:
                values[name] = np.zeros((len(distinct),) + value.shape[1:], dtype=value.dtype)
            values[name][where] = value
    index = back.reshape(chosen.shape)[:, inverse]  # (R, L)
    picked = {name: value[index] for name, value in values.items()}
    picked["fits"] &= fits[:, inverse]
    return LayerCosts(capacities=capacities, **picked)


def _choose(score, need, layer, num_layers, capacities) -> tuple[np.ndarray, np.ndarray]:
    """``(R, L)`` index of the candidate minimizing ``score`` among each layer's
    candidates with ``need <= capacity``, and whether any fits."""
    order = np.lexsort((need, layer))
    starts = np.searchsorted(layer[order], np.arange(num_layers + 1))
    chosen = np.zeros((len(capacities), num_layers), dtype=np.int64)
    fits = np.zeros((len(capacities), num_layers), dtype=np.bool_)
    mapper_kernels.choose_sorted(score, need, order, starts, kernel_array(capacities, np.float64), chosen, fits,
                                 np.empty(len(order), dtype=np.int64))
    return chosen, fits


# -- building a core from a platform ---------------------------------------------------


def derived_extents(pes: int, axes: tuple[tuple[str, ...], ...], caps: dict[str, int]) -> list[int]:
    """Extents of a free PE count over the axes: as even as powers of two allow,
    the last axis taking what is left (1024 over two axes → 32 × 32, 9728 → 64 × 152);
    an axis capped (by its first dim) leaves the rest to the axes after it."""
    extents, remaining = [], int(pes)
    for i, dims in enumerate(axes):
        left = len(axes) - i
        extent = remaining if left == 1 else 1 << int(math.floor(math.log2(remaining ** (1.0 / left)) + 1e-9))
        extent = max(min(extent, caps.get(dims[0], extent), remaining), 1)
        extents.append(extent)
        remaining = max(remaining // extent, 1)
    return extents


@functools.lru_cache(maxsize=4096)
def core_for(platform, dataflow, pes: int, fixed: tuple[tuple[str, int], ...] = (),
             clock_hz: float | None = None) -> Core:
    """The core a design slot describes: its array shape from the dataflow and
    PE count (or the core size's fixed extents), its hierarchy from the platform;
    ``clock_hz`` is the core size's own clock (``None``: the platform's)."""
    axes_dims = dataflow.axes_dims
    if fixed and {d for d, _ in fixed} == set(dataflow.unrolled):
        extents = [dict(fixed)[dims[0]] for dims in axes_dims]
    else:
        extents = derived_extents(max(int(pes), 1), axes_dims, dict(dataflow.max_extents))
    e, s = platform.energy, platform.static
    extents_product = math.prod(extents)
    rf_operands = tuple(OPERANDS.index(o) for o in dataflow.rf_operands)
    buffer_operands = (INPUT, WEIGHT, OUTPUT)
    if platform.intra_core_mapping == "stationary":
        # One loop order per dataflow (the v1 model's): its stationary operand
        # stays in the buffer and, where the dataflow allows it, in the PEs.
        stationary = OPERANDS.index(dataflow.stationary)
        buffer_operands = (stationary,)
        rf_operands = (stationary,) if stationary in rf_operands else rf_operands[:1]
    share = extents_product / platform.pes  # nominal: bandwidth in proportion to PEs
    return Core(
        axes=tuple(Axis(dims[0], int(x), dims) for dims, x in zip(axes_dims, extents)),
        rf_operands=rf_operands,
        buffer_operands=buffer_operands,
        rf_bytes=platform.rf_bytes,
        word_bytes=platform.word_bytes,
        acc_bytes=platform.acc_bytes,
        mac_pj=e.mac_pj,
        rf_read_pj=e.rf_pj_per_byte,
        rf_write_pj=e.rf_write_pj,
        noc_pj=e.noc_pj_per_byte,
        buffer_read_pj=e.buffer_pj_per_byte,
        buffer_write_pj=e.buffer_write_pj,
        dram_pj=e.dram_pj_per_byte,
        dram_bytes_per_cycle=platform.bw_gbps * 1e9 / platform.clock_hz * share,
        noc_bytes_per_cycle=platform.noc_gbps * 1e9 / platform.clock_hz * share,
        fill_drain=dataflow.fill_drain,
        setup_cycles=platform.layer_setup_cycles,
        static_pj_per_cycle=s.w_per_pe * extents_product / platform.clock_hz * 1e12,
        cycle_scale=1.0 if clock_hz is None else platform.clock_hz / clock_hz,
    )


def describe(costs: LayerCosts, rung: int, layer: int) -> dict:
    """One layer's chosen mapping as plain data (for design JSON and ``cosearch cost``)."""
    return describe_mapping(
        costs.spatial[rung, layer], costs.tiles[rung, layer],
        int(costs.rf_operand[rung, layer]), int(costs.buffer_operand[rung, layer]),
    )


def describe_mapping(spatial, tiles, rf_op: int, buf_op: int) -> dict:
    """A mapping's spatial factors and DRAM tile counts (dims > 1), operands and loop orders."""
    return {
        "spatial": {DIMS[d]: int(spatial[d]) for d in range(8) if spatial[d] > 1},
        "rf_stationary": OPERANDS[rf_op],
        "buffer_stationary": OPERANDS[buf_op],
        "dram_tiles": {DIMS[d]: int(tiles[d]) for d in range(8) if tiles[d] > 1},
        "buffer_loop_order": _order_string(rf_op),
        "dram_loop_order": _order_string(buf_op),
    }


def _order_string(operand: int) -> str:
    return "".join(DIMS[d] for d in loop_order(operand))
