"""The ``workload`` and ``platform`` sections of an experiment config: what designs are scored on.

A workload is a named mix, or models (zoo names or layer-table files) with
batch counts and latency targets; a platform is a preset or a platform file
with budget fields overridden.  Files are resolved against the config file's
directory (the ``base_dir`` in the validation context).
"""

from __future__ import annotations

import pathlib
from typing import Annotated

from pydantic import Field, PositiveFloat, field_validator, model_serializer, model_validator

from cosearch.config_base import Section, resolve_file, short_form
from spaces.hardware import PLATFORMS, Platform
from spaces.userdefs import DefinitionError, PlatformSpec, build_platform, load_platform

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

        return None if name is None else MODELS.check(name, "or file: a layer table")

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

        if name is None or name in MODELS:
            return name
        return MIXES.check(name, f"or a single model: {MODELS.names}")

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


RECORDED_PLATFORM_KEYS = ("preset", "file", "pes", "bw_gbps", "buffer_bytes", "clock_hz", "noc_gbps", "max_cores",
                          "word_bytes", "acc_bytes", "rf_bytes", "mapping_objective", "layer_setup_cycles", "dsp",
                          "lut", "bram36", "dataflows", "pe_step")
"""Keys a run's record (summary.json, designs/*.json) always lists, in this order, as it did before the section
took every platform-file key; the other keys are recorded only when given, so records keep their shape."""


class PlatformConfig(PlatformSpec):
    """The ``platform`` section: a platform file's schema (:class:`spaces.userdefs.PlatformSpec`,
    see docs/custom.md) whose base may also be a platform ``file``; ``preset`` is the older name of
    ``base``.  A mapping naming no base and no ``kind`` starts from ``edge``."""

    preset: str | None = None
    file: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        if isinstance(value, str) and value.endswith((".yaml", ".yml")):
            return {"file": value}
        value = short_form(value, "preset", (str,), "a preset name, a platform file or a mapping")
        named = any(value.get(key) is not None for key in ("preset", "base", "file", "kind"))
        return value if named else {"preset": "edge", **value}

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, name: str | None) -> str | None:
        return None if name is None else PLATFORMS.check(name, "or file: a platform YAML")

    _file = field_validator("file")(lambda cls, path, info: None if path is None else resolve_file(path, info))

    @model_validator(mode="after")
    def _builds(self):
        if sum(key is not None for key in (self.preset, self.base, self.file)) > 1:
            raise ValueError("give one of base (or its older name preset), file")
        self.build()  # a broken platform (or platform file) is a config error, with the platform's own messages
        return self

    @model_serializer(mode="wrap")
    def _record(self, dump):
        data = dump(self)
        return {**{key: data[key] for key in RECORDED_PLATFORM_KEYS},
                **{key: value for key, value in data.items() if key not in RECORDED_PLATFORM_KEYS and value is not None}}

    @property
    def label(self) -> str:
        return self.preset or self.base or (pathlib.Path(self.file).stem if self.file else self.name or "custom")

    def base_platform(self) -> Platform | None:
        """The platform this section changes: a preset, a platform file, or None (all keys given)."""
        if self.file is not None:
            return load_platform(self.file)
        name = self.preset or self.base
        return None if name is None else PLATFORMS[name]

    def build(self) -> Platform:
        """The base with this section's keys changed; a default ASIC menu follows a new ``pes``."""
        base = self.base_platform()
        changes = {key for key in PlatformSpec.model_fields if getattr(self, key) is not None} - {"base"}
        if base is not None and not changes:
            return base
        try:
            return build_platform(self, "platform", base=base, default_name=None if base is None else base.name)
        except DefinitionError as e:
            raise ValueError("; ".join(message if message.startswith(key) else f"{key}: {message}"
                                       for key, message in e.problems)) from None
