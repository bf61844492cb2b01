"""The evaluator: a batch of designs → ``Metrics`` for one workload and platform.

Work that depends only on a core's configuration (dataflow, PE count,
fixed extents) and its buffer rung — the per-layer mapping search of
:mod:`objectives.mapper` — is done once per configuration for every rung
and layer, and kept for the life of the process; a batch then gathers its
``(designs, layers)`` rows through each layer's core and that core's rung.
The per-design work is a handful of gathers, the latency under the
design's own bandwidth shares, and the list schedule.
Batches larger than ``BLOCK_DESIGNS`` are scored block by block.

A block is scored in named steps (``_evaluate`` reads as their list):
feasibility (``design_reasons``, then infeasible rows made computable),
core resources (``_core_resources``: each core's mapper tables and
bandwidth shares), placement order, layer placement (``_place_layers``:
the design's mapping or the greedy one), per-layer costs and schedules
(``_layer_costs_and_schedule``: one compiled pass per design through
:mod:`objectives.roofline` and the list schedule of
:mod:`objectives.schedule`, with each model instance's schedule alone), the
chip-level costs of :mod:`objectives.chip` (static power, energy, area,
resource fraction) and the multi-DNN metrics (:mod:`objectives.metrics`).
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib

import numba
import numpy as np

from objectives import chip, mapper, metrics, reorder, roofline, schedule
from objectives.mapper import INPUT, OUTPUT
from objectives.schedule import _f64, _i64
from objectives.workloads import Workload
from objectives.workloads._layers import MAX_LAYER_SIZE
from spaces import design as design_codes
from spaces.design import DesignBatch
from spaces.hardware import Platform

RECENT_CORES = 16
"""Cores whose chosen mappings (not just their costs) a store keeps, for design files."""

TABLE_FIELDS = (
    "compute_cycles", "dram_bytes", "dram_input_bytes", "edge_bytes", "edge_input_bytes", "noc_bytes",
    "dynamic_pj", "utilization",
)

BLOCK_DESIGNS = 1024
"""Larger batches are scored in blocks of this many designs, which bounds the
``(designs, layers)`` arrays of a call; every design is scored on its own, so
blocks change no result.  (With numpy temporaries blocks of 128 kept them in
cache; the compiled kernels make none, and P = 1024 in one block measured
faster than in blocks of 64 to 256.)"""



def core_configurations(designs: DesignBatch) -> tuple[np.ndarray, np.ndarray]:
    """``(P, C)`` config id per core and the ``(K, 3)`` distinct (dataflow, pes, size) rows."""
    rows = np.stack([designs.core_dataflow, designs.core_pes, designs.core_size], axis=-1).reshape(-1, 3)
    # One integer per row, ordered as the rows are lexicographically: a 1-D
    # unique is several times cheaper than np.unique(axis=0) on small batches.
    low = rows.min(axis=0)
    key = np.ravel_multi_index((rows - low).T, rows.max(axis=0) - low + 1)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return inverse.reshape(designs.core_pes.shape), rows[first]


def config_core(row, dataflows, platform: Platform) -> mapper.Core:
    """The mapper's core for one (dataflow, pes, size) configuration row."""
    df_index, pes, size_index = (int(v) for v in row)
    size = platform.core_sizes[size_index] if size_index >= 0 else None
    fixed = size.unroll if size is not None else ()
    clock_hz = size.clock_hz if size is not None else None
    return mapper.core_for(platform, dataflows[df_index], max(pes, 1), fixed, clock_hz)


