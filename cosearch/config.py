"""Experiment configuration: a YAML file → a validated ``ExperimentConfig``.

Every section is a pydantic model that rejects unknown keys.  Short forms
stand for the full ones: ``workload: herald_arvr_a`` is ``{mix: herald_arvr_a}``,
``platform: edge`` is ``{preset: edge}``, ``space: fda`` is ``{name: fda}``,
``objective: edp`` is ``{minimize: [edp]}``, an optimizer ``cma`` is
``{name: cma}``, ``seeds: 3`` is ``[0, 1, 2]`` and ``budget: 500`` is
``{evaluations: 500}``.  See docs/cli.md for an annotated example.

The ``workload`` and ``platform`` sections live in ``cosearch.config_targets``;
reading files, reporting errors and building the objects a config stands
for in ``cosearch.config_loader``.  Every problem is a ``ConfigError`` whose
lines read ``file: dotted.key: message (allowed: …)``.
"""

from __future__ import annotations

import pathlib
import math
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, Field, NonNegativeInt, PositiveFloat, PositiveInt, field_validator,
                      model_serializer, model_validator)

from cosearch.config_base import ConfigError, Section, allowed, short_form
from cosearch.config_serving import ServingConfig
from cosearch.config_targets import ModelConfig, PlatformConfig, WorkloadConfig
from objectives import metrics as metric_table

__all__ = ["ConfigError", "ExperimentConfig", "ModelConfig", "PlatformConfig", "ServingConfig", "WorkloadConfig"]

# Keys of the mapping form ``constraints: {max_latency_s: 0.05, …}`` (deprecated):
# each stands for ``metric <= bound``; ``no_sla_violations: true`` for ``sla_violations <= 0``.
LEGACY_CONSTRAINTS = {"max_latency_s": "latency_s", "max_energy_j": "energy_j", "max_area_mm2": "area_mm2",
                      "max_power_w": "average_power_w", "max_resource_fraction": "resource_fraction",
                      "no_sla_violations": "sla_violations"}
BUDGET_CONSTRAINT = "resource_fraction <= 1"  # a design over the platform's budget cannot be built
MAX_SEEDS = 1000

# -- space, objective, optimizers, budget, ray ------------------------------


class SpaceConfig(Section):
    """A named space (``cosearch spaces``) and its options."""

    name: str = "cosearch"
    options: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        return short_form(value, "name", (str,), "a space name or a mapping with name and options")

    @field_validator("name")
    @classmethod
    def _known_space(cls, name: str) -> str:
        from spaces import SPACES

        return SPACES.check(name)


def objective_metric(direction: str):
    """A validator: the name is a metric of the table that can be ``direction``-d."""

    def check(name: str) -> str:
        entry = metric_table.METRICS.get(name)
        if entry is not None and entry.is_objective and entry.direction != direction:
            other = "maximize" if direction == "minimize" else "minimize"
            raise ValueError(f"{name!r} is better when {'higher' if other == 'maximize' else 'lower'}: "
                             f"list it under {other}")
        if entry is None or not entry.is_objective:
            names = metric_table.names(direction=direction, shape="design")
            raise ValueError(f"unknown metric {name!r} to {direction} (allowed: {allowed(names)})")
        return name

    return AfterValidator(check)


def constraint_text(text: str) -> str:
    """A constraint ``metric op bound`` on a per-design metric of the table, written canonically."""
    from cosearch.run import Constraint

    constraint = Constraint.parse(text)
    entry = metric_table.METRICS.get(constraint.metric)
    if entry is None or entry.shape != "design":
        names = metric_table.names(shape="design")
        raise ValueError(f"unknown metric {constraint.metric!r} in constraint {text!r} (allowed: {allowed(names)})")
    if not math.isfinite(constraint.bound):
        raise ValueError(f"constraint {text!r}: the bound must be a finite number")
    return str(constraint)


