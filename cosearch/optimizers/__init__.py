"""Optimizers over [0, 1]^d behind one interface, and the name → optimizer registry.

``make_optimizer("cmaes", dim=12, seed=0, genes=space.genes, popsize=16)``
builds one; ``check_optimizer(name, n_obj, options)`` raises the
``ValueError`` a bad request would get (unknown name, an option the optimizer
does not take, several objectives for a single-objective one) without
building anything, so experiments can refuse a bad config before any work.

Registered: ``cmaes`` (the ``cma`` package), ``random``, ``grid``, ``optuna``
(any sampler via ``sampler=``) and one entry per Optuna sampler: ``tpe``,
``nsga2``, ``nsga3``, ``optuna_cmaes``, ``gp``, ``qmc``, ``optuna_random``.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from typing import Any

from cosearch.optimizers._base import PENALTY, GeneTable, Optimizer, finite_objectives, gene_table
from cosearch.optimizers.cma_es import CMAES
from cosearch.optimizers.grid import GridSearch
from cosearch.optimizers.optuna_samplers import SAMPLERS, OptunaOptimizer, check_sampler, torch_available
from cosearch.optimizers.random_search import RandomSearch
from spaces.registry import Registry

__all__ = [
    "OPTIMIZERS",
    "PENALTY",
    "GeneTable",
    "Optimizer",
    "OptimizerEntry",
    "available",
    "check_optimizer",
    "finite_objectives",
    "gene_table",
    "make_optimizer",
    "optimizer_options",
    "register",
]

# Arguments every optimizer takes; everything else is an optimizer-specific option.
COMMON_ARGUMENTS = ("dim", "n_obj", "seed", "genes", "initial_X")


@dataclasses.dataclass(frozen=True)
class OptimizerEntry:
    """A registered optimizer: its class and the options the name fixes (e.g. the sampler)."""

    cls: type[Optimizer]
    fixed: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def options(self) -> tuple[str, ...]:
        """Options a user may set, in signature order."""
        parameters = inspect.signature(self.cls.__init__).parameters
        return tuple(
            p for p in parameters if p not in ("self", *COMMON_ARGUMENTS) and p not in self.fixed
        )

    @property
    def multi_objective(self) -> bool:
        if self.cls is OptunaOptimizer and "sampler" in self.fixed:
            return self.fixed["sampler"] not in ("cmaes",)
        return self.cls.multi_objective


OPTIMIZERS: Registry[OptimizerEntry] = Registry("optimizer")


def register(name: str, cls: type[Optimizer], **fixed) -> None:
    """Add ``name``; refuses a name that is already registered."""
    OPTIMIZERS[name] = OptimizerEntry(cls, dict(fixed))


def _entry(name: str) -> OptimizerEntry:
    return OPTIMIZERS[name]


def optimizer_options(name: str) -> tuple[str, ...]:
    return _entry(name).options


def available(name: str) -> bool:
    """False when an optional dependency of the optimizer is missing (``gp`` without torch)."""
    entry = _entry(name)
    return not (entry.cls is OptunaOptimizer and entry.fixed.get("sampler") == "gp" and not torch_available())


def check_optimizer(name: str, n_obj: int = 1, options: Mapping[str, Any] | None = None) -> None:
    """Raise the ``ValueError`` that ``make_optimizer`` would for this request, doing no work."""
    entry = _entry(name)
    options = dict(options or {})
    unknown = sorted(set(options) - set(entry.options))
    if unknown:
        takes = ", ".join(entry.options) or "no options"
        raise ValueError(f"optimizer {name!r} does not take option(s) {', '.join(unknown)}; it takes: {takes}")
    if n_obj > 1 and not entry.multi_objective:
        multi = sorted(n for n, e in OPTIMIZERS.items() if e.multi_objective)
        raise ValueError(
            f"optimizer {name!r} is single-objective but {n_obj} objectives were given; "
            f"multi-objective optimizers: {', '.join(multi)}"
        )
    if entry.cls is OptunaOptimizer:
        merged = {**options, **entry.fixed}
        check_sampler(
            merged.get("sampler", "tpe"),
            n_obj,
            {k: merged.get(k) for k in ("population_size", "n_startup_trials")},
        )


def make_optimizer(
    name: str, *, dim: int, n_obj: int = 1, seed: int = 0, genes=None, initial_X=None, **options
) -> Optimizer:
    """The optimizer registered as ``name``, for a ``dim``-dimensional space."""
    check_optimizer(name, n_obj, options)
    entry = _entry(name)
    return entry.cls(dim=dim, n_obj=n_obj, seed=seed, genes=genes, initial_X=initial_X, **entry.fixed, **options)


register("cmaes", CMAES)
register("random", RandomSearch)
register("grid", GridSearch)
register("optuna", OptunaOptimizer)
for _sampler in SAMPLERS:
    register({"cmaes": "optuna_cmaes", "random": "optuna_random"}.get(_sampler, _sampler), OptunaOptimizer, sampler=_sampler)
