"""Cost terms checked against numbers worked out by hand."""

import numpy as np
import pytest

from objectives import costmodel
from objectives.costmodel import OPERAND_DIMS
from spaces.hardware import DATAFLOWS, DPU_CORES, LOOP_DIMS


def extents(**per_dim):
    return np.array([per_dim.get(d, 1) for d in LOOP_DIMS])


def dims(N=1, G=1, K=1, C=1, Y=1, X=1, R=1, S=1):
    return np.array([N, G, K, C, Y, X, R, S])


@pytest.mark.parametrize(
    "pes, dataflow, expected",
    [
        (1024, "ws_kc", dict(K=32, C=32)),
        (9728, "ws_kc", dict(K=64, C=152)),  # Herald's cloud NVDLA partition
        (256, "dpu_pck", dict(X=4, C=8, K=8)),
        (2048, "os_yx", dict(Y=32, X=64)),
        (1, "rs", dict()),
        (1024, "rs", dict(R=3, Y=16, K=21)),  # 3 filter rows, the rest split over Y and K
    ],
)
def test_unroll_extents_split_pes_over_the_unrolled_dims(pes, dataflow, expected):
    assert costmodel.unroll_extents(pes, DATAFLOWS[dataflow]).tolist() == extents(**expected).tolist()


def test_dpu_core_keeps_its_pp_icp_ocp_extents():
    b1152 = next(c for c in DPU_CORES if c.name == "B1152")
    got = costmodel.unroll_extents(b1152.pes, DATAFLOWS["dpu_pck"], b1152.unroll)
    assert got.tolist() == extents(X=4, C=12, K=12).tolist()
    # A dataflow that unrolls other dims ignores the DPU's fixed extents.
    assert costmodel.unroll_extents(b1152.pes, DATAFLOWS["ws_kc"], b1152.unroll).tolist() == extents(
        K=16, C=36
    ).tolist()


def test_utilization_is_product_of_per_dim_edge_waste():
    # K=64 on 32 lanes: full; C=3 on 32 lanes: 3/32.
    assert costmodel.utilization(dims(K=64, C=3), extents(K=32, C=32)) == pytest.approx(3 / 32)
    # K=40 on 32 lanes: two passes, 40/64 useful.
    assert costmodel.utilization(dims(K=40, C=32), extents(K=32, C=32)) == pytest.approx(40 / 64)


def conv_case():
    """1x64x3 output 4x4, 3x3 filter: I = 3·6·6 = 108, W = 64·3·9 = 1728, O = 64·16 = 1024."""
    return dims(K=64, C=3, Y=4, X=4, R=3, S=3), np.array([108.0, 1728.0, 1024.0])


def test_weight_stationary_cycles_and_buffer_traffic():
    d, operand_bytes = conv_case()
    u = extents(K=32, C=32)
    outer = costmodel.stationary_mask(np.array(1), OPERAND_DIMS)  # weight
    assert outer.tolist() == [d_ in ("G", "K", "C", "R", "S") for d_ in LOOP_DIMS]
    # Tiles: K 2, C 1, Y 4, X 4, R 3, S 3 → 288 cycles, plus 10 setup.
    assert costmodel.compute_cycles(d, u, outer, False, 10) == 298
    tiles = costmodel.tile_counts(d, u)
    rereads = costmodel.reread_factors(tiles, outer, OPERAND_DIMS)
    # Inputs once per K tile; weights once; psums once per C·R·S tile = 9.
    assert rereads.tolist() == [2, 1, 9]
    traffic = costmodel.buffer_bytes(operand_bytes, rereads)
    assert traffic.tolist() == [216, 1728, 1024 * (2 * 9 - 1)]


def test_output_stationary_rereads_inputs_per_output_channel():
    d, operand_bytes = conv_case()
    u = extents(Y=4, X=4)
    outer = costmodel.stationary_mask(np.array(2), OPERAND_DIMS)  # output
    assert costmodel.compute_cycles(d, u, outer, False, 0) == 64 * 3 * 3 * 3
    rereads = costmodel.reread_factors(costmodel.tile_counts(d, u), outer, OPERAND_DIMS)
    assert rereads.tolist() == [64, 1, 1]
    assert costmodel.buffer_bytes(operand_bytes, rereads).tolist() == [108 * 64, 1728, 1024]


def test_systolic_pays_fill_and_drain_per_weight_tile():
    d = dims(K=64, C=64, Y=8)
    u = extents(C=32, K=32)
    outer = costmodel.stationary_mask(np.array(1), OPERAND_DIMS)
    # 2·2 weight tiles, each streams Y=8 rows and fills/drains 32+32 cycles.
    assert costmodel.compute_cycles(d, u, outer, True, 0) == 2 * 2 * 8 + 4 * 64
    assert costmodel.compute_cycles(d, u, outer, False, 0) == 32


def test_dram_compulsory_when_stationary_operand_fits():
    operand_bytes = np.array([100.0, 1000.0, 50.0])
    assert costmodel.dram_bytes(operand_bytes, np.array(1), 1000.0, np.array(False)) == 1150
    assert costmodel.dram_bytes(operand_bytes, np.array(1), 1000.0, np.array(True)) == 1050


