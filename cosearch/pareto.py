"""Pareto fronts and hypervolume (minimisation everywhere).

* ``nondominated_mask(F)`` — which rows of ``(n, k)`` objective values no other
  row dominates; of identical rows only the first is kept.
* ``hypervolume(F, reference)`` — the exact volume dominated by ``F`` and
  bounded by ``reference``: a sweep for 2-D (O(n log n)), slices of 2-D
  sweeps for 3-D (O(n² log n)), recursive slicing beyond (exact, exponential
  in k; meant for k ≤ 4).
* ``ParetoArchive`` — an archive of non-dominated designs (their objective
  values over named keys, their points ``X`` in [0, 1]^d, and where they came
  from) that merges order-independently, so the same evaluations give the same
  front whichever run or worker reported them first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from objectives.metrics import METRICS, lookup

def front_keys() -> tuple[str, ...]:
    """The metrics the table marks as keys of every front, in table order."""
    return tuple(m.name for m in METRICS.values() if m.front)


DEFAULT_KEYS = front_keys()  # latency_s, energy_j, resource_fraction


def archive_keys(objectives: Sequence[str]) -> tuple[str, ...]:
    """What an experiment's fronts are kept over: the table's ``front`` metrics, then
    each other minimised objective.

    Maximised objectives stay out (a front minimises every key).  So does EDP:
    it rises with latency and energy, both keys already, so it can never add a
    design to the front (``pareto.csv`` lists it anyway).
    """
    front = front_keys()
    extra = (k for k in objectives if k not in front and k != "edp" and lookup(k).direction == "minimize")
    return front + tuple(dict.fromkeys(extra))


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """True when ``a`` is no worse than ``b`` everywhere and better somewhere."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all(a <= b) and np.any(a < b))


def nondominated_mask(F: np.ndarray, chunk: int = 512) -> np.ndarray:
    """``(n,)`` bool: rows of ``F`` ``(n, k)`` that no other row dominates.

    Of several identical rows only the first is kept. Rows with a NaN are
    never kept; ``inf`` compares as a value (it is dominated by any finite row).
    """
    F = np.asarray(F, dtype=float)
    if F.ndim != 2:
        raise ValueError(f"F must have shape (n, k), got {F.shape}")
    n = F.shape[0]
    keep = ~np.isnan(F).any(axis=1)
    if n == 0:
        return keep
    _, first = np.unique(F, axis=0, return_index=True)
    unique_first = np.zeros(n, dtype=bool)
    unique_first[first] = True
    keep &= unique_first
    candidates = F[keep]
    for start in range(0, n, chunk):
        rows = F[start : start + chunk]  # (r, k) against every candidate (m, k)
        le = (candidates[None, :, :] <= rows[:, None, :]).all(axis=2)
        lt = (candidates[None, :, :] < rows[:, None, :]).any(axis=2)
        keep[start : start + chunk] &= ~(le & lt).any(axis=1)
    return keep


def _hypervolume_2d(F: np.ndarray, reference: np.ndarray) -> float:
    """Rows inside the box, dominated or not: sweep x, the covered height is the running min of y."""
    order = np.argsort(F[:, 0], kind="stable")
    x, y = F[order, 0], np.minimum.accumulate(F[order, 1])
    widths = np.append(x[1:], reference[0]) - x
    return float(np.sum(widths * (reference[1] - y)))


def _hypervolume(F: np.ndarray, reference: np.ndarray) -> float:
    """Rows inside the box; slices along the last objective down to the 2-D sweep."""
    if F.shape[1] == 1:
        return float(reference[0] - F[:, 0].min())
    if F.shape[1] == 2:
        return _hypervolume_2d(F, reference)
    order = np.argsort(F[:, -1], kind="stable")
    F = F[order]
    heights = np.append(F[1:, -1], reference[-1]) - F[:, -1]
    total = 0.0
    for i in np.flatnonzero(heights > 0):
        total += heights[i] * _hypervolume(F[: i + 1, :-1], reference[:-1])
    return total


def hypervolume(F: np.ndarray, reference: Sequence[float]) -> float:
    """Volume dominated by the rows of ``F`` ``(n, k)`` inside ``[F, reference]``.

    Rows not strictly better than ``reference`` in every objective add nothing.
    """
    F = np.asarray(F, dtype=float)
    reference = np.asarray(reference, dtype=float)
    if F.ndim != 2 or reference.shape != (F.shape[1],):
        raise ValueError(f"F must be (n, k) and reference (k,); got {F.shape} and {reference.shape}")
    F = F[(F < reference).all(axis=1)]
    if len(F) == 0:
        return 0.0
    if F.shape[1] > 2:
        F = F[nondominated_mask(F)]
    return _hypervolume(F, reference)


