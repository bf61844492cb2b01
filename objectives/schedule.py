"""Non-preemptive list scheduling, vectorized over designs.

Every design has a priority key per layer.  Keys are first made monotone
along dependencies (a layer never sorts before a predecessor), so a stable
argsort gives a topological order; step t then places every design's t-th
layer at once:

    start = max(core_free[core], max over preds (finish[pred] + transfer))
    finish = start + latency;  core_free[core] = finish

That is O(L) numpy steps of width P.  ``greedy_assign`` runs the same loop
but picks, per layer, the active core with the earliest finish time —
Herald's best-fit assignment, whose finish-time criterion balances load by
itself; a per-(layer, core) bias lets a search steer it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from objectives.metrics import row_total


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


@dataclasses.dataclass(frozen=True)
class ScheduleResult:
    """``start_s``/``finish_s`` ``(P, L)``; ``core_busy_s`` ``(P, C)``; ``makespan_s`` ``(P,)``."""

    start_s: np.ndarray
    finish_s: np.ndarray
    core_busy_s: np.ndarray
    makespan_s: np.ndarray


def _steps(order: np.ndarray, preds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices, step-major: ``(L, P)`` of each step's layer into a
    ``(P, L + 1)`` finish table, and ``(L, P, D)`` of its predecessors.

    Precomputing them keeps each of the L sequential steps to a few
    contiguous gathers and scatters of width P.
    """
    P, L = order.shape
    row_base = (np.arange(P) * (L + 1))[:, None]
    safe_preds = np.where(preds >= 0, preds, L)  # column L stays 0: "no predecessor"
    layer_at = (row_base + order).T.copy()
    preds_at = (row_base[..., None] + safe_preds[order]).transpose(1, 0, 2).copy()
    return layer_at, preds_at


def _by_step(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``(P, L, ...)`` per-layer values rearranged to ``(L, P, ...)`` in placement order."""
    P, L = order.shape
    flat = (np.arange(P)[:, None] * L + order).T
    return values.reshape(P * L, *values.shape[2:])[flat]


def list_schedule(
    latency_s: np.ndarray,
    layer_core: np.ndarray,
    order: np.ndarray,
    preds: np.ndarray,
    transfer_s: np.ndarray,
    num_cores: int,
) -> ScheduleResult:
    """Place layers in ``order`` on their cores; all arrays are per design.

    ``latency_s``, ``layer_core``, ``order`` are ``(P, L)``; ``preds`` is
    ``(L, D)``; ``transfer_s`` is ``(P, L, D)``, the delay before the output
    of a layer's d-th predecessor is usable by it.
    """
    P, L = latency_s.shape
    layer_at, preds_at = _steps(order, preds)
    core_at = _by_step(layer_core, order) + (np.arange(P) * num_cores)
    latency_at = _by_step(latency_s, order)
    transfer_at = _by_step(transfer_s, order)
    finish = np.zeros(P * (L + 1))
    core_free = np.zeros(P * num_cores)
    for t in range(L):
        arrival = (finish[preds_at[t]] + transfer_at[t]).max(axis=1)
        done = np.maximum(core_free[core_at[t]], arrival) + latency_at[t]
        finish[layer_at[t]] = done
        core_free[core_at[t]] = done
    finish = finish.reshape(P, L + 1)[:, :L]
    busy = np.stack([row_total(np.where(layer_core == c, latency_s, 0.0)) for c in range(num_cores)], axis=1)
    return ScheduleResult(
        start_s=finish - latency_s, finish_s=finish, core_busy_s=busy, makespan_s=finish.max(axis=1, initial=0.0)
    )


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
    latency_at = _by_step(latency_s, order)
    if bias_s is not None:
        bias_at = _by_step(bias_s, order)
    blocked = np.where(core_active, 0.0, np.inf)
    rows = np.arange(P)
    finish = np.zeros(P * (L + 1))
    core_free = np.zeros((P, C))
    choice_at = np.zeros((L, P), dtype=np.int64)
    for t in range(L):
        ready = finish[preds_at[t]].max(axis=1)
        finish_if = np.maximum(core_free, ready[:, None]) + latency_at[t] + blocked
        core = np.argmin(finish_if if bias_s is None else finish_if + bias_at[t], axis=1)
        done = finish_if[rows, core]
        choice_at[t] = core
        finish[layer_at[t]] = done
        core_free[rows, core] = done
    assignment = np.empty((P, L), dtype=np.int64)
    np.put_along_axis(assignment, order, choice_at.T, axis=1)
    return assignment
