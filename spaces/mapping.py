"""Mapping genes: which core runs each layer, in which order — four modes.

* ``layer``: per layer a core gene and a priority gene.  The core gene is a
  categorical over all C core slots; choice c runs the layer on core
  ``c mod n``, n the design's active core count, so it always lands on an
  active core and encodes as itself.  The priority key is the evaluator's default
  (progress through its model, ``(layer_index + 1) / model_layers``) plus
  ``u − 0.5``: u = 0.5 keeps the default order, the extremes reorder freely.
* ``model``: per DNN instance (model × batch repetition) a core gene; all its
  layers run there, in the default order.
* ``greedy``: no genes; ``layer_core`` is −1 so the evaluator runs Herald's
  greedy best-fit mapping.
* ``biased``: greedy, with per-(layer, core) offsets added to the mapper's
  finish-time estimates: ``(u − 0.5) · 2 · bias_scale · t_l`` seconds, where
  ``t_l`` is layer l's ideal latency on an even split of the PE budget.
  u = 0.5 everywhere is plain greedy.

``layer`` and ``model`` carry a ``mapping.greedy`` switch gene (unless
disabled): its second choice ignores the core genes and runs the greedy
mapper, so the heuristic's mapping is always reachable by the search.
"""

from __future__ import annotations

import numpy as np

from spaces.genes import Gene, bin_centre, bin_index
from spaces.hardware import Platform
from spaces.workload import WorkloadShape

MAPPING_MODES = ("layer", "model", "greedy", "biased")
SWITCH = "mapping.greedy"


def check_mode(mode: str) -> str:
    if mode not in MAPPING_MODES:
        raise ValueError(f"option mapping: unknown mapping mode {mode!r} (allowed: {', '.join(MAPPING_MODES)})")
    return mode


def instance_ids(workload: WorkloadShape) -> np.ndarray:
    """``(L,)`` int64: which DNN instance (model, batch repetition) each layer belongs to."""
    pairs = np.stack([np.asarray(workload.model), np.asarray(workload.instance)], axis=1)
    _, inverse = np.unique(pairs, axis=0, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64)


class MappingCodec:
    """Declares one mode's genes and turns their unit values into mapping arrays."""

    def __init__(self, mode: str, workload: WorkloadShape, platform: Platform, num_cores: int, *,
                 greedy_switch: bool, bias_scale: float):
        self.mode = check_mode(mode)
        self.num_layers = L = workload.num_layers
        self.num_cores = C = num_cores
        self.switch = greedy_switch and mode in ("layer", "model")
        self.bias_scale = float(bias_scale)
        self.default_priority = workload.default_priority
        self.instance = instance_ids(workload)
        self.num_instances = int(self.instance.max()) + 1 if L else 0
        core_choices = tuple(range(C))
        genes = []
        if self.switch:
            genes.append(Gene(name=SWITCH, kind="categorical", choices=("explicit", "greedy"),
                              description="explicit core genes, or Herald's greedy best-fit mapper"))
        if mode == "layer":
            genes += [Gene(name=f"layer{l}.core", kind="categorical", choices=core_choices,
                           description="core of this layer (mod the active core count)") for l in range(L)]
            genes += [Gene(name=f"layer{l}.priority", kind="priority",
                           description="offset to the default priority key; 0.5 keeps the default") for l in range(L)]
        elif mode == "model":
            genes += [Gene(name=f"instance{i}.core", kind="categorical", choices=core_choices,
                           description="core of every layer of this DNN instance (mod active cores)") for i in range(self.num_instances)]
        elif mode == "biased":
            genes += [Gene(name=f"layer{l}.bias{c}", kind="continuous",
                           description="greedy mapper's bias for this layer on this core; 0.5 is none")
                      for l in range(L) for c in range(C)]
        self.genes = tuple(genes)
        macs = np.asarray(workload.macs, dtype=np.float64)
        self.layer_time_s = macs / (platform.pes / num_cores) / platform.clock_hz  # (L,)

    def decode(self, U: np.ndarray, num_active: np.ndarray, active: np.ndarray):
        """``U`` ``(P, len(genes))`` → ``layer_core`` ``(P, L)``, priority ``(P, L)`` | None, bias | None."""
        P, L, C = U.shape[0], self.num_layers, self.num_cores
        n = num_active[:, None]
        greedy_rows = np.ones(P, dtype=bool) if self.mode in ("greedy", "biased") else np.zeros(P, dtype=bool)
        start = 0
        if self.switch:
            greedy_rows = bin_index(U[:, 0], 2) == 1
            start = 1
        priority = bias = None
        if self.mode == "layer":
            layer_core = bin_index(U[:, start : start + L], C) % n
            priority = self.default_priority + (U[:, start + L : start + 2 * L] - 0.5)
        elif self.mode == "model":
            layer_core = (bin_index(U[:, start : start + self.num_instances], C) % n)[:, self.instance]
        else:
            layer_core = np.zeros((P, L), dtype=np.int64)
        if self.mode == "biased":
            offset = (U[:, start:].reshape(P, L, C) - 0.5) * (2.0 * self.bias_scale)
            bias = np.where(active[:, None, :], offset * self.layer_time_s[None, :, None], 0.0)
        layer_core = np.where(greedy_rows[:, None], -1, layer_core)
        return layer_core, priority, bias

    def encode(self, layer_core, priority, bias, active) -> np.ndarray:
        """Unit values that decode to the given mapping (where this mode can express it)."""
        P, L, C = layer_core.shape[0], self.num_layers, self.num_cores
        greedy_rows = (layer_core < 0).all(axis=1)
        parts = []
        if self.switch:
            parts.append(bin_centre(greedy_rows.astype(np.int64), 2)[:, None])
        explicit = np.where(greedy_rows[:, None], 0, np.clip(layer_core, 0, C - 1))
        if self.mode == "layer":
            parts.append(bin_centre(explicit, C))
            keys = self.default_priority if priority is None else priority
            parts.append(np.broadcast_to(keys - self.default_priority + 0.5, (P, L)))
        elif self.mode == "model":
            first = np.array([np.flatnonzero(self.instance == i)[0] for i in range(self.num_instances)], dtype=np.int64)
            parts.append(bin_centre(explicit[:, first], C))
        elif self.mode == "biased":
            if bias is None:
                parts.append(np.full((P, L * C), 0.5))
            else:
                scale = 2.0 * self.bias_scale * self.layer_time_s[None, :, None]
                parts.append((np.where(active[:, None, :], bias / scale, 0.0) + 0.5).reshape(P, L * C))
        if not parts:
            return np.zeros((P, 0))
        return np.clip(np.concatenate(parts, axis=1), 0.0, 1.0)
