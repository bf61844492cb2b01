"""Experiment configuration: a YAML file → a validated ``ExperimentConfig``.

Every section is a pydantic model that rejects unknown keys.  Short forms
stand for the full ones: ``workload: herald_arvr_a`` is ``{mix: herald_arvr_a}``,
``platform: edge`` is ``{preset: edge}``, ``space: fda`` is ``{name: fda}``,
``objective: edp`` is ``{minimize: [edp]}``, an optimizer ``cma`` is
``{name: cma}``, ``seeds: 3`` is ``[0, 1, 2]`` and ``budget: 500`` is
``{evaluations: 500}``.  See docs/cli.md for an annotated example.

Reading files, reporting errors and building the objects a config stands
for live in ``cosearch.config_loader``; every problem is a ``ConfigError``
whose lines read ``file: dotted.key: message (allowed: …)``.
"""

from __future__ import annotations

import pathlib
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

MINIMIZE_METRICS = (
    "edp", "latency_s", "energy_j", "area_mm2", "resource_fraction", "dram_bytes",
    "average_power_w", "antt", "sla_violations", "dynamic_energy_j", "static_energy_j",
)  # fmt: skip
MAXIMIZE_METRICS = ("stp", "fairness", "utilization", "throughput_ips")
MinimizeMetric = Literal[MINIMIZE_METRICS]  # type: ignore[valid-type]
MaximizeMetric = Literal[MAXIMIZE_METRICS]  # type: ignore[valid-type]


