"""The evaluator: a batch of designs → ``Metrics`` for one workload and platform.

Work that depends only on a core's shape (dataflow, PE count, fixed extents)
is computed once per distinct core configuration in the batch, as
``(configs, layers)`` tables, then gathered to ``(designs, layers)`` through
each layer's core.  A batch rarely holds more than a few dozen distinct core
shapes, so the 8-dim loop-nest arithmetic costs next to nothing and the
per-design work is a handful of gathers, a roofline and the list schedule.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from objectives import costmodel, metrics, schedule
from objectives.costmodel import INPUT, OUTPUT
from objectives.workloads import Workload
from objectives.workloads._layers import MAX_LAYER_SIZE
from spaces import design as design_codes
from spaces.design import DesignBatch
from spaces.hardware import Platform

MiB = float(1 << 20)


@dataclasses.dataclass(frozen=True)
class CoreTables:
    """Per distinct core configuration k and layer l, ``(K, L)`` unless noted."""

    cycles: np.ndarray
    buffer_bytes: np.ndarray
    stationary_bytes: np.ndarray
    refetch_bytes: np.ndarray
    utilization: np.ndarray


def core_configurations(designs: DesignBatch) -> tuple[np.ndarray, np.ndarray]:
    """``(P, C)`` config id per core and the ``(K, 3)`` distinct (dataflow, pes, size) rows."""
    rows = np.stack([designs.core_dataflow, designs.core_pes, designs.core_size], axis=-1).reshape(-1, 3)
    configs, inverse = np.unique(rows, axis=0, return_inverse=True)
    return inverse.reshape(designs.core_pes.shape), configs


def core_tables(configs: np.ndarray, designs: DesignBatch, workload: Workload, platform: Platform) -> CoreTables:
    dataflows = designs.dataflows
    extents, stationary, fill_drain = [], [], []
    for df_index, pes, size_index in configs:
        dataflow = dataflows[df_index]
        fixed = platform.core_sizes[size_index].unroll if size_index >= 0 else ()
        extents.append(costmodel.unroll_extents(max(int(pes), 1), dataflow, fixed))
        stationary.append(costmodel.stationary_index_of(dataflow))
        fill_drain.append(dataflow.fill_drain)
    extents = np.array(extents)[:, None, :]  # (K, 1, 8)
    stationary = np.array(stationary)
    dims = workload.dims[None]  # (1, L, 8)
    operand_dims = costmodel.operand_dims(workload.weight_is_activation)[None]  # (1, L, 3, 8)
    outer = costmodel.stationary_mask(stationary[:, None], operand_dims)  # (K, L, 8)
    tiles = costmodel.tile_counts(dims, extents)
    cycles = costmodel.compute_cycles(
        dims, extents, outer, np.array(fill_drain)[:, None], platform.layer_setup_cycles
    )
    operand_bytes = np.stack(workload.operand_bytes(platform.word_bytes), axis=-1)  # (L, 3)
    rereads = costmodel.reread_factors(tiles, outer, operand_dims)
    buffer = costmodel.buffer_bytes(operand_bytes[None], rereads).sum(axis=-1)
    stationary_bytes = operand_bytes[:, stationary].T  # (K, L)
    refetch = costmodel.refetch_bytes(operand_bytes[None], stationary[:, None])
    return CoreTables(
        cycles=cycles,
        buffer_bytes=buffer,
        stationary_bytes=stationary_bytes,
        refetch_bytes=refetch,
        utilization=costmodel.utilization(dims, extents),
    )


def design_reasons(designs: DesignBatch, platform: Platform) -> np.ndarray:
    """``(P,)`` int8 first reason a design cannot be built or run (0 = feasible)."""
    active = designs.core_pes > 0
    reason = np.zeros(designs.num_designs, dtype=np.int8)

    def flag(condition, code):
        first = (reason == 0) & condition
        reason[first] = code[first] if isinstance(code, np.ndarray) else code

    if designs.decode_reason is not None:
        flag(designs.decode_reason != 0, designs.decode_reason)
    finite = np.isfinite(designs.bw_share).all(axis=1) & np.isfinite(designs.buffer_share).all(axis=1)
    if designs.mapping_bias is not None:
        finite &= np.isfinite(designs.mapping_bias).all(axis=(1, 2))
    if designs.layer_priority is not None:
        finite &= np.isfinite(designs.layer_priority).all(axis=1)
    flag(~finite, design_codes.NON_FINITE)
    flag(~active.any(axis=1), design_codes.NO_ACTIVE_CORE)
    flag((active & ((designs.bw_share <= 0) | (designs.buffer_share <= 0))).any(axis=1), design_codes.INVALID_SHARES)
    flag(np.where(active, designs.core_pes, 0).sum(axis=1) > platform.pes, design_codes.OVER_COMPUTE_BUDGET)
    used = fpga_resources(designs, platform)
    over = (used[0] > platform.dsp) | (used[1] > platform.lut) | (used[2] > platform.bram36)
    flag(over, design_codes.OVER_FPGA_RESOURCES)
    greedy = (designs.layer_core < 0).all(axis=1)
    mapped = np.take_along_axis(active, np.clip(designs.layer_core, 0, designs.num_cores - 1), axis=1)
    flag(~greedy & ~(mapped & (designs.layer_core >= 0)).all(axis=1), design_codes.LAYER_ON_INACTIVE_CORE)
    return reason


def fpga_resources(designs: DesignBatch, platform: Platform) -> np.ndarray:
    """``(3, P)`` DSP, LUT, BRAM36 used; custom sizes scale the largest menu core per PE."""
    menu = np.array([[s.dsp, s.lut, s.bram36] for s in platform.core_sizes])  # (S, 3)
    largest = max(platform.core_sizes, key=lambda s: s.pes)
    per_pe = np.array([largest.dsp, largest.lut, largest.bram36]) / largest.pes
    active = designs.core_pes > 0
    by_menu = menu[np.clip(designs.core_size, 0, len(menu) - 1)]  # (P, C, 3)
    by_pe = designs.core_pes[..., None] * per_pe
    per_core = np.where((designs.core_size >= 0)[..., None], by_menu, by_pe)
    return np.where(active[..., None], per_core, 0.0).sum(axis=1).T


def _sanitized(designs: DesignBatch, reason: np.ndarray) -> DesignBatch:
    """Infeasible rows replaced by something computable; their results are discarded."""
    bad = reason != 0
    if not bad.any():
        return designs
    core_pes = designs.core_pes.copy()
    core_pes[bad] = 0
    core_pes[bad, 0] = 1
    share = np.zeros_like(designs.bw_share)
    share[:, 0] = 1.0
    layer_core = designs.layer_core.copy()
    layer_core[bad] = 0
    replace = {
        "core_pes": core_pes,
        "bw_share": np.where(bad[:, None], share, designs.bw_share),
        "buffer_share": np.where(bad[:, None], share, designs.buffer_share),
        "layer_core": layer_core,
        "core_dataflow": np.where(bad[:, None], 0, designs.core_dataflow),
        "core_size": np.where(bad[:, None], -1, designs.core_size),
    }
    if designs.layer_priority is not None:
        replace["layer_priority"] = np.where(bad[:, None], 0.0, designs.layer_priority)
    if designs.mapping_bias is not None:
        replace["mapping_bias"] = np.where(bad[:, None, None], 0.0, designs.mapping_bias)
    return dataclasses.replace(designs, **replace)


def default_priority(workload: Workload) -> np.ndarray:
    """``(L,)`` progress through its model: DNNs advance side by side."""
    lengths = np.array([m.num_layers for m in workload.models])[workload.model]
    return (workload.layer_index + 1) / lengths


@functools.lru_cache(maxsize=16)
def _ordering(workload: Workload) -> tuple[list[np.ndarray], np.ndarray]:
    """The workload's dependency levels and its default ``(1, L)`` placement order.

    Both depend on the workload alone, and an optimizer scores one workload
    thousands of times; a Python pass over its layers per call was a tenth of
    the time of a small batch. (Workloads are immutable and hash by identity.)
    """
    levels = schedule.dependency_levels(workload.preds)
    return levels, schedule.schedule_order(default_priority(workload)[None], workload.preds, levels)


@functools.lru_cache(maxsize=16)
def _instances(workload: Workload) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model instances (one per batch repetition): ``(L,)`` each layer's instance, ``(I,)`` the
    first layer of each (an instance's layers are contiguous) and ``(I,)`` its model's priority."""
    first = np.ones(workload.num_layers, dtype=bool)
    first[1:] = (workload.model[1:] != workload.model[:-1]) | (workload.instance[1:] != workload.instance[:-1])
    instance = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    if len(starts) != int(workload.batch.sum()):
        raise ValueError(f"workload {workload.name!r}: an instance's layers are not contiguous")
    return instance, starts, workload.priority[workload.model[starts]]


