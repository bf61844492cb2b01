"""Each layer's latency, DRAM bytes and energy under a design's own shares, and the schedules, compiled.

The per-layer mapper's results live in the table store as rows (one field
per column, row ``offset[core] + rung * L + layer``; see
``objectives.evaluator``).  What a design adds is its cores' bandwidth
shares, which the roofline of ``mapper.latency_cycles`` turns into a
latency, and its mapping, which decides whether a layer's input is still on
chip.  In numpy that was a dozen ``(P, L)`` gathers and temporaries per
call, and for the greedy mapping a ``(P, C, L)`` latency table of every
layer on every core; at the batch sizes a search sends they were most of a
call once the schedule was compiled.  These kernels read the store
directly, one (design, layer) at a time, so neither the gathers nor the
table are ever materialized.  ``score`` goes on, in the same pass per
design, to the list schedule of ``objectives.schedule``, each model
instance's schedule alone, and the totals and maxima the metrics need: a
batch of 16 designs then pays one compiled call where it paid a dozen
numpy reductions.

Their arithmetic is the numpy path's, operation for operation and in the
same precision (the greedy ranking in float32, as the store's ``times``
are), with NaN propagating through max as ``np.maximum`` does, and sums
added in layer order as ``metrics.row_total`` adds them, so every result
is bit-identical to it (tests/objectives/roofline_reference.py).
``error_model="numpy"``: a division by a zero bandwidth (an idle core) gives
inf or NaN, as in numpy, instead of raising.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils
from numba.extending import intrinsic

from objectives.schedule import (_f64, _greedy_design, _i64, _max, _schedule_shared_and_alone, kernel_array,
                                 transfer_columns)


@intrinsic
def _prefetch_row(typingctx, rows, i):
    """Ask the cache for ``rows[i]`` (a hint: no value, no fault).  A batch's
    designs read their layers' rows from blocks all over the table store, which
    at P = 1024 outgrows the caches; the roofline loop's own loads left a
    third of the scoring kernel waiting on memory, and a prefetch 32 layers
    ahead (llvm.prefetch: read, keep in every level) hides most of it."""

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        zero = ir.Constant(args[1].type, 0)
        pointer = cgutils.get_item_pointer(context, builder, array_type, array, [args[1], zero], wraparound=False)
        i32 = ir.IntType(32)
        prefetch = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [pointer.type, i32, i32, i32]), "llvm.prefetch.p0"
        )
        builder.call(prefetch, [pointer, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return numba.types.void(rows, i), codegen


@numba.njit(cache=True, nogil=True, no_cfunc_wrapper=True, error_model="numpy")
def _greedy_kernel(times, core_block, dram_bw, noc_bw, core_active, order, preds, bias_s, assignment, scratch, table):
    """Fill ``assignment`` ``(P, L)``: ``times`` is the store's ``(4, N)`` float32
    (compute s, first/last bytes, steady DRAM bytes, NoC bytes), ``dram_bw`` and
    ``noc_bw`` ``(P, C)`` float32, ``bias_s`` ``(P, L, C)`` or ``(0, 0, 0)``;
    ``scratch`` ``(2, max(C, L + 1))`` float64 and ``table`` ``(C, L)`` float32 come
    from the caller (each array made here compiled a numpy overload cold)."""
    P, C = core_block.shape
    L = order.shape[1]
    core_free, finish = scratch[0, :C], scratch[1, : L + 1]
    # One design's (C, L) latencies at a time in ``table``: each core's layers
    # read in layer order, four contiguous runs (one per field) that LLVM
    # divides eight float32 at a time, then ranked from cache in placement order.
    for p in range(P):
        for c in range(C):
            block, dram, noc = core_block[p, c], dram_bw[p, c], noc_bw[p, c]
            for layer in range(L):
                # Inputs from DRAM, in float32: the ranking needs no more.
                i = block + layer
                steady = _max(times[2, i] / dram, times[3, i] / noc)
                table[c, layer] = times[1, i] / dram + _max(times[0, i], steady)
        _greedy_design(table, core_active[p], order[p], preds, bias_s, p, core_free, finish, assignment[p])


def greedy_assign(times, core_block, core_dram_bw, core_noc_bw, core_active, order, preds, bias_s) -> np.ndarray:
    """Herald-style best-fit mapping, ``(P, L)`` core per layer (see
    ``schedule.greedy_assign``), each layer's latency on each core taken
    from the store's ``times`` columns at ``core_block[p, c] + layer``
    under the core's bandwidths ``(P, C)`` in bytes/s, inputs from DRAM."""
    bias = np.zeros((0, 0, 0)) if bias_s is None else _f64(bias_s)
    assignment = np.empty(order.shape, dtype=np.int64)
    (P, L), C = order.shape, core_block.shape[1]
    _greedy_kernel(
        times, _i64(core_block), kernel_array(core_dram_bw, np.float32), kernel_array(core_noc_bw, np.float32),
        kernel_array(core_active, np.bool_), _i64(order), _i64(preds), bias, assignment, np.empty((2, max(C, L + 1))),
        np.empty((C, L), dtype=np.float32),
    )  # fmt: skip
    return assignment


