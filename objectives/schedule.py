"""Non-preemptive list scheduling and best-fit assignment, compiled per design.

Every design has a priority key per layer.  Keys are first made monotone
along dependencies (a layer never sorts before a predecessor), so a stable
argsort gives a topological order; the list schedule then places each
design's layers in that order:

    start = max(core_free[core], release[layer], max over preds (finish[pred] + transfer))
    finish = start + latency;  core_free[core] = finish

where the transfer is paid only between layers on different cores.

``greedy_assign`` runs the same loop but picks, per layer, the active core
with the earliest finish time — Herald's best-fit assignment, whose
finish-time criterion balances load by itself; a per-(layer, core) bias lets
a search steer it.

Both loops are sequential in the layers, so numpy could only vectorize them
across designs: L steps, each paying numpy's per-call overhead, which at the
batch sizes a search sends (16-64 designs) was most of the evaluator's time.
They are numba kernels instead — a plain loop over (design, layer) compiled
once and cached on disk (``cache=True``), so a new process loads machine code
rather than compiling.  Their arithmetic is the numpy loop's, operation for
operation (including NaN propagating through max and a first-minimum argmin),
so results are bit-identical to it (tests/objectives/schedule_reference.py).
The release time is what request arrivals will feed; today every layer is
released at 0, which changes nothing since cores start free at 0.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np

from objectives.metrics import row_total


@numba.njit(cache=True, no_cfunc_wrapper=True)
def _max(a: float, b: float) -> float:
    """``np.maximum`` for scalars: a NaN on either side wins.  Branch-free, as
    the comparisons in a schedule are unpredictable: each select tests one
    comparison, which x86 lowers to a blend.  (``a if a != a else larger``
    was merged by LLVM into one select on an ``or`` of two comparisons, which
    x86 can only lower to a branch: a random layer mapping paid a
    misprediction per predecessor.)  ``a + a`` is ``a`` when ``a`` is NaN, in
    ``a``'s type (float32 stays float32)."""
    larger = a if a >= b else b
    return larger if a == a else a + a


def topological_priority(priority: np.ndarray, preds: np.ndarray) -> np.ndarray:
    """Raise each key to at least its predecessors' keys, ``(P, L)``.

    With ties broken by layer index (predecessors come first), a stable
    argsort of the result is a topological order for every design.
    Requires layers in topological order (``preds`` ``(L, D)`` -1 padded,
    every predecessor before its layer), so one pass in index order sees
    every predecessor's final key.  (``_order_kernel`` told to order no
    design: one kernel to compile cold, not two.)
    """
    priority, preds = _f64(priority), _i64(preds)
    P, L = priority.shape
    raised = np.empty((P, L))
    _order_kernel(priority, preds, -1, np.empty((P, L), dtype=np.int64), np.empty(P, dtype=np.bool_), raised,
                  np.empty(L), np.empty((4, max(L, 1)), dtype=np.int64))  # fmt: skip
    return raised


@numba.njit(cache=True, nogil=True, no_cfunc_wrapper=True)
def _order_kernel(priority, preds, limit, order, fallback, raised, keys, scratch):
    """Fill ``order`` ``(P, L)`` with the stable argsort of each design's raised
    keys (``topological_priority``), or flag the design in ``fallback`` ``(P,)``
    and leave its raised keys in ``raised`` ``(P, L)`` for numpy to sort.

    Raising copies keys along edges, so a design's L keys take few distinct
    values (about 45 of 412 on herald_arvr_a, random priorities): each is
    the priority of a *source* layer, one that kept its own.  While raising
    in index order, each layer notes its source and how many of that
    source's layers came before it; the sources are then sorted by insertion
    and each layer written at its source's start plus that count: the stable
    argsort, with no sort of the layers and no chain through memory.  Left
    to the caller (numpy), with its keys raised in full: a NaN priority, two
    sources of equal value (their layers would interleave), or more sources
    S than insertion sorts cheaply (S^2 > ``limit``; -1 leaves every design).
    ``keys`` ``(L,)`` float64 and ``scratch`` ``(4, L)`` int64 come from the
    wrapper.  (One pass that never breaks off: it compiles in about two
    thirds of the time of one that stopped at the first NaN and raised again.)"""
    P, L = priority.shape
    src, within, size, sources = scratch[0], scratch[1], scratch[2], scratch[3]
    for p in range(P):
        num_sources, nan = 0, False
        for layer in range(L):
            key, source = priority[p, layer], layer
            nan |= key != key
            for d in range(preds.shape[1]):
                pred = preds[layer, d]
                if pred >= 0:
                    # The raise, and where the maximum came from (if no NaN: else left to numpy).
                    inherited = keys[pred]
                    source = src[pred] if key < inherited else source
                    key = _max(key, inherited)
            keys[layer], src[layer] = key, source
            size[layer] = 0  # read only if this layer is a source
            count = size[source]
            size[source], within[layer] = count + 1, count
            sources[num_sources] = layer  # kept only if it is a source
            num_sources += source == layer
        left = nan or num_sources * num_sources > limit
        if not left:
            for j in range(1, num_sources):
                x = sources[j]
                i = j - 1
                while i >= 0 and keys[x] < keys[sources[i]]:
                    sources[i + 1] = sources[i]
                    i -= 1
                sources[i + 1] = x
            start = 0
            for j in range(num_sources):
                x = sources[j]
                left |= j > 0 and keys[x] == keys[sources[j - 1]]
                start, size[x] = start + size[x], start  # size becomes each source's first position
        fallback[p] = left
        for layer in range(L):
            if left:
                raised[p, layer] = keys[layer]
            else:
                order[p, size[src[layer]] + within[layer]] = layer