@functools.lru_cache(maxsize=16)
def _check_counts(workload: Workload) -> None:
    """Refuse layers whose int64 counts wrapped: a negative MAC count scores a negative EDP as feasible.

    ``make_model`` bounds every layer it builds, so this only fires for a
    workload assembled by hand; it is checked once per workload.
    """
    size = np.prod(workload.dims.astype(np.float64), axis=1)
    inputs, weights, outputs = workload.operand_elements
    bad = (workload.macs <= 0) | (inputs < 0) | (weights < 0) | (outputs < 0) | ~(size <= MAX_LAYER_SIZE)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"workload {workload.name!r}, layer {workload.layer_names[i]!r}: dims "
                         f"{workload.dims[i].tolist()} give {int(workload.macs[i])} MACs; counts must be positive "
                         f"and the dims product at most {MAX_LAYER_SIZE:.3g}")


def _gather(table: np.ndarray, flat_index: np.ndarray) -> np.ndarray:
    """``table[config[p, l], l]`` for a ``(K, L)`` table, given ``config * L + l``."""
    return table.ravel()[flat_index]


def evaluate(
    designs: DesignBatch, workload: Workload, platform: Platform, *, with_schedule: bool = False
) -> metrics.Metrics:
    """Score every design of the batch; see ``Metrics`` for what comes back.

    ``with_schedule=True`` adds each layer's start, finish and core
    (``(P, L)`` arrays) and each core's busy time (``(P, C)``) to
    ``Metrics.schedule``, for Gantt charts.
    """
    designs.check_shapes()
    if designs.num_layers != workload.num_layers:
        raise ValueError(
            f"designs map {designs.num_layers} layers but workload {workload.name!r} has {workload.num_layers}"
        )
    _check_counts(workload)
    reason = design_reasons(designs, platform)
    with np.errstate(all="ignore"):
        return _evaluate(_sanitized(designs, reason), workload, platform, reason, with_schedule)


