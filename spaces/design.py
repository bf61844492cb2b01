"""A batch of accelerator designs as arrays: what flows from a space to the evaluator."""

from __future__ import annotations

import dataclasses

import numpy as np

from spaces.hardware import Dataflow, get_dataflow

# Reason codes a design can carry; 0 means feasible.
FEASIBLE = 0
OVER_COMPUTE_BUDGET = 1
OVER_FPGA_RESOURCES = 2
NO_ACTIVE_CORE = 3
LAYER_ON_INACTIVE_CORE = 4
INVALID_SHARES = 5
NON_FINITE = 6

REASONS = {
    FEASIBLE: "feasible",
    OVER_COMPUTE_BUDGET: "cores exceed the PE budget",
    OVER_FPGA_RESOURCES: "cores exceed the FPGA DSP/LUT/BRAM budget",
    NO_ACTIVE_CORE: "no active core",
    LAYER_ON_INACTIVE_CORE: "a layer is mapped to an inactive core",
    INVALID_SHARES: "bandwidth or buffer shares are not positive on an active core",
    NON_FINITE: "a design value is NaN or infinite",
}


@dataclasses.dataclass(frozen=True)
class DesignBatch:
    """P designs with up to C cores each, for a workload of L layers.

    ``core_pes`` ``(P, C)`` int64: MACs per cycle per core, 0 for an inactive slot.
    ``core_size`` ``(P, C)`` int64: index into ``platform.core_sizes``, -1 for a
    custom PE count (its resources are then counted per PE).
    ``core_dataflow`` ``(P, C)`` int64: index into ``dataflows``.
    ``bw_share``, ``buffer_share`` ``(P, C)`` float64: fractions of the platform's
    off-chip bandwidth and on-chip buffer; active cores' shares sum to 1.
    ``layer_core`` ``(P, L)`` int64: the core each layer runs on; -1 everywhere
    in a row asks the evaluator for Herald's greedy best-fit mapping.
    ``layer_priority`` ``(P, L)`` float64 or None: lower is placed first (keys
    are raised to their predecessors' so the order stays topological); None
    lets every DNN advance side by side (progress through its model).
    ``mapping_bias`` ``(P, L, C)`` float64 or None: seconds added to a core's
    estimated finish time when the greedy mapper chooses (biased greedy).
    ``decode_reason`` ``(P,)`` int8: a reason code found while decoding.
    """

    core_pes: np.ndarray
    core_size: np.ndarray
    core_dataflow: np.ndarray
    bw_share: np.ndarray
    buffer_share: np.ndarray
    layer_core: np.ndarray
    layer_priority: np.ndarray | None
    dataflows: tuple[Dataflow, ...]
    mapping_bias: np.ndarray | None = None
    decode_reason: np.ndarray | None = None

    @property
    def num_designs(self) -> int:
        return self.core_pes.shape[0]

    @property
    def num_cores(self) -> int:
        return self.core_pes.shape[1]

    @property
    def num_layers(self) -> int:
        return self.layer_core.shape[1]

    def check_shapes(self) -> None:
        P, C = self.core_pes.shape
        for name in ("core_size", "core_dataflow", "bw_share", "buffer_share"):
            if getattr(self, name).shape != (P, C):
                raise ValueError(f"DesignBatch.{name} has shape {getattr(self, name).shape}, expected {(P, C)}")
        if self.layer_core.ndim != 2 or self.layer_core.shape[0] != P:
            raise ValueError(f"DesignBatch.layer_core has shape {self.layer_core.shape}, expected ({P}, L)")
        if self.layer_priority is not None and self.layer_priority.shape != self.layer_core.shape:
            raise ValueError(
                f"DesignBatch.layer_priority has shape {self.layer_priority.shape}, expected {self.layer_core.shape}"
            )
        if self.mapping_bias is not None and self.mapping_bias.shape != (*self.layer_core.shape, C):
            raise ValueError(
                f"DesignBatch.mapping_bias has shape {self.mapping_bias.shape}, expected {(*self.layer_core.shape, C)}"
            )

    def take(self, index) -> "DesignBatch":
        """The designs at ``index`` (an int, slice or index array) as a batch."""
        index = np.atleast_1d(np.arange(self.num_designs)[index])
        pick = lambda a: None if a is None else a[index]  # noqa: E731
        return dataclasses.replace(
            self,
            **{f.name: pick(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "dataflows"},
        )

    @classmethod
    def concatenate(cls, batches: list["DesignBatch"]) -> "DesignBatch":
        first = batches[0]
        if any(b.dataflows != first.dataflows for b in batches):
            raise ValueError("cannot concatenate design batches over different dataflow tables")
        fields = {}
        for f in dataclasses.fields(cls):
            if f.name == "dataflows":
                continue
            parts = [getattr(b, f.name) for b in batches]
            if all(p is None for p in parts):
                fields[f.name] = None
            elif any(p is None for p in parts):
                raise ValueError(f"cannot concatenate design batches where only some have {f.name}")
            else:
                fields[f.name] = np.concatenate(parts)
        return cls(dataflows=first.dataflows, **fields)


def single_design(
    *,
    core_pes,
    core_dataflow,
    layer_core,
    bw_share=None,
    buffer_share=None,
    core_size=None,
    layer_priority=None,
    dataflows=None,
) -> DesignBatch:
    """A batch of one from per-core lists; dataflows may be given by name.

    Shares default to an even split over the cores.
    """
    core_pes = np.asarray(core_pes, dtype=np.int64)
    C = core_pes.shape[0]
    if dataflows is None:
        names = list(dict.fromkeys(core_dataflow))
        dataflows = tuple(get_dataflow(n) for n in names)
        core_dataflow = [names.index(n) for n in core_dataflow]
    even = np.where(core_pes > 0, 1.0, 0.0) / max(int((core_pes > 0).sum()), 1)
    layer_core = np.asarray(layer_core, dtype=np.int64)
    return DesignBatch(
        core_pes=core_pes[None],
        core_size=np.full((1, C), -1, dtype=np.int64) if core_size is None else np.asarray(core_size)[None],
        core_dataflow=np.asarray(core_dataflow, dtype=np.int64)[None],
        bw_share=(even if bw_share is None else np.asarray(bw_share, dtype=np.float64))[None],
        buffer_share=(even if buffer_share is None else np.asarray(buffer_share, dtype=np.float64))[None],
        layer_core=layer_core[None],
        layer_priority=None if layer_priority is None else np.asarray(layer_priority, dtype=np.float64)[None],
        dataflows=tuple(dataflows),
    )
