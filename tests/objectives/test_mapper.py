"""The per-layer mapper: hand-computed mappings per preset dataflow, brute force, invariants."""

import dataclasses
import itertools

import numpy as np
import pytest

from objectives import mapper
from objectives.mapper import C, G, INPUT, K, N, OUTPUT, R, S, WEIGHT, X, Y
from objectives.workloads import ModelBuilder, get_model
from spaces.hardware import DATAFLOWS, get_platform

EDGE = get_platform("edge")


def layers_of(*rows, stride=1, dilation=1, matmul=False):
    """8-dim nests (N, G, K, C, Y, X, R, S)."""
    dims = np.array(rows, dtype=np.int64).reshape(-1, 8)
    L = len(dims)
    return mapper.Layers(
        dims=dims,
        stride=np.full(L, stride),
        dilation=np.full(L, dilation),
        density=np.ones(L),
        transposed=np.zeros(L, dtype=bool),
        weight_is_activation=np.full(L, matmul),
        names=tuple(f"l{i}" for i in range(L)),
    )


def nest(**dims):
    row = [1] * 8
    for name, value in dims.items():
        row[mapper.DIMS.index(name)] = value
    return row


def array(*axes, **kw):
    """A core with named single-dim axes, e.g. array(("K", 4), ("C", 4)); unit energies."""
    return mapper.Core(
        axes=tuple(mapper.Axis(d, e, (d,) if isinstance(d, str) else d) for d, e in axes),
        **{"setup_cycles": 0, "dram_bytes_per_cycle": 4.0, "noc_bytes_per_cycle": 64.0, **kw},
    )


def one(costs, key):
    return float(np.asarray(costs[key]).reshape(-1)[0])


def vec(**dims):
    v = np.ones(8, dtype=np.int64)
    for name, value in dims.items():
        v[mapper.DIMS.index(name)] = value
    return v


# -- hand-computed mappings, one per preset dataflow ---------------------------------


def test_kc_array_weight_in_rf_hand_computed():
    """Pointwise K=8, C=8, 2x2 pixels on a 4x4 K x C array, weights held in the PEs.

    Steps: K 2 x C 2 x Y 2 x X 2 = 16.  Buffer-level order K C | Y X (weight dims
    first).  Inputs (32 B) are re-sent for each of the 2 K steps: 64 B.  Weights
    (64 B) once.  Outputs (32) are visited once per C step: 2 passes, so one
    partial-sum round trip at 4 B: written 32·(1 + 4) = 160 B, read back 128 B.
    Everything fits one DRAM tile: DRAM = 32 + 64 + 32 = 128 B.
    """
    layers = layers_of(nest(K=8, C=8, Y=2, X=2))
    core = array(("K", 4), ("C", 4))
    costs = mapper.evaluate_mappings(core, layers, vec(K=4, C=4), vec(), WEIGHT, WEIGHT)
    assert one(costs, "compute_cycles") == 16
    assert one(costs, "utilization") == 1.0
    assert one(costs, "dram_bytes") == 128
    assert one(costs, "noc_bytes") == 64 + 64 + 32  # inputs, weights, final outputs
    energy = np.asarray(costs["energy_pj"]).reshape(-1)
    # buffer: reads 64 + 64 + 128 (psums) + 32 (write-back to DRAM); writes 160 + 96 (fills)
    assert energy[mapper.LEVELS.index("buffer")] == pytest.approx((64 + 64 + 128 + 32) * 1.38 + (160 + 96) * 1.38)
    assert energy[mapper.LEVELS.index("dram")] == pytest.approx(128 * 46.0)
    assert energy[mapper.LEVELS.index("mac")] == pytest.approx(256 * 0.23)
    # RF: per MAC 2 operand reads + a 4-byte partial-sum read and write, plus every arriving byte
    assert energy[mapper.LEVELS.index("rf")] == pytest.approx(256 * 0.23 * (2 + 4 + 4) + (64 + 64 + 128) * 0.23)
    # the first tile (everything) is loaded, then 16 cycles, then 32 B written back
    assert one(costs, "latency_cycles") == pytest.approx(96 / 4 + max(16, 0 / 4, 160 / 64) + 32 / 4)