class TableStore:
    """Mapper results of one (workload, platform), per core, as one growing table.

    Each core's ``(rungs, layers)`` results are appended once as rows of
    ``rows`` ``(N, 8)``, one field of :data:`TABLE_FIELDS` per column, so a
    batch reads every layer's values, whatever its core and rung, at one
    row (``offset[core] + rung * L + layer``): a layer's eight fields share
    one 64-byte row and consecutive layers of a core are consecutive rows,
    so the reads stream (eight columns cost eight streams per core).
    """

    MAX_ROWS = 1 << 20
    """About 80 MiB of tables: 44 cores of a 412-layer workload at 57 rungs."""

    def __init__(self, workload: Workload, platform: Platform):
        self.layers = mapper.Layers.from_workload(workload)
        self.capacities = mapper.capacity_ladder(platform.buffer_bytes)
        self.objective = platform.mapping_objective
        self.clock_hz = platform.clock_hz
        self.offsets: dict[mapper.Core, int] = {}
        self.by_config: dict[tuple[int, int, int], tuple[object, int]] = {}
        # Per tuple of dataflows (by the ids of its members, kept alive): (dataflow index, pes, size) -> offset.
        self.by_dataflows: dict[tuple[int, ...], tuple[tuple, dict]] = {}
        self.rows = np.zeros((0, len(TABLE_FIELDS)))
        # The greedy mapper only ranks cores by latency: (compute s, first/last
        # bytes, steady DRAM bytes, NoC bytes) as float32, a quarter of a row,
        # stored field-major ``(4, N)``: it reads a core's layers in order, so
        # each field is one contiguous run that the compiled loop divides in SIMD.
        self.times = np.zeros((4, 0), dtype=np.float32)
        self.size = 0
        self.recent: collections.OrderedDict[mapper.Core, np.ndarray] = collections.OrderedDict()
        self.carrier = None  # a weak reference to the one object that ships this store to other processes

    @property
    def rungs(self) -> int:
        return len(self.capacities)

    def __getstate__(self) -> dict:
        """What another process can reuse: the tables and their offsets by core (``by_config`` keys
        and ``by_dataflows`` keys hold this process's object ids, ``recent`` only serves design files)."""
        return {**self.__dict__, "by_config": {}, "by_dataflows": {}, "recent": collections.OrderedDict(),
                "carrier": None}

    def __setstate__(self, state: dict) -> None:
        """Tables of its own, writeable: Ray's object store hands out read-only arrays, which
        ``_add`` could not extend in place, and which numba would compile every kernel again for
        (``schedule.kernel_array``).  One copy per process that receives the store."""
        self.__dict__.update(state)
        self.rows, self.times = (a if a.flags.writeable else a.copy() for a in (self.rows, self.times))

    def costs(self, core: mapper.Core) -> mapper.LayerCosts:
        return mapper.map_layers(core, self.layers, self.capacities, self.objective)

    def choices(self, core: mapper.Core) -> np.ndarray:
        """``(rungs, L, 18)`` the chosen mappings of a recently mapped core: spatial
        factors, DRAM tile counts, RF and buffer operands (for design files)."""
        if core not in self.recent:
            self._add(core)
        self.recent.move_to_end(core)
        return self.recent[core]

    def offset(self, core: mapper.Core) -> int:
        if core not in self.offsets:
            self._add(core)
        return self.offsets[core]

    def config_offsets(self, configs: np.ndarray, dataflows, platform: Platform) -> np.ndarray:
        """The offsets of the blocks of ``configs`` ``(K, 3)`` (dataflow index,
        pes, size).  Known configurations skip building their core (a batch
        of 16 designs spent a third of its time hashing cores).  Past
        :attr:`MAX_ROWS` rows the store starts again from empty — before
        adding, so every offset returned holds for the batch asking."""
        keys = [(id(dataflows[d]), pes, size) for d, pes, size in configs.tolist()]
        known = [self.by_config.get(key) for key in keys]
        if all(k is not None and k[0] is dataflows[row[0]] for k, row in zip(known, configs.tolist())):
            return np.array([k[1] for k in known], dtype=np.int64)
        cores = [config_core(row, dataflows, platform) for row in configs]
        missing = {core for core in cores if core not in self.offsets}
        if missing and self.size + len(missing) * self.rungs * len(self.layers.dims) > self.MAX_ROWS:
            self.offsets, self.by_config, self.by_dataflows, self.size = {}, {}, {}, 0
        offsets = np.array([self.offset(core) for core in cores], dtype=np.int64)
        for key, row, offset in zip(keys, configs.tolist(), offsets.tolist()):
            self.by_config[key] = (dataflows[row[0]], offset)  # the dataflow kept alive, so its id stays its own
        return offsets

    def core_offsets(self, designs: DesignBatch, platform: Platform) -> np.ndarray:
        """``(P, C)`` where each core's block of results starts.  Cores of known
        configurations are plain-int dict lookups; otherwise through
        ``core_configurations`` and :meth:`config_offsets` (whose unique and
        checks were a quarter of a 16-design batch's Python time)."""
        key = tuple(map(id, designs.dataflows))
        known = self.by_dataflows.get(key)
        if known is not None and all(a is b for a, b in zip(known[0], designs.dataflows)):
            rows = zip(designs.core_dataflow.ravel().tolist(), designs.core_pes.ravel().tolist(),
                       designs.core_size.ravel().tolist())  # fmt: skip
            try:
                return np.array([known[1][row] for row in rows], dtype=np.int64).reshape(designs.core_pes.shape)
            except KeyError:
                pass
        config, configs = core_configurations(designs)
        offsets = self.config_offsets(configs, designs.dataflows, platform)
        if key not in self.by_dataflows or len(self.by_dataflows) > 64:
            if len(self.by_dataflows) > 64:
                self.by_dataflows.clear()
            self.by_dataflows[key] = (designs.dataflows, {})
        self.by_dataflows[key][1].update(zip(map(tuple, configs.tolist()), offsets.tolist()))
        return offsets[config]

    def _add(self, core: mapper.Core) -> None:
        costs = self.costs(core)
        self.recent[core] = np.concatenate(
            [costs.spatial, costs.tiles, costs.rf_operand[..., None], costs.buffer_operand[..., None]], axis=-1
        ).astype(np.int32)
        if len(self.recent) > RECENT_CORES:
            self.recent.popitem(last=False)
        if core not in self.offsets:
            block = np.stack([getattr(costs, name).ravel() for name in TABLE_FIELDS], axis=-1)
            end = self.size + len(block)
            if end > len(self.rows):  # grow geometrically
                grown = np.zeros((max(2 * len(self.rows), end), len(TABLE_FIELDS)))
                grown[: self.size] = self.rows[: self.size]
                self.rows = grown
                grown = np.zeros((4, len(grown)), dtype=np.float32)
                grown[:, : self.size] = self.times[:, : self.size]
                self.times = grown
            self.rows[self.size : end] = block
            compute, dram, edge, noc = (block[:, TABLE_FIELDS.index(f)] for f in
                                        ("compute_cycles", "dram_bytes", "edge_bytes", "noc_bytes"))
            self.times[:, self.size : end] = np.stack([compute / self.clock_hz, edge, dram - edge, noc])
            self.offsets[core] = self.size
            self.size = end

    def rung_index(self, buffer_bytes: np.ndarray) -> np.ndarray:
        # minimum(maximum()) rather than np.clip: the same integers, a third of the overhead.
        return np.minimum(np.maximum(mapper.rung_of(buffer_bytes) - mapper.SMALLEST_RUNG, 0), self.rungs - 1)