def _evaluate(designs, workload, platform, reason, with_schedule) -> metrics.Metrics:
    P, C, L = designs.num_designs, designs.num_cores, workload.num_layers
    active = designs.core_pes > 0
    config, configs = core_configurations(designs)
    tables = core_tables(configs, designs, workload, platform)
    operand_bytes = np.stack(workload.operand_bytes(platform.word_bytes), axis=-1)  # (L, 3)

    core_buffer = designs.buffer_share * platform.buffer_bytes  # (P, C)
    core_dram_bw = designs.bw_share * platform.bw_gbps * 1e9
    pes_total = np.where(active, designs.core_pes, 0).sum(axis=1, keepdims=True)
    core_noc_bw = platform.noc_gbps * 1e9 * designs.core_pes / np.maximum(pes_total, 1)

    def roofline(cfg, buffer, dram_bw, noc_bw, input_on_chip):
        cfg = cfg * L + np.arange(L)
        cycles = _gather(tables.cycles, cfg)
        on_chip = _gather(tables.buffer_bytes, cfg)
        compulsory = operand_bytes.sum(axis=-1) - np.where(input_on_chip, operand_bytes[:, INPUT], 0.0)
        dram = costmodel.chunked_dram_bytes(
            compulsory, _gather(tables.stationary_bytes, cfg), _gather(tables.refetch_bytes, cfg), buffer
        )
        latency = costmodel.layer_latency_s(cycles, platform.clock_hz, dram, dram_bw, on_chip, noc_bw)
        return latency, on_chip, dram

    levels, default_order = _ordering(workload)
    if designs.layer_priority is None:
        order = np.broadcast_to(default_order, (P, L))
    else:
        order = schedule.schedule_order(designs.layer_priority, workload.preds, levels)

    layer_core = designs.layer_core
    greedy = (layer_core < 0).all(axis=1)
    if greedy.any():
        g = np.flatnonzero(greedy)
        # (P', L, C) latency of every layer on every core, inputs from DRAM.
        cfg_all = np.broadcast_to(config[g, None, :], (g.size, L, C)).transpose(0, 2, 1).reshape(-1, L)
        latency_all, *_ = roofline(
            cfg_all,
            core_buffer[g].reshape(-1, 1),
            core_dram_bw[g].reshape(-1, 1),
            core_noc_bw[g].reshape(-1, 1),
            False,
        )
        latency_all = latency_all.reshape(g.size, C, L).transpose(0, 2, 1)
        bias = None if designs.mapping_bias is None else designs.mapping_bias[g]
        layer_core = layer_core.copy()
        layer_core[g] = schedule.greedy_assign(latency_all, active[g], order[g], workload.preds, bias)

    slot = np.arange(P)[:, None] * C + layer_core  # flat (P, C) index of each layer's core
    cfg = config.ravel()[slot]
    buffer = core_buffer.ravel()[slot]
    first_pred = workload.preds[:, 0]
    single_pred = (first_pred >= 0) & ((workload.preds[:, 1:] < 0).all(axis=1))
    same_core = layer_core == layer_core[:, np.maximum(first_pred, 0)]
    input_on_chip = single_pred & same_core & (operand_bytes[:, INPUT] <= buffer)
    latency, on_chip, dram = roofline(
        cfg, buffer, core_dram_bw.ravel()[slot], core_noc_bw.ravel()[slot], input_on_chip
    )

    safe_preds = np.where(workload.preds >= 0, workload.preds, 0)
    crosses = (workload.preds >= 0)[None] & (layer_core[:, safe_preds] != layer_core[:, :, None])
    transfer = np.where(crosses, operand_bytes[safe_preds, OUTPUT] / (platform.noc_gbps * 1e9), 0.0)
    timing = schedule.list_schedule(latency, layer_core, order, workload.preds, transfer, C)
    makespan = timing.makespan_s

    e = platform.energy
    macs = workload.macs.astype(np.float64)
    rf_bytes = 3.0 * macs * platform.word_bytes
    dynamic_pj = (
        macs.sum() * e.mac_pj
        + rf_bytes.sum() * e.rf_pj_per_byte
        + metrics.row_total(on_chip) * (e.buffer_pj_per_byte + e.noc_pj_per_byte)
        + metrics.row_total(dram) * e.dram_pj_per_byte
    )
    dynamic_j = dynamic_pj * 1e-12
    dsp, lut, bram = fpga_resources(designs, platform)
    pes_used = pes_total[:, 0].astype(np.float64)
    s = platform.static
    static_w = (
        s.w_per_pe * pes_used
        + s.w_per_dsp * dsp
        + s.w_per_lut * lut
        + s.w_per_bram36 * bram
        + s.w_per_buffer_mib * platform.buffer_bytes / MiB
        + s.w_fixed
    )
    static_j = static_w * makespan
    energy = dynamic_j + static_j

    if platform.kind == "fpga":
        resource_fraction = np.maximum.reduce([dsp / platform.dsp, lut / platform.lut, bram / platform.bram36])
    else:
        resource_fraction = pes_used / platform.pes
    a = platform.area
    area = pes_used * a.mm2_per_pe + platform.buffer_bytes / MiB * a.mm2_per_buffer_mib + active.sum(1) * a.mm2_per_core

    M = workload.num_models
    shared = metrics.per_model_max(timing.finish_s, workload.model, M)
    instance, starts, instance_priority = _instances(workload)
    alone = schedule.list_schedule(latency, instance * C + layer_core, order, workload.preds, transfer,
                                   C * len(starts))  # each instance on cores of its own: nothing else on the chip
    progress = metrics.normalized_progress(metrics.per_block_max(alone.finish_s, starts),
                                           metrics.per_block_max(timing.finish_s, starts))
    util_pl = _gather(tables.utilization, cfg * L + np.arange(L))
    utilization = macs.sum() / metrics.row_total(macs / util_pl)

    reason = reason.copy()
    finite = np.isfinite(makespan) & np.isfinite(energy) & (makespan > 0) & (energy > 0)
    reason[(reason == 0) & ~finite] = design_codes.NON_FINITE
    ok = reason == 0

    def cost(values):
        return np.where(ok.reshape((-1,) + (1,) * (values.ndim - 1)), values, np.inf)

    def score(values, bad):
        return np.where(ok, values, bad)

    result_schedule = None
    if with_schedule:
        result_schedule = {
            "start_s": timing.start_s,
            "finish_s": timing.finish_s,
            "core": layer_core,
            "core_busy_s": schedule.core_busy_s(latency, layer_core, C),
        }
    return metrics.Metrics(
        latency_s=cost(makespan),
        energy_j=cost(energy),
        edp=cost(energy * makespan),
        dynamic_energy_j=cost(dynamic_j),
        static_energy_j=cost(static_j),
        dram_bytes=cost(metrics.row_total(dram)),
        area_mm2=cost(area),
        resource_fraction=cost(resource_fraction),
        pes_used=pes_used,
        dsp_used=dsp,
        lut_used=lut,
        bram36_used=bram,
        average_power_w=cost(energy / makespan),
        utilization=score(utilization, 0.0),
        throughput_ips=score(workload.inferences / makespan, 0.0),
        model_latency_s=cost(shared),
        progress=np.where(ok[:, None], progress, 0.0),
        stp=score(metrics.system_throughput(progress), 0.0),
        antt=cost(metrics.average_normalized_turnaround(progress)),
        fairness=score(metrics.prema_fairness(progress, instance_priority), 0.0),
        sla_violations=score(metrics.sla_violations(shared, workload.latency_target_s), M),
        feasible=ok,
        reason=reason,
        layer_core=layer_core,
        schedule=result_schedule,
    )

