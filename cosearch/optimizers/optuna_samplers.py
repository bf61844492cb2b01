"""Every Optuna sampler behind the optimizer interface (all Optuna code lives here).

A study with in-memory storage is driven by ask-and-tell: ``ask(n)`` opens n
trials and declares the space's genes on each, by their names (categorical
genes with ``suggest_categorical`` over their choices' labels, so
optuna-dashboard shows ``core0.size = PE1024``; integer genes with
``suggest_int``, continuous and priority genes with ``suggest_float`` on
[0, 1]); the values become unit coordinates (cell centres for discrete genes).
Optuna samples a categorical parameter by its choice's index, so labels
instead of indices ask the same points for a seed.
``tell`` closes the trials with their objective values; infeasible (inf/NaN)
values become a large finite penalty, since samplers rank or model them. A
point told that was not asked (an evaluated baseline) is added as a finished
trial; ``initial_X`` rows are enqueued so they are asked first.

Samplers: ``tpe`` (multivariate TPE), ``nsga2``, ``nsga3``, ``cmaes``
(Optuna's CmaEsSampler), ``gp`` (GPSampler, needs torch), ``qmc`` (scrambled
Sobol) and ``random``. Optuna is imported on first use, not at import time.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Sequence

import numpy as np

from cosearch.optimizers._base import Optimizer, finite_objectives
from spaces.genes import bin_centre

SAMPLERS = ("tpe", "nsga2", "nsga3", "cmaes", "gp", "qmc", "random")
SINGLE_OBJECTIVE_SAMPLERS = ("cmaes",)
# Which sampler takes which of the optional settings.
SAMPLER_SETTINGS = {
    "population_size": ("nsga2", "nsga3", "cmaes"),
    "n_startup_trials": ("tpe", "gp", "cmaes"),
}


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def check_sampler(sampler: str, n_obj: int, settings: dict) -> None:
    """The ``ValueError`` a bad sampler request gets, before anything runs."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown Optuna sampler {sampler!r}; valid samplers: {', '.join(SAMPLERS)}")
    if n_obj > 1 and sampler in SINGLE_OBJECTIVE_SAMPLERS:
        multi = [s for s in SAMPLERS if s not in SINGLE_OBJECTIVE_SAMPLERS]
        raise ValueError(
            f"Optuna sampler {sampler!r} is single-objective but {n_obj} objectives were given; "
            f"multi-objective samplers: {', '.join(multi)}"
        )
    for setting, value in settings.items():
        if value is not None and sampler not in SAMPLER_SETTINGS[setting]:
            raise ValueError(
                f"Optuna sampler {sampler!r} does not take {setting}; "
                f"samplers that do: {', '.join(SAMPLER_SETTINGS[setting])}"
            )
    if sampler == "gp" and not torch_available():
        raise ValueError("Optuna sampler 'gp' (GPSampler) needs torch: pip install 'cosearch[gp]'")


def make_sampler(sampler: str, seed: int, population_size: int | None, n_startup_trials: int | None):
    import optuna

    startup = {} if n_startup_trials is None else {"n_startup_trials": int(n_startup_trials)}
    population = {} if population_size is None else {"population_size": int(population_size)}
    samplers = optuna.samplers
    if sampler == "tpe":
        return samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True, **startup)
    if sampler == "nsga2":
        return samplers.NSGAIISampler(seed=seed, **population)
    if sampler == "nsga3":
        return samplers.NSGAIIISampler(seed=seed, **population)
    if sampler == "cmaes":
        popsize = {} if population_size is None else {"popsize": int(population_size)}
        return samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False, **startup, **popsize)
    if sampler == "gp":
        return samplers.GPSampler(seed=seed, **startup)
    if sampler == "qmc":
        return samplers.QMCSampler(qmc_type="sobol", scramble=True, seed=seed, warn_independent_sampling=False)
    return samplers.RandomSampler(seed=seed)


def declared_kinds(genes, categorical_as_integer: bool) -> list[str]:
    """The kinds genes are declared with. Optuna's CmaEsSampler samples
    categorical parameters at random, outside its search distribution, so for
    it categorical genes are declared as integers over their choice index
    (each trial then carries the choice's label as a user attribute)."""
    return ["integer" if k == "categorical" and categorical_as_integer else k for k in genes.kinds]


OPTUNA_CHOICE_TYPES = (type(None), bool, int, float, str)  # what a CategoricalDistribution may hold


def choice_labels(genes) -> list[list]:
    """Each gene's choices as Optuna may store them (other types as text), ``[]`` where it has none;
    indices where labels would collide, so every choice stays its own."""
    labels = []
    for j, k in enumerate(genes.cardinality):
        given = genes.choices[j] if j < len(genes.choices) else ()
        shown = [c if isinstance(c, OPTUNA_CHOICE_TYPES) else str(c) for c in given]
        unique = len(shown) == int(k) and len(set(shown)) == len(shown)  # 1 and True would collide
        labels.append(shown if unique else list(range(int(k))))
    return labels


def distributions(genes, kinds) -> dict:
    """Optuna distributions of the genes, by gene name."""
    import optuna.distributions as od

    out = {}
    for name, kind, k, low, labels in zip(genes.names, kinds, genes.cardinality, genes.low, choice_labels(genes)):
        if kind == "categorical":
            out[name] = od.CategoricalDistribution(labels)
        elif kind == "integer":
            out[name] = od.IntDistribution(int(low), int(low + k - 1))
        else:
            out[name] = od.FloatDistribution(0.0, 1.0)
    return out


