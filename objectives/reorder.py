"""Herald's schedule post-processing: look-ahead reordering that fills a core's idle time.

Herald (Kwon et al., HPCA'21, §IV-D and Fig. 9) builds a schedule from a
simple depth- or breadth-first layer order, then removes idle time that a
bad order leaves: for each core and each layer X scheduled on it, it looks
at the next ``LA − 1`` layers of that core and, if one of them, Y, could
start when X completes (its dependences are met by then), moves Y to run
right after X.  Only layers already on that core are tried, so the
layer → core mapping is unchanged; only each core's order changes.

Here a move is kept only when the whole schedule's makespan does not grow
(Herald tests dependence, memory, load balance and overlap; the makespan
test stands in for the last two and makes the pass never worse than its
input).  A core's order is re-timed by the list schedule's own recurrence,
``start = max(core free, preds' finish + transfer)``, and the result is
returned as a placement order: the order layers were timed in, which is
topological and keeps every core's new sequence, so
``schedule.list_schedule`` with it reproduces the post-processed times
exactly and the rest of the evaluator (per-model latency, progress) sees
the same schedule.

Cost: each tried move re-times the design, ``O(L·(C + D))``; at most
``L·(LA − 2)`` moves per design are tried (only where the core idles after
X), so it is an option (``Platform.schedule_lookahead``), off by default.
"""

from __future__ import annotations

import numba
import numpy as np

from objectives.schedule import _f64, _i64, _max


@numba.njit(cache=True, nogil=True, no_cfunc_wrapper=True)
def _time_sequences(latency, layer_core, seq, first, count, preds, transfer, finish, placed, ptr, core_free, done):
    """Time one design whose core ``c`` runs ``seq[first[c]:first[c] + count[c]]`` in that order.

    Fills ``finish`` ``(L,)`` and ``placed`` (the order layers were timed in);
    returns the makespan, or −1 when the sequences deadlock against the
    dependences (a layer waits for one queued behind it on another core)."""
    L = latency.shape[0]
    C = first.shape[0]
    ptr[:] = 0
    core_free[:] = 0.0
    done[:] = False
    timed, last = 0, 0.0
    while timed < L:
        progressed = False
        for c in range(C):
            while ptr[c] < count[c]:
                layer = seq[first[c] + ptr[c]]
                start = core_free[c]
                ready = True
                for d in range(preds.shape[1]):
                    pred = preds[layer, d]
                    if pred >= 0:
                        if not done[pred]:
                            ready = False
                            break
                        arrival = finish[pred]
                        if layer_core[pred] != c:
                            arrival += transfer[layer, d]
                        start = _max(start, arrival)
                if not ready:
                    break
                finish[layer] = start + latency[layer]
                core_free[c] = finish[layer]
                done[layer] = True
                placed[timed] = layer
                timed += 1
                ptr[c] += 1
                last = _max(last, finish[layer])
                progressed = True
        if not progressed:
            return -1.0
    return last


@numba.njit(cache=True, nogil=True, no_cfunc_wrapper=True)
def _ready_at(layer, c, layer_core, preds, transfer, finish):
    """When ``layer``'s inputs are all on core ``c`` under the current times."""
    ready = 0.0
    for d in range(preds.shape[1]):
        pred = preds[layer, d]
        if pred >= 0:
            arrival = finish[pred]
            if layer_core[pred] != c:
                arrival += transfer[layer, d]
            ready = _max(ready, arrival)
    return ready


@numba.njit(cache=True, nogil=True, no_cfunc_wrapper=True)
def _reorder_kernel(latency_s, layer_core, order, preds, transfer_s, num_cores, lookahead, out):
    P, L = latency_s.shape
    C = num_cores
    seq = np.empty(L, dtype=np.int64)
    first = np.zeros(C, dtype=np.int64)
    count = np.zeros(C, dtype=np.int64)
    fill = np.zeros(C, dtype=np.int64)
    finish, trial_finish = np.empty(L), np.empty(L)
    placed, trial_placed = np.empty(L, dtype=np.int64), np.empty(L, dtype=np.int64)
    ptr, core_free, done = np.empty(C, dtype=np.int64), np.empty(C), np.empty(L, dtype=np.bool_)
    for p in range(P):
        cores = layer_core[p]
        latency = latency_s[p]
        # Each core's layers in the placement order: the schedule to improve.
        count[:] = 0
        for t in range(L):
            count[cores[order[p, t]]] += 1
        first[0] = 0
        for c in range(1, C):
            first[c] = first[c - 1] + count[c - 1]
        fill[:] = 0
        for t in range(L):
            layer = order[p, t]
            c = cores[layer]
            seq[first[c] + fill[c]] = layer
            fill[c] += 1
        best = _time_sequences(latency, cores, seq, first, count, preds, transfer_s, finish, placed, ptr, core_free,
                               done)  # fmt: skip
        moved = False
        for c in range(C):
            for i in range(count[c] - 1):
                x = seq[first[c] + i]
                done_at = finish[x]
                if finish[seq[first[c] + i + 1]] - latency[seq[first[c] + i + 1]] <= done_at:
                    continue  # the core does not idle after X
                # Herald's look-ahead: the layers 2 … LA−1 places after X (the next one is already there).
                for ahead in range(2, lookahead):
                    j = i + ahead
                    if j >= count[c]:
                        break
                    y = seq[first[c] + j]
                    if _ready_at(y, c, cores, preds, transfer_s, finish) > done_at:
                        continue
                    for k in range(j, i + 1, -1):  # Y right after X, the layers between shift back
                        seq[first[c] + k] = seq[first[c] + k - 1]
                    seq[first[c] + i + 1] = y
                    makespan = _time_sequences(latency, cores, seq, first, count, preds, transfer_s, trial_finish,
                                               trial_placed, ptr, core_free, done)  # fmt: skip
                    if makespan >= 0.0 and makespan <= best:
                        best = makespan
                        finish[:] = trial_finish
                        placed[:] = trial_placed
                        moved = True
                        break
                    for k in range(i + 1, j):  # undo
                        seq[first[c] + k] = seq[first[c] + k + 1]
                    seq[first[c] + j] = y
        out[p] = placed if moved else order[p]  # unchanged: the caller's order, as given


def herald_reorder(latency_s: np.ndarray, layer_core: np.ndarray, order: np.ndarray, preds: np.ndarray,
                   transfer_s: np.ndarray, num_cores: int, lookahead: int) -> np.ndarray:
    """``(P, L)`` the placement order after Herald's post-processing with look-ahead depth ``lookahead``.

    Arguments as ``schedule.list_schedule``'s (``order`` a topological
    placement order per design).  Each core's layers keep their core; the
    makespan of ``list_schedule`` with the returned order is at most that
    with ``order``.  ``lookahead`` < 3 tries nothing (Herald's LA counts the
    layer right after X, which is already there).
    """
    order = _i64(order)
    out = np.empty_like(order)
    _reorder_kernel(_f64(latency_s), _i64(layer_core), order, _i64(preds), _f64(transfer_s), int(num_cores),
                    int(lookahead), out)  # fmt: skip
    return out