class ParetoArchive:
    """Non-dominated designs over ``keys`` (minimised), with their points and origin.

    ``values`` ``(m, k)`` objective values over ``keys``; ``X`` ``(m, d)`` the
    points in [0, 1]^d; ``source`` ``(m,)`` str, the run that found each one;
    ``evaluation`` ``(m,)`` int, its index in that run. The front is kept
    sorted by (values, source, evaluation), and among equal values the
    smallest (source, evaluation) wins, so merging is order-independent.
    """

    def __init__(self, keys: Sequence[str] = DEFAULT_KEYS, reference: Sequence[float] | None = None, dim: int = 0):
        self.keys = tuple(keys)
        self.reference = None if reference is None else tuple(float(r) for r in reference)
        if self.reference is not None and len(self.reference) != len(self.keys):
            raise ValueError(f"reference has {len(self.reference)} values for {len(self.keys)} keys {self.keys}")
        self.values = np.zeros((0, len(self.keys)))
        self.X = np.zeros((0, dim))
        self.source = np.zeros(0, dtype=object)
        self.evaluation = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.values)

    def add(self, values: np.ndarray, X: np.ndarray, source: str | np.ndarray, evaluation: np.ndarray) -> np.ndarray:
        """Offer ``(n, k)`` values with their ``(n, d)`` points; returns the offered rows kept.

        Rows with a non-finite value (infeasible designs) are ignored.
        """
        values = np.asarray(values, dtype=float).reshape(-1, len(self.keys))
        X = np.asarray(X, dtype=float)
        n = len(values)
        source = np.broadcast_to(np.asarray(source, dtype=object), (n,))
        evaluation = np.broadcast_to(np.asarray(evaluation, dtype=np.int64), (n,))
        finite = np.isfinite(values).all(axis=1)
        if len(self.X) == 0 and self.X.shape[1] != X.shape[1]:
            self.X = np.zeros((0, X.shape[1]))
        self._merge(values[finite], X[finite], source[finite], evaluation[finite])
        kept = np.zeros(n, dtype=bool)
        if len(self) and finite.any():
            offered = set(zip(source[finite].tolist(), evaluation[finite].tolist()))
            mine = {(s, e) for s, e in zip(self.source.tolist(), self.evaluation.tolist()) if (s, e) in offered}
            kept[finite] = [(s, e) in mine for s, e in zip(source[finite].tolist(), evaluation[finite].tolist())]
        return kept

    def merge(self, other: "ParetoArchive") -> None:
        if other.keys != self.keys:
            raise ValueError(f"cannot merge archives over keys {other.keys} into {self.keys}")
        if len(other):
            if len(self.X) == 0:
                self.X = np.zeros((0, other.X.shape[1]))
            self._merge(other.values, other.X, other.source, other.evaluation)

    def _merge(self, values, X, source, evaluation) -> None:
        if len(values) == 0:
            return
        values = np.concatenate([self.values, values])
        X = np.concatenate([self.X, X])
        source = np.concatenate([self.source, source])
        evaluation = np.concatenate([self.evaluation, evaluation])
        rank_source = np.unique(source.astype(str), return_inverse=True)[1]
        order = np.lexsort((evaluation, rank_source, *values.T[::-1]))
        values, X, source, evaluation = values[order], X[order], source[order], evaluation[order]
        keep = nondominated_mask(values)
        self.values, self.X = values[keep], X[keep]
        self.source, self.evaluation = source[keep], evaluation[keep]

    def hypervolume(self) -> float:
        """Hypervolume against ``reference``; NaN when the archive has none."""
        if self.reference is None:
            return float("nan")
        return hypervolume(self.values, self.reference)

    def to_dict(self) -> dict:
        """Plain lists, for JSON or to send between processes."""
        return {
            "keys": list(self.keys),
            "reference": None if self.reference is None else list(self.reference),
            "values": self.values.tolist(),
            "X": self.X.tolist(),
            "source": [str(s) for s in self.source],
            "evaluation": self.evaluation.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "ParetoArchive":
        X = np.asarray(data["X"], dtype=float)
        archive = cls(data["keys"], data["reference"], dim=X.shape[1] if X.ndim == 2 else 0)
        if len(data["values"]):
            archive._merge(
                np.asarray(data["values"], dtype=float),
                X,
                np.asarray(data["source"], dtype=object),
                np.asarray(data["evaluation"], dtype=np.int64),
            )
        return archive

    def same_front(self, other: "ParetoArchive") -> bool:
        """Same keys, values, points and origins (what determinism tests compare)."""
        return (
            self.keys == other.keys
            and np.array_equal(self.values, other.values)
            and np.array_equal(self.X, other.X)
            and self.source.tolist() == other.source.tolist()
            and self.evaluation.tolist() == other.evaluation.tolist()
        )
