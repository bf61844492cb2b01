"""The optimizer interface, the gene table optimizers read, and infeasibility penalties.

Every optimizer searches the unit cube [0, 1]^d of a space's encoding:

* ``ask(n) -> X`` — float64 ``(n, d)`` in [0, 1] (fewer rows only when the
  optimizer is ``done``, e.g. an exhausted grid);
* ``tell(X, F)`` — the ``X`` of the preceding ``ask`` with its ``(n, n_obj)``
  objective values (minimised); ``inf`` (infeasible) and NaN are allowed;
* ``state() -> dict`` / ``load(state)`` — everything needed to continue, so
  an optimizer restored from a state asks exactly what the original would.

Genes: a space describes each dimension by a :class:`spaces.genes.Gene`
(its name, kind and, for the discrete kinds, choices or inclusive integer
bounds). A discrete gene with k values decodes by the bin rule of
:func:`spaces.genes.bin_index`, so optimizers that know the genes can work
on values and hand back bin centres (:func:`spaces.genes.bin_centre`).
"""

from __future__ import annotations

import abc
import dataclasses
import io
import pickle
import threading
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from spaces.genes import Gene, bin_centre, bin_index

PENALTY = 1e30  # what an infeasible (inf/NaN) objective becomes where a library needs finite values

# A lock guards a live object across threads and has no state worth keeping, but pickle refuses it.
# Optuna 5.1's NSGA-II/III samplers hold one (``sampler._thread_lock``, new since 5.0), which made
# their studies unpicklable and so their checkpoints impossible; a restored state gets a new lock.
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


class _StatePickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, _LOCK_TYPES):
            return (threading.RLock if isinstance(obj, _LOCK_TYPES[1]) else threading.Lock), ()
        return NotImplemented


@dataclasses.dataclass(frozen=True)
class GeneTable:
    """What optimizers need to know of the d genes, as arrays.

    ``cardinality`` ``(d,)`` int: number of values of a discrete gene, 0 for a
    continuous one; ``low`` ``(d,)`` int: the first integer value (0 for
    categorical genes, whose values are choice indices); ``choices``: each
    gene's choices (``()`` unless categorical), for optimizers that show them.
    """

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    cardinality: np.ndarray
    low: np.ndarray
    choices: tuple[tuple, ...] = ()

    @property
    def dim(self) -> int:
        return len(self.names)

    @property
    def discrete(self) -> np.ndarray:
        return self.cardinality > 0

    def to_index(self, X: np.ndarray) -> np.ndarray:
        """``(n, d)`` int: the value index of each discrete gene (0 where continuous)."""
        return np.where(self.discrete, bin_index(X, np.maximum(self.cardinality, 1)), 0)

    def centre(self, index: np.ndarray) -> np.ndarray:
        """Bin centres for value indices of the discrete genes."""
        return bin_centre(index, np.maximum(self.cardinality, 1))

    def snap(self, X: np.ndarray) -> np.ndarray:
        """Discrete genes moved to the centres of their cells; continuous ones clipped to [0, 1]."""
        X = np.clip(np.asarray(X, dtype=np.float64), 0.0, 1.0)
        return np.where(self.discrete, self.centre(self.to_index(X)), X)


def gene_table(genes: Sequence[Gene] | None, dim: int) -> GeneTable:
    """The gene table of a space (or all-continuous genes ``x0 … x{d-1}`` when ``genes`` is None)."""
    if genes is None:
        genes = [Gene(name=f"x{i}", kind="continuous") for i in range(dim)]
    genes = list(genes)
    if len(genes) != dim:
        raise ValueError(f"{len(genes)} genes given for a {dim}-dimensional space")
    for i, gene in enumerate(genes):
        if not isinstance(gene, Gene):
            raise TypeError(f"gene {i} is a {type(gene).__name__}, not a spaces.genes.Gene")
    names = tuple(g.name for g in genes)
    if len(set(names)) != len(names):
        raise ValueError("gene names must be unique")
    return GeneTable(
        names=names,
        kinds=tuple(g.kind for g in genes),
        cardinality=np.array([g.num_choices or 0 for g in genes], dtype=np.int64).reshape(dim),
        low=np.array([int(g.low) if g.kind == "integer" else 0 for g in genes], dtype=np.int64).reshape(dim),
        choices=tuple(tuple(g.choices) for g in genes),
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
        genes: Sequence[Gene] | None = None,
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
        buffer = io.BytesIO()
        _StatePickler(buffer).dump(values)
        return {"optimizer": self.name, "pickle": buffer.getvalue()}

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
