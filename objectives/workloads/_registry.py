"""Name → model and name → mix registries; duplicates are refused."""

from __future__ import annotations

from collections.abc import Callable

from objectives.workloads._layers import Model
from objectives.workloads._workload import ModelEntry, Workload

MODELS: dict[str, Callable[[], Model]] = {}
MIXES: dict[str, Callable[[], list[ModelEntry]]] = {}


def register_model(name: str):
    def decorator(factory: Callable[[], Model]):
        if name in MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        MODELS[name] = factory
        return factory

    return decorator


def register_mix(name: str):
    def decorator(factory: Callable[[], list[ModelEntry]]):
        if name in MIXES or name in MODELS:
            raise ValueError(f"mix {name!r} is registered twice or shadows a model")
        MIXES[name] = factory
        return factory

    return decorator


def get_model(name: str) -> Model:
    """A zoo model by name; unknown names list the valid ones."""
    try:
        factory = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r} (allowed: {', '.join(sorted(MODELS))})") from None
    return factory()


def get_workload(name: str) -> Workload:
    """A named mix, or a single zoo model served once."""
    if name in MIXES:
        return Workload.from_models(name, MIXES[name]())
    if name in MODELS:
        return Workload.from_models(name, [ModelEntry(get_model(name))])
    raise ValueError(
        f"unknown workload {name!r} (mixes: {', '.join(sorted(MIXES))}; models: {', '.join(sorted(MODELS))})"
    )