def from_legacy_constraints(mapping: dict) -> list[str]:
    """The deprecated mapping form as ``metric op bound`` entries, in the order the CLI always applied them."""
    example = "constraints: [latency_s <= 0.05, sla_violations <= 0]"
    unknown = [key for key in mapping if key not in LEGACY_CONSTRAINTS]
    if unknown:
        raise ValueError(f"unknown constraint key {unknown[0]!r}: write constraints as a list of "
                         f"'metric op bound', e.g. {example}")
    entries = []
    for key, metric in LEGACY_CONSTRAINTS.items():
        value = mapping.get(key, 1.0 if key == "max_resource_fraction" else None)
        if key == "no_sla_violations":
            if not isinstance(value, (bool, type(None))):
                raise ValueError(f"no_sla_violations must be true or false, got {value!r} (or write {example})")
            value = 0 if value else None
        elif value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise ValueError(f"{key} must be a positive number, got {value!r} (or write {example})")
            if key == "max_resource_fraction" and value > 1:
                raise ValueError(f"max_resource_fraction must be at most 1, got {value!r}")
        if value is not None:
            entries.append(f"{metric} <= {float(value):g}")
    return entries


ConstraintText = Annotated[str, AfterValidator(constraint_text)]


class ObjectiveConfig(Section):
    """Metrics to minimise and maximise (several = multi-objective), and constraints.

    ``constraints``: ``metric op bound`` entries (``latency_s <= 0.05``, op one
    of ``<= < >= > ==``) on per-design metrics; a design breaking one is
    infeasible.  Designs over the platform's budget never are feasible: unless
    an entry bounds ``resource_fraction``, ``resource_fraction <= 1`` is added.
    The mapping form ``{max_latency_s: 0.05, no_sla_violations: true}`` is
    deprecated and read as those entries.
    """

    minimize: list[Annotated[str, objective_metric("minimize")]] = ["edp"]
    maximize: list[Annotated[str, objective_metric("maximize")]] = []
    constraints: list[ConstraintText] = [BUDGET_CONSTRAINT]

    @field_validator("constraints", mode="before")
    @classmethod
    def _constraint_forms(cls, value):
        if isinstance(value, dict):
            return from_legacy_constraints(value)
        return [value] if isinstance(value, str) else value

    @field_validator("constraints")
    @classmethod
    def _within_budget(cls, entries: list[str]) -> list[str]:
        from cosearch.run import Constraint

        if any(Constraint.parse(e).metric == "resource_fraction" for e in entries):
            return entries
        return [*entries, BUDGET_CONSTRAINT]

    def constraint_list(self) -> tuple:
        """The constraints as ``run.Constraint``s."""
        from cosearch.run import Constraint

        return tuple(Constraint.parse(e) for e in self.constraints)

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        if isinstance(value, list):
            return {"minimize": value}
        value = short_form(value, "minimize", (str,), "a metric name, a list of them, or a mapping")
        if "maximize" in value and "minimize" not in value:
            # The default ``minimize: [edp]`` is for a config naming no metric: one that names only
            # metrics to maximize means those alone, not a second objective it never asked for.
            return {**value, "minimize": []}
        return value

    @field_validator("minimize", "maximize", mode="before")
    @classmethod
    def _listify(cls, value):
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _some_metric(self):
        keys = self.keys
        if not keys:
            raise ValueError("name at least one metric to minimize or maximize")
        if len(set(keys)) != len(keys):
            raise ValueError(f"a metric is listed twice: {list(keys)}")
        return self

    @property
    def keys(self) -> tuple[str, ...]:
        return (*self.minimize, *self.maximize)


class OptimizerConfig(Section):
    """An optimizer by name (``cosearch.optimizers``) with its options; its runs are ``<name>-<seed>``."""

    name: str
    options: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        return short_form(value, "name", (str,), "an optimizer name or a mapping with name and options")

    _known = field_validator("name")(lambda cls, name: check_optimizer_name(name))


def check_optimizer_name(name: str) -> str:
    from cosearch.optimizers import OPTIMIZERS

    return OPTIMIZERS.check(name)


