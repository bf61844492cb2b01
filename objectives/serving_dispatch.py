"""Event-driven serving kernels: priority queues, PREMA and Planaria.

These policies decide *when* a request runs, not only where, so they are
simulated event by event rather than placed in arrival order.  Each
request's layers run one at a time in topological order (a request is a
sequence of layers, as PREMA and Planaria treat a DNN task); many requests
run at once on different cores or subarrays.  The stream arguments are
those of ``objectives.serving_kernels`` (requests numbered tenant by
tenant, arrivals at load 1 divided by the design's load, closed-loop
tenants), and so are the outputs.

* ``priority_kernel``: whenever a core frees, the ready request of highest
  priority (then earliest arrival) runs its next layer on it.
* ``fission_kernel``: the design's active cores are taken as N equal
  subarrays; a layer given k of them runs k times faster than on one
  (``latency_s`` ``(P, L)``: on one subarray).  ``policy`` 0, PREMA: one
  request at a time on all N (temporal multitasking on a monolithic
  array), chosen by tokens at every layer boundary (preemption at layer
  boundaries).  ``policy`` 1, Planaria: subarrays re-allotted whenever a
  request arrives or finishes (Algorithm 1), taken up at each request's
  next layer boundary.
"""

from __future__ import annotations

import numba
import numpy as np

from objectives.schedule import _max
from objectives.serving_kernels import _gives_up, _next_request, _start_design, tenant_of_requests

PREMA, PLANARIA = 0, 1


@numba.njit(cache=True, inline="always")
def _before(k1, k2, ids, a, b) -> bool:
    """Heap order: by ``k1``, then ``k2``, then id."""
    if k1[a] != k1[b]:
        return k1[a] < k1[b]
    if k2[a] != k2[b]:
        return k2[a] < k2[b]
    return ids[a] < ids[b]