class ConfigError(ValueError):
    """One or more configuration problems, each a ``(dotted key, message)`` pair."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {key}: {message}" if key else f"{source}: {message}"
                                   for key, message in problems))


def _allowed(names) -> str:
    return ", ".join(sorted(names))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _short_form(value, key: str, kinds: tuple[type, ...], what: str):
    """``value`` as a mapping: a short form of one of ``kinds`` becomes ``{key: value}``."""
    if isinstance(value, dict):
        return value
    if isinstance(value, kinds) and not isinstance(value, bool):
        return {key: value}
    raise ValueError(f"expected {what}, got {value!r}")


# -- workload ---------------------------------------------------------------


def resolve_file(path: str, info: ValidationInfo) -> str:
    """An existing file's absolute path; relative paths start at the config file's directory."""
    base = (info.context or {}).get("base_dir")
    resolved = pathlib.Path(path).expanduser()
    if not resolved.is_absolute() and base is not None:
        resolved = pathlib.Path(base) / resolved
    if not resolved.is_file():
        where = f" (relative paths start at {base})" if base is not None and not pathlib.Path(path).is_absolute() else ""
        raise ValueError(f"no such file {path!r}{where}")
    return str(resolved.resolve())


class ModelConfig(_Section):
    """One DNN of a custom mix: a zoo ``model`` or a layer-table ``file`` (CSV, YAML, ONNX), its
    batch count and optional latency target."""

    model: str | None = None
    file: str | None = None
    batch: PositiveInt = 1
    latency_target_s: PositiveFloat | None = None
    priority: PositiveFloat = 1.0

    @field_validator("model")
    @classmethod
    def _known_model(cls, name: str | None) -> str | None:
        from objectives.workloads import MODELS

        if name is not None and name not in MODELS:
            raise ValueError(f"unknown model {name!r} (allowed: {_allowed(MODELS)}; or file: a layer table)")
        return name

    _file = field_validator("file")(lambda cls, path, info: None if path is None else resolve_file(path, info))

    @model_validator(mode="after")
    def _one_source(self):
        if (self.model is None) == (self.file is None):
            raise ValueError("give exactly one of model (a zoo name), file (a layer table)")
        if self.file is not None:
            self.load()  # a broken table is a config error, with the table's own message
        return self

    def load(self):
        from objectives.workloads import get_model
        from objectives.workloads.files import load_model

        return get_model(self.model) if self.model is not None else load_model(self.file)


class WorkloadConfig(_Section):
    """A named mix (or one zoo model), or a list of models with batch counts."""

    mix: str | None = None
    models: list[ModelConfig] | None = Field(default=None, min_length=1)
    name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        return _short_form(value, "mix", (str,), "a mix name or a mapping with mix or models")

    @field_validator("mix")
    @classmethod
    def _known_mix(cls, name: str | None) -> str | None:
        from objectives.workloads import MIXES, MODELS

        if name is not None and name not in MIXES and name not in MODELS:
            raise ValueError(f"unknown mix {name!r} (allowed: {_allowed(MIXES)}; or a single model: "
                             f"{_allowed(MODELS)})")
        return name

    @model_validator(mode="after")
    def _one_source(self):
        if (self.mix is None) == (self.models is None):
            raise ValueError("give exactly one of mix, models")
        return self

    def build(self):
        from objectives.workloads import ModelEntry, Workload, get_workload

        if self.mix is not None:
            workload = get_workload(self.mix)
            return workload if self.name is None else Workload.from_models(self.name, list(_entries(workload)))
        entries = [
            ModelEntry(m.load(), batch=m.batch, priority=m.priority,
                       latency_target_s=float("nan") if m.latency_target_s is None else m.latency_target_s)
            for m in self.models
        ]
        return Workload.from_models(self.name or "custom", entries)


def _entries(workload):
    from objectives.workloads import ModelEntry

    for model, batch, target, priority in zip(workload.models, workload.batch, workload.latency_target_s,
                                              workload.priority):
        yield ModelEntry(model, batch=int(batch), latency_target_s=float(target), priority=float(priority))


# -- platform ---------------------------------------------------------------


class PlatformConfig(_Section):
    """A preset (``cosearch platforms``) or a platform ``file`` (see docs/custom.md), and any of its
    budget fields overridden."""

    preset: str | None = None
    file: str | None = None
    pes: PositiveInt | None = None
    bw_gbps: PositiveFloat | None = None
    buffer_bytes: PositiveInt | None = None
    clock_hz: PositiveFloat | None = None
    noc_gbps: PositiveFloat | None = None
    max_cores: PositiveInt | None = None
    word_bytes: PositiveInt | None = None
    layer_setup_cycles: NonNegativeInt | None = None
    dsp: PositiveFloat | None = None
    lut: PositiveFloat | None = None
    bram36: PositiveFloat | None = None
    dataflows: list[str] | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        if isinstance(value, str) and value.endswith((".yaml", ".yml")):
            return {"file": value}
        value = _short_form(value, "preset", (str,), "a preset name, a platform file or a mapping")
        return value if "preset" in value or "file" in value else {"preset": "edge", **value}

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, name: str | None) -> str | None:
        from spaces.hardware import PLATFORMS

        if name is not None and name not in PLATFORMS:
            raise ValueError(f"unknown platform {name!r} (allowed: {_allowed(PLATFORMS)}; or file: a platform YAML)")
        return name

    _file = field_validator("file")(lambda cls, path, info: None if path is None else resolve_file(path, info))

    @field_validator("dataflows")
    @classmethod
    def _known_dataflows(cls, names: list[str] | None, info: ValidationInfo) -> list[str] | None:
        from spaces.hardware import DATAFLOWS

        for name in names or ():
            if name not in DATAFLOWS and info.data.get("file") is None:  # a file may declare its own
                raise ValueError(f"unknown dataflow {name!r} (allowed: {_allowed(DATAFLOWS)})")
        return names

    @model_validator(mode="after")
    def _one_base(self):
        if self.preset is not None and self.file is not None:
            raise ValueError("give one of preset, file")
        if self.file is not None:
            self.base()  # a broken platform file is a config error, with the file's own messages
        return self

    @property
    def label(self) -> str:
        return self.preset or pathlib.Path(self.file).stem

    def base(self):
        from spaces.hardware import get_platform
        from spaces.userdefs import load_platform

        return get_platform(self.preset) if self.preset is not None else load_platform(self.file)

    def build(self):
        """The preset (or file) with the overrides applied; a default ASIC menu follows a new ``pes``."""
        from spaces.hardware import power_of_two_cores

        base = self.base()
        changes = {k: v for k, v in self.model_dump(exclude={"preset", "file"}).items() if v is not None}
        if "dataflows" in changes:
            changes["dataflows"] = tuple(changes["dataflows"])
        smallest = min(s.pes for s in base.core_sizes)
        if base.kind == "asic" and "pes" in changes and base.core_sizes == power_of_two_cores(smallest, base.pes):
            changes["core_sizes"] = power_of_two_cores(smallest, changes["pes"])
        return base.replace(**changes) if changes else base


# -- space, objective, optimizers, budget, ray ------------------------------


class SpaceConfig(_Section):
    """A named space (``cosearch spaces``) and its options."""

    name: str = "cosearch"
    options: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        return _short_form(value, "name", (str,), "a space name or a mapping with name and options")

    @field_validator("name")
    @classmethod
    def _known_space(cls, name: str) -> str:
        from spaces import SPACES

        if name not in SPACES:
            raise ValueError(f"unknown space {name!r} (allowed: {_allowed(SPACES)})")
        return name


class ConstraintsConfig(_Section):
    """Designs breaking a constraint count as infeasible."""

    max_latency_s: PositiveFloat | None = None
    max_energy_j: PositiveFloat | None = None
    max_area_mm2: PositiveFloat | None = None
    max_power_w: PositiveFloat | None = None
    max_resource_fraction: float = Field(default=1.0, gt=0, le=1)
    no_sla_violations: bool = False


class ObjectiveConfig(_Section):
    """Metrics to minimise and maximise (several = multi-objective), and constraints."""

    minimize: list[MinimizeMetric] = ["edp"]
    maximize: list[MaximizeMetric] = []
    constraints: ConstraintsConfig = ConstraintsConfig()

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        if isinstance(value, list):
            return {"minimize": value}
        return _short_form(value, "minimize", (str,), "a metric name, a list of them, or a mapping")

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


class OptimizerConfig(_Section):
    """An optimizer by name (``cosearch.optimizers``) with its options; its runs are ``<name>-<seed>``."""

    name: str
    options: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        return _short_form(value, "name", (str,), "an optimizer name or a mapping with name and options")

    _known = field_validator("name")(lambda cls, name: check_optimizer_name(name))


def optimizer_names() -> tuple[str, ...]:
    from cosearch.optimizers import OPTIMIZERS

    return tuple(OPTIMIZERS)


def check_optimizer_name(name: str) -> str:
    names = optimizer_names()
    if name not in names:
        raise ValueError(f"unknown optimizer {name!r} (allowed: {_allowed(names)})")
    return name


class BudgetConfig(_Section):
    """Per run: stop after this many evaluations and/or seconds, whichever comes first."""

    evaluations: PositiveInt | None = None
    seconds: PositiveFloat | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        return _short_form(value, "evaluations", (int,), "a number of evaluations or a mapping")

    @model_validator(mode="after")
    def _some_limit(self):
        if self.evaluations is None and self.seconds is None:
            raise ValueError("give evaluations, seconds or both")
        return self


class RayConfig(_Section):
    """Where runs execute: Ray (local or ``address``) or, with ``enabled: false``, this process."""

    enabled: bool = True
    address: str | None = None
    num_cpus: PositiveInt | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        return {"enabled": value} if isinstance(value, bool) else value


class BaselinesConfig(_Section):
    """Named spaces searched briefly (``optimizer`` for ``evaluations``) to compare the best design with."""

    spaces: list[str] = []
    optimizer: str = "random"
    evaluations: PositiveInt = 200

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        return {"spaces": value} if isinstance(value, list) else value

    @field_validator("spaces")
    @classmethod
    def _known_spaces(cls, names: list[str]) -> list[str]:
        from spaces import SPACES

        for name in names:
            if name not in SPACES:
                raise ValueError(f"unknown space {name!r} (allowed: {_allowed(SPACES)})")
        return names

    _known_optimizer = field_validator("optimizer")(lambda cls, name: check_optimizer_name(name))


class PlotsConfig(_Section):
    enabled: bool = True
    format: Literal["png", "svg"] = "png"


class ExperimentConfig(_Section):
    """A whole experiment; see the module docstring and docs/cli.md."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    workload: WorkloadConfig
    platform: PlatformConfig = PlatformConfig()
    space: SpaceConfig = SpaceConfig()
    objective: ObjectiveConfig = ObjectiveConfig()
    optimizers: list[OptimizerConfig] = Field(default=[OptimizerConfig(name="random")], min_length=1)
    seeds: list[NonNegativeInt] = Field(default=[0], min_length=1)
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
            if value < 1:
                raise ValueError(f"a number of seeds must be positive, got {value}")
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