_STORES: collections.OrderedDict = collections.OrderedDict()
MAX_STORES = 8
_LAST_STORE: dict = {}  # "pair": (workload, platform, store) asked last


@functools.lru_cache(maxsize=32)
def _layers_key(workload: Workload) -> str:
    """What the mapper sees of a workload: its layer nests in order (workloads hash by identity)."""
    digest = hashlib.sha1()
    for array in (workload.dims, workload.stride, workload.dilation, workload.op):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def table_store(workload: Workload, platform: Platform) -> TableStore:
    """One store per (layers, platform) per process: an optimizer scores the same
    pair thousands of times, and every run of an experiment rebuilds an equal
    workload (a Ray worker runs several), so the key is the layers' content.

    The pair asked last is answered by identity first: hashing a
    ``Platform`` cost a batch of 16 designs more than its feasibility
    checks.  Only this function adds to ``_STORES``, so the pair asked last
    still has its store unless ``_STORES`` was emptied since."""
    last = _LAST_STORE.get("pair")
    if last is not None and last[0] is workload and last[1] is platform and _STORES:
        return last[2]
    key = (_layers_key(workload), platform)
    if key in _STORES:
        _STORES.move_to_end(key)
    else:
        _STORES[key] = TableStore(workload, platform)
        if len(_STORES) > MAX_STORES:
            _STORES.popitem(last=False)
    _LAST_STORE["pair"] = (workload, platform, _STORES[key])
    return _STORES[key]


