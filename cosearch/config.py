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
from typing import Any, Literal

from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt, field_validator, model_validator

from cosearch.config_base import ConfigError, Section, allowed, short_form
from cosearch.config_targets import ModelConfig, PlatformConfig, WorkloadConfig

__all__ = ["ConfigError", "ExperimentConfig", "ModelConfig", "PlatformConfig", "WorkloadConfig"]

MINIMIZE_METRICS = (
    "edp", "latency_s", "energy_j", "area_mm2", "resource_fraction", "dram_bytes",
    "average_power_w", "antt", "sla_violations", "dynamic_energy_j", "static_energy_j",
)  # fmt: skip
MAXIMIZE_METRICS = ("stp", "fairness", "utilization", "throughput_ips")
MAX_SEEDS = 1000
MinimizeMetric = Literal[MINIMIZE_METRICS]  # type: ignore[valid-type]
MaximizeMetric = Literal[MAXIMIZE_METRICS]  # type: ignore[valid-type]


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

        if name not in SPACES:
            raise ValueError(f"unknown space {name!r} (allowed: {allowed(SPACES)})")
        return name


class ConstraintsConfig(Section):
    """Designs breaking a constraint count as infeasible."""

    max_latency_s: PositiveFloat | None = None
    max_energy_j: PositiveFloat | None = None
    max_area_mm2: PositiveFloat | None = None
    max_power_w: PositiveFloat | None = None
    max_resource_fraction: float = Field(default=1.0, gt=0, le=1)
    no_sla_violations: bool = False


class ObjectiveConfig(Section):
    """Metrics to minimise and maximise (several = multi-objective), and constraints."""

    minimize: list[MinimizeMetric] = ["edp"]
    maximize: list[MaximizeMetric] = []
    constraints: ConstraintsConfig = ConstraintsConfig()

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        if isinstance(value, list):
            return {"minimize": value}
        return short_form(value, "minimize", (str,), "a metric name, a list of them, or a mapping")

    @field_validator("minimize", mode="before")
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

    @property
    def signs(self) -> tuple[float, ...]:
        """+1 for minimised, −1 for maximised metrics (objective = sign × metric)."""
        return (1.0,) * len(self.minimize) + (-1.0,) * len(self.maximize)


class OptimizerConfig(Section):
    """An optimizer by name (``cosearch.optimizers``) with its options; its runs are ``<name>-<seed>``."""

    name: str
    options: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        return short_form(value, "name", (str,), "an optimizer name or a mapping with name and options")

    _known = field_validator("name")(lambda cls, name: check_optimizer_name(name))


def optimizer_names() -> tuple[str, ...]:
    from cosearch.optimizers import OPTIMIZERS

    return tuple(OPTIMIZERS)


def check_optimizer_name(name: str) -> str:
    names = optimizer_names()
    if name not in names:
        raise ValueError(f"unknown optimizer {name!r} (allowed: {allowed(names)})")
    return name


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
    """One baseline: a named space, its options, and the label it is reported under."""

    label: str | None = None

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
