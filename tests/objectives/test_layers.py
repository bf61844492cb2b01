"""Layer tables: sizes per op, validation messages, batches as repeated chains."""

import numpy as np
import pytest

from objectives.workloads import ModelBuilder, ModelEntry, Op, Workload, make_model
from objectives.workloads._layers import touched_extent


def test_operand_sizes_and_macs_per_op():
    b = ModelBuilder("ops")
    b.conv("conv", k=8, c=4, y=6, r=3, stride=2)  # input (6-1)*2+3 = 13 rows
    b.dwconv("dw", channels=8, y=6, r=3)
    b.upconv("up", k=4, c=8, y=12, r=2, stride=2)
    b.gemm("fc", k=10, c=32, y=3)
    b.matmul("scores", k=5, c=16, y=5, n=2)
    b.lstm("lstm", hidden=4, inputs=6, steps=7)
    model = b.build()
    w = Workload.from_models("ops", [model])
    inputs, weights, outputs = w.operand_elements
    assert w.op.tolist() == [Op.CONV, Op.DWCONV, Op.UPCONV, Op.GEMM, Op.MATMUL, Op.LSTM]
    assert inputs.tolist() == [4 * 13 * 13, 8 * 8 * 8, 8 * 6 * 6, 32 * 3, 2 * 16 * 5, 10 * 7]
    assert weights.tolist() == [8 * 4 * 9, 8 * 9, 4 * 8 * 4, 320, 2 * 5 * 16, 16 * 10]
    assert outputs.tolist() == [8 * 36, 8 * 36, 4 * 144, 30, 2 * 5 * 5, 4 * 7]
    assert w.macs.tolist() == [8 * 4 * 36 * 9, 8 * 36 * 9, 4 * 8 * 144 * 4 // 4, 960, 2 * 5 * 16 * 5, 16 * 10 * 7]
    # Attention's second operand is an activation: no parameters.
    assert model.params == 8 * 4 * 9 + 8 * 9 + 4 * 8 * 4 + 320 + 160


def test_zero_width_is_an_error_not_a_default():
    b = ModelBuilder("z")
    b.conv("c", k=4, c=4, y=4, x=0, r=1)
    with pytest.raises(ValueError, match="model 'z', layer 'c': dimension\\(s\\) X must be positive"):
        b.build()


def test_grouped_conv_counts_channels_per_group():
    b = ModelBuilder("g")
    b.conv("grouped", k=64, c=32, y=8, r=3, groups=4)
    b.conv("depthwise", k=32, c=32, y=8, r=3, groups=32)
    model = b.build()
    # N G K C Y X R S: 4 groups of 16 outputs over 8 inputs; depthwise is G = channels, K = C = 1.
    assert model.dims.tolist() == [[1, 4, 16, 8, 8, 8, 3, 3], [1, 32, 1, 1, 8, 8, 3, 3]]
    assert model.op.tolist() == [Op.CONV, Op.DWCONV]
    # MACs and weights are the framework's: K_total · C_total/groups per pixel and tap.
    assert model.macs.tolist() == [64 * 8 * 64 * 9, 32 * 64 * 9]
    assert model.params == 64 * 8 * 9 + 32 * 9
    with pytest.raises(ValueError, match="layer 'bad': groups=3 must divide output channels 64 and input channels 32"):
        b.conv("bad", k=64, c=32, y=8, r=3, groups=3)


def test_a_1x1_stride_2_conv_reads_every_other_input_pixel_only():
    b = ModelBuilder("s2")
    b.conv("down", k=8, c=4, y=28, r=1, stride=2)  # a ResNet downsample shortcut on 56 x 56
    inputs, _, _ = Workload.from_models("s2", [b.build()]).operand_elements
    # The windows touch rows 0, 2, ..., 54: 28 x 28 pixels, not (28-1)*2+1 = 55 x 55.
    assert inputs.tolist() == [4 * 28 * 28]


def test_touched_rows_by_hand():
    def rows(out, taps, stride, dilation):
        return int(touched_extent(np.array(out), np.array(taps), np.array(stride), np.array(dilation)))

    def brute(out, taps, stride, dilation):
        return len({o * stride + t * dilation for o in range(out) for t in range(taps)})

    assert rows(28, 3, 2, 1) == 57  # 3x3 stride 2: rows 0..56, windows overlap by one row
    assert rows(28, 3, 1, 1) == 30  # 3x3 stride 1, valid padding: 28 + 2
    assert rows(7, 2, 2, 1) == 14  # 2x2 stride 2: windows tile exactly
    assert rows(7, 3, 4, 1) == 21  # 3x3 stride 4: 3 rows per window, a gap of 1 between
    assert rows(8, 3, 1, 2) == 12  # dilation 2: span (8-1) + 2·2 + 1
    assert rows(8, 3, 2, 2) == 10  # stride 2, dilation 2: rows 0, 2, ..., 18, the 8 + 2 of stride 1 spaced 2 apart
    for out in range(1, 7):
        for taps in range(1, 5):
            for stride in range(1, 5):
                for dilation in range(1, 4):
                    exact = brute(out, taps, stride, dilation)
                    got = rows(out, taps, stride, dilation)
                    assert got >= exact
                    if 1 in (stride // np.gcd(stride, dilation), dilation // np.gcd(stride, dilation)):
                        assert got == exact, (out, taps, stride, dilation)


def test_dilated_conv_input_footprint():
    b = ModelBuilder("d")
    b.conv("atrous", k=8, c=4, y=16, r=3, dilation=2)
    model = b.build()
    inputs, weights, _ = Workload.from_models("d", [model]).operand_elements
    # A 3x3 filter with dilation 2 spans 5 pixels: 16 + 4 = 20 rows and columns.
    assert inputs.tolist() == [4 * 20 * 20]
    assert weights.tolist() == [8 * 4 * 9] and model.dilation.tolist() == [2]


@pytest.mark.parametrize(
    "dims, dilation, preds, message",
    [
        ([1, 1, 0, 3, 4, 4, 1, 1], 1, [()], "model 'bad', layer 'l0': dimension\\(s\\) K must be positive"),
        ([1, 1, 6, 3, 4, 4, 1, 1], 0, [()], "model 'bad', layer 'l0': dilation must be positive, got 0"),
        ([1, 1, 6, 3, 4, 4, 1, 1], 1, [(3,)], "model 'bad', layer 'l0': depends on missing layer index 3"),
        # Counts beyond int64 (and products that would wrap it) are refused, never stored.
        ([10**12, 1, 8, 3, 10**6, 10**6, 3, 3], 1, [()], "layer 'l0': dimensions N=1000000000000, G=1, K=8, .* too large"),
        ([1, 1, 10**20, 3, 4, 4, 1, 1], 1, [()], "layer 'l0': dimensions N=1, G=1, K=100000000000000000000, .* too large"),
        ([1, 2**10, 2**25, 2**25, 1, 1, 1, 1], 1, [()], r"they multiply to 1.15e\+18 MACs \(allowed: at most 1.13e\+15"),
        ([1, 1, 6, 3, 4, 4, 3, 3], 2**21, [()], "stride 1 or dilation 2097152 is too large"),
    ],
)
def test_bad_layers_name_model_and_layer(dims, dilation, preds, message):
    with pytest.raises(ValueError, match=message):
        make_model("bad", ["l0"], [Op.CONV], [dims], [1], preds, dilation=[dilation])


def test_depthwise_must_have_one_channel_per_group():
    with pytest.raises(ValueError, match="layer 'dw': a depthwise layer has K=C=1 .* got K=2, C=1"):
        make_model("bad", ["dw"], [Op.DWCONV], [[1, 8, 2, 1, 4, 4, 3, 3]], [1], [()])


def test_the_size_bound_is_exact_at_its_edge():
    from objectives.workloads._layers import MAX_LAYER_SIZE

    edge = [1, 1, 2**20, 2**20, 2**10, 1, 1, 1]  # exactly MAX_LAYER_SIZE
    assert int(make_model("ok", ["l0"], [Op.GEMM], [edge], [1], [()]).macs[0]) == MAX_LAYER_SIZE
    with pytest.raises(ValueError, match="too large"):
        make_model("big", ["l0"], [Op.GEMM], [[2, *edge[1:]]], [1], [()])
    # The model's total is bounded too, so its sum over batches stays in int64.
    many = [edge] * 300
    with pytest.raises(ValueError, match=r"layer 'l256': the model's layers so far multiply-accumulate 2.89e\+17 times"):
        make_model("many", [f"l{i}" for i in range(300)], [Op.GEMM] * 300, many, [1] * 300, [()] * 300)


def test_dependency_cycle_is_named():
    dims = [[1, 1, 4, 4, 4, 4, 1, 1]] * 3
    with pytest.raises(ValueError, match="model 'loop', layer 'a': dependency cycle"):
        make_model("loop", ["a", "b", "c"], [Op.CONV] * 3, dims, [1] * 3, [(2,), (0,), (1,)])


def test_tables_are_stored_topologically():
    dims = [[1, 1, 4, 4, 4, 4, 1, 1]] * 3
    model = make_model("m", ["late", "first", "mid"], [Op.CONV] * 3, dims, [1] * 3, [(2,), (), (1,)])
    assert model.layer_names == ("first", "mid", "late")
    assert model.preds == ((), (0,), (1,))


def test_batches_become_independent_repeated_chains():
    b = ModelBuilder("m")
    b.conv("a", k=4, c=4, y=4, r=1)
    b.conv("b", k=4, c=4, y=4, r=1)
    other = ModelBuilder("o")
    other.gemm("fc", k=4, c=4)
    w = Workload.from_models("w", [ModelEntry(b.build(), batch=3), ModelEntry(other.build())])
    assert w.num_layers == 7 and w.inferences == 4
    assert w.instance.tolist() == [0, 0, 1, 1, 2, 2, 0]
    assert w.model.tolist() == [0, 0, 0, 0, 0, 0, 1]
    assert w.preds[:, 0].tolist() == [-1, 0, -1, 2, -1, 4, -1]
    assert w.layer_names[2] == "m#1/a" and w.layer_names[6] == "o/fc"


@pytest.mark.parametrize(
    "entry, message",
    [
        (dict(batch=0), "batch must be a positive integer"),
        (dict(latency_target_s=-1.0), "latency_target_s must be positive"),
        (dict(priority=0.0), "priority must be positive"),
    ],
)
def test_bad_model_entries(entry, message):
    b = ModelBuilder("m")
    b.gemm("fc", k=4, c=4)
    with pytest.raises(ValueError, match=message):
        ModelEntry(b.build(), **entry)


def test_unknown_op_lists_the_valid_ones():
    from objectives.workloads import parse_op

    with pytest.raises(ValueError, match="unknown op 'pool'.*conv.*dwconv"):
        parse_op("pool")
    assert parse_op("FC") == Op.GEMM
    assert np.int8(parse_op("matmul")) == 5
