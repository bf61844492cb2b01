"""The serving simulations, compiled: one loop per design over a stream of requests.

Every kernel takes the same description of the stream (see
``objectives.serving.RequestStream``): requests numbered tenant by tenant
(tenant t owns ``first[t] .. first[t] + count[t] - 1``), each open-loop
request's arrival at load 1 (``arrival_s``, divided by the design's load
multiplier, so every design and load sees the same requests), and per
tenant its closed-loop population (``outstanding``, 0 for open loop) and
think time.  A closed-loop tenant's k-th request arrives ``think_s`` after
its (k − outstanding)-th finishes; its first ``outstanding`` arrive at 0.
Requests enter in arrival order, ties to the lower tenant.

Each tenant's model is its layers in topological order (``layer`` ``(T, J)``
global layer index, −1 padded; ``preds`` ``(T, J, D)`` local predecessor
index; ``transfer_s`` ``(T, J, D)`` the NoC delay of that predecessor's
output when it ran on another core; ``single`` ``(T, J)`` whether the layer
has exactly one predecessor, so its input stays on chip when that
predecessor ran on the same core).  Costs are per design, layer and core
``(P, L, C)``: with the input from DRAM (``latency_s``, ``dynamic_j``) and
chained on the same core (``chained_latency_s``, ``chained_dynamic_j``).

``qos_s`` ``(T,)``, ``measured`` ``(R,)`` and ``abandon`` ``(T,)``: a design
is given up (its later requests left NaN) once a tenant has more than
``abandon[t]`` measured requests over its bound.

Outputs, filled in place: ``finish`` ``(P, R)`` and ``arrival`` ``(P, R)``
(closed-loop arrivals depend on the design), ``dynamic`` ``(P,)`` joules,
``busy`` ``(P, C)`` seconds, ``peak`` ``(P, C)`` the largest power (W) of a
layer each core ran.
"""

from __future__ import annotations

import numba
import numpy as np

from objectives.schedule import _max


@numba.njit(cache=True, inline="always")
def _next_request(next_k, first, count, arrival_s, outstanding, think_s, load, finish_row, arrival_row):
    """The tenant whose next request arrives first and that arrival (−1 when all have entered).

    A closed-loop request whose predecessor has not finished yet (its finish
    is still NaN) is not due."""
    best, best_a = -1, np.inf
    for t in range(first.shape[0]):
        k = next_k[t]
        if k >= count[t]:
            continue
        if outstanding[t] > 0:
            if k < outstanding[t]:
                a = 0.0
            else:
                done = finish_row[first[t] + k - outstanding[t]]
                if done != done:
                    continue
                a = done + think_s[t]
        else:
            a = arrival_s[first[t] + k] / load
        if best < 0 or a < best_a:
            best, best_a = t, a
    if best >= 0:
        arrival_row[first[best] + next_k[best]] = best_a
    return best, best_a


@numba.njit(cache=True, inline="always")
def _start_design(p, feasible, finish, arrival, dynamic, next_k, over) -> bool:
    """Reset the per-design state; an infeasible design is not simulated (``inf`` everywhere), returns false."""
    next_k[:] = 0
    over[:] = 0
    if not feasible[p]:
        finish[p, :] = np.inf
        arrival[p, :] = np.inf
        dynamic[p] = np.inf
        return False
    finish[p, :] = np.nan  # not finished yet
    return True


@numba.njit(cache=True, inline="always")
def tenant_of_requests(first, count):
    """``(R,)`` each request's tenant (requests are numbered tenant by tenant)."""
    tenant_of = np.empty(count.sum(), dtype=np.int64)
    for t in range(first.shape[0]):
        tenant_of[first[t] : first[t] + count[t]] = t
    return tenant_of


@numba.njit(cache=True, inline="always")
def _gives_up(r, t, latency, measured, qos_s, abandon, over) -> bool:
    """Count a measured request over its bound; true once its tenant has more than
    ``abandon[t]`` of them (the SLA is lost: ``qps_at_sla`` stops simulating the design)."""
    if measured[r] and latency > qos_s[t]:
        over[t] += 1
        return over[t] > abandon[t]
    return False


#: a core keeping more idle intervals than this finds, by bisection, the first that ends late enough
BISECT_FROM = 16