def schedule_order(priority: np.ndarray, preds: np.ndarray) -> np.ndarray:
    """``(P, L)`` int64: each design's layers in the order they are placed, the
    stable argsort of ``topological_priority(priority, preds)``.

    Compiled by counting distinct keys (``_order_kernel``); a design whose
    keys are too many distinct values for that is sorted by numpy (a
    compiled merge sort was measured slower than numpy's stable argsort).
    """
    priority, preds = _f64(priority), _i64(preds)
    P, L = priority.shape
    order, fallback, raised = np.empty((P, L), dtype=np.int64), np.empty(P, dtype=np.bool_), np.empty((P, L))
    _order_kernel(priority, preds, 16 * L, order, fallback, raised, np.empty(L),
                  np.empty((4, max(L, 1)), dtype=np.int64))  # fmt: skip
    if fallback.any():
        order[fallback] = np.argsort(raised[fallback], axis=1, kind="stable")
    return order


def transfer_columns(transfer_s: np.ndarray) -> np.ndarray:
    """``(L, 2 D)`` float64: zeros, then ``transfer_s`` ``(L, D)``.  The kernels
    read a predecessor's delay at column ``d + D * cross`` (``cross``: it
    exists and ran on another core), an index rather than a select on the
    cores, which x86 compiled to a branch that a random layer mapping
    mispredicted; an absent predecessor reads a zero, whatever its slot holds."""
    transfer_s = _f64(transfer_s)
    return np.concatenate([np.zeros_like(transfer_s), transfer_s], axis=1)


@numba.njit(cache=True, no_cfunc_wrapper=True)
def _schedule_design(latency, core_of, order, preds, transfers, release_s, p, finish, core_free):
    """List-schedule design ``p``: its ``latency``, ``core_of`` (each layer's
    core) and ``order`` are ``(L,)`` rows, ``transfers`` is
    ``transfer_columns``' table; ``release_s`` is ``(P, L)`` or ``(0, 0)`` for
    none.  Fills ``finish`` ``(L + 1,)``, whose last slot holds -inf: what an
    absent predecessor (-1) reads, so it leaves the maximum as it is without
    a select.  Returns the makespan."""
    D = preds.shape[1]
    released = release_s.shape[0] > 0
    for c in range(core_free.shape[0]):  # (a loop: slice assignment compiles slowly)
        core_free[c] = 0.0
    finish[-1] = -np.inf
    last = 0.0  # as finish.max(axis=1, initial=0.0)
    for t in range(order.shape[0]):
        layer = order[t]
        core = core_of[layer]
        start = core_free[core]
        if released:
            start = _max(start, release_s[p, layer])
        for d in range(D):
            # Adding 0.0 on one core is exact (a finish is never -0.0), as
            # numpy added np.where(cross, transfer, 0.0); -inf + 0.0 stays -inf.
            pred = preds[layer, d]
            cross = (pred >= 0) & (core_of[pred] != core)
            start = _max(start, finish[pred] + transfers[layer, d + D * cross])
        done = start + latency[layer]
        finish[layer] = done
        core_free[core] = done
        last = _max(last, done)
    return last