def test_kc_array_outputs_in_rf_accumulate_in_the_pe():
    """The same layer with outputs in the RF: C, R, S innermost, so partial sums
    never leave the PE (issue: v1 spilled them 2·C/u_C·R·S times)."""
    layers = layers_of(nest(K=8, C=8, Y=2, X=2, R=3, S=3))
    core = array(("K", 4), ("C", 4))
    held = mapper.evaluate_mappings(core, layers, vec(K=4, C=4), vec(), OUTPUT, WEIGHT)
    streamed = mapper.evaluate_mappings(core, layers, vec(K=4, C=4), vec(), WEIGHT, WEIGHT)
    # held, order K Y X | C R S: the window of each pixel (3x3 rows/cols, sliding
    # between PEs) is sent once per K step: 8 channels · 6 · 6 · 2 = 576 B; weights
    # (576 B) once per pixel step (4): 2304 B; outputs written once: 32 B.
    assert one(held, "noc_bytes") == 576 + 2304 + 32
    assert one(held, "compute_cycles") == 2 * 2 * 2 * 2 * 3 * 3
    # streamed, order K C R S | Y X: every output is revisited for each C, R, S step
    # (18 passes), each extra pass a 4-byte round trip through the buffer:
    # 32 · 17 · 4 B read back and written again, against 2304 B more weights.
    buffer = mapper.LEVELS.index("buffer")
    held_buffer = np.asarray(held["energy_pj"]).reshape(-1)[buffer]
    streamed_buffer = np.asarray(streamed["energy_pj"]).reshape(-1)[buffer]
    assert streamed_buffer > held_buffer


def test_shidiannao_array_slides_inputs_between_pes():
    """2x2 output pixels of a 3x3 conv (K=2, C=1) on a 2 x 2 Y x X array, outputs in the RF.

    Steps: K 2 x R 3 x S 3 = 18 (Y and X fully unrolled).  The 4x4 input window is
    delivered once (neighbours pass it along as the taps slide) and kept across K;
    weights (18 B) once; outputs (8 B) written once.
    """
    layers = layers_of(nest(K=2, Y=2, X=2, R=3, S=3))
    core = array(("Y", 2), ("X", 2), rf_operands=(OUTPUT,))
    costs = mapper.evaluate_mappings(core, layers, vec(Y=2, X=2), vec(), OUTPUT, OUTPUT)
    assert one(costs, "compute_cycles") == 18
    assert one(costs, "noc_bytes") == 16 + 18 + 8
    assert one(costs, "dram_bytes") == 16 + 18 + 8


def test_dpu_pixel_axis_takes_tokens():
    """A GEMM over 8 tokens (Y) on PP=4 x ICP=2 x OCP=2: tokens land on the pixel axis."""
    platform = EDGE.replace(pes=1024)
    dpu = mapper.core_for(platform, DATAFLOWS["dpu_pck"], 16, (("X", 4), ("C", 2), ("K", 2)))
    assert [a.extent for a in dpu.axes] == [4, 2, 2] and dpu.axes[0].dims == ("X", "Y", "N")
    layers = layers_of(nest(K=2, C=2, Y=8))
    costs = mapper.map_layers(dpu, layers, [1 << 20])
    assert costs.utilization[0, 0] == 1.0
    assert costs.spatial[0, 0, Y] == 4
    # v1's pixel axis took X only: one of its 4 lanes busy
    x_only = dataclasses.replace(dpu, axes=(mapper.Axis("X", 4, ("X",)),) + dpu.axes[1:])
    assert mapper.map_layers(x_only, layers, [1 << 20]).utilization[0, 0] == pytest.approx(1 / 4)


