"""The optimizer interface, the gene table optimizers read, and infeasibility penalties.

Every optimizer searches the unit cube [0, 1]^d of a space's encoding:

* ``ask(n) -> X`` — float64 ``(n, d)`` in [0, 1] (fewer rows only when the
  optimizer is ``done``, e.g. an exhausted grid);
* ``tell(X, F)`` — the ``X`` of the preceding ``ask`` with its ``(n, n_obj)``
  objective values (minimised); ``inf`` (infeasible) and NaN are allowed;
* ``state() -> dict`` / ``load(state)`` — everything needed to continue, so
  an optimizer restored from a state asks exactly what the original would.

Genes: a space describes each dimension by a gene with a ``name``, a ``kind``
(``categorical``, ``integer``, ``continuous`` or ``priority``) and, for the
discrete kinds, its ``choices`` or inclusive ``bounds``. A discrete gene with
k values decodes as ``min(floor(u·k), k−1)`` (STYLE.md §4), so optimizers that
know the genes can work on values and hand back cell centres ``(i + ½)/k``.
"""

from __future__ import annotations

import abc
import dataclasses
import pickle
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

DISCRETE_KINDS = ("categorical", "integer")
KINDS = ("categorical", "integer", "continuous", "priority")
PENALTY = 1e30  # what an infeasible (inf/NaN) objective becomes where a library needs finite values


@dataclasses.dataclass(frozen=True)
class Gene:
    """A stand-in for a space's gene, for problems defined directly on [0, 1]^d."""

    name: str
    kind: str = "continuous"
    choices: tuple | None = None
    bounds: tuple | None = None


@dataclasses.dataclass(frozen=True)
class GeneTable:
    """What optimizers need to know of the d genes.

    ``cardinality`` ``(d,)`` int: number of values of a discrete gene, 0 for a
    continuous one; ``low`` ``(d,)`` int: the first integer value (0 for
    categorical genes, whose values are choice indices).
    """

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    cardinality: np.ndarray
    low: np.ndarray

    @property
    def dim(self) -> int:
        return len(self.names)

    @property
    def discrete(self) -> np.ndarray:
        return self.cardinality > 0

    def to_index(self, X: np.ndarray) -> np.ndarray:
        """``(n, d)`` int: the value index of each discrete gene (0 where continuous)."""
        k = np.maximum(self.cardinality, 1)
        return np.where(self.discrete, np.minimum(np.floor(X * k), k - 1), 0).astype(np.int64)

    def centre(self, index: np.ndarray) -> np.ndarray:
        """Cell centres ``(i + ½)/k`` for value indices of the discrete genes."""
        return (index + 0.5) / np.maximum(self.cardinality, 1)

    def snap(self, X: np.ndarray) -> np.ndarray:
        """Discrete genes moved to the centres of their cells; continuous ones clipped to [0, 1]."""
        X = np.clip(np.asarray(X, dtype=np.float64), 0.0, 1.0)
        return np.where(self.discrete, self.centre(self.to_index(X)), X)


def _cardinality(gene: Any) -> tuple[int, int]:
    """(k, first integer value) of a discrete gene, (0, 0) of a continuous one.

    Reads ``spaces.genes.Gene`` (``num_choices``, ``low``) or, for other gene
    records, ``choices`` or inclusive ``bounds``.
    """
    kind = getattr(gene, "kind", "continuous")
    if kind not in DISCRETE_KINDS:
        return 0, 0
    low = int(getattr(gene, "low", 0)) if kind == "integer" else 0
    k = getattr(gene, "num_choices", None)
    if k is None and getattr(gene, "choices", None):
        k = len(gene.choices)
    if k is None and getattr(gene, "bounds", None) is not None:
        low, high = int(gene.bounds[0]), int(gene.bounds[1])
        k = high - low + 1
    if k is None:
        raise ValueError(f"gene {getattr(gene, 'name', gene)!r} is {kind} but has neither choices nor bounds")
    return int(k), low


