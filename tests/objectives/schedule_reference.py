"""The list schedule and greedy assignment as they were before the compiled
kernels: O(L) numpy steps of width P.  Kept only as the reference the
kernels must match bit for bit (``test_schedule_kernels.py``).
"""

import numpy as np


def dependency_levels(preds: np.ndarray) -> list[np.ndarray]:
    """Layers grouped by longest-path depth; ``preds`` is ``(L, D)``, -1 padded.

    Layers of one level have no dependencies among themselves, so per-level
    work vectorizes over them.  Requires layers in topological order.
    """
    L = preds.shape[0]
    depth = np.zeros(L, dtype=np.int64)
    for layer in range(L):
        ps = preds[layer][preds[layer] >= 0]
        if ps.size:
            depth[layer] = depth[ps].max() + 1
    return [np.flatnonzero(depth == d) for d in range(int(depth.max()) + 1)] if L else []


def topological_priority(priority: np.ndarray, preds: np.ndarray, levels: list[np.ndarray]) -> np.ndarray:
    """Raise each key to at least its predecessors' keys, ``(P, L)``.

    With ties broken by layer index (predecessors come first), a stable
    argsort of the result is a topological order for every design.
    """
    keys = priority.astype(np.float64, copy=True)
    padded = np.concatenate([keys, np.full((keys.shape[0], 1), -np.inf)], axis=1)
    safe_preds = np.where(preds >= 0, preds, keys.shape[1])
    for level in levels[1:]:
        inherited = padded[:, safe_preds[level]].max(axis=-1)
        padded[:, level] = np.maximum(padded[:, level], inherited)
    return padded[:, :-1]


def schedule_order(priority: np.ndarray, preds: np.ndarray, levels: list[np.ndarray]) -> np.ndarray:
    """``(P, L)`` int64: each design's layers in the order they are placed."""
    return np.argsort(topological_priority(priority, preds, levels), axis=1, kind="stable")


def _steps(order: np.ndarray, preds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices, step-major, into a ``(P, L + 1)`` finish table whose
    column L is a permanent zero that padded (-1) predecessors read:
    ``(L, P)`` of each step's layer and ``(L, D, P)`` of its predecessors.

    Precomputing them keeps each of the L sequential steps to a few
    contiguous gathers and scatters of width P.
    """
    P, L = order.shape
    row_base = (np.arange(P) * (L + 1))[:, None]
    safe_preds = np.where(preds >= 0, preds, L)
    layer_at = (row_base + order).T.copy()
    preds_at = (row_base[..., None] + safe_preds[order]).transpose(1, 2, 0).copy()
    return layer_at, preds_at


def _by_step(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``(P, L, ...)`` per-layer values rearranged to ``(L, P, ...)`` in placement order."""
    P, L = order.shape
    flat = (np.arange(P)[:, None] * L + order).T
    return values.reshape(P * L, *values.shape[2:])[flat]


def list_schedule_finish(
    latency_s: np.ndarray,
    layer_core: np.ndarray,
    order: np.ndarray,
    preds: np.ndarray,
    transfer_s: np.ndarray,
    num_cores: int,
    release_s: np.ndarray | None = None,
) -> np.ndarray:
    """``(P, L)`` finish times: layers placed in ``order`` on their cores.

    ``latency_s``, ``layer_core``, ``order`` are ``(P, L)``; ``preds`` is
    ``(L, D)``; ``transfer_s`` is ``(P, L, D)``, the delay before the output
    of a layer's d-th predecessor is usable by it; ``release_s`` ``(P, L)``,
    when given, is the earliest each layer may start (the one addition to
    the numpy loop as it was).
    """
    P, L = latency_s.shape
    layer_at, preds_at = _steps(order, preds)
    core_at = _by_step(layer_core, order) + (np.arange(P) * num_cores)
    latency_at = _by_step(latency_s, order)
    transfer_at = np.ascontiguousarray(_by_step(transfer_s, order).transpose(0, 2, 1))  # (L, D, P)
    # Skip predecessor slots no design uses at a step, and additions of zero.
    has_pred = (preds_at % (L + 1) != L).any(axis=2)
    has_delay = (transfer_at != 0).any(axis=2)
    finish = np.zeros(P * (L + 1))
    core_free = np.zeros(P * num_cores)
    release_at = None if release_s is None else _by_step(release_s, order)
    start, arrival = np.empty(P), np.empty(P)
    for t in range(L):
        np.take(core_free, core_at[t], out=start)
        if release_at is not None:
            np.maximum(start, release_at[t], out=start)
        for d in np.flatnonzero(has_pred[t]):
            np.take(finish, preds_at[t, d], out=arrival)
            if has_delay[t, d]:
                arrival += transfer_at[t, d]
            np.maximum(start, arrival, out=start)
        start += latency_at[t]  # now the finish time
        finish[layer_at[t]] = start
        core_free[core_at[t]] = start
    return finish.reshape(P, L + 1)[:, :L]


def greedy_assign(
    latency_s: np.ndarray, core_active: np.ndarray, order: np.ndarray, preds: np.ndarray, bias_s: np.ndarray | None
) -> np.ndarray:
    """Herald-style best-fit mapping, ``(P, L)`` core per layer.

    ``latency_s`` is ``(P, L, C)``: each layer's latency on each core.  Each
    layer, in ``order``, goes to the active core where it would finish first
    (plus ``bias_s[p, l, c]`` when given).  Inter-core transfers are ignored
    while choosing; the evaluator prices them when it schedules the result.
    """
    P, L, C = latency_s.shape
    layer_at, preds_at = _steps(order, preds)
    has_pred = (preds_at % (L + 1) != L).any(axis=2)
    # Core-major (L, C, P): per step, reductions over cores run across rows.
    blocked = np.where(core_active, 0.0, np.inf)[:, None, :]
    latency_at = np.ascontiguousarray((_by_step(latency_s + blocked, order)).transpose(0, 2, 1))
    bias_at = None if bias_s is None else np.ascontiguousarray(_by_step(bias_s, order).transpose(0, 2, 1))
    cells = np.arange(P)
    finish = np.zeros(P * (L + 1))
    core_free = np.zeros((C, P))
    ready, arrival = np.empty(P), np.empty(P)
    choice_at = np.zeros((L, P), dtype=np.int64)
    for t in range(L):
        ready.fill(0.0)
        for d in np.flatnonzero(has_pred[t]):
            np.take(finish, preds_at[t, d], out=arrival)
            np.maximum(ready, arrival, out=ready)
        finish_if = np.maximum(core_free, ready) + latency_at[t]
        core = np.argmin(finish_if if bias_at is None else finish_if + bias_at[t], axis=0)
        slot = core * P + cells
        done = finish_if.ravel()[slot]
        choice_at[t] = core
        finish[layer_at[t]] = done
        core_free.ravel()[slot] = done
    assignment = np.empty((P, L), dtype=np.int64)
    np.put_along_axis(assignment, order, choice_at.T, axis=1)
    return assignment
