"""Name → model and name → mix registries; duplicates are refused."""

from __future__ import annotations

from collections.abc import Callable

from objectives.workloads._layers import Model
from objectives.workloads._workload import ModelEntry, Workload
from spaces.registry import Registry

MODELS: Registry[Callable[[], Model]] = Registry("model")
MIXES: Registry[Callable[[], list[ModelEntry]]] = Registry("mix")
register_model = MODELS.register


def register_mix(name: str):
    """Register a mix; a workload name is a mix or a model, so a mix may not take a model's name."""
    if name in MODELS:
        raise ValueError(f"mix {name!r} would shadow the model of that name; choose another name")
    return MIXES.register(name)


def get_model(name: str) -> Model:
    """A zoo model by name; unknown names list the valid ones."""
    return MODELS[name]()


def get_workload(name: str) -> Workload:
    """A named mix, or a single zoo model served once."""
    if name in MIXES:
        return Workload.from_models(name, MIXES[name]())
    if name in MODELS:
        return Workload.from_models(name, [ModelEntry(get_model(name))])
    raise MIXES.unknown(name, f"or a single model: {MODELS.names}")
