"""The mapper's search loops, compiled: every candidate's objective and buffer
need, and the choice per capacity rung.

``objectives/mapper.py`` states the cost model once, as numpy over a batch
of candidate mappings (``dram_level`` and ``evaluate_mappings``); that is
what the chosen mappings are reported from and what the brute-force tests
enumerate.  Searching with it costs a few microseconds per candidate, all
of it numpy's per-call overhead on ``(n, 8)`` arrays of a few thousand
rows, and a core configuration has tens of thousands of candidates.
:func:`candidate_scores` is the same arithmetic as one loop per candidate —
operation for operation, integers where numpy has integers, so its
objective and need are those of ``evaluate_mappings`` bit for bit
(``tests/objectives/test_mapper_kernels.py`` holds it to that) — and only
the two numbers the search needs.  Machine code is cached next to the module
(``cache=True``), as for the schedule kernels.
"""

from __future__ import annotations

import numba
import numpy as np

# Indices into the ``params`` vector of candidate_scores (a Core's scalars).
(P_WORD, P_ACC, P_MAC, P_RF_READ, P_RF_WRITE, P_NOC, P_BUF_READ, P_BUF_WRITE, P_DRAM, P_DRAM_BPC, P_NOC_BPC,
 P_PIPELINE, P_SETUP, P_STATIC, P_CYCLE_SCALE) = range(15)
OBJECTIVE_CODES = {"edp": 0, "latency": 1, "energy": 2}
_N, _G, _K, _C, _Y, _X, _R, _S = range(8)
_INPUT, _WEIGHT, _OUTPUT = range(3)


