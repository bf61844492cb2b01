"""Exhaustive grid search for spaces small enough to enumerate.

Every discrete gene takes each of its values (the centre of its cell);
continuous genes take ``levels`` evenly spaced cell centres (``levels=1``:
the middle, 0.5). Points come in row-major order of the genes, generated
lazily from a flat counter, so memory does not grow with the grid.
"""

from __future__ import annotations

import math

import numpy as np

from cosearch.optimizers._base import Optimizer
from spaces.genes import bin_centre


class GridSearch(Optimizer):
    """``levels``: values per continuous gene (required if any gene is continuous);
    ``max_points``: refuse grids larger than this; ``batch_size``: points per ask."""

    name = "grid"
    multi_objective = True
    _state_attributes = ("_next",)

    def __init__(
        self,
        *,
        dim,
        n_obj=1,
        seed=0,
        genes=None,
        initial_X=None,
        levels: int | None = None,
        max_points: int = 1_000_000,
        batch_size: int = 256,
    ):
        super().__init__(dim=dim, n_obj=n_obj, seed=seed, genes=genes, initial_X=initial_X)
        continuous = [n for n, k in zip(self.genes.names, self.genes.cardinality) if k == 0]
        if continuous and levels is None:
            shown = ", ".join(continuous[:5]) + (" …" if len(continuous) > 5 else "")
            raise ValueError(f"grid: genes {shown} are continuous; give levels=N to try N values of each")
        if levels is not None and int(levels) < 1:
            raise ValueError(f"grid: levels must be a positive integer, got {levels}")
        if int(batch_size) < 1:
            raise ValueError(f"grid: batch_size must be a positive integer, got {batch_size}")
        self._shape = tuple(int(k) if k else int(levels) for k in self.genes.cardinality)
        self.size = math.prod(self._shape)
        if self.size > max_points:
            raise ValueError(f"grid: {self.size:.3g} points exceed max_points={max_points}; restrict the space")
        self._batch_size = int(batch_size)
        self._next = 0

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @property
    def done(self) -> bool:
        return self._next >= self.size

    def ask(self, n: int) -> np.ndarray:
        n = self.check_n(n)
        flat = np.arange(self._next, min(self._next + n, self.size))
        self._next += len(flat)
        if len(flat) == 0:
            return np.zeros((0, self.dim))
        index = np.stack(np.unravel_index(flat, self._shape), axis=1)
        return bin_centre(index, self._shape)

    def tell(self, X, F) -> None:
        self.check_told(X, F)
