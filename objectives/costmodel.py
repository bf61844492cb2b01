"""MAESTRO-style analytical cost terms, one set of formulas for every dataflow.

A dataflow is an extent per loop dim (``(..., 8)``, 1 where a dim is not
unrolled) plus a stationary operand; every term below broadcasts over any
leading axes, so the evaluator computes them on ``(configs, layers)`` tables
and the tests on single values.  The equations are written out in
``docs/costmodel.md``.

Loop order: the outer temporal loops walk the tiles of the dims that index
the stationary operand; the remaining dims run inside while that tile stays
in the array.  An operand is therefore re-read from the core's buffer once
per outer tile of every dim that does not index it.
"""

from __future__ import annotations

import math

import numpy as np

from spaces.hardware import LOOP_DIMS, Dataflow

INPUT, WEIGHT, OUTPUT = range(3)
OPERANDS = ("input", "weight", "output")


def _mask(*dims: str) -> np.ndarray:
    return np.array([d in dims for d in LOOP_DIMS])


# The input window slides over R and S, so the input indexes them too: a
# stationary filter row sees the whole input row once, not once per tap.
# Every operand is per group: a group's outputs read only its own inputs
# through its own weights, so G indexes all three.
OPERAND_DIMS = np.stack(
    [_mask("N", "G", "C", "Y", "X", "R", "S"), _mask("G", "K", "C", "R", "S"), _mask("N", "G", "K", "Y", "X")]
)
"""``(3, 8)`` bool: which loop dims index the input, weight and output."""

MATMUL_WEIGHT_DIMS = _mask("N", "G", "K", "C")
"""Attention's second operand is per head, so it is indexed by N as well."""


def operand_dims(weight_is_activation: np.ndarray) -> np.ndarray:
    """``(L, 3, 8)`` which loop dims index each operand of each layer."""
    dims = np.broadcast_to(OPERAND_DIMS, (len(weight_is_activation), *OPERAND_DIMS.shape)).copy()
    dims[weight_is_activation, WEIGHT] = MATMUL_WEIGHT_DIMS
    return dims