def gene_table(genes: Sequence[Any] | None, dim: int) -> GeneTable:
    """The gene table of a space (or all-continuous genes ``x0 … x{d-1}`` when ``genes`` is None)."""
    if genes is None:
        genes = [Gene(f"x{i}") for i in range(dim)]
    genes = list(genes)
    if len(genes) != dim:
        raise ValueError(f"{len(genes)} genes given for a {dim}-dimensional space")
    names = tuple(str(getattr(g, "name", f"x{i}")) for i, g in enumerate(genes))
    if len(set(names)) != len(names):
        raise ValueError("gene names must be unique")
    kinds = tuple(getattr(g, "kind", "continuous") for g in genes)
    for name, kind in zip(names, kinds):
        if kind not in KINDS:
            raise ValueError(f"gene {name!r} has kind {kind!r}; allowed: {', '.join(KINDS)}")
    card = [_cardinality(g) for g in genes]
    return GeneTable(
        names=names,
        kinds=kinds,
        cardinality=np.array([c for c, _ in card], dtype=np.int64).reshape(dim),
        low=np.array([lo for _, lo in card], dtype=np.int64).reshape(dim),
    )


def finite_objectives(F: np.ndarray) -> np.ndarray:
    """``F`` with every non-finite value (infeasible, NaN, −inf) replaced by a large finite penalty.

    The penalty is ``PENALTY`` or ten times the largest finite magnitude in
    ``F`` if that is larger, so infeasible points always rank last.
    """
    F = np.array(F, dtype=np.float64)
    bad = ~np.isfinite(F)
    if bad.any():
        finite = np.abs(F[~bad])
        F[bad] = max(PENALTY, 10.0 * finite.max()) if finite.size else PENALTY
    return F


class Optimizer(abc.ABC):
    """Base class: construct with keyword arguments only; see the module docstring."""

    name: ClassVar[str] = ""
    multi_objective: ClassVar[bool] = False
    _state_attributes: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        dim: int,
        n_obj: int = 1,
        seed: int = 0,
        genes: Sequence[Any] | None = None,
        initial_X: np.ndarray | None = None,
    ):
        if int(dim) < 1:
            raise ValueError(f"dim must be a positive integer, got {dim}")
        if int(n_obj) < 1:
            raise ValueError(f"n_obj must be a positive integer, got {n_obj}")
        if n_obj > 1 and not self.multi_objective:
            raise ValueError(f"optimizer {self.name!r} is single-objective but {n_obj} objectives were given")
        self.dim, self.n_obj, self.seed = int(dim), int(n_obj), int(seed)
        self.genes = gene_table(genes, self.dim)
        self.initial_X = self.check_X(np.zeros((0, self.dim)) if initial_X is None else initial_X, "initial_X")

    @property
    def batch_size(self) -> int:
        """How many points this optimizer would like to have evaluated together."""
        return 32

    @property
    def done(self) -> bool:
        """True when the optimizer has nothing left to ask (grid exhausted, CMA-ES out of restarts)."""
        return False

    @abc.abstractmethod
    def ask(self, n: int) -> np.ndarray: ...

    @abc.abstractmethod
    def tell(self, X: np.ndarray, F: np.ndarray) -> None: ...

    def state(self) -> dict:
        values = {name: getattr(self, name) for name in self._state_attributes}
        return {"optimizer": self.name, "pickle": pickle.dumps(values)}

    def load(self, state: dict) -> None:
        if state.get("optimizer") != self.name:
            raise ValueError(f"state of optimizer {state.get('optimizer')!r} cannot be loaded into {self.name!r}")
        for name, value in pickle.loads(state["pickle"]).items():
            setattr(self, name, value)

    # helpers for subclasses -------------------------------------------------

    def check_n(self, n: int) -> int:
        if int(n) < 1:
            raise ValueError(f"ask(n) needs n >= 1, got {n}")
        return int(n)

    def check_X(self, X: np.ndarray, what: str = "X") -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"{what} must have shape (n, {self.dim}), got {X.shape}")
        if X.size and not ((X >= 0) & (X <= 1)).all():
            raise ValueError(f"{what} must lie in [0, 1]")
        return X

    def check_told(self, X: np.ndarray, F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = self.check_X(X)
        F = np.asarray(F, dtype=np.float64)
        if F.ndim == 1 and self.n_obj == 1:
            F = F[:, None]
        if F.shape != (len(X), self.n_obj):
            raise ValueError(f"F must have shape ({len(X)}, {self.n_obj}), got {F.shape}")
        return X, F