def known_tables(workload: Workload, platform: Platform) -> TableStore | None:
    """This process's store for (workload, platform), if it has one (nothing is mapped)."""
    return _STORES.get((_layers_key(workload), platform))


def adopt_tables(store: TableStore, workload: Workload, platform: Platform) -> None:
    """Use ``store`` (mapped in another process, e.g. a Ray driver) for (workload, platform) unless
    this process's own holds more: a mapping is the same wherever it is computed, so this skips
    the mapper's cold cost for every core ``store`` has seen."""
    key = (_layers_key(workload), platform)
    own = _STORES.get(key)
    if own is None or own.size < store.size:
        _STORES[key] = store
        _LAST_STORE.pop("pair", None)  # table_store's identity shortcut may hold the store replaced here
        if len(_STORES) > MAX_STORES:
            _STORES.popitem(last=False)


def layer_mappings(designs: DesignBatch, workload: Workload, platform: Platform, layer_core: np.ndarray) -> list[dict]:
    """Each layer's chosen mapping in the first design of ``designs``, on the core
    ``layer_core[l]`` runs it on (``Metrics.layer_core[0]``): plain data for design files."""
    config, configs = core_configurations(designs)
    store = table_store(workload, platform)
    rungs = store.rung_index(designs.buffer_share[0] * platform.buffer_bytes)
    L = workload.num_layers
    cores = {}  # core index → its rung's choices and table offset, looked up once (hashing a core is not free)
    for c in sorted({int(c) for c in layer_core}):
        core = config_core(configs[config[0, c]], designs.dataflows, platform)
        cores[c] = (store.choices(core)[rungs[c]], store.offset(core) + rungs[c] * L)
    fields = [TABLE_FIELDS.index(name) for name in ("utilization", "compute_cycles", "dram_bytes")]
    rows = []
    for l, c in enumerate(int(c) for c in layer_core):
        choices, offset = cores[c]
        choice = choices[l]
        utilization, cycles, dram_bytes = store.rows[offset + l, fields].tolist()
        rows.append({
            "layer": workload.layer_names[l],
            "core": c,
            "buffer_rung_bytes": int(store.capacities[rungs[c]]),
            **mapper.describe_mapping(choice[:8], choice[8:16], int(choice[16]), int(choice[17])),
            "utilization": utilization,
            "compute_cycles": cycles,
            "dram_bytes": dram_bytes,
        })
    return rows


def design_reasons(designs: DesignBatch, platform: Platform, used: np.ndarray | None = None) -> np.ndarray:
    """``(P,)`` int8 first reason a design cannot be built or run (0 = feasible);
    ``used``: ``chip.fpga_resources(designs, platform)`` if already computed."""
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
    if used is None:
        used = chip.fpga_resources(designs, platform)
    flag(chip.over_fpga_budget(used, platform), design_codes.OVER_FPGA_RESOURCES)
    bad = np.empty(designs.num_designs, dtype=np.bool_)
    _layer_off_active_cores(_i64(designs.layer_core), active, bad)
    flag(bad, design_codes.LAYER_ON_INACTIVE_CORE)
    return reason


@numba.njit(cache=True, nogil=True, no_cfunc_wrapper=True)
def _layer_off_active_cores(layer_core, active, bad):
    """Fill ``bad`` ``(P,)``: a design maps its layers (not all -1: greedy) and one
    of them is on an inactive core or on none (-1).  One compiled pass: as numpy,
    six ``(P, L)`` temporaries were a tenth of a P = 1024 call.  (``bad`` comes
    from the caller: ``np.zeros`` here compiled one more numpy overload cold.)"""
    P, L = layer_core.shape
    C = active.shape[1]
    for p in range(P):
        greedy, off = True, False
        for layer in range(L):
            core = layer_core[p, layer]
            if core >= 0:
                greedy = False
            # (A select, not min(): the builtin compiled one more overload cold.)
            if core < 0 or not active[p, core if core < C - 1 else C - 1]:
                off = True
        bad[p] = off and not greedy


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