#: a core that keeps every idle interval groups them in blocks of 2**BLOCK positions, each block with an
#: upper bound on the lengths of its intervals (``longest``), so the forward scan skips whole blocks
BLOCK = 5
WIDTH = 1 << BLOCK


@numba.njit(cache=True, inline="always")
def _earliest_start(gap_start, gap_end, c, h, gaps, tail, ready, latency):
    """The earliest start ≥ ``ready`` on core c: in one of its ``gaps`` idle
    intervals (positions ``h`` .. ``h + gaps − 1`` of its row) that fits
    ``latency``, or after its last layer (``tail``); returns (start, interval
    index from ``h``, or −1).

    A core's idle intervals are disjoint and kept in time order, so only the
    latest ones can end late enough (``ready + latency``): the scan walks back
    from the latest and stops at the first that ends too soon — usually at
    once.  As layers take positive time, at most one interval fits at a
    given start, so no tie depends on the order they are kept in.  With more
    than :data:`BISECT_FROM` intervals the kernel calls :func:`_search_forward`
    instead."""
    best = tail if tail > ready else ready
    where = -1
    need = ready + latency
    i = gaps - 1
    while i >= 0 and gap_end[c, h + i] >= need:
        start = gap_start[c, h + i] if gap_start[c, h + i] > ready else ready
        if start + latency <= gap_end[c, h + i] and start < best:
            best, where = start, i
        i -= 1
    return best, where


@numba.njit(cache=True)
def _search_forward(gap_start, gap_end, longest, c, h, gaps, tail, ready, latency, bound, blocks):
    """:func:`_earliest_start` on a core with many intervals kept (deep
    backfilling on a stream that queues far ahead), where the walk back
    would read every interval between ``ready + latency`` and the bound.
    Intervals starting at or after ``bound`` (the finish another core
    already offers) may be left out: a start in them finishes no earlier
    than ``bound``, so the caller, which takes only a finish below it,
    decides the same without them.

    The first interval that ends late enough is found by bisection (the
    ends, too, are in time order, the intervals being disjoint), and the
    scan goes forward from it to the first that fits — a later one starts
    later, so that one is the earliest start.  Nearly every interval it
    passes is too short: a core booked far ahead keeps the slivers its
    layers left while waiting for their inputs.  With ``blocks`` (the core
    keeps every interval, and ``longest`` bounds each block's lengths), the
    scan passes a whole block whose bound is below the latency without
    reading it, and gives a block it reads through without a fit its exact
    bound.

    Compiled apart and called from the kernel's own body: inlined, or called
    from an inlined function, its array arguments kept numba from pruning
    their reference counts (an atomic increment and decrement per call, on
    every core tried for every layer)."""
    best = tail if tail > ready else ready
    where = -1
    need = ready + latency
    # The first interval ending at or after need, by a bisection without a branch on the comparison (one
    # goes either way at random).  It answers gaps - 1 when none does, which the scan then finds too short
    # (the kernel calls this only when the last interval ends late enough).
    lo, n = 0, gaps
    while n > 1:
        half = n >> 1
        lo += half * (gap_end[c, h + lo + half - 1] < need)  # (a product: a conditional compiled to a branch)
        n -= half
    limit = best if best < bound else bound  # an interval starting there or later cannot win
    # No break in these loops: with one, numba left each array argument's reference count unpruned.
    k, found = lo, False
    while k < gaps and not found and gap_start[c, h + k] < limit:
        x = h + k
        if blocks and x & (WIDTH - 1) == 0 and k + WIDTH <= gaps:  # a whole block from here
            if longest[c, x >> BLOCK] < latency:
                k += WIDTH
            else:
                longer, y = 0.0, x
                while y < x + WIDTH and not found and gap_start[c, y] < limit:
                    start = gap_start[c, y] if gap_start[c, y] > ready else ready
                    if start + latency <= gap_end[c, y]:
                        best, where, found = start, y - h, True
                    else:
                        longer = _max(longer, gap_end[c, y] - gap_start[c, y])
                        y += 1
                if y == x + WIDTH:  # read through: none fits
                    longest[c, x >> BLOCK] = longer
                k = y - h  # the next block, or the first interval starting too late (the loop ends)
        else:
            start = gap_start[c, x] if gap_start[c, x] > ready else ready
            if start + latency <= gap_end[c, x]:
                # start < best: an interval ends by the core's last finish (tail), so one that ends after
                # ready + latency means best is the tail, later than ready and than this interval's start
                best, where, found = start, k, True
            else:
                k += 1
    return best, where


