"""CMA-ES with the ``cma`` package, in ask-and-tell form, with IPOP/BIPOP restarts.

Coordinates: CMA-ES works in an internal space ``z`` where a discrete gene
with k values spans [−½, k − ½] (so one unit is one value) and a continuous
gene spans [0, 1]; ``CMA_stds`` scales ``sigma0`` per coordinate so that it
means the same fraction of every gene's range. Discrete genes are listed in
``integer_variables``, so ``cma`` rounds them itself and keeps their standard
deviation from collapsing (its recommended integer handling); ``ask`` returns
the centres of the chosen cells, so the points are noise-free.

Restarts (Hansen 2009, "Benchmarking a BI-population CMA-ES"): when ``cma``
reports a stop, IPOP restarts from a random mean with ``incpopsize`` times
the population; BIPOP alternates that large-population regime with a
small-population, small-step regime, choosing the one that has spent fewer
evaluations so far.

``cma`` draws from numpy's global random state; this wrapper keeps its own
copy of that state and swaps it in around every ``cma`` call, so runs are
reproducible whatever else the process does between calls.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np

from cosearch.optimizers._base import Optimizer, finite_objectives

OPTIONAL_CMA_IMPORTS = ("matplotlib", "matplotlib.pyplot", "scipy.stats")
"""What ``import cma`` loads only for its plots and surrogate models (``cma.s``,
``cma.fitness_models``), inside ``try`` blocks that fall back when missing:
about 2 s of CPU at every start, in every Ray worker, for nothing the
ask-and-tell strategy uses. ``matplotlib`` itself is hidden too: ``from matplotlib
import pyplot`` loads the package (a quarter second) before it reaches pyplot."""


def import_cma():
    """``cma`` imported without ``OPTIONAL_CMA_IMPORTS`` (not yet imported ones are hidden while it
    loads and importable again afterwards); the strategy itself is the same code."""
    import sys

    if "cma" in sys.modules:
        return sys.modules["cma"]
    hidden = [name for name in OPTIONAL_CMA_IMPORTS if name not in sys.modules]
    try:
        for name in hidden:
            sys.modules[name] = None  # an import of it raises ImportError, which cma catches
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "could not import matplotlib.pyplot": we never plot with cma
            import cma
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
    return cma

RESTART_STRATEGIES = ("none", "ipop", "bipop")
DIAGONAL_FROM_DIM = 200


def _global_randn(*shape) -> np.ndarray:
    """cma's ``randn`` option: numpy's global state (swapped for ours), pickled by reference.

    cma's default, the bound ``np.random.randn``, would pickle a copy of the
    global generator and a restored optimizer would draw from that copy.
    """
    return np.random.standard_normal(shape)


class CMAES(Optimizer):
    """Options: ``popsize`` (default ``4 + 3 ln d``), ``sigma0`` (fraction of
    each gene's range; default 0.5, which on the co-search spaces — mostly
    categorical core sizes and dataflows — beat 0.3 in median best EDP by 5 %
    on planaria_c@cloud and 6 % on herald_arvr_b@cloud and tied on
    mixed@u250, 4 seeds x 2000 evaluations), ``restart_strategy`` (none/ipop/bipop), ``restarts``
    (how many), ``incpopsize`` (IPOP factor), ``x0`` (initial mean in [0, 1]^d;
    default the first ``initial_X`` row, else the centre), ``diagonal``
    (separable CMA-ES: O(d) per sample instead of O(d²); default when
    d >= DIAGONAL_FROM_DIM, where a full covariance costs more than evaluation)."""

    name = "cmaes"
    multi_objective = False
    _state_attributes = (
        "_es", "_np_state", "_rng", "_gen_z", "_gen_F", "_handed", "_extras", "_asked",
        "_restarts_done", "_large_runs", "_evals_large", "_evals_small", "_regime", "_popsize", "_done",
    )  # fmt: skip

    def __init__(
        self,
        *,
        dim,
        n_obj=1,
        seed=0,
        genes=None,
        initial_X=None,
        popsize: int | None = None,
        sigma0: float = 0.5,
        restart_strategy: str = "ipop",
        restarts: int = 9,
        incpopsize: float = 2.0,
        x0=None,
        diagonal: bool | None = None,
    ):
        super().__init__(dim=dim, n_obj=n_obj, seed=seed, genes=genes, initial_X=initial_X)
        if restart_strategy not in RESTART_STRATEGIES:
            raise ValueError(
                f"cmaes: restart_strategy {restart_strategy!r} is not one of {', '.join(RESTART_STRATEGIES)}"
            )
        if not 0 < float(sigma0) <= 1:
            raise ValueError(f"cmaes: sigma0 must be in (0, 1], got {sigma0}")
        if popsize is not None and int(popsize) < 2:
            raise ValueError(f"cmaes: popsize must be an integer >= 2, got {popsize}")
        if int(restarts) < 0 or float(incpopsize) < 1:
            raise ValueError(f"cmaes: restarts must be >= 0 and incpopsize >= 1, got {restarts}, {incpopsize}")
        self.sigma0 = float(sigma0)
        self.diagonal = self.dim >= DIAGONAL_FROM_DIM if diagonal is None else bool(diagonal)
        self.restart_strategy = "none" if int(restarts) == 0 else restart_strategy
        self.max_restarts, self.incpopsize = int(restarts), float(incpopsize)
        self.default_popsize = int(popsize) if popsize is not None else 4 + int(3 * math.log(self.dim))
        k = self.genes.cardinality
        self._scale = np.where(k > 0, k, 1).astype(np.float64)
        self._offset = np.where(k > 0, -0.5, 0.0)
        self._rng = np.random.default_rng(self.seed)
        self._np_state = np.random.RandomState(self.seed % 2**32).get_state()
        if x0 is not None:
            x0 = self.check_X(np.atleast_2d(x0), "x0")[0]
        elif len(self.initial_X):
            x0 = self.initial_X[0]
        else:
            x0 = np.full(self.dim, 0.5)
        self._restarts_done, self._large_runs = 0, 0
        self._evals_large, self._evals_small, self._regime = 0, 0, "large"
        self._popsize, self._done = self.default_popsize, False
        self._start(x0, self.sigma0, self.default_popsize, inject=self.initial_X)

    # --- cma plumbing --------------------------------------------------------

    @contextlib.contextmanager
    def _own_random_state(self):
        outside = np.random.get_state()
        np.random.set_state(self._np_state)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
        finally:
            self._np_state = np.random.get_state()
            np.random.set_state(outside)

    # cma cannot run in one dimension; a one-gene space gets a dummy second
    # coordinate that nothing reads.
    @property
    def _padded(self) -> bool:
        return self.dim == 1

    def _to_z(self, X: np.ndarray) -> np.ndarray:
        z = np.where(self.genes.discrete, self.genes.to_index(X), X * self._scale + self._offset)
        return np.concatenate([z, np.full((len(z), 1), 0.5)], axis=1) if self._padded else z

    def _to_x(self, z: np.ndarray) -> np.ndarray:
        z = z[..., : self.dim]
        index = np.clip(np.round(z), 0, np.maximum(self.genes.cardinality, 1) - 1)
        return np.where(self.genes.discrete, self.genes.centre(index), np.clip(z, 0.0, 1.0))

    def _start(self, x0: np.ndarray, sigma: float, popsize: int, inject=()) -> None:
        cma = import_cma()
        discrete = np.flatnonzero(self.genes.discrete).tolist()
        scale, offset = (np.append(self._scale, 1.0), np.append(self._offset, 0.0)) if self._padded else (
            self._scale, self._offset)
        options = {
            "bounds": [offset.tolist(), (scale + offset).tolist()],
            "CMA_stds": scale.tolist(),
            "popsize": int(popsize),
            "seed": np.nan,  # leave numpy's state alone: we swap in our own
            "randn": _global_randn,
            "verbose": -9,
            "verb_log": 0,
            "verb_disp": 0,
        }
        if discrete:
            options["integer_variables"] = discrete
        if self.diagonal:
            options["CMA_diagonal"] = True
        z0 = self._to_z(np.atleast_2d(x0))[0]
        with self._own_random_state():
            self._es = cma.CMAEvolutionStrategy(z0.tolist(), sigma, options)
            if len(inject):
                self._es.inject([z for z in self._to_z(np.asarray(inject))], force=True)
        self._popsize = int(self._es.popsize)
        # cma hands injected points back through its integer and boundary handling, which can move
        # them (measured: a size gene at its top index came back one index lower), so the first
        # generation's leading rows are set to the injected points themselves.
        self._inject_z = self._to_z(np.asarray(inject)) if len(inject) else None
        self._gen_z = None  # (λ, d) the generation being evaluated
        self._gen_F = None  # (λ,) NaN until told
        self._handed = 0  # rows of the generation handed out
        self._extras = 0  # rows sampled beyond λ because more were asked before a tell
        self._asked = []  # (slot or -1, z) per row of the last ask

    def _next_generation(self) -> None:
        with self._own_random_state():
            self._gen_z = np.array(self._es.ask(), dtype=np.float64)
        if self._inject_z is not None:
            k = min(len(self._inject_z), len(self._gen_z))
            self._gen_z[:k], self._inject_z = self._inject_z[:k], None
        self._gen_F = np.full(len(self._gen_z), np.nan)
        self._handed, self._extras = 0, 0

    def _restart(self) -> None:
        if self._restarts_done >= self.max_restarts or self.restart_strategy == "none":
            self._done = True
            return
        self._restarts_done += 1
        x0 = self._rng.random(self.dim)
        if self.restart_strategy == "bipop" and self._evals_small < self._evals_large:
            self._regime = "small"
            large = self.default_popsize * self.incpopsize**self._large_runs
            ratio = 0.5 * large / self.default_popsize
            popsize = max(2, int(self.default_popsize * ratio ** (self._rng.random() ** 2)))
            sigma = self.sigma0 * 10 ** (-2 * self._rng.random())
        else:
            self._regime = "large"
            self._large_runs += 1
            popsize = int(round(self.default_popsize * self.incpopsize**self._large_runs))
            sigma = self.sigma0
        self._start(x0, sigma, popsize)

    # --- interface -----------------------------------------------------------

    @property
    def batch_size(self) -> int:
        """The rest of the current generation (a whole population at first)."""
        if self._gen_z is None:
            return self._popsize
        return max(len(self._gen_z) - self._handed, 1)

    @property
    def done(self) -> bool:
        return self._done

    def ask(self, n: int) -> np.ndarray:
        n = self.check_n(n)
        if self._gen_z is None:
            self._next_generation()
        rows = []
        for _ in range(n):
            if self._handed < len(self._gen_z):
                rows.append((self._handed, self._gen_z[self._handed]))
                self._handed += 1
            else:  # more asked than the generation holds: more samples of the same distribution
                with self._own_random_state():
                    rows.append((-1, np.array(self._es.ask(1)[0], dtype=np.float64)))
                self._extras += 1
        self._asked = rows
        return self._to_x(np.array([z for _, z in rows]))

    def tell(self, X, F) -> None:
        X, F = self.check_told(X, F)
        if len(X) != len(self._asked) or not np.array_equal(X, self._to_x(np.array([z for _, z in self._asked]))):
            raise ValueError("cmaes: tell() needs the X returned by the preceding ask(), in the same order")
        F = finite_objectives(F)[:, 0]
        for (slot, _), f in zip(self._asked, F):
            if slot >= 0:
                self._gen_F[slot] = f
        self._asked = []
        if self._gen_z is not None and self._handed == len(self._gen_z) and not np.isnan(self._gen_F).any():
            with self._own_random_state():
                self._es.tell(list(self._gen_z), self._gen_F.tolist())
            spent = len(self._gen_z) + self._extras
            if self._regime == "large":
                self._evals_large += spent
            else:
                self._evals_small += spent
            self._gen_z = None
            with self._own_random_state():
                stopped = bool(self._es.stop())
            if stopped:
                self._restart()