# Tables derived from a workload's arrays, one per kind, kept for the last array asked by identity:
# the evaluator passes one array of each per workload (kept alive here, so its id stays its own).
_LAST_DERIVED: dict = {}


def _derived(kind: str, array: np.ndarray, derive):
    last = _LAST_DERIVED.get(kind)
    if last is None or last[0] is not array:
        last = _LAST_DERIVED[kind] = (array, derive(array))
    return last[1]


def _transfer_columns(transfer_s: np.ndarray) -> np.ndarray:
    """``schedule.transfer_columns(transfer_s)``, kept for the last array asked (one per workload)."""
    return _derived("transfer", transfer_s, transfer_columns)


def _only_pred(preds: np.ndarray) -> np.ndarray:
    """``(L,)`` each layer's predecessor if it has exactly one (its first slot), else -1.
    (In numpy, in the wrappers: a compiled helper cost each kernel's cold start 0.6 CPU s.)"""

    def only(preds):
        safe = _i64(preds)
        return np.where((safe[:, 0] >= 0) & (safe[:, 1:] < 0).all(axis=1), safe[:, 0], -1)

    return _derived("only_pred", preds, only)


PREFETCH_LAYERS = 32
"""How far ahead ``_design_roofline`` prefetches a layer's row (8, 16 and 32 measured alike at
P = 1024, 32 a little ahead; no effect at P = 16, whose rows stay in cache)."""


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True)
def _design_roofline(rows, core_block, dram_bw, noc_bw, core_buffer, layer_core, only_pred, input_bytes,
                     saved_pj_per_byte, clock_hz, p, per_cycle, latency_s, dram, dynamic, utilization):  # fmt: skip
    """Fill the ``(L,)`` rows ``latency_s``, ``dram``, ``dynamic`` and
    ``utilization`` of design ``p``, each layer on its core; ``per_cycle`` is
    ``(2, C)`` scratch.  (Called once per design: a call per layer, passing
    arrays, measured 4x slower than this loop.)"""
    # mapper.latency_cycles, with the bandwidths per cycle (the same divisions, once per core).
    for c in range(core_block.shape[1]):
        per_cycle[0, c] = dram_bw[p, c] / clock_hz
        per_cycle[1, c] = noc_bw[p, c] / clock_hz
    L = layer_core.shape[1]
    for layer in range(L):
        if layer + PREFETCH_LAYERS < L:
            ahead = layer + PREFETCH_LAYERS
            _prefetch_row(rows, core_block[p, layer_core[p, ahead]] + ahead)
        c = layer_core[p, layer]
        i = core_block[p, c] + layer  # rows[i, f], not a row view: a view pays a reference count
        # A layer's input stays in the buffer when its only predecessor ran on
        # the same core and the input fits.
        pred = only_pred[layer]
        # (Short-circuit: bitwise & on the three tests measured a few % slower.)
        fits = pred >= 0 and layer_core[p, pred] == c and input_bytes[layer] <= core_buffer[p, c]
        on_chip = 1.0 if fits else 0.0
        d_bytes = rows[i, 1] - on_chip * rows[i, 2]
        edge = rows[i, 3] - on_chip * rows[i, 4]
        dynamic[layer] = rows[i, 6] - on_chip * rows[i, 2] * saved_pj_per_byte
        dram_per_cycle = per_cycle[0, c]
        steady = _max(_max(d_bytes - edge, 0.0) / dram_per_cycle, rows[i, 5] / per_cycle[1, c])
        cycles = edge / dram_per_cycle + _max(rows[i, 0], steady)
        latency_s[layer] = cycles / clock_hz
        dram[layer] = d_bytes
        utilization[layer] = rows[i, 7]


