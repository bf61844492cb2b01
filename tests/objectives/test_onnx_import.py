"""ONNX import: small graphs built with onnx.helper; layer counts, MACs and edges."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from objectives.workloads import Op  # noqa: E402
from objectives.workloads.files import load_model  # noqa: E402
from objectives.workloads.onnx_import import import_onnx, load_onnx  # noqa: E402


class Graph:
    """A few lines per node: initializers by shape, tensors by name."""

    def __init__(self, inputs: dict[str, tuple]):
        self.inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s)) for n, s in inputs.items()]
        self.nodes, self.inits = [], []

    def init(self, name, shape, dtype=np.float32, value=None):
        array = np.zeros(shape, dtype=dtype) if value is None else np.asarray(value, dtype=dtype)
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op, inputs, output, name=None, **attrs):
        """Add a node with one output (its name also names the node) and return the output."""
        self.nodes.append(helper.make_node(op, inputs, [output], name=name or output, **attrs))
        return output

    def conv(self, x, name, k, c, r, group=1, stride=1, pad=None, dilation=1):
        w = self.init(f"{name}.w", (k, c // group, r, r))
        pad = dilation * (r // 2) if pad is None else pad
        return self.node("Conv", [x, w], name, group=group, strides=[stride, stride], pads=[pad] * 4,
                         kernel_shape=[r, r], dilations=[dilation, dilation])

    def bn(self, x, name, c):
        params = [self.init(f"{name}.{p}", (c,)) for p in ("scale", "bias", "mean", "var")]
        return self.node("BatchNormalization", [x, *params], name)

    def model(self, output):
        out = helper.make_tensor_value_info(output, TensorProto.FLOAT, None)
        graph = helper.make_graph(self.nodes, "g", self.inputs, [out], initializer=self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def names_of(model, i):
    return [model.layer_names[p] for p in model.preds[i]]


def test_conv_bn_relu_pool_chain():
    g = Graph({"input": (1, 3, 32, 32)})
    x = g.node("Relu", [g.bn(g.conv("input", "conv1", 8, 3, 3), "bn1", 8)], "relu1")
    x = g.node("MaxPool", [x], "pool1", kernel_shape=[2, 2], strides=[2, 2])
    x = g.node("Relu", [g.conv(x, "conv2", 16, 8, 3)], "relu2")
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x], "gap")], "flat")
    g.init("fc.w", (10, 16))
    g.init("fc.b", (10,))
    result = import_onnx(g.model(g.node("Gemm", [x, "fc.w", "fc.b"], "fc", transB=1)), name="chain")
    model = result.model
    assert model.layer_names == ("conv1", "conv2", "fc")
    assert model.op.tolist() == [Op.CONV, Op.CONV, Op.GEMM]
    assert model.dims.tolist() == [[1, 1, 8, 3, 32, 32, 3, 3], [1, 1, 16, 8, 16, 16, 3, 3], [1, 1, 10, 16, 1, 1, 1, 1]]
    assert model.macs.tolist() == [8 * 3 * 32 * 32 * 9, 16 * 8 * 16 * 16 * 9, 160]
    assert model.preds == ((), (0,), (1,))
    assert result.folded == {"BatchNormalization": 1, "Relu": 2, "MaxPool": 1, "GlobalAveragePool": 1, "Flatten": 1}
    assert sum(result.folded.values()) == 6 and result.unknown == ()
    # BN gamma/beta and the FC bias are extra parameters; running statistics are not parameters.
    assert model.extra_params == 2 * 8 + 10
    assert model.params == 8 * 3 * 9 + 16 * 8 * 9 + 160 + 26
    assert "folded 6 nodes (2 Relu, 1 BatchNormalization" in result.summary()


def test_residual_blocks_are_dags_with_short_edge_lists():
    g = Graph({"input": (1, 3, 16, 16)})
    stem = g.node("Relu", [g.conv("input", "stem", 16, 3, 3)], "stem.relu")
    b = g.conv(g.node("Relu", [g.conv(stem, "a", 16, 16, 3)], "a.relu"), "b", 16, 16, 3)
    x1 = g.node("Relu", [g.node("Add", [b, stem], "add1")], "add1.relu")
    e = g.conv(g.conv(x1, "d", 16, 16, 3), "e", 16, 16, 3)
    x2 = g.node("Add", [e, x1], "add2")
    model = load_onnx(g.model(g.conv(x2, "f", 16, 16, 1)))
    assert model.layer_names == ("stem", "a", "b", "d", "e", "f")
    assert names_of(model, 3) == ["stem", "b"]  # d reads both operands of the residual add
    # f reads e and the newest producer of the block input; stem is already ordered before b.
    assert names_of(model, 5) == ["b", "e"]
    assert model.op[-1] == Op.PWCONV


def test_depthwise_separable_block():
    g = Graph({"input": (1, 32, 16, 16)})
    x = g.node("Relu", [g.bn(g.conv("input", "dw", 32, 32, 3, group=32, stride=2), "dw.bn", 32)], "dw.relu")
    model = load_onnx(g.model(g.conv(x, "pw", 64, 32, 1)))
    assert model.op.tolist() == [Op.DWCONV, Op.PWCONV]
    # Depthwise as ONNX writes it: G = group = 32, K = C = 1.
    assert model.dims.tolist() == [[1, 32, 1, 1, 8, 8, 3, 3], [1, 1, 64, 32, 8, 8, 1, 1]]
    assert model.stride.tolist() == [2, 1]
    assert model.macs.tolist() == [32 * 64 * 9, 64 * 32 * 64]
    assert model.preds == ((), (0,))


def test_grouped_and_dilated_convs_keep_groups_and_dilation():
    g = Graph({"input": (1, 32, 16, 16)})
    x = g.conv("input", "grouped", 64, 32, 3, group=4)
    model = load_onnx(g.model(g.conv(x, "atrous", 16, 64, 3, dilation=2)))
    assert model.op.tolist() == [Op.CONV, Op.CONV]
    # 4 groups of 16 outputs over 8 inputs; the atrous conv keeps its 16 x 16 output.
    assert model.dims.tolist() == [[1, 4, 16, 8, 16, 16, 3, 3], [1, 1, 16, 64, 16, 16, 3, 3]]
    assert model.dilation.tolist() == [1, 2]
    assert model.macs.tolist() == [64 * 8 * 256 * 9, 16 * 64 * 256 * 9]
    assert model.params == 64 * 8 * 9 + 16 * 64 * 9


def attention_graph(tokens=16, width=64, heads=4):
    d = width // heads
    g = Graph({"x": (1, tokens, width)})
    split = g.init("split_shape", (4,), np.int64, [1, tokens, heads, d])
    merge = g.init("merge_shape", (3,), np.int64, [1, tokens, width])

    def project(name, x):
        return g.node("MatMul", [x, g.init(f"{name}.w", (width, width))], name)

    def heads_of(name, perm):
        return g.node("Transpose", [g.node("Reshape", [project(name, "x"), split], f"{name}.split")],
                      f"{name}.heads", perm=perm)

    q, k, v = heads_of("q", [0, 2, 1, 3]), heads_of("k", [0, 2, 3, 1]), heads_of("v", [0, 2, 1, 3])
    scores = g.node("Softmax", [g.node("MatMul", [q, k], "scores")], "probs", axis=-1)
    ctx = g.node("MatMul", [scores, v], "context")
    ctx = g.node("Reshape", [g.node("Transpose", [ctx], "ctx.t", perm=[0, 2, 1, 3]), merge], "ctx.merge")
    out = g.node("Add", [project("out", ctx), "x"], "residual")
    return g.model(out)


def test_attention_block_gemms_and_activation_matmuls():
    result = import_onnx(attention_graph())
    model = result.model
    assert model.layer_names == ("q", "k", "v", "scores", "context", "out")
    assert model.op.tolist() == [Op.GEMM, Op.GEMM, Op.GEMM, Op.MATMUL, Op.MATMUL, Op.GEMM]
    assert model.dims[0].tolist() == [1, 1, 64, 64, 16, 1, 1, 1]  # 16 tokens x (64 -> 64)
    assert model.dims[3].tolist() == [4, 1, 16, 16, 16, 1, 1, 1]  # heads x (16 x 16 @ 16 x 16)
    assert model.macs.tolist() == [16 * 64 * 64] * 3 + [4 * 16 * 16 * 16] * 2 + [16 * 64 * 64]
    assert names_of(model, 3) == ["q", "k"]
    assert names_of(model, 4) == ["v", "scores"]
    assert names_of(model, 5) == ["context"]
    assert model.params == 4 * 64 * 64  # the reshape shapes are int64, not parameters
    assert result.folded == {"Reshape": 4, "Transpose": 4, "Softmax": 1, "Add": 1}


def test_dynamic_shapes_name_the_tensor_and_the_fix():
    g = Graph({"input": ("batch", 3, 8, 8)})
    proto = g.model(g.conv("input", "conv", 4, 3, 3))
    with pytest.raises(ValueError) as info:
        load_onnx(proto)
    message = str(info.value)
    assert "tensor 'conv.w'" not in message  # initializers have shapes; the activation does not
    assert "tensor 'input' (read by Conv node 'conv') has unknown dims ['batch', 3, 8, 8]" in message
    assert "input_shapes={'input': (1, 3, 8, 8)}" in message
    model = load_onnx(proto, input_shapes={"input": (2, 3, 8, 8)})
    assert model.dims[0].tolist() == [2, 1, 4, 3, 8, 8, 3, 3]
    with pytest.raises(ValueError, match="input_shapes: 'x' is not a graph input \\(allowed: input\\)"):
        load_onnx(proto, input_shapes={"x": (1, 3, 8, 8)})
    with pytest.raises(ValueError, match="has rank 3, the graph declares \\['batch', 3, 8, 8\\]"):
        load_onnx(proto, input_shapes={"input": (3, 8, 8)})


def test_recurrent_layers_and_transposed_conv():
    steps, hidden, inputs = 5, 16, 8
    g = Graph({"x": (steps, 1, inputs)})
    w, r = g.init("lstm.W", (2, 4 * hidden, inputs)), g.init("lstm.R", (2, 4 * hidden, hidden))
    g.init("lstm.B", (2, 8 * hidden))
    y = g.node("LSTM", ["x", w, r, "lstm.B"], "lstm.y", name="lstm", hidden_size=hidden, direction="bidirectional")
    shape = g.init("shape", (3,), np.int64, [steps, 1, 2 * hidden])
    y = g.node("Reshape", [g.node("Transpose", [y], "y.t", perm=[0, 2, 1, 3]), shape], "y.cat")
    w, r = g.init("gru.W", (1, 3 * hidden, 2 * hidden)), g.init("gru.R", (1, 3 * hidden, hidden))
    g.node("GRU", [y, w, r], "gru.y", name="gru", hidden_size=hidden)
    result = import_onnx(g.model("gru.y"))
    model = result.model
    assert model.layer_names == ("lstm.fw", "lstm.bw", "gru")
    assert model.op.tolist() == [Op.LSTM, Op.LSTM, Op.GEMM]
    assert model.dims.tolist() == [[1, 1, 64, 24, 5, 1, 1, 1]] * 2 + [[1, 1, 48, 48, 5, 1, 1, 1]]
    assert model.macs.tolist() == [5 * 64 * 24] * 2 + [5 * 3 * hidden * (2 * hidden + hidden)]
    assert model.preds[2] == (0, 1)
    assert model.params == 2 * 4 * hidden * (inputs + hidden) + 3 * hidden * 3 * hidden + 2 * 8 * hidden
    assert any(note.startswith("GRU 'gru': mapped to gemm with K = 3H") for note in result.notes)

    g = Graph({"x": (1, 8, 4, 4)})
    g.node("ConvTranspose", ["x", g.init("up.w", (8, 4, 2, 2))], "up", strides=[2, 2], kernel_shape=[2, 2])
    model = load_onnx(g.model("up"))
    assert model.op.tolist() == [Op.UPCONV]
    assert model.dims[0].tolist() == [1, 1, 4, 8, 8, 8, 2, 2]
    assert model.macs.tolist() == [8 * 16 * 4 * 2 * 2]  # every input pixel scatters a 2x2 patch


def test_unknown_ops_fold_with_a_note_and_unsupported_ops_refuse(tmp_path):
    g = Graph({"a": (1, 4, 8), "b": (1, 8, 3)})
    m = g.node("MatMul", ["a", "b"], "mm")
    proto = g.model(g.node("Gemm", [g.node("Reshape", [m, g.init("s", (2,), np.int64, [4, 3])], "flat"),
                                    g.init("w", (3, 5))], "fc"))
    result = import_onnx(proto)
    assert result.model.op.tolist() == [Op.MATMUL, Op.GEMM]
    assert result.model.dims.tolist() == [[1, 1, 3, 8, 4, 1, 1, 1], [1, 1, 5, 3, 4, 1, 1, 1]]

    g = Graph({"a": (2, 4)})
    g.nodes.append(helper.make_node("FancyOp", ["a"], ["f"], name="fancy", domain="com.example"))
    proto = g.model(g.node("Gemm", ["f", g.init("w", (4, 3))], "fc"))
    proto.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(ValueError, match="tensor 'f' \\(read by Gemm node 'fc'\\) has no inferred shape, although "
                                         "every graph input is fixed \\('a' is \\[2, 4\\]\\): an op on the way"):
        import_onnx(proto)
    proto.graph.value_info.append(helper.make_tensor_value_info("f", TensorProto.FLOAT, [2, 4]))
    result = import_onnx(proto)  # the exporter stored the shape: the unknown op folds, with a note
    assert result.model.macs.tolist() == [2 * 4 * 3]
    assert result.unknown == ("FancyOp",) and result.folded == {"FancyOp": 1}
    assert "unrecognised op types, folded without MACs: FancyOp" in result.summary()

    g = Graph({"a": (2, 4)})
    proto = g.model(g.node("Einsum", ["a", g.init("w", (4, 3))], "e", equation="ij,jk->ik"))
    with pytest.raises(ValueError, match="Einsum node 'e' is not supported"):
        import_onnx(proto)

    g = Graph({"input": (1, 3, 8, 8)})
    path = tmp_path / "tiny.onnx"
    onnx.save(g.model(g.conv("input", "conv", 4, 3, 3)), path)
    model = load_model(path)
    assert model.name == "tiny" and model.num_layers == 1
    with pytest.raises(ValueError, match="cannot read the ONNX model"):
        load_onnx(tmp_path / "missing.onnx")


def test_onnx_resnet50_matches_the_zoo():
    """The ResNet-50 that ships with onnx's backend tests (weights replaced by ConstantOfShape)."""
    from pathlib import Path

    from objectives.workloads import get_model

    path = Path(onnx.__file__).parent / "backend/test/data/light/light_resnet50.onnx"
    if not path.exists():
        pytest.skip("this onnx build ships no backend test models")
    model, zoo = load_onnx(path), get_model("resnet50")
    assert model.num_layers == zoo.num_layers == 54
    assert np.array_equal(model.dims, zoo.dims) and np.array_equal(model.op, zoo.op)
    assert np.array_equal(model.stride, zoo.stride)
    assert int(model.macs.sum()) == int(zoo.macs.sum()) == 4_089_184_256
    # Same edges, except that a reader of a residual add after a projection
    # shortcut names the (newer) downsample conv where the zoo names conv3.
    assert sum(map(len, model.preds)) == sum(map(len, zoo.preds)) == 72
    differ = [zoo.layer_names[i] for i, (a, b) in enumerate(zip(model.preds, zoo.preds)) if a != b]
    assert differ == [f"layer{s}.2.conv1" for s in range(1, 5)]


