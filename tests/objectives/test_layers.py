"""Layer tables: sizes per op, validation messages, batches as repeated chains."""

import numpy as np
import pytest

from objectives.workloads import ModelBuilder, ModelEntry, Op, Workload, make_model


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
    assert b.build().dims[0].tolist() == [1, 64, 8, 8, 8, 3, 3]


@pytest.mark.parametrize(
    "dims, groups, preds, message",
    [
        ([1, 0, 3, 4, 4, 1, 1], 1, [()], "model 'bad', layer 'l0': dimension\\(s\\) K must be positive"),
        ([1, 6, 3, 4, 4, 1, 1], 4, [()], "model 'bad', layer 'l0': groups=4 must divide the output channels K=6"),
        ([1, 6, 3, 4, 4, 1, 1], 1, [(3,)], "model 'bad', layer 'l0': depends on missing layer index 3"),
        # Counts beyond int64 (and products that would wrap it) are refused, never stored.
        ([10**12, 8, 3, 10**6, 10**6, 3, 3], 1, [()], "layer 'l0': dimensions N=1000000000000, K=8, .* are too large"),
        ([1, 10**20, 3, 4, 4, 1, 1], 1, [()], "layer 'l0': dimensions N=1, K=100000000000000000000, .* too large"),
        ([1, 2**25, 2**25, 1, 1, 1, 1], 2**10, [()], r"product x groups x stride\*\*2 is 1.15e\+18 \(allowed"),
    ],
)
def test_bad_layers_name_model_and_layer(dims, groups, preds, message):
    with pytest.raises(ValueError, match=message):
        make_model("bad", ["l0"], [Op.CONV], [dims], [1], [groups], preds)


def test_the_size_bound_is_exact_at_its_edge():
    from objectives.workloads._layers import MAX_LAYER_SIZE

    edge = [1, 2**20, 2**20, 2**10, 1, 1, 1]  # exactly MAX_LAYER_SIZE
    assert int(make_model("ok", ["l0"], [Op.GEMM], [edge], [1], [1], [()]).macs[0]) == MAX_LAYER_SIZE
    with pytest.raises(ValueError, match="too large"):
        make_model("big", ["l0"], [Op.GEMM], [[2, *edge[1:]]], [1], [1], [()])
    # The model's total is bounded too, so its sum over batches stays in int64.
    many = [edge] * 300
    with pytest.raises(ValueError, match=r"layer 'l256': the model's layers so far multiply-accumulate 2.89e\+17 times"):
        make_model("many", [f"l{i}" for i in range(300)], [Op.GEMM] * 300, many, [1] * 300, [1] * 300, [()] * 300)


def test_dependency_cycle_is_named():
    dims = [[1, 4, 4, 4, 4, 1, 1]] * 3
    with pytest.raises(ValueError, match="model 'loop', layer 'a': dependency cycle"):
        make_model("loop", ["a", "b", "c"], [Op.CONV] * 3, dims, [1] * 3, [1] * 3, [(2,), (0,), (1,)])


def test_tables_are_stored_topologically():
    dims = [[1, 4, 4, 4, 4, 1, 1]] * 3
    model = make_model("m", ["late", "first", "mid"], [Op.CONV] * 3, dims, [1] * 3, [1] * 3, [(2,), (), (1,)])
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
