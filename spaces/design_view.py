"""Readable views of a design (``Design``, ``Core``) for humans, JSON and tests.

A ``Design`` lists only its active cores; ``layer_core`` indexes that list,
and ``-1`` for every layer means Herald's greedy best-fit mapping.  Converting
to a ``DesignBatch`` pads with inactive slots; converting back drops them.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from spaces.design import DesignBatch
from spaces.hardware import Dataflow, Platform, get_dataflow


@dataclasses.dataclass(frozen=True, kw_only=True)
class Core:
    """One active core: ``size`` names a menu entry (None: a custom PE count)."""

    size: str | None
    pes: int
    dataflow: str
    bw_share: float
    buffer_share: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class Design:
    """Cores, and the mapping of L layers onto them.

    ``layer_core`` ``(L,)``: index into ``cores``, all −1 for greedy mapping.
    ``layer_priority`` ``(L,)`` or None (the evaluator's default order).
    ``mapping_bias`` ``(L, len(cores))`` seconds, or None (plain greedy).
    """

    cores: tuple[Core, ...]
    layer_core: tuple[int, ...]
    layer_priority: tuple[float, ...] | None = None
    mapping_bias: tuple[tuple[float, ...], ...] | None = None

    @property
    def is_greedy(self) -> bool:
        return all(c < 0 for c in self.layer_core)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Design":
        try:
            cores = tuple(Core(**core) for core in data["cores"])
            priority, bias = data.get("layer_priority"), data.get("mapping_bias")
            return cls(
                cores=cores,
                layer_core=tuple(int(c) for c in data["layer_core"]),
                layer_priority=None if priority is None else tuple(float(v) for v in priority),
                mapping_bias=None if bias is None else tuple(tuple(float(v) for v in row) for row in bias),
            )
        except (KeyError, TypeError) as e:
            raise ValueError(f"not a design: {e}") from e

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text: str) -> "Design":
        return cls.from_dict(json.loads(text))

    def to_batch(self, platform: Platform, *, num_cores: int | None = None, dataflows=None) -> DesignBatch:
        """A ``DesignBatch`` of one; see :func:`designs_to_batch`."""
        return designs_to_batch([self], platform, num_cores=num_cores, dataflows=dataflows)

    @classmethod
    def from_batch(cls, batch: DesignBatch, platform: Platform, index: int = 0) -> "Design":
        return batch_to_designs(batch.take(index), platform)[0]


def designs_to_batch(
    designs: list[Design], platform: Platform, *, num_cores: int | None = None, dataflows: tuple[Dataflow, ...] | None = None
) -> DesignBatch:
    """Stack designs into a batch of ``num_cores`` slots (default: the most cores any has).

    ``dataflows`` is the batch's dataflow table (default: the names used, in
    order of appearance); a core size name must be on ``platform.core_sizes``.
    """
    if not designs:
        raise ValueError("no designs to stack")
    widest = max(len(d.cores) for d in designs)
    C = widest if num_cores is None else num_cores
    if widest > C:
        raise ValueError(f"a design has {widest} cores, more than num_cores={C}")
    if dataflows is None:
        dataflows = tuple(get_dataflow(n) for n in dict.fromkeys(core.dataflow for d in designs for core in d.cores))
    df_names = [df.name for df in dataflows]
    L = len(designs[0].layer_core)
    P = len(designs)
    arrays = {
        "core_pes": np.zeros((P, C), dtype=np.int64),
        "core_size": np.full((P, C), -1, dtype=np.int64),
        "core_dataflow": np.zeros((P, C), dtype=np.int64),
        "bw_share": np.zeros((P, C)),
        "buffer_share": np.zeros((P, C)),
    }
    layer_core = np.full((P, L), -1, dtype=np.int64)
    with_priority = any(d.layer_priority is not None for d in designs)
    with_bias = any(d.mapping_bias is not None for d in designs)
    priority = np.full((P, L), np.nan) if with_priority else None
    bias = np.zeros((P, L, C)) if with_bias else None
    for p, design in enumerate(designs):
        if len(design.layer_core) != L:
            raise ValueError(f"design {p} maps {len(design.layer_core)} layers, design 0 maps {L}")
        for c, core in enumerate(design.cores):
            if core.dataflow not in df_names:
                raise ValueError(f"design {p} core {c}: dataflow {core.dataflow!r} (allowed: {', '.join(df_names)})")
            arrays["core_pes"][p, c] = core.pes
            arrays["core_size"][p, c] = -1 if core.size is None else platform.size_index(core.size)
            arrays["core_dataflow"][p, c] = df_names.index(core.dataflow)
            arrays["bw_share"][p, c] = core.bw_share
            arrays["buffer_share"][p, c] = core.buffer_share
        layer_core[p] = design.layer_core
        if with_priority:
            if design.layer_priority is None:
                raise ValueError(f"design {p} has no layer_priority while others do")
            priority[p] = design.layer_priority
        if design.mapping_bias is not None:
            bias[p, :, : len(design.cores)] = design.mapping_bias
    return DesignBatch(layer_core=layer_core, layer_priority=priority, dataflows=tuple(dataflows),
                       mapping_bias=bias, **arrays)


def batch_to_designs(batch: DesignBatch, platform: Platform) -> list[Design]:
    """One ``Design`` per row; inactive slots are dropped and layer cores renumbered."""
    designs = []
    for p in range(batch.num_designs):
        slots = np.flatnonzero(batch.core_pes[p] > 0)
        renumber = np.full(batch.num_cores, -1)
        renumber[slots] = np.arange(slots.size)
        cores = tuple(
            Core(
                size=None if batch.core_size[p, c] < 0 else platform.core_sizes[batch.core_size[p, c]].name,
                pes=int(batch.core_pes[p, c]),
                dataflow=batch.dataflows[batch.core_dataflow[p, c]].name,
                bw_share=float(batch.bw_share[p, c]),
                buffer_share=float(batch.buffer_share[p, c]),
            )
            for c in slots
        )
        row = batch.layer_core[p]
        layer_core = tuple(int(c) for c in np.where(row >= 0, renumber[np.maximum(row, 0)], -1))
        priority = None if batch.layer_priority is None else tuple(float(v) for v in batch.layer_priority[p])
        bias = None
        if batch.mapping_bias is not None:
            bias = tuple(tuple(float(v) for v in r) for r in batch.mapping_bias[p][:, slots])
        designs.append(Design(cores=cores, layer_core=layer_core, layer_priority=priority, mapping_bias=bias))
    return designs


def design_keys(batch: DesignBatch) -> np.ndarray:
    """``(P, K)`` float rows that are equal exactly when two designs are equal."""
    parts = [batch.core_pes, batch.core_size, batch.core_dataflow, batch.bw_share, batch.buffer_share, batch.layer_core]
    if batch.layer_priority is not None:
        parts.append(batch.layer_priority)
    if batch.mapping_bias is not None:
        parts.append(batch.mapping_bias.reshape(batch.num_designs, -1))
    return np.concatenate([np.asarray(p, dtype=np.float64).reshape(batch.num_designs, -1) for p in parts], axis=1)


def compact_cores(batch: DesignBatch, num_cores: int, space_name: str) -> DesignBatch:
    """Active cores moved to the front slots (layer mapping renumbered), padded or cut to ``num_cores``."""
    batch.check_shapes()
    P, C = batch.core_pes.shape
    active = batch.core_pes > 0
    if active.sum(axis=1).max(initial=0) > num_cores:
        raise ValueError(f"space {space_name!r}: a design has {active.sum(axis=1).max()} active cores, "
                         f"more than max_cores={num_cores}")
    order = np.argsort(~active, axis=1, kind="stable")  # (P, C) old slot of each new slot
    new_slot = np.argsort(order, axis=1)
    width = max(C, num_cores)

    def slots(a, fill):
        a = np.take_along_axis(a, order, axis=1)
        a = np.concatenate([a, np.full((P, width - C), fill, dtype=a.dtype)], axis=1)
        return a[:, :num_cores]

    kept = slots(active, False)
    layer_core = np.where(batch.layer_core >= 0,
                          np.take_along_axis(new_slot, np.clip(batch.layer_core, 0, C - 1), axis=1), -1)
    bias = batch.mapping_bias
    if bias is not None:
        bias = np.take_along_axis(bias, np.broadcast_to(order[:, None, :], bias.shape), axis=2)
        bias = np.concatenate([bias, np.zeros((*bias.shape[:2], width - C))], axis=2)[:, :, :num_cores]
        bias = np.where(kept[:, None, :], bias, 0.0)
    return DesignBatch(
        core_pes=np.where(kept, slots(batch.core_pes, 0), 0),
        core_size=np.where(kept, slots(batch.core_size, -1), -1),
        core_dataflow=np.where(kept, slots(batch.core_dataflow, 0), 0),
        bw_share=np.where(kept, slots(batch.bw_share, 0.0), 0.0),
        buffer_share=np.where(kept, slots(batch.buffer_share, 0.0), 0.0),
        layer_core=layer_core,
        layer_priority=batch.layer_priority,
        dataflows=batch.dataflows,
        mapping_bias=bias,
    )