@functools.lru_cache(maxsize=16)
def _default_order(workload: Workload) -> np.ndarray:
    """The workload's default ``(1, L)`` placement order.

    It depends on the workload alone, and an optimizer scores one workload
    thousands of times. (Workloads are immutable and hash by identity.)
    """
    return schedule.schedule_order(workload.default_priority[None], workload.preds)


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
    if designs.num_designs > BLOCK_DESIGNS:
        blocks = range(0, designs.num_designs, BLOCK_DESIGNS)
        return metrics.Metrics.concatenate([
            evaluate(designs.take(slice(b, b + BLOCK_DESIGNS)), workload, platform, with_schedule=with_schedule)
            for b in blocks
        ])  # fmt: skip
    used = chip.fpga_resources(designs, platform)
    reason = design_reasons(designs, platform, used)
    sanitized = _sanitized(designs, reason)
    with np.errstate(all="ignore"):  # FPGA resources reused unless infeasible rows were replaced
        return _evaluate(sanitized, workload, platform, reason, with_schedule, used if sanitized is designs else None)


def _evaluate(designs: DesignBatch, workload: Workload, platform: Platform, reason: np.ndarray,
              with_schedule: bool, used: np.ndarray | None) -> metrics.Metrics:
    """The scoring of one block of (sanitized) designs, step by step."""
    cores = _core_resources(designs, workload, platform)
    fixed = _workload_arrays(workload, platform)  # (its preds: the workload's, in the kernels' array type)
    order = _placement_order(designs, workload, fixed.preds)
    layer_core = _place_layers(designs, cores, order, fixed.preds)
    timing = _layer_costs_and_schedule(designs, platform, cores, layer_core, order, fixed)
    if platform.schedule_lookahead >= 3:
        # A layer's cost does not depend on the order, so the reordered schedule is one more fused pass.
        order = _post_process(timing.latency_s, layer_core, order, fixed, designs.num_cores, platform)
        timing = _layer_costs_and_schedule(designs, platform, cores, layer_core, order, fixed)
    makespan = timing.makespan_s

    if used is None:
        used = chip.fpga_resources(designs, platform)
    dsp, lut, bram, uram = used
    pes_used = cores.pes_total[:, 0].astype(np.float64)
    static_w = chip.static_power_w(platform.static, pes_used, dsp, lut, bram, uram, platform.buffer_bytes)
    dynamic_j, static_j = chip.energy_j(timing.dynamic_pj, static_w, makespan)
    energy = dynamic_j + static_j
    resource_fraction = chip.resource_fraction(platform, pes_used, dsp, lut, bram, uram)
    area = chip.area_mm2(platform.area, pes_used, cores.active.sum(1), platform.buffer_bytes)

    M = workload.num_models
    shared = timing.model_finish_s
    progress = metrics.normalized_progress(timing.instance_alone_s, timing.instance_shared_s)
    utilization = fixed.macs_total / timing.mac_slots

    reason = reason.copy()
    finite = np.isfinite(makespan) & np.isfinite(energy) & (makespan > 0) & (energy > 0)
    reason[(reason == 0) & ~finite] = design_codes.NON_FINITE
    ok = reason == 0

    all_ok = bool(ok.all())  # the common case: nothing to replace

    def cost(values):
        return values if all_ok else np.where(ok.reshape((-1,) + (1,) * (values.ndim - 1)), values, np.inf)

    def score(values, bad):
        return values if all_ok else np.where(ok, values, bad)

    result_schedule = None
    if with_schedule:
        result_schedule = {
            "start_s": timing.finish_s - timing.latency_s,
            "finish_s": timing.finish_s,
            "core": layer_core,
            "core_busy_s": schedule.core_busy_s(timing.latency_s, layer_core, designs.num_cores),
        }
    return metrics.Metrics(
        latency_s=cost(makespan),
        energy_j=cost(energy),
        edp=cost(energy * makespan),
        dynamic_energy_j=cost(dynamic_j),
        static_energy_j=cost(static_j),
        dram_bytes=cost(timing.dram_bytes),
        area_mm2=cost(area),
        resource_fraction=cost(resource_fraction),
        pes_used=pes_used,
        dsp_used=dsp,
        lut_used=lut,
        bram36_used=bram,
        uram_used=uram,
        average_power_w=cost(energy / makespan),
        utilization=score(utilization, 0.0),
        throughput_ips=score(workload.inferences / makespan, 0.0),
        model_latency_s=cost(shared),
        progress=np.where(ok[:, None], progress, 0.0),
        stp=score(metrics.system_throughput(progress), 0.0),
        antt=cost(metrics.average_normalized_turnaround(progress)),
        fairness=score(metrics.prema_fairness(progress, fixed.instance_priority), 0.0),
        sla_violations=score(metrics.sla_violations(shared, workload.latency_target_s), M),
        feasible=ok,
        reason=reason,
        layer_core=layer_core,
        schedule=result_schedule,
    )