@numba.njit(cache=True, no_cfunc_wrapper=True)
def _touched(extent, taps, stride_g, dilation_g, stride, transposed):
    """``mapper._rows``: input rows touched by ``extent`` output rows and ``taps``
    filter rows (stride and dilation divided by their common factor)."""
    if transposed:
        return -(-extent // stride)
    window, dense = (extent - 1) * stride_g + (taps - 1) * dilation_g + 1, extent * taps
    return dense if dense < window else window  # min(): the builtin compiled one more overload cold


@numba.njit(cache=True, nogil=True, no_cfunc_wrapper=True, error_model="numpy")
def candidate_scores(layer, u, t, dims, opdims, stride_g, dilation_g, stride, transposed, density, macs,
                     dram_order, rf_orders, rf_ops, params, objective, score, need, ints, floats):  # pragma: no cover
    """Fill ``score`` ``(len(rf_ops), n)``, the objective, and ``need`` ``(n,)``,
    the double-buffered need, of ``n`` candidates with one buffer operand (its
    DRAM loop order ``dram_order``), under each RF operand of ``rf_ops``
    (buffer loop orders ``rf_orders``).  ``ints`` ``(4, 8)`` int64 and
    ``floats`` ``(3, 3)`` are scratch: arrays made here compiled a numpy
    overload each cold, and so did the builtins ``min`` and ``max``, which
    are written out as the selects they compile to.

    ``layer`` ``(n,)``, ``u`` and ``t`` ``(n, 8)``: each candidate's layer,
    spatial factors and DRAM tile counts; per layer ``dims`` ``(L, 8)``,
    ``opdims`` ``(L, 3, 8)`` and the window terms.  Each line is the
    numpy model's line of the same name in ``mapper.dram_level`` and
    ``mapper.evaluate_mappings``.
    """
    n = len(layer)
    w, a = params[P_WORD], params[P_ACC]
    pipeline, setup = np.int64(params[P_PIPELINE]), np.int64(params[P_SETUP])
    steps, b, tt, ext = ints[0], ints[1], ints[2], ints[3]
    factor_above, running_above, reuse = floats[0], floats[1], floats[2]
    for i in range(n):
        l = layer[i]
        D = dims[l]
        for d in range(8):
            steps[d] = -(-D[d] // u[i, d])
            td = steps[d] if steps[d] < t[i, d] else t[i, d]  # min(t, steps)
            b[d] = -(-steps[d] // td)
            tt[d] = -(-steps[d] // b[d])
            covered = u[i, d] * b[d]
            ext[d] = covered if covered < D[d] else D[d]  # min(D, covered)
        sg, dg, st, tr = stride_g[l], dilation_g[l], stride[l], transposed[l]
        rows_tile = _touched(ext[_Y], ext[_R], sg, dg, st, tr)
        cols_tile = _touched(ext[_X], ext[_S], sg, dg, st, tr)
        nc = np.float64(D[_N] * D[_G] * D[_C])
        v_in = nc * np.float64(tt[_Y] * tt[_R] * rows_tile) * np.float64(tt[_X] * tt[_S] * cols_tile)
        p_w, p_out, f_w, f_out = 1, 1, 1, 1
        for d in range(8):
            if opdims[l, _WEIGHT, d]:
                p_w *= D[d]
                f_w *= ext[d]
            if opdims[l, _OUTPUT, d]:
                p_out *= D[d]
                f_out *= ext[d]
        v_w, v_out = np.float64(p_w), np.float64(p_out)

        # DRAM-level reuse, then the traffic it implies (mapper._reuse, _traffic).
        for o in range(3):
            factor, running = 1.0, 1.0
            for d in dram_order:
                if opdims[l, o, d]:
                    if tt[d] > 1:
                        factor = running
                else:
                    running = running * tt[d]
            factor_above[o], running_above[o] = factor, running
        reads = v_in * factor_above[_INPUT] * w + v_w * factor_above[_WEIGHT] * w
        passes = factor_above[_OUTPUT] - 1.0
        writes = v_out * (w + passes * a)
        psum_reads = v_out * passes * a
        dram = reads + psum_reads + writes

        f_in = np.float64(ext[_N] * ext[_G] * ext[_C]) * rows_tile * cols_tile
        need[i] = 2.0 * (f_in * w + np.float64(f_w) * w + np.float64(f_out) * a)
        edge = f_in * w + np.float64(f_w) * w + np.float64(f_out) * w

        total_steps = 1
        pes_used = 1
        reduction = 1
        for d in range(8):
            total_steps *= steps[d]
            pes_used *= u[i, d]
            if not opdims[l, _OUTPUT, d]:
                reduction *= u[i, d]
        total_steps_f = np.float64(total_steps)
        reduce_bytes = total_steps_f * np.float64(pes_used) * (1.0 - 1.0 / np.float64(reduction)) * density[l] * a
        mac_pj = macs[l] * params[P_MAC]

        for k in range(len(rf_ops)):
            rf_op = rf_ops[k]
            slide = rf_op != _WEIGHT
            if slide:
                a_rows = steps[_Y] * _touched(u[i, _Y], D[_R], sg, dg, st, tr)
                a_cols = steps[_X] * _touched(u[i, _X], D[_S], sg, dg, st, tr)
            else:
                a_rows = steps[_Y] * steps[_R] * _touched(u[i, _Y], u[i, _R], sg, dg, st, tr)
                a_cols = steps[_X] * steps[_S] * _touched(u[i, _X], u[i, _S], sg, dg, st, tr)
            a_in = nc * a_rows * a_cols
            for o in range(3):
                factor, running = factor_above[o], running_above[o]
                for d in rf_orders[k]:
                    indexed = opdims[l, o, d] and not (slide and o == _INPUT and (d == _R or d == _S))
                    if indexed:
                        if b[d] > 1:
                            factor = running
                    else:
                        running = running * b[d]
                reuse[o] = factor
            a_reads = a_in * reuse[_INPUT] * w + v_w * reuse[_WEIGHT] * w
            a_passes = reuse[_OUTPUT] - 1.0
            a_writes = v_out * (w + a_passes * a)
            a_psum_reads = v_out * a_passes * a
            noc = a_reads + v_out * w
            psum = a_psum_reads + (a_writes - v_out * w)

            rf_steps = 1
            for d in range(8):
                if opdims[l, rf_op, d]:
                    rf_steps *= steps[d]
            rf_tiles = rf_steps * reuse[rf_op]
            compute = (total_steps_f * density[l] + rf_tiles * pipeline + setup) * params[P_CYCLE_SCALE]

            rf_pj = macs[l] * ((2 * w + a) * params[P_RF_READ] + a * params[P_RF_WRITE]) + (
                a_reads + a_psum_reads) * params[P_RF_WRITE]
            noc_pj = (noc + psum + reduce_bytes) * params[P_NOC]
            buffer_read = a_reads + a_psum_reads + writes
            buffer_written = a_writes + reads + psum_reads
            buffer_pj = buffer_read * params[P_BUF_READ] + buffer_written * params[P_BUF_WRITE]
            dram_pj = dram * params[P_DRAM]
            energy = -0.0 + mac_pj + rf_pj + noc_pj + buffer_pj + dram_pj  # numpy's sum over the levels

            # max(x, y) as the builtin selects it: y if y > x else x.
            spill = dram - edge
            spill = 0.0 if 0.0 > spill else spill
            steady, by_noc = spill / params[P_DRAM_BPC], noc / params[P_NOC_BPC]
            steady = by_noc if by_noc > steady else steady
            latency = edge / params[P_DRAM_BPC] + (steady if steady > compute else compute)
            energy = energy + params[P_STATIC] * latency
            if objective == 0:
                score[k, i] = energy * latency
            elif objective == 1:
                score[k, i] = latency
            else:
                score[k, i] = energy


@numba.njit(cache=True, nogil=True, no_cfunc_wrapper=True)
def choose_sorted(score, need, order, starts, capacities, chosen, fits, argbest):  # pragma: no cover - compiled
    """``mapper._choose`` over candidates sorted by (layer, need) (``order``;
    layer ``l``'s are ``order[starts[l]:starts[l + 1]]``): a walk up each
    layer's needs keeps the cheapest so far (the later of equals), and each
    capacity takes the walk where its fitting candidates end; where none
    fits, the layer's least-need candidate.  Fills ``chosen`` and ``fits``
    ``(R, L)``, zeros from the caller (a layer without candidates keeps
    them); ``argbest`` ``(len(order),)`` is scratch."""
    for l in range(len(starts) - 1):
        lo, hi = starts[l], starts[l + 1]
        if lo == hi:
            continue
        best = score[order[lo]]
        arg = lo
        for i in range(lo, hi):
            s = score[order[i]]
            if s < best or s != s:  # as np.minimum: NaN wins
                best = s
            if s <= best:
                arg = i
            argbest[i] = arg
        for r in range(len(capacities)):
            # the first of the layer's candidates needing more than the capacity
            a, b = lo, hi
            while a < b:
                m = (a + b) // 2
                if need[order[m]] <= capacities[r]:
                    a = m + 1
                else:
                    b = m
            fits[r, l] = a > lo
            chosen[r, l] = order[argbest[a - 1] if a > lo else lo]