def test_systolic_array_fills_and_drains_per_weight_tile():
    """C=8, K=8 GEMM over 5 tokens on a 4x4 C x K systolic array: 4 weight tiles,
    each filled and drained in 4 + 4 cycles, and 5 tokens streamed through each."""
    layers = layers_of(nest(K=8, C=8, Y=5))
    core = array(("C", 4), ("K", 4), fill_drain=True, rf_operands=(WEIGHT,))
    costs = mapper.evaluate_mappings(core, layers, vec(K=4, C=4), vec(), WEIGHT, WEIGHT)
    assert one(costs, "compute_cycles") == 4 * 5 + 4 * (4 + 4)


def test_row_stationary_core_keeps_eyeriss_filter_rows():
    rs = mapper.core_for(EDGE, DATAFLOWS["rs"], 168)
    assert [a.extent for a in rs.axes][0] == 3  # R capped at a 3-row filter
    assert rs.axes[2].dims == ("K", "C")
    assert set(rs.rf_operands) == {WEIGHT, OUTPUT}


def test_derived_extents_match_v1_shapes():
    assert mapper.derived_extents(1024, (("K",), ("C",)), {}) == [32, 32]
    assert mapper.derived_extents(9728, (("K",), ("C",)), {}) == [64, 152]
    assert mapper.derived_extents(1024, (("R",), ("Y",), ("K",)), {"R": 3}) == [3, 16, 21]


# -- depthwise, strides, footprints ---------------------------------------------------


def test_depthwise_on_a_kc_array_runs_one_channel_at_a_time():
    """G is not unrollable on an NVDLA-style K x C array: 1/(K-extent · C-extent)."""
    model = ModelBuilder("dw")
    model.dwconv("dw", channels=64, y=14, r=3)
    layers = mapper.Layers.from_workload(model.build())
    assert layers.dims[0].tolist() == nest(G=64, Y=14, X=14, R=3, S=3)
    ws = mapper.core_for(EDGE, DATAFLOWS["ws_kc"], 1024)
    costs = mapper.map_layers(ws, layers, [1 << 20])
    assert costs.utilization[0, 0] == pytest.approx(1 / 1024)
    # a depthwise-capable variant, G declared on the K axis, spreads the groups
    dw_capable = dataclasses.replace(ws, axes=(mapper.Axis("K", 32, ("K", "G")), ws.axes[1]))
    assert mapper.map_layers(dw_capable, layers, [1 << 20]).utilization[0, 0] == pytest.approx(1 / 32)


def test_strided_pointwise_conv_reads_only_the_touched_pixels():
    """1x1 stride-2 conv to 28x28: 28x28 input pixels touched, not (28-1)·2+1 = 55 squared."""
    layers = layers_of(nest(K=16, C=16, Y=28, X=28), stride=2)
    core = array(("K", 4), ("C", 4))
    costs = mapper.evaluate_mappings(core, layers, vec(K=4, C=4), vec(), WEIGHT, WEIGHT)
    assert one(costs, "dram_input_bytes") == 16 * 28 * 28


def test_dilated_conv_footprint():
    """3x3 dilation-2 conv over 4 output rows: (4-1)·1 + (3-1)·2 + 1 = 8 rows."""
    layers = layers_of(nest(Y=4, X=1, R=3), dilation=2)
    costs = mapper.evaluate_mappings(array(("K", 1)), layers, vec(), vec(), WEIGHT, WEIGHT)
    assert one(costs, "dram_input_bytes") == 8


# -- brute force and invariants -------------------------------------------------------

SMALL = [
    nest(K=4, C=6, Y=3, X=2, R=3),
    nest(K=8, C=2, Y=4, X=4),
    nest(G=3, Y=4, X=3, R=3, S=3),
    nest(N=2, K=6, C=4, Y=2),
]


