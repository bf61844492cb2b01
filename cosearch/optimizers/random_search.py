"""Plain random search: uniform points in [0, 1]^d (discrete genes at cell centres), seeded designs first."""

from __future__ import annotations

import numpy as np

from cosearch.optimizers._base import Optimizer


class RandomSearch(Optimizer):
    """Uniform sampling; any number of objectives (it never looks at them).

    ``batch_size``: points per evaluation call the runner should ask for.
    """

    name = "random"
    multi_objective = True
    _state_attributes = ("_rng", "_initial_left")

    def __init__(self, *, dim, n_obj=1, seed=0, genes=None, initial_X=None, batch_size: int = 64):
        super().__init__(dim=dim, n_obj=n_obj, seed=seed, genes=genes, initial_X=initial_X)
        if int(batch_size) < 1:
            raise ValueError(f"random: batch_size must be a positive integer, got {batch_size}")
        self._batch_size = int(batch_size)
        self._rng = np.random.default_rng(self.seed)
        self._initial_left = self.initial_X.copy()

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def ask(self, n: int) -> np.ndarray:
        n = self.check_n(n)
        head, self._initial_left = self._initial_left[:n], self._initial_left[n:]
        return np.concatenate([head, self.genes.snap(self._rng.random((n - len(head), self.dim)))])

    def tell(self, X, F) -> None:
        self.check_told(X, F)
