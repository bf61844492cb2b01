"""The evaluator: a batch of designs → ``Metrics`` for one workload and platform.

Work that depends only on a core's shape (dataflow, PE count, fixed extents)
is computed once per distinct core configuration, as ``(configs, layers)``
tables kept across calls, then gathered to ``(designs, layers)`` through
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
from spaces import design as design_codes
from spaces.design import DesignBatch
from spaces.hardware import Platform

MiB = float(1 << 20)

BLOCK_DESIGNS = 128
"""Larger batches are scored in blocks of this many designs: each block's
``(designs, layers)`` temporaries then stay in cache, which made P = 1024
about 1.5x faster per design than one pass; every design is scored on its
own, so blocks change no result."""


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
    # One integer per row, ordered as the rows are lexicographically: a 1-D
    # unique is several times cheaper than np.unique(axis=0) on small batches.
    low = rows.min(axis=0)
    key = np.ravel_multi_index((rows - low).T, rows.max(axis=0) - low + 1)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return inverse.reshape(designs.core_pes.shape), rows[first]


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


class _TableCache:
    """Core tables of every configuration one workload, platform and dataflow
    menu have been scored with, grown as new configurations appear.

    A search draws core sizes from a short menu and dataflows from a few, so
    after its first batches nearly every configuration it sends has been
    seen; at a population of 16 recomputing their tables was over half the
    time of a call.  Rows are computed independently, so a cached row is
    bit-identical to a fresh one.  Bounded: past ``MAX_CELLS`` rows x layers
    (about 20 MiB of tables) the cache starts again from empty.
    """

    MAX_CELLS = 1 << 19

    def __init__(self):
        self.row_of: dict[tuple[int, int, int], int] = {}
        self.tables: CoreTables | None = None

    def lookup(self, configs, designs, workload, platform) -> tuple[CoreTables, np.ndarray]:
        """The tables and the ``(K,)`` row of each of ``configs`` ``(K, 3)`` in them."""
        keys = list(map(tuple, configs.tolist()))
        if (len(self.row_of) + len(keys)) * workload.num_layers > self.MAX_CELLS:
            self.row_of, self.tables = {}, None
        missing = [i for i, key in enumerate(keys) if key not in self.row_of]
        if missing:
            new = core_tables(configs[missing], designs, workload, platform)
            if self.tables is not None:
                new = CoreTables(**{
                    f.name: np.concatenate([getattr(self.tables, f.name), getattr(new, f.name)])
                    for f in dataclasses.fields(CoreTables)
                })  # fmt: skip
            self.tables = new
            for i in missing:
                self.row_of[keys[i]] = len(self.row_of)
        return self.tables, np.array([self.row_of[key] for key in keys], dtype=np.int64)


@functools.lru_cache(maxsize=4)
def _table_cache(workload: Workload, platform: Platform, dataflows: tuple) -> _TableCache:
    return _TableCache()


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
    core_slot = np.arange(designs.num_designs)[:, None] * designs.num_cores  # a flat gather: take_along_axis is slower
    mapped = active.ravel()[core_slot + np.minimum(np.maximum(designs.layer_core, 0), designs.num_cores - 1)]
    flag(~greedy & ~(mapped & (designs.layer_core >= 0)).all(axis=1), design_codes.LAYER_ON_INACTIVE_CORE)
    return reason


def fpga_resources(designs: DesignBatch, platform: Platform) -> np.ndarray:
    """``(3, P)`` DSP, LUT, BRAM36 used; custom sizes scale the largest menu core per PE."""
    menu = np.array([[s.dsp, s.lut, s.bram36] for s in platform.core_sizes])  # (S, 3)
    largest = max(platform.core_sizes, key=lambda s: s.pes)
    per_pe = np.array([largest.dsp, largest.lut, largest.bram36]) / largest.pes
    active = designs.core_pes > 0
    by_menu = menu[np.minimum(np.maximum(designs.core_size, 0), len(menu) - 1)]  # (P, C, 3)
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
def _default_order(workload: Workload) -> np.ndarray:
    """The workload's default ``(1, L)`` placement order.

    It depends on the workload alone, and an optimizer scores one workload
    thousands of times. (Workloads are immutable and hash by identity.)
    """
    return schedule.schedule_order(default_priority(workload)[None], workload.preds)


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
    if designs.num_designs > BLOCK_DESIGNS:
        blocks = range(0, designs.num_designs, BLOCK_DESIGNS)
        return metrics.Metrics.concatenate([
            evaluate(designs.take(slice(b, b + BLOCK_DESIGNS)), workload, platform, with_schedule=with_schedule)
            for b in blocks
        ])  # fmt: skip
    reason = design_reasons(designs, platform)
    with np.errstate(all="ignore"):
        return _evaluate(_sanitized(designs, reason), workload, platform, reason, with_schedule)


def _evaluate(designs, workload, platform, reason, with_schedule) -> metrics.Metrics:
    P, C, L = designs.num_designs, designs.num_cores, workload.num_layers
    active = designs.core_pes > 0
    config, configs = core_configurations(designs)
    tables, rows = _table_cache(workload, platform, designs.dataflows).lookup(configs, designs, workload, platform)
    config = rows[config]  # (P, C) row of each core's configuration in ``tables``
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

    if designs.layer_priority is None:
        order = np.broadcast_to(_default_order(workload), (P, L))
    else:
        order = schedule.schedule_order(designs.layer_priority, workload.preds)

    layer_core = designs.layer_core
    greedy = (layer_core < 0).all(axis=1)
    if greedy.any():
        g = np.flatnonzero(greedy)
        # (P', C, L) latency of every layer on every core, inputs from DRAM.
        latency_all, *_ = roofline(
            config[g].reshape(-1, 1),
            core_buffer[g].reshape(-1, 1),
            core_dram_bw[g].reshape(-1, 1),
            core_noc_bw[g].reshape(-1, 1),
            False,
        )
        latency_all = latency_all.reshape(g.size, C, L)
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

    # (L, D) delay of each predecessor's output over the NoC, paid when it ran on another core.
    safe_preds = np.where(workload.preds >= 0, workload.preds, 0)
    transfer = operand_bytes[safe_preds, OUTPUT] / (platform.noc_gbps * 1e9)
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
    alone = metrics.per_model_sum(latency, workload.model, M)
    progress = metrics.normalized_progress(alone, shared)
    util_pl = _gather(tables.utilization, cfg * L + np.arange(L))
    utilization = macs.sum() / metrics.row_total(macs / util_pl)

    reason = reason.copy()
    finite = np.isfinite(makespan) & np.isfinite(energy) & (makespan > 0)
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
        stp=score(metrics.system_throughput(progress), 0.0),
        antt=cost(metrics.average_normalized_turnaround(progress)),
        fairness=score(metrics.prema_fairness(progress, workload.priority), 0.0),
        sla_violations=score(metrics.sla_violations(shared, workload.latency_target_s), M),
        feasible=ok,
        reason=reason,
        layer_core=layer_core,
        schedule=result_schedule,
    )