def brute_force(core, layers, capacity, objective="edp"):
    """Best objective over every RF operand, buffer operand and DRAM tile count
    of the split dims, of G and N, and of X under single-row tiles (input or
    output in the buffer), with the mapper's spatial fills."""
    best = np.full(layers.num_layers, np.inf)
    spatial = mapper.spatial_candidates(core, layers.dims)
    for l in range(layers.num_layers):
        one_layer = layers.take(np.array([l]))
        for u in spatial[:, l]:
            steps = -(-one_layer.dims[0] // u)
            for rf_op in core.rf_operands:
                for buf_op in (INPUT, WEIGHT, OUTPUT):
                    dims = (*mapper.SPLIT_DIMS[buf_op], G, N, X)
                    x_counts = steps[X] if buf_op in mapper.COLUMN_SPLIT else 1
                    for counts in itertools.product(*(range(1, steps[d] + 1) for d in dims[:-1]), range(1, x_counts + 1)):
                        t = np.ones(8, dtype=np.int64)
                        t[list(dims)] = counts
                        if t[X] > 1 and t[Y] < steps[Y]:
                            continue  # columns split only under single-row tiles
                        costs = mapper.evaluate_mappings(core, one_layer, u[None], t[None], rf_op, buf_op)
                        if costs["buffer_need"].reshape(-1)[0] <= capacity:
                            score = mapper.objective_of(costs, objective, core).reshape(-1)[0]
                            best[l] = min(best[l], score)
    return best


@pytest.mark.parametrize("capacity", [256, 1024, 1 << 16])
@pytest.mark.parametrize("axes", [(("K", 4), ("C", 2)), (("Y", 2), ("X", 2))])
def test_mapper_matches_brute_force_on_small_layers(axes, capacity):
    core = array(*axes)
    layers = layers_of(*SMALL)
    chosen = mapper.map_layers(core, layers, [capacity])
    expected = brute_force(core, layers, capacity)
    fits = np.isfinite(expected)
    assert (chosen.fits[0] == fits).all()
    assert chosen.objective[0][fits] == pytest.approx(expected[fits], rel=1e-12)


def test_more_buffer_never_worsens_the_objective_nor_adds_traffic_to_a_mapping():
    core = mapper.core_for(EDGE, DATAFLOWS["ws_kc"], 256)
    layers = layers_of(nest(K=64, C=64, Y=14, X=14, R=3, S=3), nest(K=256, C=512, Y=7, X=7))
    ladder = mapper.capacity_ladder(1 << 22)
    costs = mapper.map_layers(core, layers, ladder)
    assert (np.diff(costs.objective, axis=0) <= 1e-9 * costs.objective[1:]).all()
    # one mapping family: bigger DRAM tiles (fewer tiles) never add DRAM traffic
    u = costs.spatial[-1, 0]
    for buf_op in (INPUT, WEIGHT, OUTPUT):
        d1, d2 = mapper.SPLIT_DIMS[buf_op]
        for rf_op in (INPUT, WEIGHT, OUTPUT):
            t = mapper.tile_candidates(buf_op, (1,))[:, 0]  # (T, 8)
            dram = mapper.evaluate_mappings(core, layers.take(np.array([0])), u[None], t[:, None], rf_op, buf_op)
            dram = dram["dram_bytes"].reshape(-1)
            for i, j in itertools.product(range(len(t)), repeat=2):
                if (t[i] <= t[j]).all():
                    assert dram[i] <= dram[j] * (1 + 1e-12)


def test_energy_covers_compulsory_traffic_and_work():
    core = mapper.core_for(EDGE, DATAFLOWS["os_yx"], 256)
    layers = layers_of(*SMALL, nest(K=32, C=16, Y=28, X=28, R=3, S=3))
    costs = mapper.map_layers(core, layers, mapper.capacity_ladder(1 << 20))
    I = layers.dims[:, N] * layers.dims[:, G] * layers.dims[:, C] * (layers.dims[:, Y] + layers.dims[:, R] - 1) * (
        layers.dims[:, X] + layers.dims[:, S] - 1
    )
    W = layers.dims[:, G] * layers.dims[:, K] * layers.dims[:, C] * layers.dims[:, R] * layers.dims[:, S]
    O = layers.dims[:, N] * layers.dims[:, G] * layers.dims[:, K] * layers.dims[:, Y] * layers.dims[:, X]
    compulsory = (I + W + O).astype(float)
    assert (costs.dram_bytes >= compulsory - 1e-9).all()
    assert (costs.energy_pj[..., mapper.LEVELS.index("dram")] >= compulsory * core.dram_pj * (1 - 1e-12)).all()
    assert (costs.energy_pj[..., mapper.LEVELS.index("mac")] == pytest.approx(
        np.broadcast_to(layers.macs * core.mac_pj, costs.utilization.shape)))


@pytest.mark.parametrize("name", ["ws_kc", "os_yx", "rs", "systolic", "dpu_pck"])
def test_chosen_mapping_is_never_worse_than_the_v1_fixed_order(name):
    """v1: the dataflow's stationary operand both in the PE and at the buffer, no tiling."""
    dataflow = DATAFLOWS[name]
    fixed = (("X", 8), ("C", 8), ("K", 4)) if name == "dpu_pck" else ()
    core = mapper.core_for(EDGE, dataflow, 256, fixed)
    layers = layers_of(*SMALL, nest(K=32, C=16, Y=28, X=28, R=3, S=3), nest(K=128, C=256, Y=16))
    capacity = 1 << 22
    chosen = mapper.map_layers(core, layers, [capacity])
    v1 = mapper.OPERANDS.index(dataflow.stationary)
    u = mapper.spatial_candidates(core, layers.dims)  # (Sp, L, 8)
    costs = mapper.evaluate_mappings(core, layers, u, np.ones(8, dtype=np.int64), v1, v1)
    v1_score = mapper.objective_of(costs, "edp", core).min(axis=0)
    assert (chosen.objective[0] <= v1_score * (1 + 1e-12)).all()


def test_objective_is_selectable():
    core = mapper.core_for(EDGE, DATAFLOWS["ws_kc"], 256)
    layers = layers_of(nest(K=64, C=64, Y=14, X=14, R=3, S=3), nest(K=256, C=512, Y=7, X=7))
    ladder = [1 << 14, 1 << 18]
    by = {o: mapper.map_layers(core, layers, ladder, o) for o in mapper.OBJECTIVES}
    assert (by["latency"].latency_cycles <= by["edp"].latency_cycles * (1 + 1e-12)).all()
    energy = lambda c: c.dynamic_pj + core.static_pj_per_cycle * c.latency_cycles  # noqa: E731
    assert (energy(by["energy"]) <= energy(by["edp"]) * (1 + 1e-12)).all()
    with pytest.raises(ValueError, match="unknown mapping objective 'area'.*allowed: edp, latency, energy"):
        mapper.map_layers(core, layers, ladder, "area")


def test_nothing_fits_takes_the_smallest_tiling_and_says_so():
    core = array(("K", 4), ("C", 4))
    costs = mapper.map_layers(core, layers_of(nest(K=8, C=8, Y=2, X=2)), [16])
    assert not costs.fits[0, 0]
    assert np.isfinite(costs.latency_cycles[0, 0])


def test_capacity_ladder_rounds_down_in_quarter_octaves():
    assert mapper.rung_bytes(mapper.rung_of(np.array([4 << 20]))).tolist() == [4 << 20]
    below = mapper.rung_bytes(mapper.rung_of(np.array([(4 << 20) - 1])))[0]
    assert below == np.floor(2 ** (87 / 4)) and below < 4 << 20
    assert mapper.rung_of(np.array([10.0]))[0] == mapper.SMALLEST_RUNG
    ladder = mapper.capacity_ladder(1 << 20)
    assert ladder[0] == 1024 and ladder[-1] == 1 << 20 and len(ladder) == 41


def test_workload_layers_become_eight_dim_nests():
    model = ModelBuilder("m")
    model.conv("c", k=8, c=4, y=6, r=3, stride=2)
    model.conv("g", k=8, c=8, y=6, r=3, groups=2)
    model.gemm("fc", k=10, c=8, y=3)
    layers = mapper.Layers.from_workload(model.build())
    assert layers.dims.tolist() == [
        nest(K=8, C=4, Y=6, X=6, R=3, S=3), nest(G=2, K=4, C=4, Y=6, X=6, R=3, S=3), nest(K=10, C=8, Y=3)
    ]
    assert layers.stride.tolist() == [2, 1, 1]
    assert (layers.macs == np.prod(model.build().dims, axis=1)).all()


def test_batch_copies_are_mapped_once():
    layers = layers_of(nest(K=8, C=8, Y=4), nest(K=8, C=8, Y=4), nest(K=4, C=8, Y=4))
    unique, inverse = layers.unique()
    assert unique.num_layers == 2 and inverse.tolist()[0] == inverse.tolist()[1] != inverse.tolist()[2]
    costs = mapper.map_layers(array(("K", 4), ("C", 4)), layers, [1 << 12, 1 << 16])
    assert costs.latency_cycles.shape == (2, 3)
    assert (costs.latency_cycles[:, 0] == costs.latency_cycles[:, 1]).all()


@pytest.mark.parametrize("axes", [(("K", 4), ("C", 2)), (("Y", 2), ("X", 2))])
def test_bounded_mapspace_is_near_the_full_temporal_mapspace(axes):
    """Against every DRAM tile count of all eight dims (R, S splits and X splits
    over split rows too), the bounded search stays within 5 %, even with a
    starved 256 B buffer (measured: 3.0 % at worst, an R split; 0.8 % with
    1 KiB).  Before X was split the worst was 2.33x at 256 B and 3.2 % at 1 KiB."""
    core = array(*axes)
    layers = layers_of(*SMALL)
    capacities = np.array([256.0, 1024.0])
    chosen = mapper.map_layers(core, layers, capacities).objective
    spatial = mapper.spatial_candidates(core, layers.dims)
    for l in range(layers.num_layers):
        one_layer = layers.take(np.array([l]))
        best = np.full(len(capacities), np.inf)
        for u in spatial[:, l]:
            steps = -(-one_layer.dims[0] // u)
            t = np.array(list(itertools.product(*(range(1, s + 1) for s in steps))))
            rows = one_layer.take(np.zeros(len(t), dtype=np.int64))
            for rf_op in core.rf_operands:
                for buf_op in (INPUT, WEIGHT, OUTPUT):
                    costs = mapper.evaluate_mappings(core, rows, np.broadcast_to(u, t.shape), t, rf_op, buf_op)
                    fits = costs["buffer_need"][None] <= capacities[:, None]
                    score = np.where(fits, mapper.objective_of(costs, "edp", core)[None], np.inf)
                    best = np.minimum(best, score.min(axis=1))
        assert (best <= chosen[:, l] * (1 + 1e-12)).all() and (chosen[:, l] <= 1.05 * best).all()


def test_a_wide_layer_splits_its_columns_to_fit_a_small_buffer():
    """AlexNet CONV1 (55x55 outputs, 11x11 stride-4 filters, 16-bit words) on an
    Eyeriss-like 12x14 R x Y array with its 108 KB buffer: with whole rows of
    columns the smallest double-buffered tiles need 179 KB and nothing fits
    (the layer was charged 33.6 MB of DRAM traffic); splitting X, tiles fit."""
    core = array(("R", 12), ("Y", 14), word_bytes=2, rf_operands=(WEIGHT, OUTPUT))
    layers = layers_of(nest(K=96, C=3, Y=55, X=55, R=11, S=11), stride=4)
    costs = mapper.map_layers(core, layers, [108 * 1024])
    assert costs.fits[0, 0] and costs.buffer_need[0, 0] <= 108 * 1024
    assert costs.tiles[0, 0, X] > 1 and costs.tiles[0, 0, Y] == -(-55 // costs.spatial[0, 0, Y])
    whole_rows = _without_column_splits(core, layers, [108 * 1024])
    assert not whole_rows.fits[0, 0] and whole_rows.buffer_need[0, 0] > 170 * 1024
    # compulsory traffic: 3x227x227 inputs, 96x3x11x11 weights, 96x55x55 outputs (2 B each)
    compulsory = 2 * (3 * 227 * 227 + 96 * 3 * 121 + 96 * 55 * 55)
    assert compulsory <= costs.dram_bytes[0, 0] < 2 * compulsory < whole_rows.dram_bytes[0, 0] / 10


def _without_column_splits(core, layers, capacities, objective="edp"):
    """The mapper's choice over the candidate set without X splits (before they were added)."""
    saved = mapper.COLUMN_SPLIT
    mapper.COLUMN_SPLIT = ()
    try:
        return mapper.map_layers(core, layers, capacities, objective)
    finally:
        mapper.COLUMN_SPLIT = saved


@pytest.mark.parametrize("model", ["resnet50", "mobilenet_v2", "tiny_yolo"])
def test_column_splits_only_add_candidates(model):
    """The X splits extend the candidate set, so at every capacity a layer fits
    whenever it fitted before and its objective never gets worse."""
    layers = mapper.Layers.from_workload(get_model(model))
    core = mapper.core_for(EDGE, DATAFLOWS["rs"], 256)
    capacities = mapper.rung_bytes(np.array([48, 60, 72]))  # 4 KiB, 32 KiB, 256 KiB
    before = _without_column_splits(core, layers, capacities)
    after = mapper.map_layers(core, layers, capacities)
    assert (after.fits >= before.fits).all()
    both = before.fits
    assert (after.objective[both] <= before.objective[both] * (1 + 1e-12)).all()
    assert (after.objective[both] < before.objective[both] * (1 - 1e-9)).any()


def test_equal_mac_layers_are_no_longer_tied():
    """ResNet's four 115.6 M-MAC 3x3 stages share their compute cycles (112,960 on a
    32x32 K x C array, as in v1), but not their latency: the first load and last
    write-back are not overlapped, and the 512-channel stage's 2.4 MB of weights
    make it the slowest."""
    core = mapper.core_for(EDGE, DATAFLOWS["ws_kc"], 1024)
    layers = layers_of(*(nest(K=k, C=k, Y=y, X=y, R=3, S=3) for k, y in ((64, 56), (128, 28), (256, 14), (512, 7))))
    costs = mapper.map_layers(core, layers, [4 << 20])
    assert (costs.compute_cycles[0] == 112_896 + 64).all()
    assert len(set(costs.latency_cycles[0].tolist())) == 4
    assert np.argmax(costs.latency_cycles[0]) == 3


def test_buffer_bytes_are_what_the_buffer_energy_charges():
    """Buffer traffic is reported in bytes, read and written alike: with 1 pJ per
    byte either way it equals the buffer energy, with writes dearer the energy
    lies between the two prices; every word is filled and read out at least once."""
    layers = layers_of(*SMALL, nest(K=32, C=16, Y=28, X=28, R=3, S=3))
    unit = mapper.map_layers(array(("K", 4), ("C", 4), buffer_read_pj=1.0, buffer_write_pj=1.0), layers, [1 << 12])
    buffer = mapper.LEVELS.index("buffer")
    assert unit.buffer_bytes == pytest.approx(unit.energy_pj[..., buffer], rel=1e-12)
    costs = mapper.map_layers(array(("K", 4), ("C", 4), buffer_read_pj=1.0, buffer_write_pj=3.0), layers, [1 << 12])
    assert (costs.energy_pj[..., buffer] > costs.buffer_bytes).all()
    assert (costs.energy_pj[..., buffer] < 3 * costs.buffer_bytes).all()
    D = layers.dims
    weights = D[:, G] * D[:, K] * D[:, C] * D[:, R] * D[:, S]
    outputs = D[:, N] * D[:, G] * D[:, K] * D[:, Y] * D[:, X]
    assert (costs.buffer_bytes >= 2 * (weights + outputs)).all()