@numba.njit(cache=True, inline="always")
def _insert_gap(gap_start, gap_end, c, h, gaps, start, end, max_gaps):
    """Record the idle interval [start, end) on core c in time order (its list
    from position ``h``); when the core keeps ``max_gaps`` already, forget the
    earliest (it ends first) if it ends before this one.  Returns the count."""
    if end <= start:
        return gaps
    if gaps == max_gaps:
        if gap_end[c, h] >= end:
            return gaps
        for i in range(1, gaps):
            gap_start[c, h + i - 1], gap_end[c, h + i - 1] = gap_start[c, h + i], gap_end[c, h + i]
        gaps -= 1
    i = gaps
    while i > 0 and gap_start[c, h + i - 1] > start:
        gap_start[c, h + i], gap_end[c, h + i] = gap_start[c, h + i - 1], gap_end[c, h + i - 1]
        i -= 1
    gap_start[c, h + i], gap_end[c, h + i] = start, end
    return gaps + 1


@numba.njit(cache=True, inline="always")
def _split_gap(gap_start, gap_end, c, h, gaps, i, start, finish, max_gaps):
    """Idle interval i of core c now runs a layer over [start, finish): the pieces
    left before and after it take its place; returns the count.

    The same list as removing the interval and recording both pieces with
    :func:`_insert_gap`, in fewer moves: the pieces lie where it lay, so they
    keep the time order, and only two pieces on a core that kept
    ``max_gaps`` make it forget one — its earliest interval (the piece
    before, if that was first), as the piece after ends later than any."""
    before, after = gap_start[c, h + i], gap_end[c, h + i]
    if start > before and after > finish:
        if gaps < max_gaps:
            for k in range(gaps, i + 1, -1):
                gap_start[c, h + k], gap_end[c, h + k] = gap_start[c, h + k - 1], gap_end[c, h + k - 1]
            gaps += 1
            gap_end[c, h + i] = start
            gap_start[c, h + i + 1], gap_end[c, h + i + 1] = finish, after
        else:  # full: the earliest goes, the ones up to i move down one
            for k in range(i - 1):
                gap_start[c, h + k], gap_end[c, h + k] = gap_start[c, h + k + 1], gap_end[c, h + k + 1]
            if i >= 1:
                gap_start[c, h + i - 1], gap_end[c, h + i - 1] = before, start
            gap_start[c, h + i], gap_end[c, h + i] = finish, after
    elif start > before:
        gap_end[c, h + i] = start
    elif after > finish:
        gap_start[c, h + i] = finish
    else:
        for k in range(i + 1, gaps):
            gap_start[c, h + k - 1], gap_end[c, h + k - 1] = gap_start[c, h + k], gap_end[c, h + k]
        gaps -= 1
    return gaps


@numba.njit(cache=True)
def _cover(gap_start, gap_end, longest, c, first, last, fronts):
    """Raise the bounds of core c's blocks over the intervals that entered
    them when the ones in positions ``first`` .. ``last`` moved one position:
    up (``fronts``: an interval entered its block at the front) or down (at
    the back).  The others moved within their blocks, and a piece of an
    interval lies where it lay, under a bound that covered the whole.
    Compiled apart, for the reason :func:`_search_forward` is."""
    x = (((first + WIDTH - 1) >> BLOCK) << BLOCK) if fronts else (((first >> BLOCK) << BLOCK) + WIDTH - 1)
    while x <= last:
        longest[c, x >> BLOCK] = _max(longest[c, x >> BLOCK], gap_end[c, x] - gap_start[c, x])
        x += WIDTH