@dataclasses.dataclass(frozen=True)
class _Cores:
    """Per core ``(P, C)``: where its (configuration, buffer rung) block of
    mapper results starts in the store, and its DRAM and NoC bandwidth (B/s)."""

    store: TableStore
    active: np.ndarray
    pes_total: np.ndarray  # (P, 1) PEs of the active cores
    block: np.ndarray
    dram_bw: np.ndarray
    noc_bw: np.ndarray


def _core_resources(designs: DesignBatch, workload: Workload, platform: Platform) -> _Cores:
    """Step 1: each core's mapper results (mapped on first sight of its
    configuration) and its shares of the chip's bandwidths."""
    active = designs.core_pes > 0
    store = table_store(workload, platform)
    core_offset = store.core_offsets(designs, platform)
    core_buffer = designs.buffer_share * platform.buffer_bytes
    pes_total = np.where(active, designs.core_pes, 0).sum(axis=1, keepdims=True)
    dram_bw, noc_bw = chip.core_bandwidths(platform, designs.bw_share, designs.core_pes)
    return _Cores(
        store=store,
        active=active,
        pes_total=pes_total,
        block=core_offset + store.rung_index(core_buffer) * workload.num_layers,
        dram_bw=dram_bw,
        noc_bw=noc_bw,
    )


def _placement_order(designs: DesignBatch, workload: Workload, preds: np.ndarray) -> np.ndarray:
    """Step 2: ``(P, L)`` the order in which layers are placed: the design's
    priorities, or the workload's default (progress through each model),
    repeated into an array of its own: the kernels read it as the writeable
    array they are compiled for, and no wrapper copies it again."""
    if designs.layer_priority is None:
        return np.repeat(_default_order(workload), designs.num_designs, axis=0)
    return schedule.schedule_order(designs.layer_priority, preds)


def _place_layers(designs: DesignBatch, cores: _Cores, order: np.ndarray, preds: np.ndarray) -> np.ndarray:
    """Step 3: ``(P, L)`` each layer's core: the design's own mapping, or, where
    it asks for greedy (all −1), Herald's best fit on every layer's latency on
    every core with its inputs from DRAM (float32: it only ranks cores)."""
    layer_core = designs.layer_core
    greedy = (layer_core < 0).all(axis=1)
    if not greedy.any():
        return layer_core
    # Compiled: each design's (C, L) float32 latency table is built and ranked in one pass, never stored.
    if greedy.all():  # the usual batch: no (P, L) gathers and scatter (a tenth of the step at P = 1024)
        return roofline.greedy_assign(cores.store.times, cores.block, cores.dram_bw, cores.noc_bw, cores.active,
                                      order, preds, designs.mapping_bias)  # fmt: skip
    g = np.flatnonzero(greedy)
    bias = None if designs.mapping_bias is None else designs.mapping_bias[g]
    layer_core = layer_core.copy()
    layer_core[g] = roofline.greedy_assign(cores.store.times, cores.block[g], cores.dram_bw[g], cores.noc_bw[g],
                                           cores.active[g], order[g], preds, bias)
    return layer_core


