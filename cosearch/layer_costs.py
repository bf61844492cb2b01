"""One model on one core, layer by layer, as the per-layer mapper sees it (``cosearch cost`` prints it).

The core owns the whole platform (its buffer and bandwidth), as a one-core
design does in ``cosearch evaluate``; each layer shows the mapping the mapper
chose (spatial unrolling, the operand kept in the PEs' register files and the
one kept in the buffer, with their loop orders, and DRAM-level tile counts),
its utilization, cycles split into compute and stall, energy per level and
what bounds it.
"""

from __future__ import annotations

import pathlib

import numpy as np

from objectives import mapper

LEVEL_COLUMNS = tuple(f"{level}_uj" for level in mapper.LEVELS)
COLUMNS = (
    "index", "layer", "N", "G", "K", "C", "Y", "X", "R", "S", "stride", "dilation", "macs", "spatial",
    "rf_stationary", "buffer_stationary", "buffer_loop_order", "dram_loop_order", "dram_tiles", "utilization",
    "cycles", "compute_cycles", "stall_cycles", *LEVEL_COLUMNS, "bound",
)


def load_model_arg(text: str):
    """A zoo model name or a layer-table file (.csv, .yaml, .onnx)."""
    from objectives.workloads import get_model
    from objectives.workloads.files import load_model

    if pathlib.Path(text).suffix:
        if not pathlib.Path(text).is_file():
            raise ValueError(f"model file {text!r} does not exist")
        return load_model(text)
    return get_model(text)


def load_platform_arg(text: str):
    """A platform preset name or a platform YAML file."""
    from spaces.hardware import get_platform
    from spaces.userdefs import load_platform

    if text.endswith((".yaml", ".yml")):
        if not pathlib.Path(text).is_file():
            raise ValueError(f"platform file {text!r} does not exist")
        return load_platform(text)
    return get_platform(text)


def parse_core(text: str | None, platform):
    """``SIZE:DATAFLOW`` → (core size, dataflow); default: the platform's largest
    size that fits its budget and its first dataflow."""
    from spaces.hardware import get_dataflow

    if text is None:
        size = max((s for s in platform.core_sizes if platform.fits(s)), key=lambda s: s.pes)
        return size, get_dataflow(platform.dataflows[0])
    size_name, sep, dataflow_name = text.partition(":")
    if not sep or not size_name or not dataflow_name:
        raise ValueError(f"--core {text!r} is not SIZE:DATAFLOW (e.g. "
                         f"{platform.core_sizes[-1].name}:{platform.dataflows[0]})")
    size = platform.core_sizes[platform.size_index(size_name)]
    return size, get_dataflow(dataflow_name)


def layer_costs(model, platform, size, dataflow) -> tuple[mapper.Core, list[dict]]:
    """Per layer of ``model`` (in its order) on one core owning ``platform``: one dict of :data:`COLUMNS`."""
    core = mapper.core_for(platform, dataflow, size.pes, size.unroll, size.clock_hz)
    layers = mapper.Layers.from_workload(model)
    capacity = mapper.rung_bytes(mapper.rung_of(np.array(float(platform.buffer_bytes))))
    costs = mapper.map_layers(core, layers, [capacity], platform.mapping_objective)
    dram_bw = platform.bw_gbps * 1e9 / platform.clock_hz
    noc_bw = platform.noc_gbps * 1e9 / platform.clock_hz
    latency = mapper.latency_cycles(
        costs.compute_cycles, costs.dram_bytes, costs.edge_bytes, costs.noc_bytes, dram_bw, noc_bw
    )[0]
    bound = mapper.bound_of(costs.compute_cycles, costs.dram_bytes, costs.noc_bytes, dram_bw, noc_bw)[0]
    rows = []
    for l, name in enumerate(layers.names):
        chosen = mapper.describe(costs, 0, l)
        row = {"index": l, "layer": name, **{d: int(v) for d, v in zip(mapper.DIMS, layers.dims[l])}}
        row.update(
            stride=int(layers.stride[l]), dilation=int(layers.dilation[l]), macs=int(round(layers.macs[l])),
            spatial=_factors(chosen["spatial"]), rf_stationary=chosen["rf_stationary"],
            buffer_stationary=chosen["buffer_stationary"], buffer_loop_order=chosen["buffer_loop_order"],
            dram_loop_order=chosen["dram_loop_order"], dram_tiles=_factors(chosen["dram_tiles"]),
            utilization=float(costs.utilization[0, l]), cycles=float(latency[l]),
            compute_cycles=float(costs.compute_cycles[0, l]),
            stall_cycles=float(latency[l] - costs.compute_cycles[0, l]),
            bound=mapper.BOUNDS[bound[l]],
        )
        row.update({c: float(e) * 1e-6 for c, e in zip(LEVEL_COLUMNS, costs.energy_pj[0, l])})
        rows.append(row)
    return core, rows


def _factors(factors: dict) -> str:
    return " ".join(f"{d}{f}" for d, f in factors.items()) or "-"