@numba.njit(cache=True, nogil=True)
def greedy_stream_kernel(
    latency_s, dynamic_j, chained_latency_s, chained_dynamic_j, power_w, chained_power_w, allowed, layer, preds,
    transfer_s, single, first, count, arrival_s, outstanding, think_s, load, feasible, qos_s, measured, abandon,
    max_gaps, finish, arrival, dynamic, busy, peak,
):  # fmt: skip
    """Shared and pinned: requests first come, first served; each layer, in
    topological order, on the allowed core (``allowed`` ``(P, T, C)``) where
    it would finish first — Herald's best fit over the stream — pricing the
    NoC transfer of inputs from other cores and the on-chip input of a
    chained layer.  A core's idle intervals (while a layer waited for its
    inputs) stay open to later requests' layers that fit in them
    (insertion-based list scheduling, as HEFT's); each core remembers its
    ``max_gaps`` latest (the backfilling depth; 0: none, each layer goes
    after its core's last), and forgets those that end before the current
    request arrives (arrivals only grow).  A depth of at least the stream's
    request-layers keeps every interval (each layer placed adds at most
    one): a core's list then starts at ``head``, which moves past the
    intervals forgotten at an arrival instead of moving the list down (its
    row never fills: it holds at most one position per layer placed), and
    its blocks' bounds let the scan skip intervals too short
    (:data:`BLOCK`).  Layers run to completion, and a later request never
    delays an earlier one.  ``power_w`` and
    ``chained_power_w`` ``(P, L, C)``: each layer's dynamic power on each
    core (0 where its latency is 0), for the peak.

    Cores are tried in index order (ties to the lower one); a core whose
    earliest possible finish (inputs ready, then its latency) is already no
    better than the best so far is not searched for an idle interval."""
    P, L, C = latency_s.shape
    T, J, D = preds.shape
    core_free = np.empty(C)
    every = 0  # the stream's request-layers: no core ever holds more intervals, so a deeper list never fills
    for t in range(T):
        for j in range(J):
            every += count[t] if layer[t, j] >= 0 else 0
    keep_all = max_gaps >= every
    max_gaps = min(max_gaps, every)
    gap_start, gap_end = np.empty((C, max_gaps)), np.empty((C, max_gaps))
    gaps, head = np.empty(C, dtype=np.int64), np.zeros(C, dtype=np.int64)
    longest = np.empty((C, (max_gaps >> BLOCK) + 1))
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
        head[:] = 0
        longest[:] = 0.0
        energy = 0.0
        while True:
            t, release = _next_request(next_k, first, count, arrival_s, outstanding, think_s, load[p], finish[p],
                                       arrival[p])  # fmt: skip
            if t < 0:
                break
            r = first[t] + next_k[t]
            next_k[t] += 1
            for c in range(C):  # idle time before this arrival is lost to every later request
                h, m = head[c], 0
                while m < gaps[c] and gap_end[c, h + m] <= release:
                    m += 1
                if m > 0:
                    if keep_all:
                        head[c] += m
                    else:  # a core that forgets its earliest when full keeps its list at the row's start
                        for i in range(m, gaps[c]):
                            gap_start[c, i - m], gap_end[c, i - m] = gap_start[c, i], gap_end[c, i]
                    gaps[c] -= m
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
                    if best >= 0 and ready + lat >= best_finish:  # starts at ready or later: cannot win
                        continue
                    if gaps[c] > BISECT_FROM and gap_end[c, head[c] + gaps[c] - 1] < ready + lat:
                        # no interval ends late enough (the search's own first finding, without the call)
                        start, where = (core_free[c] if core_free[c] > ready else ready), -1
                    elif gaps[c] > BISECT_FROM:
                        start, where = _search_forward(gap_start, gap_end, longest, c, head[c], gaps[c], core_free[c],
                                                       ready, lat, best_finish, keep_all)  # fmt: skip
                    else:
                        start, where = _earliest_start(gap_start, gap_end, c, head[c], gaps[c], core_free[c], ready, lat)
                    if best < 0 or start + lat < best_finish:
                        best, best_finish, best_latency, best_start, best_gap = c, start + lat, lat, start, where
                chained = best == chain_core
                h, kept = head[best], gaps[best]
                if best_gap >= 0:  # the idle interval it went into leaves up to two
                    gaps[best] = _split_gap(gap_start, gap_end, best, h, kept, best_gap, best_start, best_finish,
                                            max_gaps)  # fmt: skip
                    x, final = h + best_gap, h + gaps[best] - 1  # where it lay; the core's last interval now
                    # Two pieces: the one after it and the later intervals moved up one, into x + 1 .. final;
                    # taken whole: the later ones moved down one, into x .. final.  Only a block front (back)
                    # among those positions received an interval from another block.
                    if keep_all and gaps[best] > kept and (x + WIDTH) >> BLOCK <= final >> BLOCK:
                        _cover(gap_start, gap_end, longest, best, x + 1, final, True)
                    elif keep_all and gaps[best] < kept and x >> BLOCK < (final + 1) >> BLOCK:
                        _cover(gap_start, gap_end, longest, best, x, final, False)
                else:
                    if max_gaps > 0:  # the idle time it leaves before it (none to keep at depth 0)
                        gaps[best] = _insert_gap(gap_start, gap_end, best, h, kept, core_free[best], best_start,
                                                 max_gaps)  # fmt: skip
                    if keep_all and gaps[best] > kept:  # it starts at the core's last finish: after every interval
                        x = h + kept
                        longest[best, x >> BLOCK] = _max(longest[best, x >> BLOCK], best_start - core_free[best])
                    core_free[best] = best_finish
                done_at[j] = best_finish
                core_of[j] = best
                busy[p, best] += best_latency
                energy += chained_dynamic_j[p, g, best] if chained else dynamic_j[p, g, best]
                peak[p, best] = _max(peak[p, best], chained_power_w[p, g, best] if chained else power_w[p, g, best])
                last = _max(last, best_finish)
            finish[p, r] = last
            if _gives_up(r, t, last - release, measured, qos_s, abandon, over):
                break
        dynamic[p] = energy