def unroll_extents(pes: int, dataflow: Dataflow, fixed: tuple[tuple[str, int], ...] = ()) -> np.ndarray:
    """Array extent per loop dim, ``(8,)`` int64, for a core of ``pes`` MACs per cycle.

    A core size that fixes its extents (a DPU's PP × ICP × OCP) keeps them when
    the dataflow unrolls exactly those dims.  Otherwise the PEs are split over
    the unrolled dims as evenly as powers of two allow, outermost dim first,
    the last dim taking what is left: 1024 PEs over (K, C) → 32 × 32, 9728 →
    64 × 152; a dim capped by ``dataflow.max_extents`` leaves the rest to the
    dims after it.  Every extent is at least 1 and their product is at most
    ``pes``.
    """
    extents = np.ones(len(LOOP_DIMS), dtype=np.int64)
    if fixed and {d for d, _ in fixed} == set(dataflow.unrolled):
        for dim, extent in fixed:
            extents[LOOP_DIMS.index(dim)] = extent
        return extents
    caps = dict(dataflow.max_extents)
    remaining = int(pes)
    for i, dim in enumerate(dataflow.unrolled):
        left = len(dataflow.unrolled) - i
        if left == 1:
            extent = remaining
        else:
            extent = 1 << int(math.floor(math.log2(remaining ** (1.0 / left)) + 1e-9))
        extent = max(min(extent, caps.get(dim, extent), remaining), 1)
        extents[LOOP_DIMS.index(dim)] = extent
        remaining = max(remaining // extent, 1)
    return extents


def tile_counts(dims: np.ndarray, extents: np.ndarray) -> np.ndarray:
    """Temporal iterations per dim, ``ceil(D / u)``, shape of the broadcast."""
    return -(-dims // extents)


def utilization(dims: np.ndarray, extents: np.ndarray) -> np.ndarray:
    """Fraction of PE-cycles doing useful MACs: ``Π_d D_d / (ceil(D_d/u_d)·u_d)``."""
    return np.prod(dims / (tile_counts(dims, extents) * extents), axis=-1)


def stationary_mask(stationary_index: np.ndarray, operand_dims: np.ndarray) -> np.ndarray:
    """``(..., 8)`` bool dims of the stationary operand (the outer loops).

    ``operand_dims`` is ``(..., 3, 8)``; ``stationary_index`` picks one row.
    """
    return np.take_along_axis(operand_dims, np.asarray(stationary_index)[..., None, None], axis=-2)[..., 0, :]


def compute_cycles(
    dims: np.ndarray, extents: np.ndarray, outer: np.ndarray, fill_drain: np.ndarray, setup_cycles: float
) -> np.ndarray:
    """Cycles to run the loop nest: one cycle per temporal iteration.

    ``Π_d ceil(D_d/u_d)`` equals ``MACs / (PEs · util)``.  A systolic array
    additionally fills and drains its pipeline (``Σ_d u_d`` cycles) once per
    tile of the stationary operand (``outer`` marks its dims).
    """
    tiles = tile_counts(dims, extents)
    steady = np.prod(tiles, axis=-1, dtype=np.float64)
    stationary_tiles = np.prod(np.where(outer, tiles, 1), axis=-1, dtype=np.float64)
    pipeline = np.where(fill_drain, np.sum(np.where(extents > 1, extents, 0), axis=-1), 0)
    return steady + stationary_tiles * pipeline + setup_cycles


def reread_factors(tiles: np.ndarray, outer: np.ndarray, operand_dims: np.ndarray) -> np.ndarray:
    """``(..., 3)`` how often each operand streams from the buffer.

    The product of the outer tile counts over dims that do not index the
    operand; 1 for the stationary operand itself.
    """
    refetch = outer[..., None, :] & ~operand_dims
    return np.prod(np.where(refetch, tiles[..., None, :], 1), axis=-1, dtype=np.float64)


def buffer_bytes(operand_bytes: np.ndarray, rereads: np.ndarray) -> np.ndarray:
    """``(..., 3)`` bytes moved between the core's buffer and its array.

    Inputs and weights are read ``reread`` times; a non-stationary output is
    a partial sum that is written, then read back and written again on each
    further pass: ``O · (2·reread − 1)``.
    """
    passes = rereads.copy()
    passes[..., OUTPUT] = 2 * rereads[..., OUTPUT] - 1
    return operand_bytes * passes


def refetch_bytes(operand_bytes: np.ndarray, stationary_index: np.ndarray) -> np.ndarray:
    """``(...)`` bytes fetched again for each extra chunk of the stationary operand:
    every other operand, a partial-sum output both ways."""
    stationary = np.take_along_axis(operand_bytes, np.asarray(stationary_index)[..., None], axis=-1)[..., 0]
    others = operand_bytes.sum(axis=-1) - stationary
    return others + np.where(stationary_index == OUTPUT, 0.0, operand_bytes[..., OUTPUT])


def chunked_dram_bytes(
    compulsory: np.ndarray, stationary_bytes: np.ndarray, refetch: np.ndarray, core_buffer_bytes: np.ndarray
) -> np.ndarray:
    """Compulsory traffic plus ``refetch`` for every buffer-sized chunk of the
    stationary operand beyond the first."""
    chunks = np.maximum(np.ceil(stationary_bytes / core_buffer_bytes), 1.0)
    return compulsory + (chunks - 1.0) * refetch


def dram_bytes(
    operand_bytes: np.ndarray, stationary_index: np.ndarray, core_buffer_bytes: np.ndarray, input_on_chip: np.ndarray
) -> np.ndarray:
    """Off-chip bytes of one layer, ``(...)``.

    Compulsory traffic (input unless its producer left it on chip, weight,
    output) when the stationary operand fits the core's buffer; otherwise the
    other operands are fetched again for every further buffer-sized chunk of
    the stationary one (partial-sum outputs both ways).
    """
    stationary = np.take_along_axis(operand_bytes, np.asarray(stationary_index)[..., None], axis=-1)[..., 0]
    compulsory = operand_bytes.sum(axis=-1) - np.where(input_on_chip, operand_bytes[..., INPUT], 0.0)
    refetch = refetch_bytes(operand_bytes, stationary_index)
    return chunked_dram_bytes(compulsory, stationary, refetch, core_buffer_bytes)


def layer_latency_s(
    cycles: np.ndarray,
    clock_hz: float,
    dram: np.ndarray,
    dram_bytes_per_s: np.ndarray,
    on_chip: np.ndarray,
    noc_bytes_per_s: np.ndarray,
) -> np.ndarray:
    """Roofline: the slowest of compute, off-chip transfer and on-chip transfer."""
    return np.maximum(np.maximum(cycles / clock_hz, dram / dram_bytes_per_s), on_chip / noc_bytes_per_s)


def stationary_index_of(dataflow: Dataflow) -> int:
    return OPERANDS.index(dataflow.stationary)