@numba.njit(cache=True, no_cfunc_wrapper=True)
def _schedule_shared_and_alone(latency, core_of, instance, order, preds, transfers, finish, core_free, alone,
                               alone_free):  # fmt: skip
    """``_schedule_design`` twice in one walk of ``order``, without release
    times: the shared schedule (``finish`` ``(L + 1,)``, ``core_free``) and
    each model instance alone (``alone`` ``(L + 1,)``, ``alone_free``
    ``(C * I,)``), its layers on cores of their own (``core + C * instance``).
    The two walks read the same layer, predecessors and transfers; walked
    once, they are read once (a fifth of the scoring kernel at P = 1024).
    Each schedule's arithmetic is ``_schedule_design``'s, -inf in the last
    slots included.  Returns the shared makespan."""
    C = core_free.shape[0]
    D = preds.shape[1]
    for c in range(C):
        core_free[c] = 0.0
    for c in range(alone_free.shape[0]):
        alone_free[c] = 0.0
    finish[-1], alone[-1] = -np.inf, -np.inf
    last = 0.0
    for t in range(order.shape[0]):
        layer = order[t]
        core = core_of[layer]
        own = core + C * instance[layer]
        start, start_alone = core_free[core], alone_free[own]
        for d in range(D):
            pred = preds[layer, d]
            pred_core = core_of[pred]
            cross = (pred >= 0) & (pred_core != core)
            start = _max(start, finish[pred] + transfers[layer, d + D * cross])
            cross = (pred >= 0) & (pred_core + C * instance[pred] != own)
            start_alone = _max(start_alone, alone[pred] + transfers[layer, d + D * cross])
        done = start + latency[layer]
        finish[layer] = done
        core_free[core] = done
        last = _max(last, done)
        done = start_alone + latency[layer]
        alone[layer] = done
        alone_free[own] = done
    return last


@numba.njit(cache=True, nogil=True, no_cfunc_wrapper=True)
def _list_schedule_kernel(latency_s, layer_core, order, preds, transfers, release_s, num_cores, finish, makespan):
    """Fill ``finish`` ``(P, L)`` and ``makespan`` ``(P,)``; ``release_s`` is ``(P, L)`` or ``(0, 0)`` for none."""
    P, L = latency_s.shape
    core_free, row = np.empty(num_cores), np.empty(L + 1)
    for p in range(P):
        makespan[p] = _schedule_design(latency_s[p], layer_core[p], order[p], preds, transfers, release_s, p, row,
                                       core_free)  # fmt: skip
        for layer in range(L):
            finish[p, layer] = row[layer]


@numba.njit(cache=True, no_cfunc_wrapper=True)
def _greedy_design(latency, core_active, order, preds, bias_s, p, core_free, finish, assignment):
    """Best-fit assignment of design ``p``: ``latency`` ``(C, L)`` (float64 or
    float32), ``core_active`` ``(C,)``, ``order`` and ``assignment`` ``(L,)``;
    ``core_free`` and ``finish`` ``(L + 1,)`` are scratch (``finish``'s last
    slot -inf, as in ``_schedule_design``)."""
    C = core_free.shape[0]
    biased = bias_s.shape[0] > 0
    for c in range(core_free.shape[0]):  # (a loop: slice assignment compiles slowly)
        core_free[c] = 0.0
    finish[-1] = -np.inf
    for t in range(order.shape[0]):
        layer = order[t]
        ready = 0.0
        for d in range(preds.shape[1]):
            ready = _max(ready, finish[preds[layer, d]])
        best, best_key, best_done = 0, 0.0, 0.0
        for c in range(C):
            # An inactive core's latency + inf, as the numpy path blocked it.
            done = _max(core_free[c], ready) + (np.float64(latency[c, layer]) + (0.0 if core_active[c] else np.inf))
            key = done + bias_s[p, layer, c] if biased else done
            # np.argmin: the first minimum, or the first NaN.  Bitwise & and |,
            # not short-circuit: selects instead of unpredictable branches.
            take = (c == 0) | ((best_key == best_key) & ((key < best_key) | (key != key)))
            best = c if take else best
            best_key = key if take else best_key
            best_done = done if take else best_done  # (a scalar: no per-core array to store and reload)
        finish[layer] = best_done
        core_free[best] = best_done
        assignment[layer] = best