@numba.njit(cache=True, inline="always")
def packed_inputs(preds, transfer_s):
    """Each layer's predecessors first in its row (``(T, J, D)`` local
    indices, with their transfers) and their count ``(T, J)``: the loop over
    a layer's inputs reads only those."""
    T, J, D = preds.shape
    inputs, transfer = np.empty((T, J, D), dtype=np.int64), np.empty((T, J, D))
    count = np.zeros((T, J), dtype=np.int64)
    for t in range(T):
        for j in range(J):
            for d in range(D):
                if preds[t, j, d] >= 0:
                    inputs[t, j, count[t, j]], transfer[t, j, count[t, j]] = preds[t, j, d], transfer_s[t, j, d]
                    count[t, j] += 1
    return inputs, transfer, count


@numba.njit(cache=True, nogil=True)
def greedy_no_backfill_kernel(
    latency_s, dynamic_j, chained_latency_s, chained_dynamic_j, power_w, chained_power_w, allowed, layer, preds,
    transfer_s, single, first, count, arrival_s, outstanding, think_s, load, feasible, qos_s, measured, abandon,
    finish, arrival, dynamic, busy, peak,
):  # fmt: skip
    """:func:`greedy_stream_kernel` at depth 0 — each layer after its core's
    last, the greedy of the first version — with the same results bit for
    bit, in a loop of its own, about 1.7× as fast (kernel alone on the
    benchmark's stream, alternating in one process, CPU time): without the
    interval code around it the same loop already ran about 1.3× as fast,
    and it computes without branches: each layer's ready time on every core
    at once (a predecessor on another core adds its transfer times one, on
    the same core times zero), both latencies of a core read and one
    selected, and the best so far kept by selects — which core wins changes
    from layer to layer at random.

    Requires every latency, energy and power of a feasible design's
    allowed cores, and every transfer, finite (the caller checks, and runs
    the other kernel where one is not): the first allowed core is then
    taken at once, as the other kernel takes it, and no NaN arises."""
    P, L, C = latency_s.shape
    T, J, D = preds.shape
    inputs, input_transfer, inputs_of = packed_inputs(preds, transfer_s)
    core_free, ready = np.empty(C), np.empty(C)
    done_at = np.empty(J)
    core_of = np.empty(J, dtype=np.int64)
    next_k = np.empty(T, dtype=np.int64)
    over = np.empty(T, dtype=np.int64)
    for p in range(P):
        if not _start_design(p, feasible, finish, arrival, dynamic, next_k, over):
            continue
        core_free[:] = 0.0
        energy = 0.0
        # This design's rows, indexed without p for every layer
        latency_p, chained_p, allowed_p = latency_s[p], chained_latency_s[p], allowed[p]
        dynamic_p, chained_dynamic_p = dynamic_j[p], chained_dynamic_j[p]
        power_p, chained_power_p = power_w[p], chained_power_w[p]
        busy_p, peak_p = busy[p], peak[p]
        while True:
            t, release = _next_request(next_k, first, count, arrival_s, outstanding, think_s, load[p], finish[p],
                                       arrival[p])  # fmt: skip
            if t < 0:
                break
            r = first[t] + next_k[t]
            next_k[t] += 1
            last = release
            for j in range(J):
                g = layer[t, j]
                if g < 0:
                    break
                for c in range(C):
                    ready[c] = release
                for k in range(inputs_of[t, j]):
                    q = inputs[t, j, k]
                    at, transfer, on = done_at[q], input_transfer[t, j, k], core_of[q]
                    for c in range(C):
                        ready[c] = max(ready[c], at + transfer * (on != c))
                chain_core = core_of[inputs[t, j, 0]] if single[t, j] else -1
                best, best_finish = 0, np.inf
                for c in range(C):
                    plain, on_chip = latency_p[g, c], chained_p[g, c]  # both read: a select, not a branch
                    done = max(core_free[c], ready[c]) + (on_chip if c == chain_core else plain)
                    done = done if allowed_p[t, c] else np.inf
                    take = done < best_finish
                    best = c if take else best
                    best_finish = done if take else best_finish
                chained = best == chain_core
                core_free[best] = best_finish
                done_at[j] = best_finish
                core_of[j] = best
                busy_p[best] += chained_p[g, best] if chained else latency_p[g, best]
                energy += chained_dynamic_p[g, best] if chained else dynamic_p[g, best]
                peak_p[best] = max(peak_p[best], chained_power_p[g, best] if chained else power_p[g, best])
                last = max(last, best_finish)
            finish[p, r] = last
            if _gives_up(r, t, last - release, measured, qos_s, abandon, over):
                break
        dynamic[p] = energy