class BudgetConfig(Section):
    """Per run: stop after this many evaluations and/or seconds, whichever comes first."""

    evaluations: PositiveInt | None = None
    seconds: PositiveFloat | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        return short_form(value, "evaluations", (int,), "a number of evaluations or a mapping")

    @model_validator(mode="after")
    def _some_limit(self):
        if self.evaluations is None and self.seconds is None:
            raise ValueError("give evaluations, seconds or both")
        return self


class RayConfig(Section):
    """Where runs execute: Ray (local or ``address``) or, with ``enabled: false``, this process."""

    enabled: bool = True
    address: str | None = None
    num_cpus: PositiveInt | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        return {"enabled": value} if isinstance(value, bool) else value


class BaselineSpaceConfig(SpaceConfig):
    """One baseline: a named space, its options, and the label it is reported under; with a ``serving``
    section, ``policy`` serves its designs under another dispatch policy (Planaria's ``prema`` baseline)."""

    label: str | None = None
    policy: str | None = None

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, name: str | None) -> str | None:
        from objectives.serving import POLICIES

        return None if name is None else POLICIES.check(name)

    @model_serializer(mode="wrap")
    def _record(self, dump):
        data = dump(self)  # without a policy, recorded as before baselines could carry one
        return data if self.policy is not None else {k: v for k, v in data.items() if k != "policy"}

    @property
    def key(self) -> str:
        return self.label or self.name


class BaselinesConfig(Section):
    """Restricted spaces searched to compare the best design with: ``optimizer`` (with
    ``optimizer_options``) for ``evaluations`` per run, over the first ``seeds`` seeds;
    a baseline reports its best run."""

    spaces: list[BaselineSpaceConfig] = []
    optimizer: str = "random"
    optimizer_options: dict[str, Any] = {}
    evaluations: PositiveInt = 200
    seeds: PositiveInt = 1

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        return {"spaces": value} if isinstance(value, list) else value

    @field_validator("spaces")
    @classmethod
    def _distinct_labels(cls, spaces: list[BaselineSpaceConfig]) -> list[BaselineSpaceConfig]:
        keys = [s.key for s in spaces]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise ValueError(f"baseline {repeated[0]!r} is listed twice; give each a distinct label")
        return spaces

    _known_optimizer = field_validator("optimizer")(lambda cls, name: check_optimizer_name(name))


class PlotsConfig(Section):
    enabled: bool = True
    format: Literal["png", "svg"] = "png"


class ExperimentConfig(Section):
    """A whole experiment; see the module docstring and docs/cli.md."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    workload: WorkloadConfig
    platform: PlatformConfig = PlatformConfig()
    space: SpaceConfig = SpaceConfig()
    objective: ObjectiveConfig = ObjectiveConfig()
    optimizers: list[OptimizerConfig] = Field(default=[OptimizerConfig(name="random")], min_length=1)
    seeds: list[NonNegativeInt] = Field(default=[0], min_length=1, max_length=MAX_SEEDS)
    budget: BudgetConfig = BudgetConfig(evaluations=1000)
    ray: RayConfig = RayConfig()
    baselines: BaselinesConfig = BaselinesConfig()
    output: str | None = None
    storage: str | None = None
    plots: PlotsConfig = PlotsConfig()
    serving: ServingConfig | None = None

    @field_validator("seeds", mode="before")
    @classmethod
    def _seed_count(cls, value):
        if isinstance(value, int) and not isinstance(value, bool):
            if not 1 <= value <= MAX_SEEDS:
                raise ValueError(f"a number of seeds must be between 1 and {MAX_SEEDS}, got {value}")
            return list(range(value))
        return value

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds repeat: {seeds}")
        return seeds

    @field_validator("optimizers")
    @classmethod
    def _each_once(cls, optimizers: list[OptimizerConfig]) -> list[OptimizerConfig]:
        names = [o.name for o in optimizers]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"optimizer {name!r} is listed twice; list each optimizer once")
        return optimizers

    @property
    def output_dir(self) -> pathlib.Path:
        return pathlib.Path(self.output or f"results/{self.name}")

    def resolved(self) -> dict:
        """Plain data with every default filled in: what ``config.yaml`` in the results holds."""
        data = self.model_dump(mode="json")
        data["output"] = str(self.output_dir)
        return data