def declare(trial, genes, kinds) -> np.ndarray:
    """Declare every gene on ``trial``; returns the ``(d,)`` point it stands for."""
    x = np.empty(genes.dim)
    for j, (name, kind, k, low, labels) in enumerate(
            zip(genes.names, kinds, genes.cardinality, genes.low, choice_labels(genes))):  # fmt: skip
        if kind == "categorical":
            x[j] = bin_centre(labels.index(trial.suggest_categorical(name, labels)), k)
        elif kind == "integer":
            index = trial.suggest_int(name, int(low), int(low + k - 1)) - low
            x[j] = bin_centre(index, k)
            if genes.kinds[j] == "categorical":  # declared by index (CmaEsSampler): its label beside it
                trial.set_user_attr(name, labels[index])
        else:
            x[j] = trial.suggest_float(name, 0.0, 1.0)
    return x


def params_of(x: np.ndarray, genes, kinds) -> dict:
    """The Optuna parameters a point ``(d,)`` decodes to (inverse of ``declare``)."""
    index = genes.to_index(x[None])[0]
    params = {}
    for j, (name, kind, low, labels) in enumerate(zip(genes.names, kinds, genes.low, choice_labels(genes))):
        if kind == "categorical":
            params[name] = labels[int(index[j])]
        elif kind == "integer":
            params[name] = int(low + index[j])
        else:
            params[name] = float(x[j])
    return params


class OptunaOptimizer(Optimizer):
    """``sampler``: one of ``SAMPLERS``; ``batch_size``: trials per ask (default:
    the population for NSGA-II/III and CmaEs, else 8); ``population_size``,
    ``n_startup_trials``: passed to the samplers that take them; ``storage``:
    an Optuna storage URL (``sqlite:///…``, any SQLAlchemy URL) so
    optuna-dashboard can open the study, named ``study_name``; ``metric_names``:
    what each objective is (``run`` passes them from the metrics table)."""

    name = "optuna"
    multi_objective = True
    _state_attributes = ("_study", "_pending")

    def __init__(
        self,
        *,
        dim,
        n_obj=1,
        seed=0,
        genes=None,
        initial_X=None,
        sampler: str = "tpe",
        batch_size: int | None = None,
        population_size: int | None = None,
        n_startup_trials: int | None = None,
        storage: str | None = None,
        study_name: str | None = None,
        metric_names: Sequence[str] | None = None,
    ):
        check_sampler(sampler, n_obj, {"population_size": population_size, "n_startup_trials": n_startup_trials})
        if metric_names is not None and len(metric_names) != n_obj:
            raise ValueError(f"optuna: {len(metric_names)} metric_names for {n_obj} objectives")
        super().__init__(dim=dim, n_obj=n_obj, seed=seed, genes=genes, initial_X=initial_X)
        if batch_size is not None and int(batch_size) < 1:
            raise ValueError(f"optuna: batch_size must be a positive integer, got {batch_size}")
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.sampler = sampler
        self._kinds = declared_kinds(self.genes, categorical_as_integer=sampler == "cmaes")
        if batch_size is None:
            batch_size = population_size or {"nsga2": 50, "nsga3": 50, "cmaes": 4 + int(3 * np.log(dim))}.get(sampler, 8)
        self._batch_size = int(batch_size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._study = self._fresh_study(
                optuna, storage, study_name, make_sampler(sampler, self.seed, population_size, n_startup_trials)
            )
            if metric_names is not None:
                self._study.set_metric_names(list(metric_names))
            for x in self.initial_X:
                self._study.enqueue_trial(params_of(x, self.genes, self._kinds))
        self._distributions = distributions(self.genes, self._kinds)
        self._pending = []  # [(x, trial number)] of the last ask

    def _fresh_study(self, optuna, storage, study_name, sampler):
        """A new study; in a persistent ``storage`` it replaces one of the same
        name left by an interrupted or retried attempt of this run, so trials
        of two attempts never mix."""
        if storage is not None and study_name is not None:
            try:
                optuna.delete_study(study_name=study_name, storage=storage)
            except KeyError:
                pass
        return optuna.create_study(
            sampler=sampler, directions=["minimize"] * self.n_obj, storage=storage, study_name=study_name
        )

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def ask(self, n: int) -> np.ndarray:
        n = self.check_n(n)
        X = np.empty((n, self.dim))
        self._pending = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in range(n):
                trial = self._study.ask()
                X[i] = declare(trial, self.genes, self._kinds)
                self._pending.append((X[i].copy(), trial.number))
        return X

    def tell(self, X, F) -> None:
        import optuna

        X, F = self.check_told(X, F)
        F = finite_objectives(F)
        pending = list(self._pending)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for x, f in zip(X, F):
                match = next((i for i, (px, _) in enumerate(pending) if np.array_equal(px, x)), None)
                values = f.tolist() if self.n_obj > 1 else float(f[0])
                if match is None:
                    trial = optuna.trial.create_trial(
                        params=params_of(x, self.genes, self._kinds), distributions=self._distributions, values=f.tolist()
                    )
                    self._study.add_trial(trial)
                else:
                    self._study.tell(pending.pop(match)[1], values)
        self._pending = pending

    def load(self, state: dict) -> None:
        super().load(state)
        self._distributions = distributions(self.genes, self._kinds)