@numba.njit(cache=True, inline="always")
def _store_design(d, p, energy, busy_p, peak_p, dynamic, busy, peak):
    """Design d's totals, in slot p of :func:`greedy_lockstep_kernel`'s design-last arrays, into the outputs."""
    dynamic[d] = energy[p]
    for c in range(busy_p.shape[0]):
        busy[d, c], peak[d, c] = busy_p[c, p], peak_p[c, p]


@numba.njit(cache=True)
def _swap_designs(a, b, design, load, costs, allowed, core_free, busy_p, peak_p, used, energy, over):
    """Exchange slots a and b of :func:`greedy_lockstep_kernel`'s per-design state and tables."""
    design[a], design[b] = design[b], design[a]
    load[a], load[b] = load[b], load[a]
    energy[a], energy[b] = energy[b], energy[a]
    for i in range(over.shape[1]):
        over[a, i], over[b, i] = over[b, i], over[a, i]
    for table in costs:
        _swap_columns(table.reshape(-1, table.shape[-1]), a, b)
    _swap_columns(allowed.reshape(-1, allowed.shape[-1]), a, b)
    _swap_columns(used.reshape(-1, used.shape[-1]), a, b)
    for table in (core_free, busy_p, peak_p):
        _swap_columns(table, a, b)


@numba.njit(cache=True)
def _peaks(p, used, power_w, chained_power_w, peak_p):
    """Slot p's peak power on each core, from the layers it ran there (``used`` ``(L, 2C, P)``: layer g on
    core c from DRAM, at c; chained, at C + c).  A maximum does not depend on the order it is taken in,
    so this equals the running maximum of the other kernels bit for bit."""
    L, C, P = power_w.shape
    for g in range(L):
        for c in range(C):
            if used[g, c, p]:
                peak_p[c, p] = max(peak_p[c, p], power_w[g, c, p])
            if used[g, C + c, p]:
                peak_p[c, p] = max(peak_p[c, p], chained_power_w[g, c, p])


@numba.njit(cache=True, inline="always")
def _swap_columns(table, a, b):
    for i in range(table.shape[0]):
        table[i, a], table[i, b] = table[i, b], table[i, a]