@numba.njit(cache=True, nogil=True, no_cfunc_wrapper=True)
def _greedy_kernel(latency_s, core_active, order, preds, bias_s, assignment):
    """Fill ``assignment`` ``(P, L)``; ``latency_s`` is ``(P, C, L)``, ``bias_s`` ``(P, L, C)`` or ``(0, 0, 0)``."""
    P, C, L = latency_s.shape
    core_free, finish = np.empty(C), np.empty(L + 1)
    for p in range(P):
        _greedy_design(latency_s[p], core_active[p], order[p], preds, bias_s, p, core_free, finish,
                       assignment[p])  # fmt: skip


@dataclasses.dataclass(frozen=True)
class ScheduleResult:
    """``finish_s``/``latency_s``/``start_s`` ``(P, L)``; ``makespan_s`` ``(P,)``."""

    finish_s: np.ndarray
    latency_s: np.ndarray
    makespan_s: np.ndarray

    @property
    def start_s(self) -> np.ndarray:
        """Computed on request: only Gantt charts read it."""
        return self.finish_s - self.latency_s


def kernel_array(a, dtype) -> np.ndarray:
    """``a`` as the one array type the kernels are compiled for: C-contiguous,
    of ``dtype`` and writeable.  Numba types a read-only array as a type of its
    own, and Ray's object store (a worker's workload and tables), a
    ``np.broadcast_to`` view or a row of a read-only batch hand out read-only
    ones: each compiled and cached every kernel a second time (a cold quickstart
    compiled the scoring kernels three times).  The copy is made only then."""
    a = np.ascontiguousarray(a, dtype=dtype)
    return a if a.flags.writeable else a.copy()


def _f64(a) -> np.ndarray:
    return kernel_array(a, np.float64)


def _i64(a) -> np.ndarray:
    return kernel_array(a, np.int64)


def list_schedule(
    latency_s: np.ndarray,
    layer_core: np.ndarray,
    order: np.ndarray,
    preds: np.ndarray,
    transfer_s: np.ndarray,
    num_cores: int,
    release_s: np.ndarray | None = None,
) -> ScheduleResult:
    """Place layers in ``order`` on their cores; all arrays are per design.

    ``latency_s``, ``layer_core``, ``order`` are ``(P, L)``; ``preds`` is
    ``(L, D)``, -1 padded; ``transfer_s`` ``(L, D)`` is the delay before the
    output of a layer's d-th predecessor is usable by it when the two run on
    different cores (on one core it is already there); ``release_s``
    ``(P, L)``, the earliest each layer may start, defaults to 0.
    """
    P, L = latency_s.shape
    latency_s = _f64(latency_s)
    release = np.zeros((0, 0)) if release_s is None else _f64(np.broadcast_to(release_s, (P, L)))
    finish, makespan = np.empty((P, L)), np.empty(P)
    # Inputs are made contiguous and of one dtype so that one compiled
    # signature (cached on disk) serves every call.
    _list_schedule_kernel(
        latency_s, _i64(layer_core), _i64(order), _i64(preds), transfer_columns(transfer_s), release, int(num_cores),
        finish, makespan,
    )  # fmt: skip
    return ScheduleResult(finish_s=finish, latency_s=latency_s, makespan_s=makespan)


def core_busy_s(latency_s: np.ndarray, layer_core: np.ndarray, num_cores: int) -> np.ndarray:
    """``(P, C)`` seconds each core spends running layers."""
    return np.stack([row_total(np.where(layer_core == c, latency_s, 0.0)) for c in range(num_cores)], axis=1)


def greedy_assign(
    latency_s: np.ndarray, core_active: np.ndarray, order: np.ndarray, preds: np.ndarray, bias_s: np.ndarray | None
) -> np.ndarray:
    """Herald-style best-fit mapping, ``(P, L)`` core per layer.

    ``latency_s`` is ``(P, C, L)``: each core's latency for each layer.  Each
    layer, in ``order``, goes to the active core where it would finish first
    (plus ``bias_s[p, l, c]`` when given; ties go to the lower core).
    Inter-core transfers are ignored while choosing; the evaluator prices
    them when it schedules the result.
    """
    bias = np.zeros((0, 0, 0)) if bias_s is None else _f64(bias_s)
    assignment = np.empty(order.shape, dtype=np.int64)
    _greedy_kernel(
        _f64(latency_s), kernel_array(core_active, np.bool_), _i64(order), _i64(preds), bias, assignment
    )
    return assignment