def test_dram_refetches_other_operands_per_extra_chunk():
    operand_bytes = np.array([100.0, 1000.0, 50.0])
    # Weights in ceil(1000/400) = 3 chunks: inputs and partial sums (both ways) twice more.
    assert costmodel.dram_bytes(operand_bytes, np.array(1), 400.0, np.array(False)) == 1150 + 2 * (100 + 2 * 50)
    # Output stationary: outputs fit, nothing refetched.
    assert costmodel.dram_bytes(operand_bytes, np.array(2), 400.0, np.array(False)) == 1150
    # Output stationary with outputs in 2 chunks: inputs and weights again once.
    assert costmodel.dram_bytes(operand_bytes, np.array(2), 25.0, np.array(False)) == 1150 + 1100


def test_latency_is_the_slowest_roof():
    # 1000 cycles at 1 GHz = 1 us; 4 kB at 1 GB/s = 4 us; 1 kB at 10 GB/s = 0.1 us.
    assert costmodel.layer_latency_s(1000.0, 1e9, 4000.0, 1e9, 1000.0, 1e10) == pytest.approx(4e-6)
    assert costmodel.layer_latency_s(1e4, 1e9, 4000.0, 1e9, 1000.0, 1e10) == pytest.approx(1e-5)


def test_depthwise_favours_output_stationary_and_fc_weight_stationary():
    # Depthwise is G = 64 groups of K = C = 1; no preset unrolls G, so a
    # 32 x 32 K/C array runs one channel at a time on one of its 1024 PEs
    # (MAESTRO's NVDLA-style mapping does the same).
    depthwise = dims(G=64, Y=56, X=56, R=3, S=3)
    fully_connected = dims(K=1000, C=2048)
    ws = costmodel.unroll_extents(1024, DATAFLOWS["ws_kc"])
    os_ = costmodel.unroll_extents(1024, DATAFLOWS["os_yx"])
    assert costmodel.utilization(depthwise, ws) == pytest.approx(1 / (32 * 32))
    assert costmodel.utilization(depthwise, os_) == pytest.approx((56 / 64) ** 2)
    assert costmodel.utilization(fully_connected, os_) == pytest.approx(1 / 1024)
    assert costmodel.utilization(fully_connected, ws) > 0.9


def test_depthwise_on_a_kc_array_takes_one_cycle_per_channel_and_pixel_tap():
    depthwise = dims(G=32, Y=14, X=14, R=3, S=3)
    u = costmodel.unroll_extents(1024, DATAFLOWS["ws_kc"])
    outer = costmodel.stationary_mask(np.array(1), OPERAND_DIMS)
    # Every MAC is its own cycle: 32 channels x 196 pixels x 9 taps.
    assert costmodel.compute_cycles(depthwise, u, outer, False, 0) == 32 * 14 * 14 * 9


def test_depthwise_inputs_are_not_reread_per_output_channel_tile():
    # 32-channel depthwise 3x3 on 28x28 outputs, output stationary 16x16.
    depthwise = dims(G=32, Y=28, X=28, R=3, S=3)
    u = extents(Y=16, X=16)
    outer = costmodel.stationary_mask(np.array(2), OPERAND_DIMS)
    # Inputs stream once (G indexes them); weights once per 2 x 2 pixel tile.
    assert costmodel.reread_factors(costmodel.tile_counts(depthwise, u), outer, OPERAND_DIMS).tolist() == [1, 4, 1]
    # 32 output channels of an ordinary conv over one input channel re-read it per channel.
    ordinary = dims(K=32, C=1, Y=28, X=28, R=3, S=3)
    assert costmodel.reread_factors(costmodel.tile_counts(ordinary, u), outer, OPERAND_DIMS).tolist() == [32, 4, 1]


def test_attention_second_operand_is_indexed_by_heads():
    plain, attention = costmodel.operand_dims(np.array([False, True]))
    weight = costmodel.WEIGHT
    assert [d for d, used in zip(LOOP_DIMS, plain[weight]) if used] == ["G", "K", "C", "R", "S"]
    assert [d for d, used in zip(LOOP_DIMS, attention[weight]) if used] == ["N", "G", "K", "C"]
    assert (plain[[0, 2]] == attention[[0, 2]]).all()


@pytest.mark.parametrize(
    "dataflow, pes, fixed, layer, cycles, util, rereads",
    [
        # rs on 1024 PEs: R 3 x Y 16 x K 21. Tiles K 4, C 3, Y 2, X 8, R 1, S 3.
        ("rs", 1024, (), dims(K=64, C=3, Y=32, X=8, R=3, S=3), 4 * 3 * 2 * 8 * 1 * 3, 64 / 84, [4, 1, 3 * 1 * 3]),
        # A B1024 DPU: X 8 x C 8 x K 8. Tiles K 8, C 4, Y 14, X 2, R 3, S 3.
        ("dpu_pck", 512, (("X", 8), ("C", 8), ("K", 8)), dims(K=64, C=32, Y=14, X=14, R=3, S=3),
         8 * 4 * 14 * 2 * 9, 14 / 16, [8, 1, 4 * 3 * 3]),
    ],
)
def test_row_stationary_and_dpu_by_hand(dataflow, pes, fixed, layer, cycles, util, rereads):
    u = costmodel.unroll_extents(pes, DATAFLOWS[dataflow], fixed)
    outer = costmodel.stationary_mask(np.array(1), OPERAND_DIMS)  # both hold weights
    assert costmodel.compute_cycles(layer, u, outer, False, 0) == cycles
    assert costmodel.utilization(layer, u) == pytest.approx(util)
    assert costmodel.reread_factors(costmodel.tile_counts(layer, u), outer, OPERAND_DIMS).tolist() == rereads