@numba.njit(cache=True)
def heap_push(k1, k2, ids, size, x1, x2, x):
    """Push ``(x1, x2, x)`` on the binary heap held in the first ``size`` slots; returns the new size."""
    i = size
    k1[i], k2[i], ids[i] = x1, x2, x
    # The loop's condition, not a break, stops it: with a break numba left the three arrays' reference
    # counts unpruned (six atomic operations a push; serving_kernels._search_forward says more).
    while i > 0 and _before(k1, k2, ids, i, (i - 1) // 2):
        parent = (i - 1) // 2
        k1[i], k1[parent] = k1[parent], k1[i]
        k2[i], k2[parent] = k2[parent], k2[i]
        ids[i], ids[parent] = ids[parent], ids[i]
        i = parent
    return size + 1


@numba.njit(cache=True)
def heap_pop(k1, k2, ids, size):
    """Remove the heap's first entry; returns the new size (the entry is read from slot 0 before)."""
    size -= 1
    k1[0], k2[0], ids[0] = k1[size], k2[size], ids[size]
    i = 0
    while True:
        smallest, left, right = i, 2 * i + 1, 2 * i + 2
        if left < size and _before(k1, k2, ids, left, smallest):
            smallest = left
        if right < size and _before(k1, k2, ids, right, smallest):
            smallest = right
        if smallest == i:
            return size
        k1[i], k1[smallest] = k1[smallest], k1[i]
        k2[i], k2[smallest] = k2[smallest], k2[i]
        ids[i], ids[smallest] = ids[smallest], ids[i]
        i = smallest


@numba.njit(cache=True, inline="always")
def _layer_counts(layer, preds):
    """``(T,)`` layers per tenant and ``(T, J)`` whether each layer has exactly one predecessor."""
    T, J, D = preds.shape
    nlayers = np.zeros(T, dtype=np.int64)
    single = np.zeros((T, J), dtype=np.bool_)
    for t in range(T):
        for j in range(J):
            if layer[t, j] >= 0:
                nlayers[t] = j + 1
                n = 0
                for d in range(D):
                    n += preds[t, j, d] >= 0
                single[t, j] = n == 1
    return nlayers, single


@numba.njit(cache=True, nogil=True)
def priority_kernel(
    latency_s, dynamic_j, chained_latency_s, chained_dynamic_j, active, layer, preds, transfer_s, priority,
    first, count, arrival_s, outstanding, think_s, load, feasible, qos_s, measured, abandon,
    finish, arrival, dynamic, busy, peak,
):  # fmt: skip
    """Priority queues: at each moment a core frees (the earliest-free active
    core first, ties to the lower), the ready request with the highest
    ``priority`` ``(R,)`` (then the earliest arrival, then the lower number)
    runs its next layer there, to completion; with none ready the core idles
    until one is.  A layer whose single predecessor ran on the same core
    reads its input from the buffer; one whose inputs come from another core
    waits for its first predecessor's NoC transfer."""
    P, L, C = latency_s.shape
    T, J, D = preds.shape
    R = finish.shape[1]
    nlayers, single = _layer_counts(layer, preds)
    tenant_of = tenant_of_requests(first, count)
    core_free = np.empty(C)
    core_of = np.empty((R, J), dtype=np.int64)
    nxt, ready = np.empty(R, dtype=np.int64), np.empty(R)
    next_k = np.empty(T, dtype=np.int64)
    wait1, wait2, wait_id = np.empty(R), np.zeros(R), np.empty(R, dtype=np.int64)  # by ready time
    run1, run2, run_id = np.empty(R), np.empty(R), np.empty(R, dtype=np.int64)  # by (−priority, arrival)
    over = np.empty(T, dtype=np.int64)
    for p in range(P):
        if not _start_design(p, feasible, finish, arrival, dynamic, next_k, over):
            continue
        for c in range(C):
            core_free[c] = 0.0 if active[p, c] else np.inf
        energy = 0.0
        waiting, runnable = 0, 0
        coming, due = _next_request(next_k, first, count, arrival_s, outstanding, think_s, load[p], finish[p],
                                    arrival[p])  # fmt: skip
        while True:
            c = 0
            for k in range(1, C):
                if core_free[k] < core_free[c]:
                    c = k
            now = core_free[c]
            while coming >= 0 and due <= now:  # arrivals by now are ready
                r = first[coming] + next_k[coming]
                next_k[coming] += 1
                nxt[r], ready[r] = 0, due
                runnable = heap_push(run1, run2, run_id, runnable, -priority[r], due, r)
                coming, due = _next_request(next_k, first, count, arrival_s, outstanding, think_s, load[p],
                                            finish[p], arrival[p])  # fmt: skip
            while waiting > 0 and wait1[0] <= now:
                r = wait_id[0]
                waiting = heap_pop(wait1, wait2, wait_id, waiting)
                runnable = heap_push(run1, run2, run_id, runnable, -priority[r], arrival[p, r], r)
            if runnable == 0:
                later = wait1[0] if waiting > 0 else np.inf
                if coming >= 0:
                    later = min(later, due)
                if later == np.inf:
                    break
                core_free[c] = later  # idle until something is ready
                continue
            r = run_id[0]
            runnable = heap_pop(run1, run2, run_id, runnable)
            t, j = tenant_of[r], nxt[r]
            g = layer[t, j]
            start = now
            chained = False
            q = preds[t, j, 0]
            if q >= 0:
                if core_of[r, q] != c:
                    start = _max(now, ready[r] + transfer_s[t, j, 0])
                chained = single[t, j] and core_of[r, q] == c
            if chained:
                lat, joules = chained_latency_s[p, g, c], chained_dynamic_j[p, g, c]
            else:
                lat, joules = latency_s[p, g, c], dynamic_j[p, g, c]
            done = start + lat
            core_free[c] = done
            core_of[r, j] = c
            busy[p, c] += lat
            energy += joules
            if lat > 0:
                peak[p, c] = _max(peak[p, c], joules / lat)
            nxt[r] += 1
            ready[r] = done
            if nxt[r] == nlayers[t]:
                finish[p, r] = done
                if _gives_up(r, t, done - arrival[p, r], measured, qos_s, abandon, over):
                    break
                if outstanding[t] > 0:  # its client's next request is now due
                    coming, due = _next_request(next_k, first, count, arrival_s, outstanding, think_s, load[p],
                                                finish[p], arrival[p])  # fmt: skip
            else:
                waiting = heap_push(wait1, wait2, wait_id, waiting, done, 0.0, r)
        dynamic[p] = energy


@numba.njit(cache=True, inline="always")
def _planaria_allocation(active_ids, n_active, now, tenant_of, nxt, arrival_row, qos_s, priority, remaining_s,
                         N, alloc, score, minimum, order):  # fmt: skip
    """Planaria Algorithm 1 over the requests in the system: the fewest
    subarrays that finish each in its slack (ESTIMATERESOURCES), then
    either every request its minimum plus the spare shared by
    priority / remaining time (ALLOCATEFITTASKS), or, when the minima do
    not fit, requests by priority / (slack × minimum) given their minimum
    until the subarrays run out (ALLOCATEUNFITTASKS).  Fills ``alloc``
    ``(n_active,)``; the rest are scratch."""
    total = 0
    for a in range(n_active):
        r = active_ids[a]
        rest = remaining_s[tenant_of[r], nxt[r]]
        slack = qos_s[tenant_of[r]] - (now - arrival_row[r])
        # A request that cannot make its bound even on the whole array asks for all of it.
        if slack <= 0 or rest / N >= slack:
            k = N
        else:
            k = min(N, max(1, int(np.floor(rest / slack)) + 1))
        minimum[a] = k
        total += k
    if total <= N:
        spare = N - total
        weight = 0.0
        for a in range(n_active):
            r = active_ids[a]
            score[a] = priority[r] / max(remaining_s[tenant_of[r], nxt[r]], 1e-30)
            weight += score[a]
        given = 0
        for a in range(n_active):
            extra = int(np.floor(spare * score[a] / weight)) if weight > 0 else 0
            alloc[a] = minimum[a] + extra
            given += alloc[a]
        order[:n_active] = np.argsort(-score[:n_active], kind="mergesort")
        for a in range(N - given):  # what flooring left, one each to the best scores
            alloc[order[a % n_active]] += 1
    else:
        # Planaria §V "Spatial task scheduling", Algorithm 1 line 40 (ALLOCATEUNFITTASKS): the score is
        # priority / (slack × minimum) with the slack unclamped, so a request already past its bound
        # (slack < 0) scores negative and is served after every request that can still make it (at
        # slack 0, the limit from below: -inf).
        for a in range(n_active):
            r = active_ids[a]
            slack = qos_s[tenant_of[r]] - (now - arrival_row[r])
            score[a] = priority[r] / (slack * minimum[a]) if slack != 0 else -np.inf
        order[:n_active] = np.argsort(-score[:n_active], kind="mergesort")
        left = N
        for a in range(n_active):
            i = order[a]
            alloc[i] = min(minimum[i], left)
            left -= alloc[i]


@numba.njit(cache=True, nogil=True)
def fission_kernel(
    policy, latency_s, dynamic_j, chained_latency_s, chained_dynamic_j, subarrays, layer, preds, priority,
    remaining_s, first, count, arrival_s, outstanding, think_s, load, feasible, qos_s, measured, abandon,
    finish, arrival, dynamic, busy, peak,
):  # fmt: skip
    """PREMA (``policy`` 0) or Planaria (1) on ``subarrays`` ``(P,)`` equal
    subarrays; ``latency_s`` etc. ``(P, L)`` a layer on one subarray (its
    input from DRAM, or chained: from the buffer when its single predecessor
    ran before it in the same request); ``remaining_s`` ``(P, T, J + 1)``
    the rest of a request from its layer j on one subarray.  ``busy`` is
    subarray-seconds in column 0; ``peak`` column 0 the largest power per
    subarray of a layer.  Allotments are taken up first come, first served."""
    P, L = latency_s.shape
    T, J, D = preds.shape
    R = finish.shape[1]
    nlayers, single = _layer_counts(layer, preds)
    tenant_of = tenant_of_requests(first, count)
    next_k = np.empty(T, dtype=np.int64)
    nxt, run_end, executed = np.empty(R, dtype=np.int64), np.empty(R), np.empty(R)
    held = np.empty(R, dtype=np.int64)
    active_ids = np.empty(R, dtype=np.int64)
    alloc, minimum, order = np.empty(R, dtype=np.int64), np.empty(R, dtype=np.int64), np.empty(R, dtype=np.int64)
    score = np.empty(R)
    over = np.empty(T, dtype=np.int64)
    for p in range(P):
        if not _start_design(p, feasible, finish, arrival, dynamic, next_k, over):
            continue
        N = subarrays[p]
        lost = False
        energy = 0.0
        free, n_active = N, 0
        coming, due = _next_request(next_k, first, count, arrival_s, outstanding, think_s, load[p], finish[p],
                                    arrival[p])  # fmt: skip
        while True:
            now = due if coming >= 0 else np.inf
            for a in range(n_active):
                if held[active_ids[a]] > 0:
                    now = min(now, run_end[active_ids[a]])
            if now == np.inf:
                break
            changed = False
            a = 0
            while a < n_active:  # layers ending now
                r = active_ids[a]
                if held[r] > 0 and run_end[r] <= now:
                    free += held[r]
                    held[r] = 0
                    nxt[r] += 1
                    if nxt[r] == nlayers[tenant_of[r]]:
                        finish[p, r] = run_end[r]
                        lost = lost or _gives_up(r, tenant_of[r], run_end[r] - arrival[p, r], measured, qos_s,
                                                 abandon, over)  # fmt: skip
                        n_active -= 1
                        for b in range(a, n_active):  # keep arrival order (admissions append in it)
                            active_ids[b] = active_ids[b + 1]
                            alloc[b] = alloc[b + 1]
                        changed = True
                        if outstanding[tenant_of[r]] > 0:
                            coming, due = _next_request(next_k, first, count, arrival_s, outstanding, think_s,
                                                        load[p], finish[p], arrival[p])  # fmt: skip
                        continue
                a += 1
            if lost:
                break
            while coming >= 0 and due <= now:
                r = first[coming] + next_k[coming]
                next_k[coming] += 1
                nxt[r], held[r], executed[r] = 0, 0, 0.0
                active_ids[n_active] = r
                alloc[n_active] = 0
                n_active += 1
                changed = True
                coming, due = _next_request(next_k, first, count, arrival_s, outstanding, think_s, load[p],
                                            finish[p], arrival[p])  # fmt: skip
            if n_active == 0:
                continue
            if policy == PREMA:
                if free < N:
                    continue
                # Tokens: priority, grown by the time waited over the time alone; candidates hold at least
                # the highest priority present; the shortest remaining job among them runs (PREMA).
                threshold = 0.0
                for a in range(n_active):
                    threshold = max(threshold, priority[active_ids[a]])
                best, best_rest = -1, np.inf
                for a in range(n_active):
                    r = active_ids[a]
                    t = tenant_of[r]
                    alone = remaining_s[p, t, 0] / N
                    waited = max(now - arrival[p, r] - executed[r], 0.0)  # rounding can leave −1e-18
                    token = priority[r] * (1.0 + waited / alone) if alone > 0 else np.inf
                    rest = remaining_s[p, t, nxt[r]]
                    if token >= threshold and (best < 0 or rest < best_rest):
                        best, best_rest = a, rest
                for a in range(n_active):
                    alloc[a] = N if a == best else 0
                order[0] = best
                n_order = 1
            else:
                if changed:
                    _planaria_allocation(active_ids, n_active, now, tenant_of, nxt, arrival[p], qos_s, priority,
                                         remaining_s[p], N, alloc, score, minimum, order)  # fmt: skip
                for a in range(n_active):
                    order[a] = a
                n_order = n_active
            for i in range(n_order):
                a = order[i]
                r = active_ids[a]
                if held[r] > 0 or alloc[a] <= 0 or free <= 0:
                    continue
                use = min(alloc[a], free)
                t = tenant_of[r]
                g = layer[t, nxt[r]]
                if single[t, nxt[r]]:
                    lat, joules = chained_latency_s[p, g] / use, chained_dynamic_j[p, g]
                else:
                    lat, joules = latency_s[p, g] / use, dynamic_j[p, g]
                held[r] = use
                free -= use
                run_end[r] = now + lat
                executed[r] += lat
                busy[p, 0] += lat * use
                energy += joules
                if lat > 0:
                    peak[p, 0] = _max(peak[p, 0], joules / (lat * use))  # per subarray
        dynamic[p] = energy