def test_weights_stored_outside_the_file_are_never_read(tmp_path):
    """Exports over 2 GB keep their weights in side files, and model-zoo files often ship without
    them: the importer reads shapes only, so a deleted side file changes nothing."""
    g = Graph({"input": (1, 3, 8, 8)})
    proto = g.model(g.node("Gemm", [g.node("Flatten", [g.conv("input", "conv", 4, 3, 3)], "flat"),
                                    g.init("fc.w", (256, 10))], "fc"))
    inline = load_onnx(proto, name="net")
    path = tmp_path / "net.onnx"
    onnx.save(proto, path, save_as_external_data=True, all_tensors_to_one_file=True, location="net.weights",
              size_threshold=0)
    assert path.stat().st_size < 1024  # the weights really are elsewhere
    (tmp_path / "net.weights").unlink()
    model = load_model(path)
    assert model == inline
    assert model.params == 4 * 3 * 3 * 3 + 256 * 10


def test_shapes_whose_macs_overflow_int64_are_refused(tmp_path):
    """An input of [1e12, 3, 1e6, 1e6] once wrapped to negative MACs: a negative EDP chosen as the best design."""
    g = Graph({"input": (10**12, 3, 10**6, 10**6)})
    path = tmp_path / "huge.onnx"
    onnx.save(g.model(g.conv("input", "conv", 8, 3, 3)), path)
    with pytest.raises(ValueError, match=f"{path}: model 'huge', layer 'conv': dimensions N=1000000000000, G=1, "
                                         "K=8, C=3, Y=1000000, X=1000000, R=3, S=3 are too large"):
        load_model(path)
