"""The ``workload`` and ``platform`` sections of an experiment config: what designs are scored on.

A workload is a named mix, or models (zoo names or layer-table files) with
batch counts and latency targets; a platform is a preset or a platform file
with budget fields overridden.  Files are resolved against the config file's
directory (the ``base_dir`` in the validation context).
"""

from __future__ import annotations

import pathlib
from typing import Literal

from typing import Annotated

from pydantic import Field, PositiveFloat, ValidationInfo, field_validator, model_validator

from cosearch.config_base import Section, allowed, resolve_file, short_form
from spaces.userdefs import (
    MAX_MENU,
    Bandwidth,
    BufferBytes,
    ClockHz,
    CoreCount,
    FpgaResource,
    PeCount,
    SetupCycles,
    WordBytes,
)

# -- workload ---------------------------------------------------------------

MAX_BATCH = 1024
MAX_WORKLOAD_LAYERS = 50_000
"""Layers over every batch: the evaluator holds a few (designs, layers, cores) arrays."""


class ModelConfig(Section):
    """One DNN of a custom mix: a zoo ``model`` or a layer-table ``file`` (CSV, YAML, ONNX), its
    batch count and optional latency target."""

    model: str | None = None
    file: str | None = None
    batch: Annotated[int, Field(gt=0, le=MAX_BATCH)] = 1
    latency_target_s: PositiveFloat | None = None
    priority: PositiveFloat = 1.0

    @field_validator("model")
    @classmethod
    def _known_model(cls, name: str | None) -> str | None:
        from objectives.workloads import MODELS

        if name is not None and name not in MODELS:
            raise ValueError(f"unknown model {name!r} (allowed: {allowed(MODELS)}; or file: a layer table)")
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


class WorkloadConfig(Section):
    """A named mix (or one zoo model), or a list of models with batch counts."""

    mix: str | None = None
    models: list[ModelConfig] | None = Field(default=None, min_length=1)
    name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        return short_form(value, "mix", (str,), "a mix name or a mapping with mix or models")

    @field_validator("mix")
    @classmethod
    def _known_mix(cls, name: str | None) -> str | None:
        from objectives.workloads import MIXES, MODELS

        if name is not None and name not in MIXES and name not in MODELS:
            raise ValueError(f"unknown mix {name!r} (allowed: {allowed(MIXES)}; or a single model: "
                             f"{allowed(MODELS)})")
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
        layers = sum(e.model.num_layers * e.batch for e in entries)
        if layers > MAX_WORKLOAD_LAYERS:
            raise ValueError(f"{layers:,} layers over every batch (allowed: at most {MAX_WORKLOAD_LAYERS:,}); "
                             "lower the batches")
        return Workload.from_models(self.name or "custom", entries)


def _entries(workload):
    from objectives.workloads import ModelEntry

    for model, batch, target, priority in zip(workload.models, workload.batch, workload.latency_target_s,
                                              workload.priority):
        yield ModelEntry(model, batch=int(batch), latency_target_s=float(target), priority=float(priority))


# -- platform ---------------------------------------------------------------


class PlatformConfig(Section):
    """A preset (``cosearch platforms``) or a platform ``file`` (see docs/custom.md), and any of its
    budget fields overridden."""

    preset: str | None = None
    file: str | None = None
    pes: PeCount | None = None
    bw_gbps: Bandwidth | None = None
    buffer_bytes: BufferBytes | None = None
    clock_hz: ClockHz | None = None
    noc_gbps: Bandwidth | None = None
    max_cores: CoreCount | None = None
    word_bytes: WordBytes | None = None
    acc_bytes: WordBytes | None = None
    rf_bytes: BufferBytes | None = None
    mapping_objective: Literal["edp", "latency", "energy"] | None = None
    """What the per-layer mapper minimizes (default edp)."""
    layer_setup_cycles: SetupCycles | None = None
    dsp: FpgaResource | None = None
    lut: FpgaResource | None = None
    bram36: FpgaResource | None = None
    dataflows: list[str] | None = Field(default=None, min_length=1)
    pe_step: PeCount | None = None
    """ASIC only: a core menu of every multiple of this many PEs instead of powers of two."""

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        if isinstance(value, str) and value.endswith((".yaml", ".yml")):
            return {"file": value}
        value = short_form(value, "preset", (str,), "a preset name, a platform file or a mapping")
        return value if "preset" in value or "file" in value else {"preset": "edge", **value}

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, name: str | None) -> str | None:
        from spaces.hardware import PLATFORMS

        if name is not None and name not in PLATFORMS:
            raise ValueError(f"unknown platform {name!r} (allowed: {allowed(PLATFORMS)}; or file: a platform YAML)")
        return name

    _file = field_validator("file")(lambda cls, path, info: None if path is None else resolve_file(path, info))

    @field_validator("dataflows")
    @classmethod
    def _known_dataflows(cls, names: list[str] | None, info: ValidationInfo) -> list[str] | None:
        from spaces.hardware import DATAFLOWS

        for name in names or ():
            if name not in DATAFLOWS and info.data.get("file") is None:  # a file may declare its own
                raise ValueError(f"unknown dataflow {name!r} (allowed: {allowed(DATAFLOWS)})")
        return names

    @model_validator(mode="after")
    def _one_base(self):
        if self.preset is not None and self.file is not None:
            raise ValueError("give one of preset, file")
        if self.file is not None:
            self.base()  # a broken platform file is a config error, with the file's own messages
        if self.pe_step is not None:
            base = self.base()
            if base.kind != "asic":
                raise ValueError(f"pe_step applies to ASIC platforms; {base.name!r} is an FPGA with a fixed core menu")
            budget = self.pes or base.pes
            if self.pe_step > budget:
                raise ValueError(f"pe_step {self.pe_step} exceeds the PE budget {budget}")
            if budget // self.pe_step > MAX_MENU:
                raise ValueError(f"pe_step {self.pe_step} makes a menu of {budget // self.pe_step:,} core sizes "
                                 f"(allowed: at most {MAX_MENU:,}; at least {-(-budget // MAX_MENU)})")
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
        from spaces.hardware import pe_multiple_cores, power_of_two_cores

        base = self.base()
        changes = {k: v for k, v in self.model_dump(exclude={"preset", "file", "pe_step"}).items() if v is not None}
        if self.pe_step is not None:
            changes["core_sizes"] = pe_multiple_cores(self.pe_step, changes.get("pes", base.pes))
        if "dataflows" in changes:
            changes["dataflows"] = tuple(changes["dataflows"])
        smallest = min(s.pes for s in base.core_sizes)
        if (base.kind == "asic" and "pes" in changes and "core_sizes" not in changes
                and base.core_sizes == power_of_two_cores(smallest, base.pes)):
            changes["core_sizes"] = power_of_two_cores(smallest, changes["pes"])
        return base.replace(**changes) if changes else base
