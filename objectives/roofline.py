"""Each layer's latency, DRAM bytes and energy under a design's own shares, compiled.

The per-layer mapper's results live in the table store as columns (one per
field, ``offset[core] + rung * L + layer``; see ``objectives.evaluator``).
What a design adds is its cores' bandwidth shares, which the roofline of
``mapper.latency_cycles`` turns into a latency, and its mapping, which
decides whether a layer's input is still on chip.  In numpy that was a
dozen ``(P, L)`` gathers and temporaries per call, and for the greedy
mapping a ``(P, C, L)`` latency table of every layer on every core; at the
batch sizes a search sends they were most of a call once the schedule was
compiled.  These kernels read the store directly, one (design, layer) at a
time, so neither the gathers nor the table are ever materialized.

Their arithmetic is the numpy path's, operation for operation and in the
same precision (the greedy ranking in float32, as the store's ``times``
columns are), with NaN propagating through max as ``np.maximum`` does, so
every result is bit-identical to it (tests/objectives/roofline_reference.py).
``error_model="numpy"``: a division by a zero bandwidth (an idle core) gives
inf or NaN, as in numpy, instead of raising.
"""

from __future__ import annotations

import numba
import numpy as np

from objectives.schedule import _f64, _greedy_design, _i64, _max


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _greedy_kernel(times, core_block, dram_bw, noc_bw, core_active, order, preds, bias_s, assignment):
    """Fill ``assignment`` ``(P, L)``: ``times`` is the store's ``(4, N)`` float32
    (compute s, first/last bytes, steady DRAM bytes, NoC bytes), ``dram_bw`` and
    ``noc_bw`` ``(P, C)`` float32, ``bias_s`` ``(P, L, C)`` or ``(0, 0, 0)``."""
    P, C = core_block.shape
    L = order.shape[1]
    core_free, finish, finish_if = np.empty(C), np.empty(L), np.empty(C)
    # One design's (C, L) latencies at a time: read from the store in layer
    # order, one field and core at a time (streams the prefetcher follows;
    # the placement order jumps between layers), then ranked from cache.
    table = np.empty((C, L), dtype=np.float32)
    for p in range(P):
        for c in range(C):
            block = core_block[p, c]
            for layer in range(L):
                # Inputs from DRAM, in float32: the ranking needs no more.
                table[c, layer] = times[2, block + layer] / dram_bw[p, c]
            for layer in range(L):
                table[c, layer] = _max(table[c, layer], times[3, block + layer] / noc_bw[p, c])
            for layer in range(L):
                table[c, layer] = _max(times[0, block + layer], table[c, layer])
            for layer in range(L):
                table[c, layer] = times[1, block + layer] / dram_bw[p, c] + table[c, layer]
        _greedy_design(table, core_active[p], order[p], preds, bias_s, p, core_free, finish, finish_if, assignment[p])


def greedy_assign(times, core_block, core_dram_bw, core_noc_bw, core_active, order, preds, bias_s) -> np.ndarray:
    """Herald-style best-fit mapping, ``(P, L)`` core per layer (see
    ``schedule.greedy_assign``), each layer's latency on each core taken
    from the store's ``times`` columns at ``core_block[p, c] + layer``
    under the core's bandwidths ``(P, C)`` in bytes/s, inputs from DRAM."""
    bias = np.zeros((0, 0, 0)) if bias_s is None else np.ascontiguousarray(bias_s, dtype=np.float64)
    assignment = np.empty(order.shape, dtype=np.int64)
    _greedy_kernel(
        times, _i64(core_block), np.ascontiguousarray(core_dram_bw, dtype=np.float32),
        np.ascontiguousarray(core_noc_bw, dtype=np.float32), np.ascontiguousarray(core_active, dtype=np.bool_),
        _i64(order), _i64(preds), bias, assignment,
    )  # fmt: skip
    return assignment


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _roofline_kernel(
    columns, core_block, dram_bw, noc_bw, core_buffer, layer_core, preds, input_bytes, saved_pj_per_byte, clock_hz,
    latency_s, dram, dynamic, utilization,
):  # fmt: skip
    P, L = layer_core.shape
    D = preds.shape[1]
    # One design at a time, its layers' store rows read field by field in
    # layer order (a few streams the prefetcher follows, rather than eight
    # fields at once), then combined from cache.
    index = np.empty(L, dtype=np.int64)
    field = np.empty((columns.shape[0], L))
    for p in range(P):
        for layer in range(L):
            index[layer] = core_block[p, layer_core[p, layer]] + layer
        for f in range(columns.shape[0]):
            for layer in range(L):
                field[f, layer] = columns[f, index[layer]]
        for layer in range(L):
            c = layer_core[p, layer]
            # A layer's input stays in the buffer when its only predecessor
            # ran on the same core and the input fits.
            first = preds[layer, 0]
            single = first >= 0
            for d in range(1, D):
                single = single and preds[layer, d] < 0
            same_core = c == layer_core[p, max(first, 0)]
            on_chip = 1.0 if single and same_core and input_bytes[layer] <= core_buffer[p, c] else 0.0
            d_bytes = field[1, layer] - on_chip * field[2, layer]
            edge = field[3, layer] - on_chip * field[4, layer]
            dynamic[p, layer] = field[6, layer] - on_chip * field[2, layer] * saved_pj_per_byte
            # mapper.latency_cycles, with the bandwidths per cycle.
            dram_per_cycle = dram_bw[p, c] / clock_hz
            steady = _max(_max(d_bytes - edge, 0.0) / dram_per_cycle, field[5, layer] / (noc_bw[p, c] / clock_hz))
            cycles = edge / dram_per_cycle + _max(field[0, layer], steady)
            latency_s[p, layer] = cycles / clock_hz
            dram[p, layer] = d_bytes
            utilization[p, layer] = field[7, layer]

def layer_roofline(columns, core_block, core_dram_bw, core_noc_bw, core_buffer, layer_core, preds, input_bytes,
                   saved_pj_per_byte, clock_hz) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """``(P, L)`` latency (s), DRAM bytes, dynamic energy (pJ) and utilization of
    each layer on its core ``layer_core``.

    ``columns`` are the store's ``(8, N)`` fields in ``evaluator.TABLE_FIELDS``
    order, read at ``core_block[p, c] + layer``; ``core_dram_bw``,
    ``core_noc_bw`` (bytes/s) and ``core_buffer`` (bytes) are ``(P, C)``.
    A layer whose single predecessor ran on the same core, with an input of
    at most its core's buffer, reads no input from DRAM, which saves its
    DRAM read and buffer write energy (``saved_pj_per_byte``).
    """
    P, L = layer_core.shape
    latency, dram, dynamic, utilization = (np.empty((P, L)) for _ in range(4))
    _roofline_kernel(
        columns, _i64(core_block), _f64(core_dram_bw), _f64(core_noc_bw), _f64(core_buffer), _i64(layer_core),
        _i64(preds), _f64(input_bytes), float(saved_pj_per_byte), float(clock_hz), latency, dram, dynamic, utilization,
    )  # fmt: skip
    return latency, dram, dynamic, utilization

