"""A multi-DNN workload: every layer of every DNN instance, as ``(L,)`` arrays.

Batches are repeated chains: a model served ``batch`` times contributes
``batch`` independent copies of its layer table, so the scheduler can overlap
them on different cores.  ``model`` indexes the model table (one row per
distinct DNN in the mix); ``instance`` says which repetition a layer belongs to.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import numpy as np

from objectives.workloads._layers import Model, Op, layer_macs, operand_elements

MAX_WORKLOAD_MACS = 1 << 62
"""MACs over every layer of every instance: sums of them stay in int64."""


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """One DNN of a mix: how often it runs, its latency target and priority."""

    model: Model
    batch: int = 1
    latency_target_s: float = float("nan")
    priority: float = 1.0

    def __post_init__(self):
        if int(self.batch) != self.batch or self.batch < 1:
            raise ValueError(f"model {self.model.name!r}: batch must be a positive integer, got {self.batch!r}")
        if not (np.isnan(self.latency_target_s) or self.latency_target_s > 0):
            raise ValueError(f"model {self.model.name!r}: latency_target_s must be positive, got {self.latency_target_s}")
        if not self.priority > 0:
            raise ValueError(f"model {self.model.name!r}: priority must be positive, got {self.priority}")


@dataclasses.dataclass(frozen=True, eq=False)
class Workload:
    """Struct of arrays over all L layers of a multi-DNN workload.

    Per layer ``(L,)``: ``op`` (Op codes), ``dims`` ``(L, 8)`` N G K C Y X R S,
    ``stride``, ``dilation``, ``model`` (row of the model table), ``instance``
    (batch repetition), ``layer_index`` (position inside its model), and
    ``preds`` ``(L, D)``: global indices of the layers each one reads from,
    padded with -1.  Layers are in a topological order.

    Per model ``(M,)``: ``model_names``, ``batch``, ``latency_target_s`` (NaN
    when none), ``priority``.
    """

    name: str
    layer_names: tuple[str, ...]
    op: np.ndarray
    dims: np.ndarray
    stride: np.ndarray
    dilation: np.ndarray
    model: np.ndarray
    instance: np.ndarray
    layer_index: np.ndarray
    preds: np.ndarray
    model_names: tuple[str, ...]
    batch: np.ndarray
    latency_target_s: np.ndarray
    priority: np.ndarray
    models: tuple[Model, ...] = dataclasses.field(repr=False, default=())

    @classmethod
    def from_models(cls, name: str, entries: Sequence[ModelEntry | Model]) -> "Workload":
        entries = [e if isinstance(e, ModelEntry) else ModelEntry(e) for e in entries]
        if not entries:
            raise ValueError(f"workload {name!r}: has no models")
        names = [e.model.name for e in entries]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise ValueError(f"workload {name!r}: model {dup!r} is listed twice; raise its batch instead")
        total = sum(int(e.model.macs.sum()) * e.batch for e in entries)  # Python ints: no wrap
        if total > MAX_WORKLOAD_MACS:
            raise ValueError(f"workload {name!r}: {total:.3g} MACs over every batch (allowed: at most "
                             f"{MAX_WORKLOAD_MACS:.3g}); lower the batches")
        blocks, offset = [], 0
        for m, entry in enumerate(entries):
            model = entry.model
            L = model.num_layers
            width = max((len(p) for p in model.preds), default=0)
            local_preds = np.full((L, max(width, 1)), -1, dtype=np.int64)
            for i, ps in enumerate(model.preds):
                local_preds[i, : len(ps)] = ps
            for b in range(entry.batch):
                shifted = np.where(local_preds >= 0, local_preds + offset, -1)
                blocks.append((model, m, b, shifted))
                offset += L
        width = max(block[3].shape[1] for block in blocks)
        preds = np.concatenate(
            [np.pad(p, ((0, 0), (0, width - p.shape[1])), constant_values=-1) for *_, p in blocks]
        )
        return cls(
            name=name,
            layer_names=tuple(
                f"{model.name}#{b}/{layer}" if entries[m].batch > 1 else f"{model.name}/{layer}"
                for model, m, b, _ in blocks
                for layer in model.layer_names
            ),
            op=np.concatenate([model.op for model, *_ in blocks]),
            dims=np.concatenate([model.dims for model, *_ in blocks]),
            stride=np.concatenate([model.stride for model, *_ in blocks]),
            dilation=np.concatenate([model.dilation for model, *_ in blocks]),
            model=np.concatenate([np.full(model.num_layers, m, dtype=np.int64) for model, m, _, _ in blocks]),
            instance=np.concatenate([np.full(model.num_layers, b, dtype=np.int64) for model, _, b, _ in blocks]),
            layer_index=np.concatenate([np.arange(model.num_layers) for model, *_ in blocks]),
            preds=preds,
            model_names=tuple(names),
            batch=np.array([e.batch for e in entries], dtype=np.int64),
            latency_target_s=np.array([e.latency_target_s for e in entries], dtype=np.float64),
            priority=np.array([e.priority for e in entries], dtype=np.float64),
            models=tuple(e.model for e in entries),
        )

    @property
    def num_layers(self) -> int:
        return len(self.layer_names)

    @property
    def num_models(self) -> int:
        return len(self.model_names)

    @functools.cached_property
    def macs(self) -> np.ndarray:
        """``(L,)`` int64 multiply-accumulates."""
        return layer_macs(self.op, self.dims, self.stride)

    @functools.cached_property
    def default_priority(self) -> np.ndarray:
        """``(L,)`` the default priority key: each layer's progress through its model,
        ``(layer_index + 1) / model_layers``, so DNNs sharing cores advance side by side."""
        lengths = np.array([m.num_layers for m in self.models])[self.model]
        return (self.layer_index + 1) / lengths

    @functools.cached_property
    def operand_elements(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(input, weight, output)`` element counts, each ``(L,)`` int64."""
        return operand_elements(self.op, self.dims, self.stride, self.dilation)

    @functools.cached_property
    def weight_is_activation(self) -> np.ndarray:
        """``(L,)`` bool: the second operand comes from another layer (attention)."""
        return self.op == Op.MATMUL

    def operand_bytes(self, word_bytes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(input, weight, output)`` bytes per layer, each ``(L,)`` float64."""
        return tuple(e.astype(np.float64) * word_bytes for e in self.operand_elements)

    @property
    def inferences(self) -> int:
        return int(self.batch.sum())

    def summary(self) -> list[dict]:
        """Per model: layers, MACs and parameters as counted here."""
        return [
            {
                "model": m.name,
                "batch": int(b),
                "layers": m.num_layers,
                "macs": int(m.macs.sum()),
                "params": m.params,
            }
            for m, b in zip(self.models, self.batch)
        ]