@dataclasses.dataclass(frozen=True)
class _WorkloadArrays:
    """What the per-layer step reads of a (workload, platform), made once per pair:
    contiguous, in the kernels' dtypes, so a batch of 16 designs pays no conversion."""

    preds: np.ndarray  # (L, D) int64
    input_bytes: np.ndarray  # (L,)
    transfer_s: np.ndarray  # (L, D) NoC delay of each predecessor's output, paid between cores
    macs: np.ndarray  # (L,) float64
    macs_total: float
    model: np.ndarray  # (L,) int64
    instance: np.ndarray  # (L,) int64 each layer's model instance
    starts: np.ndarray  # (I,) the first layer of each instance
    instance_priority: np.ndarray  # (I,) its model's priority
    num_models: int


_ARRAYS: collections.OrderedDict = collections.OrderedDict()


def _workload_arrays(workload: Workload, platform: Platform) -> _WorkloadArrays:
    """Kept per (workload, platform) object pair, looked up by identity: hashing
    a ``Platform`` costs more than a batch of 16 designs spends in Python elsewhere."""
    key = (id(workload), id(platform))
    hit = _ARRAYS.get(key)
    if hit is not None and hit[0] is workload and hit[1] is platform:
        return hit[2]
    instance, starts, instance_priority = _instances(workload)
    macs = workload.macs.astype(np.float64)
    arrays = _WorkloadArrays(
        preds=_i64(workload.preds),
        input_bytes=_f64(workload.operand_bytes(platform.word_bytes)[INPUT]),
        transfer_s=_f64(_transfer_s(workload, platform)),
        macs=macs,
        macs_total=macs.sum(),
        model=_i64(workload.model),
        instance=_i64(instance),
        starts=_i64(starts),
        instance_priority=instance_priority,
        num_models=workload.num_models,
    )
    _ARRAYS[key] = (workload, platform, arrays)  # both kept alive, so their ids stay theirs
    if len(_ARRAYS) > MAX_STORES:
        _ARRAYS.popitem(last=False)
    return arrays


def _layer_costs_and_schedule(designs: DesignBatch, platform: Platform, cores: _Cores, layer_core: np.ndarray,
                              order: np.ndarray, fixed: _WorkloadArrays) -> roofline.Scored:
    """Steps 4 to 6, one compiled pass per design (``roofline.score``): each
    layer's mapper results on its core and rung, less the DRAM round trip of
    an input its only predecessor left in the same core's buffer, and its
    roofline latency under that core's bandwidth shares; the list schedule
    with the NoC transfers between cores; and each model instance's
    schedule alone — its layers scheduled as in the shared schedule (same
    cores, order and transfers) with nothing else on the chip — for its
    normalised progress (``metrics.normalized_progress``)."""
    e = platform.energy
    return roofline.score(
        cores.store.rows, cores.block, cores.dram_bw, cores.noc_bw, designs.buffer_share * platform.buffer_bytes,
        layer_core, order, fixed.preds, fixed.transfer_s, fixed.input_bytes, e.dram_pj_per_byte + e.buffer_write_pj,
        platform.clock_hz, fixed.macs, fixed.model, fixed.num_models, fixed.instance, fixed.starts,
    )  # fmt: skip


def _post_process(latency_s: np.ndarray, layer_core: np.ndarray, order: np.ndarray, fixed: _WorkloadArrays,
                  num_cores: int, platform: Platform) -> np.ndarray:
    """Step 5b, optional: Herald's look-ahead reordering of each core's layers
    (``platform.schedule_lookahead`` >= 3; ``objectives.reorder``), as a new placement order."""
    return reorder.herald_reorder(latency_s, layer_core, order, fixed.preds, fixed.transfer_s, num_cores,
                                  platform.schedule_lookahead)


def _transfer_s(workload: Workload, platform: Platform) -> np.ndarray:
    """``(L, D)`` the NoC delay of each predecessor's output, paid when it ran on another core."""
    safe_preds = np.where(workload.preds >= 0, workload.preds, 0)
    output_bytes = workload.operand_bytes(platform.word_bytes)[OUTPUT]
    return output_bytes[safe_preds] / (platform.noc_gbps * 1e9)