@numba.njit(cache=True, nogil=True, no_cfunc_wrapper=True, error_model="numpy")
def _roofline_kernel(
    rows, core_block, dram_bw, noc_bw, core_buffer, layer_core, only_pred, input_bytes, saved_pj_per_byte, clock_hz,
    latency_s, dram, dynamic, utilization, per_cycle,
):  # fmt: skip
    for p in range(layer_core.shape[0]):
        _design_roofline(rows, core_block, dram_bw, noc_bw, core_buffer, layer_core, only_pred, input_bytes,
                         saved_pj_per_byte, clock_hz, p, per_cycle, latency_s[p], dram[p], dynamic[p],
                         utilization[p])  # fmt: skip


def layer_roofline(rows, core_block, core_dram_bw, core_noc_bw, core_buffer, layer_core, preds, input_bytes,
                   saved_pj_per_byte, clock_hz) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """``(P, L)`` latency (s), DRAM bytes, dynamic energy (pJ) and utilization of
    each layer on its core ``layer_core``.

    ``rows`` is the store's ``(N, 8)`` table, fields in ``evaluator.TABLE_FIELDS``
    order, read at row ``core_block[p, c] + layer``; ``core_dram_bw``,
    ``core_noc_bw`` (bytes/s) and ``core_buffer`` (bytes) are ``(P, C)``.
    A layer whose single predecessor ran on the same core, with an input of
    at most its core's buffer, reads no input from DRAM, which saves its
    DRAM read and buffer write energy (``saved_pj_per_byte``).
    """
    P, L = layer_core.shape
    latency, dram, dynamic, utilization = (np.empty((P, L)) for _ in range(4))
    _roofline_kernel(
        rows, _i64(core_block), _f64(core_dram_bw), _f64(core_noc_bw), _f64(core_buffer), _i64(layer_core),
        _only_pred(preds), _f64(input_bytes), float(saved_pj_per_byte), float(clock_hz), latency, dram, dynamic,
        utilization, np.empty((2, core_block.shape[1])),
    )  # fmt: skip
    return latency, dram, dynamic, utilization


@dataclasses.dataclass(frozen=True)
class Scored:
    """What the evaluator needs of a batch's layers and schedules.

    Per layer ``(P, L)``: ``latency_s`` and ``finish_s`` in the shared
    schedule.  Per design ``(P,)``: ``makespan_s`` and the layers' totals,
    added in layer order as ``metrics.row_total`` adds them: ``dram_bytes``,
    ``dynamic_pj`` and ``mac_slots`` (Σ MACs / utilization).  ``model_finish_s``
    ``(P, M)``: each model's last finish (``metrics.per_model_max``);
    ``instance_shared_s`` and ``instance_alone_s`` ``(P, I)``: each model
    instance's last finish in the shared schedule and with its layers alone
    on the chip (``metrics.per_block_max``).
    """

    latency_s: np.ndarray
    finish_s: np.ndarray
    makespan_s: np.ndarray
    dram_bytes: np.ndarray
    dynamic_pj: np.ndarray
    mac_slots: np.ndarray
    model_finish_s: np.ndarray
    instance_shared_s: np.ndarray
    instance_alone_s: np.ndarray