@numba.njit(cache=True, nogil=True)
def greedy_lockstep_kernel(
    latency_s, dynamic_j, chained_latency_s, chained_dynamic_j, power_w, chained_power_w, allowed, layer, inputs,
    input_transfer, inputs_of, single, order, tenant_of, arrival_s, load, feasible, qos_s, measured, abandon, finish,
    arrival, dynamic, busy, peak,
):  # fmt: skip
    """:func:`greedy_no_backfill_kernel` for all the designs it is given at
    once, with the same results bit for bit: the designs step through the
    stream together, one request-layer at a time, each inner loop running
    over the designs.  Two things make that faster than a design at a
    time: the loops over designs have no branch and read consecutive
    memory, so they compile to vector instructions, and the designs'
    dependence chains (a layer waits for its input, decided one layer
    before) interleave, where one design's loop stalls on its own.

    Only for open-loop streams (every design then takes the requests in one
    order, ``order``, which the caller checks holds at each design's load
    too) and the finite costs :func:`greedy_no_backfill_kernel` requires.
    Tables are design-last: ``(L, C, P)`` and ``allowed`` ``(T, C, P)``;
    ``inputs``, ``input_transfer``, ``inputs_of`` as
    :func:`packed_inputs` makes them; ``tenant_of`` ``(R,)``.  Designs
    infeasible or given up leave the loops (their slots swapped to the
    end), so the tables' design columns are reordered in place: pass
    copies.

    The selects of one of two table values are written as products with
    ``w`` = 1.0 or 0.0: equal, bit for bit, to the value selected, because
    the costs are finite and not negative (``x * 0.0 + y * 1.0`` is ``y``),
    and they keep the loop vectorizable (a select between two loads
    compiles to a load from a selected address, which LLVM does not
    vectorize).  The first core is taken outright (an infinite finish where
    it is not allowed, so the first allowed core replaces it), without a
    pass to set the best so far (1.03-1.12x, kernel alone); where no core
    is allowed it stays, as in :func:`greedy_no_backfill_kernel`."""
    L, C, P = latency_s.shape
    T, J = layer.shape
    core_free, ready = np.zeros((C, P)), np.empty((C, P))
    busy_p, peak_p = np.zeros((C, P)), np.zeros((C, P))
    # Which layers each design ran on which core, for its peaks at the end (a flag stored costs less than
    # the running maximum's read of the power table: 1.01-1.20x, kernel alone)
    used = np.zeros((L, 2 * C, P), dtype=np.bool_)
    done_at, core_of = np.empty((J, P)), np.empty((J, P), dtype=np.int64)
    chain, best = np.empty(P, dtype=np.int64), np.empty(P, dtype=np.int64)
    best_finish, best_latency = np.empty(P), np.empty(P)
    release, last, energy = np.empty(P), np.empty(P), np.zeros(P)
    over = np.zeros((P, T), dtype=np.int64)
    # Slots 0 .. n - 1 hold the designs still simulated (design[slot]): one given up or infeasible swaps
    # its columns of every per-design array with the last such slot's, so the loops run over the
    # designs left (a design at a time stops at once; in lockstep, the group would go on for it).
    design, load = np.arange(P), load.copy()
    costs = (latency_s, dynamic_j, chained_latency_s, chained_dynamic_j, power_w, chained_power_w)
    n = P
    for p in range(P - 1, -1, -1):
        if not feasible[p]:
            finish[p, :], arrival[p, :], dynamic[p] = np.inf, np.inf, np.inf
            n -= 1
            _swap_designs(p, n, design, load, costs, allowed, core_free, busy_p, peak_p, used, energy, over)
    for x in range(order.shape[0]):
        if n == 0:
            break
        r = order[x]
        t = tenant_of[r]
        for p in range(n):
            release[p] = arrival_s[r] / load[p]
            last[p] = release[p]
        for j in range(J):
            g = layer[t, j]
            if g < 0:
                break
            if single[t, j]:
                # One input (most layers: chains): its ready time on each core and whether the layer chains
                # on that core, in the pass that picks the core.
                q, transfer = inputs[t, j, 0], input_transfer[t, j, 0]
                for p in range(n):
                    chain[p] = core_of[q, p]
                for c in range(C):
                    for p in range(n):
                        w = 1.0 * (chain[p] == c)
                        lat = chained_latency_s[g, c, p] * w + latency_s[g, c, p] * (1.0 - w)
                        done = max(max(core_free[c, p], release[p]), done_at[q, p] + transfer * (1.0 - w)) + lat
                        done = done if allowed[t, c, p] else np.inf
                        take = c == 0 or done < best_finish[p]
                        best[p] = c if take else best[p]
                        best_finish[p] = done if take else best_finish[p]
                        best_latency[p] = lat if take else best_latency[p]
            else:
                for c in range(C):
                    for p in range(n):
                        ready[c, p] = release[p]
                for k in range(inputs_of[t, j]):
                    q, transfer = inputs[t, j, k], input_transfer[t, j, k]
                    for c in range(C):
                        for p in range(n):
                            ready[c, p] = max(ready[c, p], done_at[q, p] + transfer * (core_of[q, p] != c))
                for p in range(n):
                    chain[p] = -1
                for c in range(C):
                    for p in range(n):
                        lat = latency_s[g, c, p]
                        done = max(core_free[c, p], ready[c, p]) + lat
                        done = done if allowed[t, c, p] else np.inf
                        take = c == 0 or done < best_finish[p]
                        best[p] = c if take else best[p]
                        best_finish[p] = done if take else best_finish[p]
                        best_latency[p] = lat if take else best_latency[p]
            # The chosen core's energy is read for it alone (reading energy and power for every core in the
            # pass above doubled the memory it streams, and measured slower); its power, at the end.
            for p in range(n):
                b = best[p]
                chained = b == chain[p]
                done_at[j, p], core_of[j, p] = best_finish[p], b
                core_free[b, p] = best_finish[p]
                busy_p[b, p] += best_latency[p]
                energy[p] += chained_dynamic_j[g, b, p] if chained else dynamic_j[g, b, p]
                used[g, C * chained + b, p] = True
                last[p] = max(last[p], best_finish[p])
        p = 0
        while p < n:
            d = design[p]
            finish[d, r], arrival[d, r] = last[p], release[p]
            if _gives_up(r, t, last[p] - release[p], measured, qos_s, abandon, over[p]):
                _peaks(p, used, power_w, chained_power_w, peak_p)
                _store_design(d, p, energy, busy_p, peak_p, dynamic, busy, peak)
                n -= 1  # the last slot's design moves here and is written next
                last[p], release[p] = last[n], release[n]
                _swap_designs(p, n, design, load, costs, allowed, core_free, busy_p, peak_p, used, energy, over)
            else:
                p += 1
    for p in range(n):
        _peaks(p, used, power_w, chained_power_w, peak_p)
        _store_design(design[p], p, energy, busy_p, peak_p, dynamic, busy, peak)