@dataclasses.dataclass(frozen=True)
class _LayerCosts:
    """Per layer ``(P, L)`` on the core ``layer_core`` puts it on."""

    latency_s: np.ndarray
    dram_bytes: np.ndarray
    dynamic_pj: np.ndarray
    utilization: np.ndarray


def _layer_costs(designs: DesignBatch, workload: Workload, platform: Platform, cores: _Cores,
                 layer_core: np.ndarray, preds: np.ndarray | None = None) -> _LayerCosts:
    """Step 5's per-layer part alone (``roofline.layer_roofline``), for callers
    that schedule layers themselves: each layer's mapper results on its core and
    rung, less the DRAM round trip of an input its only predecessor left in the
    same core's buffer, under that core's bandwidth shares.  ``preds`` replaces
    the workload's (all −1: every input read from DRAM)."""
    e = platform.energy
    latency, dram, dynamic, util = roofline.layer_roofline(
        cores.store.rows, cores.block, cores.dram_bw, cores.noc_bw, designs.buffer_share * platform.buffer_bytes,
        layer_core, workload.preds if preds is None else preds, workload.operand_bytes(platform.word_bytes)[INPUT],
        e.dram_pj_per_byte + e.buffer_write_pj, platform.clock_hz,
    )  # fmt: skip
    return _LayerCosts(latency_s=latency, dram_bytes=dram, dynamic_pj=dynamic, utilization=util)


@dataclasses.dataclass(frozen=True)
class CoreLayerCosts:
    """Every layer's cost on every core of every design, for schedulers that
    place layers themselves (``objectives.serving``).

    ``latency_s`` and ``dynamic_j`` ``(P, C, L)``: the layer on core c with its
    input read from DRAM; ``chained_*``: the same layer when its only
    predecessor ran on the same core and left its output in that core's
    buffer (equal to the first where that rule does not apply: several
    predecessors, none, or an input larger than the buffer).  Inactive cores
    and infeasible designs (``reason`` ≠ 0, ``(P,)``) cost ``inf``.
    ``static_w`` ``(P,)``: the design's leakage, paid while it serves.
    """

    latency_s: np.ndarray
    dynamic_j: np.ndarray
    chained_latency_s: np.ndarray
    chained_dynamic_j: np.ndarray
    static_w: np.ndarray
    active: np.ndarray
    reason: np.ndarray


def core_layer_costs(designs: DesignBatch, workload: Workload, platform: Platform) -> CoreLayerCosts:
    """Each layer of ``workload`` on each core of each design: the evaluator's
    steps 1 and 4 (core resources, per-layer roofline) with every layer put
    on core c in turn, once with the predecessors the workload has and once
    with none (inputs from DRAM)."""
    designs.check_shapes()
    _check_counts(workload)
    reason = design_reasons(designs, platform)
    with np.errstate(all="ignore"):
        designs = _sanitized(designs, reason)
        cores = _core_resources(designs, workload, platform)
        P, C, L = designs.num_designs, designs.num_cores, workload.num_layers
        no_preds = np.full((L, 1), -1, dtype=np.int64)
        tables = np.empty((4, P, C, L))
        for c in range(C):
            on_c = np.full((P, L), c, dtype=np.int64)
            for k, preds in enumerate((no_preds, workload.preds)):
                layers = _layer_costs(designs, workload, platform, cores, on_c, preds)
                tables[2 * k, :, c], tables[2 * k + 1, :, c] = layers.latency_s, layers.dynamic_pj * 1e-12
        blocked = (~cores.active | (reason != 0)[:, None])[None, :, :, None]
        tables = np.where(blocked, np.inf, tables)
        dsp, lut, bram, uram = chip.fpga_resources(designs, platform)
        static_w = chip.static_power_w(platform.static, cores.pes_total[:, 0].astype(np.float64), dsp, lut, bram,
                                       uram, platform.buffer_bytes)
    return CoreLayerCosts(latency_s=tables[0], dynamic_j=tables[1], chained_latency_s=tables[2],
                          chained_dynamic_j=tables[3], static_w=static_w, active=cores.active & (reason == 0)[:, None],
                          reason=reason)