@numba.njit(cache=True, nogil=True, no_cfunc_wrapper=True, error_model="numpy")
def _score_kernel(
    rows, core_block, dram_bw, noc_bw, core_buffer, layer_core, order, preds, only_pred, transfers, input_bytes,
    saved_pj_per_byte, clock_hz, macs, model, instance, starts, latency_s, finish_s, makespan, dram_total,
    dynamic_total, mac_slots, model_finish, instance_shared, instance_alone, scratch, per_cycle,
):  # fmt: skip
    # (The float ``scratch`` (8, max(L + 1, C * I, M)) and ``per_cycle`` (2, C)
    # come from the wrapper: each array made here compiled a numpy overload cold.)
    P, C = core_block.shape
    L = layer_core.shape[1]
    I = starts.shape[0]
    core_free, alone_free, alone = scratch[0, :C], scratch[1, : C * I], scratch[2, : L + 1]
    dram, dynamic, utilization = scratch[3, :L], scratch[4, :L], scratch[5, :L]
    most = scratch[6, : model_finish.shape[1]]
    # The shared finish times in scratch, copied out in layer order: written in
    # placement order straight into (P, L), each row's lines missed in random order.
    finish = scratch[7, : L + 1]
    for p in range(P):
        _design_roofline(rows, core_block, dram_bw, noc_bw, core_buffer, layer_core, only_pred, input_bytes,
                         saved_pj_per_byte, clock_hz, p, per_cycle, latency_s[p], dram, dynamic, utilization)  # fmt: skip
        # Added left to right from the first value, as metrics.row_total adds.
        dram_sum, dynamic_sum, slot_sum = 0.0, 0.0, 0.0
        if L > 0:
            dram_sum, dynamic_sum, slot_sum = dram[0], dynamic[0], macs[0] / utilization[0]
        for layer in range(1, L):
            dram_sum += dram[layer]
            dynamic_sum += dynamic[layer]
            slot_sum += macs[layer] / utilization[layer]
        dram_total[p], dynamic_total[p], mac_slots[p] = dram_sum, dynamic_sum, slot_sum
        # The shared schedule, and each instance alone: its layers on cores of its own.
        makespan[p] = _schedule_shared_and_alone(latency_s[p], layer_core[p], instance, order[p], preds, transfers,
                                                 finish, core_free, alone, alone_free)  # fmt: skip
        # Maxima in scalars and a small local array: read-modify-writes
        # through the (P, M) and (P, I) outputs cost as much as a schedule.
        for m in range(most.shape[0]):
            most[m] = 0.0
        i, shared, alone_last = -1, 0.0, 0.0
        for layer in range(L):
            done = finish[layer]
            finish_s[p, layer] = done
            m = model[layer]
            most[m] = _max(most[m], done)
            if i + 1 < I and layer == starts[i + 1]:  # instances are contiguous runs of layers
                i += 1
                shared, alone_last = done, alone[layer]
            else:
                shared, alone_last = _max(shared, done), _max(alone_last, alone[layer])
            instance_shared[p, i], instance_alone[p, i] = shared, alone_last
        for m in range(most.shape[0]):
            model_finish[p, m] = most[m]


def score(rows, core_block, core_dram_bw, core_noc_bw, core_buffer, layer_core, order, preds, transfer_s, input_bytes,
          saved_pj_per_byte, clock_hz, macs, model, num_models, instance, starts) -> Scored:  # fmt: skip
    """Each layer's roofline (as ``layer_roofline``), the shared list schedule
    (as ``schedule.list_schedule``), each model instance's schedule alone
    (its layers on cores of their own: ``instance`` ``(L,)`` numbers them,
    ``starts`` ``(I,)`` their first layers, contiguous) and the totals and
    maxima the metrics need, in one compiled pass per design: the
    ``(P, L)`` intermediates are never materialized, and a batch of 16
    designs pays one call instead of a dozen (see ``Scored``)."""
    P, L = layer_core.shape
    I = len(starts)
    latency, finish = np.empty((P, L)), np.empty((P, L))
    makespan, dram, dynamic, slots = (np.empty(P) for _ in range(4))
    model_finish, shared, alone = np.empty((P, num_models)), np.empty((P, I)), np.empty((P, I))
    _score_kernel(
        rows, _i64(core_block), _f64(core_dram_bw), _f64(core_noc_bw), _f64(core_buffer), _i64(layer_core),
        _i64(order), _i64(preds), _only_pred(preds), _transfer_columns(transfer_s), _f64(input_bytes),
        float(saved_pj_per_byte), float(clock_hz), _f64(macs), _i64(model), _i64(instance), _i64(starts), latency,
        finish, makespan, dram, dynamic, slots, model_finish, shared, alone,
        np.empty((8, max(L + 1, core_block.shape[1] * I, num_models))), np.empty((2, core_block.shape[1])),
    )  # fmt: skip
    return Scored(latency_s=latency, finish_s=finish, makespan_s=makespan, dram_bytes=dram, dynamic_pj=dynamic,
                  mac_slots=slots, model_finish_s=model_finish, instance_shared_s=shared, instance_alone_s=alone)
