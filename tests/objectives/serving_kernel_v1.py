"""The shared/pinned serving kernel as it was before its speed-up, frozen as an oracle.

The kernel in ``objectives.serving_kernels`` was made faster (idle
intervals kept in time order and searched from the latest, cores that
cannot win not searched, layer power read from a table); its results must
stay bit-identical to this version's, which the published serving
experiments ran on.  Only the tests import it.
"""

import numba
import numpy as np

from objectives.schedule import _max
from objectives.serving_kernels import _gives_up, _next_request, _start_design


@numba.njit(cache=True, inline="always")
def _earliest_start(gap_start, gap_end, gaps, tail, ready, latency):
    """The earliest start ≥ ``ready`` on a core: in one of its ``gaps`` idle
    intervals that fits ``latency``, or after its last layer (``tail``);
    returns (start, gap index or −1)."""
    best, where = _max(tail, ready), -1
    for i in range(gaps):
        start = _max(gap_start[i], ready)
        if start + latency <= gap_end[i] and start < best:
            best, where = start, i
    return best, where


@numba.njit(cache=True, inline="always")
def _gap_bounds(c, gap_start, gap_end, gaps, gap_hi, gap_long):
    """Core c's latest idle end and longest idle interval: most layers fit no gap, and these say so at once."""
    hi, longest = -np.inf, -np.inf
    for i in range(gaps[c]):
        hi = max(hi, gap_end[c, i])
        longest = max(longest, gap_end[c, i] - gap_start[c, i])
    gap_hi[c], gap_long[c] = hi, longest


@numba.njit(cache=True, inline="always")
def _add_gap(gap_start, gap_end, gaps, start, end, max_gaps):
    """Record the idle interval [start, end); when full, forget the one ending first. Returns the count."""
    if end <= start:
        return gaps
    if gaps < max_gaps:
        gap_start[gaps], gap_end[gaps] = start, end
        return gaps + 1
    first = 0
    for i in range(1, gaps):
        if gap_end[i] < gap_end[first]:
            first = i
    if gap_end[first] < end:
        gap_start[first], gap_end[first] = start, end
    return gaps


@numba.njit(cache=True, nogil=True)
def greedy_stream_kernel(
    latency_s, dynamic_j, chained_latency_s, chained_dynamic_j, allowed, layer, preds, transfer_s, single,
    first, count, arrival_s, outstanding, think_s, load, feasible, qos_s, measured, abandon, max_gaps,
    finish, arrival, dynamic, busy, peak,
):  # fmt: skip
    """Shared and pinned: requests first come, first served; each layer, in
    topological order, on the allowed core (``allowed`` ``(P, T, C)``) where
    it would finish first — Herald's best fit over the stream — pricing the
    NoC transfer of inputs from other cores and the on-chip input of a
    chained layer.  A core's idle intervals (while a layer waited for its
    inputs) stay open to later requests' layers that fit in them
    (insertion-based list scheduling, as HEFT's); each core remembers its
    ``max_gaps`` latest, and forgets those that end before the current
    request arrives (arrivals only grow).  Layers run to completion, and
    a later request never delays an earlier one."""
    P, L, C = latency_s.shape
    T, J, D = preds.shape
    core_free = np.empty(C)
    gap_start, gap_end = np.empty((C, max_gaps)), np.empty((C, max_gaps))
    gaps = np.empty(C, dtype=np.int64)
    gap_hi, gap_long = np.empty(C), np.empty(C)
    done_at = np.empty(J)
    core_of = np.empty(J, dtype=np.int64)
    local_at, remote_at, pred_core = np.empty(D), np.empty(D), np.empty(D, dtype=np.int64)
    next_k = np.empty(T, dtype=np.int64)
    over = np.empty(T, dtype=np.int64)
    for p in range(P):
        if not _start_design(p, feasible, finish, arrival, dynamic, next_k, over):
            continue
        core_free[:] = 0.0
        gaps[:] = 0
        gap_hi[:] = -np.inf
        gap_long[:] = -np.inf
        energy = 0.0
        while True:
            t, release = _next_request(next_k, first, count, arrival_s, outstanding, think_s, load[p], finish[p],
                                       arrival[p])  # fmt: skip
            if t < 0:
                break
            r = first[t] + next_k[t]
            next_k[t] += 1
            for c in range(C):  # idle time before this arrival is lost to every later request
                kept = 0
                for i in range(gaps[c]):
                    if gap_end[c, i] > release:
                        gap_start[c, kept], gap_end[c, kept] = gap_start[c, i], gap_end[c, i]
                        kept += 1
                if kept < gaps[c]:
                    gaps[c] = kept
                    _gap_bounds(c, gap_start, gap_end, gaps, gap_hi, gap_long)
            last = release
            for j in range(J):
                g = layer[t, j]
                if g < 0:
                    break
                # The predecessors' outputs: when each is ready on its own core and elsewhere.
                n = 0
                for d in range(D):
                    q = preds[t, j, d]
                    if q >= 0:
                        local_at[n], remote_at[n], pred_core[n] = done_at[q], done_at[q] + transfer_s[t, j, d], core_of[q]
                        n += 1
                chain_core = pred_core[0] if single[t, j] else -1
                best, best_finish, best_latency, best_start, best_gap = -1, np.inf, 0.0, 0.0, -1
                for c in range(C):
                    if not allowed[p, t, c]:
                        continue
                    ready = release
                    for k in range(n):
                        at = local_at[k] if pred_core[k] == c else remote_at[k]
                        ready = at if at > ready else ready  # finite times: no NaN to propagate
                    lat = chained_latency_s[p, g, c] if c == chain_core else latency_s[p, g, c]
                    if ready + lat > gap_hi[c] or lat > gap_long[c]:  # fits no idle interval
                        start, where = (core_free[c] if core_free[c] > ready else ready), -1
                    else:
                        start, where = _earliest_start(gap_start[c], gap_end[c], gaps[c], core_free[c], ready, lat)
                    if best < 0 or start + lat < best_finish:
                        best, best_finish, best_latency, best_start, best_gap = c, start + lat, lat, start, where
                best_energy = chained_dynamic_j[p, g, best] if best == chain_core else dynamic_j[p, g, best]
                if best_gap >= 0:  # the idle interval it went into leaves up to two
                    before, after = gap_start[best, best_gap], gap_end[best, best_gap]
                    gaps[best] -= 1
                    gap_start[best, best_gap] = gap_start[best, gaps[best]]
                    gap_end[best, best_gap] = gap_end[best, gaps[best]]
                    gaps[best] = _add_gap(gap_start[best], gap_end[best], gaps[best], before, best_start, max_gaps)
                    gaps[best] = _add_gap(gap_start[best], gap_end[best], gaps[best], best_finish, after, max_gaps)
                else:
                    gaps[best] = _add_gap(gap_start[best], gap_end[best], gaps[best], core_free[best], best_start,
                                          max_gaps)  # fmt: skip
                    core_free[best] = best_finish
                _gap_bounds(best, gap_start, gap_end, gaps, gap_hi, gap_long)
                done_at[j] = best_finish
                core_of[j] = best
                busy[p, best] += best_latency
                energy += best_energy
                if best_latency > 0:
                    peak[p, best] = _max(peak[p, best], best_energy / best_latency)
                last = _max(last, best_finish)
            finish[p, r] = last
            if _gives_up(r, t, last - release, measured, qos_s, abandon, over):
                break
        dynamic[p] = energy