@numba.njit(cache=True, nogil=True)
def whole_request_kernel(
    work_s, work_j, power_w, allowed, first, count, arrival_s, outstanding, think_s, load, feasible, qos_s, measured,
    abandon, finish, arrival, dynamic, busy, peak,
):  # fmt: skip
    """Whole request per core (DPU style): each request, in arrival order, runs
    all its layers on the one allowed core where it would finish first
    (``work_s`` ``(P, T, C)``: the tenant's layers chained on that core;
    ``work_j`` their energy; ``power_w`` their largest layer power); each core
    serves its requests first come, first served."""
    P, T, C = work_s.shape
    core_free = np.empty(C)
    next_k = np.empty(T, dtype=np.int64)
    over = np.empty(T, dtype=np.int64)
    for p in range(P):
        if not _start_design(p, feasible, finish, arrival, dynamic, next_k, over):
            continue
        core_free[:] = 0.0
        energy = 0.0
        while True:
            t, release = _next_request(next_k, first, count, arrival_s, outstanding, think_s, load[p], finish[p],
                                       arrival[p])  # fmt: skip
            if t < 0:
                break
            r = first[t] + next_k[t]
            next_k[t] += 1
            best, best_finish = -1, np.inf
            for c in range(C):
                if allowed[p, t, c]:
                    done = _max(core_free[c], release) + work_s[p, t, c]
                    if best < 0 or done < best_finish:
                        best, best_finish = c, done
            core_free[best] = best_finish
            busy[p, best] += work_s[p, t, best]
            energy += work_j[p, t, best]
            peak[p, best] = _max(peak[p, best], power_w[p, t, best])
            finish[p, r] = best_finish
            if _gives_up(r, t, best_finish - release, measured, qos_s, abandon, over):
                break
        dynamic[p] = energy
