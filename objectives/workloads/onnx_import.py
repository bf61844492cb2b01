"""Import a DNN from ONNX (optional extra: ``pip install onnx``).

Shapes come from ONNX shape inference (``onnx.shape_inference.infer_shapes``)
after fixing any graph inputs named in ``input_shapes``.  Nodes map to the
loop nest of ``_layers.py`` as follows:

================  ==============================================================
ONNX node         layer
================  ==============================================================
Conv (2-D, 1-D)   ``pwconv`` (1x1, group 1), ``dwconv`` (G = group = channels,
                  K = C = 1) or ``conv`` (G = group, K and C per group); a
                  1-D conv has Y = R = 1; ``dilations`` are kept
ConvTranspose     ``upconv`` (2-D); MACs are exact when output = stride x input
Gemm, MatMul      a constant operand (initializer, possibly through Transpose,
                  Cast, DequantizeLinear...) is a weight: ``gemm`` with Y rows
                  and N = the leading batch dims; two activations: ``matmul``
                  with N = the broadcast batch dims (batch x heads)
LSTM              ``lstm`` (K = 4H, C = input + H, Y = steps, N = batch); one
                  layer per direction (``.fw``/``.bw``)
GRU               ``gemm`` with K = 3H, C = input + H, Y = steps: MACs and
                  weights exact, but the three gate pre-activations count as
                  outputs (3H per step instead of H) -- the ``lstm`` op would
                  divide K by 4 and a 3-gate K does not fit it
RNN               ``gemm`` with K = H, C = input + H, Y = steps (exact)
================  ==============================================================

Every other node is folded (elementwise, activation, pooling, normalisation,
softmax, reshape/transpose/concat/slice, resize, constants); the counts per
op type are in :class:`OnnxImport`.  Dependencies follow the graph's edges
through folded nodes: a layer reads every layer whose output reaches it
without passing another layer.  Where a folded node joins several operands
(a residual add, a concat) its readers list the newest producer of each
operand plus any producer not already an ancestor of another, so edge lists
stay short in deep residual stacks without losing an ordering constraint
(the zoo's convention).  ``Model.extra_params`` counts float initializers no
layer reads as its weight (biases, norms, embeddings).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from objectives.workloads._layers import Model, Op, layer_macs, make_model

log = logging.getLogger(__name__)

# Nodes with a loop nest of their own; everything else is folded.
LAYER_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul", "LSTM", "GRU", "RNN")
# Nodes that do multiply-accumulates we cannot express: refuse rather than drop MACs.
UNSUPPORTED_OPS = ("Einsum", "ConvInteger", "MatMulInteger", "QLinearConv", "QLinearMatMul", "If", "Loop", "Scan")
# Outputs that depend on shapes only, never on data.
SHAPE_OPS = ("Shape", "Size", "Constant", "ConstantOfShape", "EyeLike", "Range")
_FLOAT_TYPES = (1, 10, 11, 16)  # FLOAT, FLOAT16, DOUBLE, BFLOAT16


@dataclasses.dataclass(frozen=True)
class OnnxImport:
    """The imported model and what became of the rest of the graph.

    ``folded`` counts folded nodes per op type; ``unknown`` lists op types this
    importer does not recognise (folded too, with no MACs counted -- check
    them); ``notes`` records every approximation made.
    """

    model: Model
    folded: dict[str, int]
    unknown: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        m = self.model
        folded = ", ".join(f"{n} {op}" for op, n in sorted(self.folded.items(), key=lambda kv: (-kv[1], kv[0])))
        lines = [
            f"imported {m.name!r}: {m.num_layers} layers, {int(m.macs.sum()):,} MACs, {m.params:,} params; "
            f"folded {sum(self.folded.values())} nodes ({folded or 'none'})"
        ]
        if self.unknown:
            lines.append(f"unrecognised op types, folded without MACs: {', '.join(self.unknown)}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def load_onnx(source, input_shapes: Mapping[str, Sequence[int]] | None = None, *, name: str | None = None) -> Model:
    """A ``Model`` from an ONNX file or ``onnx.ModelProto``; logs the fold summary at INFO."""
    result = import_onnx(source, input_shapes, name=name)
    log.info("%s", result.summary())
    return result.model


def import_onnx(
    source, input_shapes: Mapping[str, Sequence[int]] | None = None, *, name: str | None = None
) -> OnnxImport:
    """Like :func:`load_onnx`, returning the fold counts and notes as well.

    ``input_shapes`` maps graph input names to fixed shapes, e.g.
    ``{"input": (1, 3, 224, 224)}``; needed when the file has dynamic dims.
    """
    try:
        import onnx
    except ImportError as e:
        raise ImportError("ONNX import needs the optional extra: pip install 'cosearch[onnx]'") from e
    if isinstance(source, (str, Path)):
        path = Path(source)
        from google.protobuf.message import DecodeError

        try:  # only shapes matter: weights stored beside the file (exports over 2 GB) are never read
            proto = onnx.load(str(path), load_external_data=False)
        except (OSError, ValueError, DecodeError) as e:
            raise ValueError(f"{path}: cannot read the ONNX model: {e}") from None
        default_name = path.stem
    elif isinstance(source, onnx.ModelProto):
        proto = onnx.ModelProto()
        proto.CopyFrom(source)
        default_name = source.graph.name or "onnx_model"
    else:
        raise TypeError(f"load_onnx expects a path or an onnx.ModelProto, got {type(source).__name__}")
    name = name or default_name
    if input_shapes:
        _fix_input_shapes(proto, name, input_shapes)
    try:
        proto = onnx.shape_inference.infer_shapes(proto, strict_mode=True, data_prop=True)
    except (onnx.shape_inference.InferenceError, RuntimeError) as e:
        raise ValueError(f"model {name!r}: ONNX shape inference failed: {e}") from None
    return _Importer(proto, name).run()


def _graph_inputs(graph) -> list:
    initializers = {t.name for t in graph.initializer}
    return [i for i in graph.input if i.name not in initializers]


def _dims(type_proto) -> tuple | None:
    """Shape of a tensor type: ints, or the symbol/'?' for unknown dims; None if no shape."""
    tensor = type_proto.tensor_type
    if not tensor.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in tensor.shape.dim)


def _fix_input_shapes(proto, name: str, input_shapes: Mapping[str, Sequence[int]]) -> None:
    inputs = {i.name: i for i in _graph_inputs(proto.graph)}
    for input_name, shape in input_shapes.items():
        if input_name not in inputs:
            raise ValueError(f"model {name!r}: input_shapes: {input_name!r} is not a graph input "
                             f"(allowed: {', '.join(inputs) or 'none'})")
        shape = tuple(shape)
        if not shape or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
            raise ValueError(f"model {name!r}: input_shapes.{input_name}: {shape!r} is not a tuple of positive ints")
        declared = _dims(inputs[input_name].type)
        if declared is not None and len(declared) != len(shape):
            raise ValueError(f"model {name!r}: input_shapes.{input_name}: {shape!r} has rank {len(shape)}, "
                             f"the graph declares {list(declared)}")
        dims = inputs[input_name].type.tensor_type.shape.dim
        del dims[:]
        for d in shape:
            dims.add().dim_value = d
    # Shapes stored by the exporter may contradict the new sizes: infer them afresh.
    del proto.graph.value_info[:]
    for output in proto.graph.output:
        output.type.tensor_type.ClearField("shape")


class _Importer:
    def __init__(self, proto, name: str):
        self.graph = proto.graph
        self.name = name
        self.shapes: dict[str, tuple | None] = {}
        for info in (*self.graph.input, *self.graph.value_info, *self.graph.output):
            self.shapes[info.name] = _dims(info.type)
        self.initializers = {t.name: t for t in self.graph.initializer}
        for t in self.graph.initializer:
            self.shapes[t.name] = tuple(t.dims)
        # Per tensor: the layers it comes from, and the initializers a constant derives from.
        self.producers: dict[str, frozenset[int]] = {}
        self.const_sources: dict[str, frozenset[str]] = {n: frozenset([n]) for n in self.initializers}
        self.rows: list[tuple] = []  # (name, op, dims, stride, dilation, preds)
        self.ancestors: list[int] = []  # bitset per layer
        self.used_names: set[str] = set()
        self.weights_read: set[str] = set()  # initializers held by layers, or not parameters at all
        self.folded: Counter[str] = Counter()
        self.unknown: Counter[str] = Counter()
        self.notes: list[str] = []

    # -- helpers ---------------------------------------------------------------
    def shape(self, tensor: str, node) -> tuple[int, ...]:
        dims = self.shapes.get(tensor)
        if dims is not None and all(isinstance(d, int) and d > 0 for d in dims):
            return dims
        raise ValueError(self._dynamic_message(tensor, node, dims))

    def _dynamic_message(self, tensor: str, node, dims) -> str:
        role = "written" if tensor in node.output else "read"
        where = (f"model {self.name!r}: tensor {tensor!r} ({role} by {node.op_type} node {self.node_name(node)!r}) "
                 f"has {'no inferred shape' if dims is None else f'unknown dims {list(dims)}'}")
        inputs = [(i.name, _dims(i.type)) for i in _graph_inputs(self.graph)]
        declared = "; ".join(f"{n!r} is {'unknown' if d is None else list(d)}" for n, d in inputs)
        if all(d is not None and all(isinstance(v, int) and v > 0 for v in d) for _, d in inputs):
            return (f"{where}, although every graph input is fixed ({declared}): an op on the way has no shape "
                    "inference; re-export the model with static shapes (or simplify it with onnxsim)")

        def example(d) -> str:
            dims = [v if isinstance(v, int) and v > 0 else (1 if k == 0 else f"<{v}>") for k, v in enumerate(d or "?")]
            return "(" + ", ".join(map(str, dims)) + ("," if len(dims) == 1 else "") + ")"

        fix = ", ".join(f"{n!r}: {example(d)}" for n, d in inputs)
        return f"{where}; graph inputs: {declared}. Fix their sizes, e.g. load_onnx(path, input_shapes={{{fix}}})"

    def is_const(self, tensor: str) -> bool:
        return tensor in self.const_sources

    def reads(self, node) -> frozenset[int]:
        return frozenset().union(*(self.producers.get(t, frozenset()) for t in node.input if t))

    def attr(self, node, key: str, default):
        import onnx

        for a in node.attribute:
            if a.name == key:
                return onnx.helper.get_attribute_value(a)
        return default

    def add_layer(self, node, suffix, op, dims, *, stride=1, dilation=1, weights=()) -> int:
        base = (node.name or node.output[0] or f"{node.op_type}_{len(self.rows)}") + suffix
        name, k = base, 2
        while name in self.used_names:
            name, k = f"{base}#{k}", k + 1
        self.used_names.add(name)
        preds = tuple(sorted(self.reads(node)))
        index = len(self.rows)
        self.rows.append((name, op, tuple(int(d) for d in dims), int(stride), int(dilation), preds))
        ancestors = 0
        for p in preds:
            ancestors |= self.ancestors[p] | (1 << p)
        self.ancestors.append(ancestors)
        for w in weights:
            self.weights_read |= self.const_sources.get(w, frozenset())
        return index

    def joined(self, operand_sets: list[frozenset[int]]) -> frozenset[int]:
        """Readers of a folded join (add, concat): see the module docstring."""
        distinct = list(dict.fromkeys(s for s in operand_sets if s))
        union = frozenset().union(*distinct)
        if len(distinct) < 2:
            return union
        newest = {max(s) for s in distinct}
        frontier = {p for p in union if not any(self.ancestors[q] >> p & 1 for q in union if q != p)}
        return frozenset(newest | frontier)

    # -- the walk --------------------------------------------------------------
    def run(self) -> OnnxImport:
        for node in _topological_nodes(self.graph, self.name):
            if node.op_type in UNSUPPORTED_OPS and node.domain in ("", "ai.onnx"):
                raise ValueError(f"model {self.name!r}: {node.op_type} node {self.node_name(node)!r} is not "
                                 f"supported (layers: {', '.join(LAYER_OPS)}); export it as those ops")
            if node.op_type in LAYER_OPS and node.domain in ("", "ai.onnx"):
                layers = getattr(self, f"_{node.op_type.lower()}")(node)
                for out in node.output:
                    if out:
                        self.producers[out] = frozenset(layers)
            else:
                self.fold(node)
        if not self.rows:
            raise ValueError(f"model {self.name!r}: no Conv, ConvTranspose, Gemm, MatMul, LSTM, GRU or RNN node")
        extra = sum(
            math.prod(t.dims) for n, t in self.initializers.items()
            if t.data_type in _FLOAT_TYPES and n not in self.weights_read
        )
        names, ops, dims, strides, dilations, preds = zip(*self.rows)
        model = make_model(self.name, names, ops, dims, strides, preds, extra, dilation=dilations)
        return OnnxImport(model, dict(self.folded), tuple(sorted(self.unknown)), tuple(dict.fromkeys(self.notes)))

    def fold(self, node) -> None:
        standard = node.domain in ("", "ai.onnx")
        self.folded[node.op_type] += 1
        if not (standard and node.op_type in FOLDED_OPS):
            self.unknown[node.op_type] += 1
            self.notes.append(f"{node.op_type} nodes are not recognised: folded with no MACs counted")
        inputs = [t for t in node.input if t]
        outputs = [t for t in node.output if t]
        if node.op_type == "BatchNormalization":  # running statistics are not parameters
            for t in node.input[3:5]:
                self.weights_read |= self.const_sources.get(t, frozenset())
        if node.op_type in SHAPE_OPS or all(self.is_const(t) for t in inputs):
            sources = frozenset().union(*(self.const_sources.get(t, frozenset()) for t in inputs))
            for out in outputs:
                self.const_sources[out] = frozenset() if node.op_type in SHAPE_OPS else sources
            return
        readers = self.joined([self.producers.get(t, frozenset()) for t in inputs if not self.is_const(t)])
        for out in outputs:
            self.producers[out] = readers

    def node_name(self, node) -> str:
        return node.name or node.output[0]

    def _conv(self, node) -> list[int]:
        w = node.input[1]
        xs, ws, ys = (self.shape(t, node) for t in (node.input[0], w, node.output[0]))
        rank = len(ws) - 2
        if rank not in (1, 2):
            raise ValueError(f"model {self.name!r}: Conv node {self.node_name(node)!r}: {rank}-D convolution "
                             "is not supported (allowed: 1-D, 2-D)")
        groups = self.attr(node, "group", 1)
        strides = list(self.attr(node, "strides", [1] * rank))
        dilations = list(self.attr(node, "dilations", [1] * rank))
        if rank == 1:
            y, x, r, s = 1, ys[2], 1, ws[2]
        else:
            y, x, r, s = ys[2], ys[3], ws[2], ws[3]
            if strides[0] != strides[1]:
                self.notes.append(f"Conv {self.node_name(node)!r}: strides {strides} stored as {max(strides)}")
            if dilations[0] != dilations[1]:
                self.notes.append(f"Conv {self.node_name(node)!r}: dilations {dilations} stored as {max(dilations)}")
        # ONNX weights are (K_total, C per group, R, S): K splits over the groups.
        k, c = ws[0] // groups, ws[1]
        if groups == 1 and r == s == 1:
            op = Op.PWCONV
        elif groups > 1 and k == c == 1:
            op = Op.DWCONV
        else:
            op = Op.CONV
        dims = (xs[0], groups, k, c, y, x, r, s)
        return [self.add_layer(node, "", op, dims, stride=max(strides), dilation=max(dilations), weights=(w,))]

    def _convtranspose(self, node) -> list[int]:
        w = node.input[1]
        xs, ws, ys = self.shape(node.input[0], node), self.shape(w, node), self.shape(node.output[0], node)
        if len(ws) != 4:
            raise ValueError(f"model {self.name!r}: ConvTranspose node {self.node_name(node)!r}: "
                             f"{len(ws) - 2}-D transposed convolution is not supported (allowed: 2-D)")
        groups = self.attr(node, "group", 1)
        strides = list(self.attr(node, "strides", [1, 1]))
        stride = round(math.sqrt(strides[0] * strides[1]))
        # ONNX weights are (C_total, K per group, R, S).
        dims = (ys[0], groups, ws[1], ws[0] // groups, ys[2], ys[3], ws[2], ws[3])
        index = self.add_layer(node, "", Op.UPCONV, dims, stride=stride, weights=(w,))
        exact = xs[0] * ws[0] * xs[2] * xs[3] * ws[1] * ws[2] * ws[3]
        counted = int(layer_macs(Op.UPCONV, _array(dims), _array(stride)))
        if counted != exact:
            self.notes.append(f"ConvTranspose {self.node_name(node)!r}: {counted:,} MACs counted as "
                              f"N G K C Y X R S / stride**2, exactly {exact:,} (output is not stride x input)")
        return [index]

    def _gemm(self, node) -> list[int]:
        a, b = node.input[0], node.input[1]
        m, inner = self.shape(a, node)[:: -1 if self.attr(node, "transA", 0) else 1]
        inner_b, n = self.shape(b, node)[:: -1 if self.attr(node, "transB", 0) else 1]
        return self._product(node, a, b, batch_a=1, batch_b=1, m=m, inner=inner, n=n)

    def _matmul(self, node) -> list[int]:
        a, b = node.input[0], node.input[1]
        sa, sb = self.shape(a, node), self.shape(b, node)
        sa = (1, *sa) if len(sa) == 1 else sa
        sb = (*sb, 1) if len(sb) == 1 else sb
        return self._product(node, a, b, batch_a=sa[:-2], batch_b=sb[:-2], m=sa[-2], inner=sa[-1], n=sb[-1])

    def _product(self, node, a, b, *, batch_a, batch_b, m, inner, n) -> list[int]:
        """out[batch, m, n] = a[batch, m, inner] @ b[batch, inner, n]."""
        batch_a = math.prod(batch_a) if isinstance(batch_a, tuple) else batch_a
        batch_b = math.prod(batch_b) if isinstance(batch_b, tuple) else batch_b
        if self.is_const(b) and batch_b == 1:
            return [self.add_layer(node, "", Op.GEMM, (batch_a, 1, n, inner, m, 1, 1, 1), weights=(b,))]
        if self.is_const(a) and batch_a == 1:  # out^T = b^T a^T: the rows of a are the outputs
            return [self.add_layer(node, "", Op.GEMM, (batch_b, 1, m, inner, n, 1, 1, 1), weights=(a,))]
        if self.is_const(a) or self.is_const(b):
            self.notes.append(f"{node.op_type} {self.node_name(node)!r}: a batched constant operand is "
                              "counted as an activation (matmul), its elements as extra_params")
        batch = max(batch_a, batch_b)  # the batch dims broadcast
        return [self.add_layer(node, "", Op.MATMUL, (batch, 1, n, inner, m, 1, 1, 1))]

    def _recurrent(self, node, gates: int) -> list[int]:
        w, r = node.input[1], node.input[2]
        xs, ws = self.shape(node.input[0], node), self.shape(w, node)
        steps, batch = (xs[0], xs[1]) if self.attr(node, "layout", 0) == 0 else (xs[1], xs[0])
        hidden = self.attr(node, "hidden_size", 0) or ws[1] // gates
        op, k = (Op.LSTM, 4 * hidden) if gates == 4 else (Op.GEMM, gates * hidden)
        suffixes = ("",) if ws[0] == 1 else (".fw", ".bw")
        dims = (batch, 1, k, ws[2] + hidden, steps, 1, 1, 1)
        return [self.add_layer(node, suffix, op, dims, weights=(w, r)) for suffix in suffixes]

    def _lstm(self, node) -> list[int]:
        if len(node.input) > 7 and node.input[7]:
            self.notes.append(f"LSTM {self.node_name(node)!r}: peephole products (3H per step) are not counted")
        return self._recurrent(node, 4)

    def _gru(self, node) -> list[int]:
        self.notes.append(f"GRU {self.node_name(node)!r}: mapped to gemm with K = 3H (MACs and weights exact; "
                          "gate pre-activations counted as outputs, 3H per step instead of H)")
        return self._recurrent(node, 3)

    def _rnn(self, node) -> list[int]:
        return self._recurrent(node, 1)


def _array(value):
    return np.asarray(value, dtype=np.int64)


def _topological_nodes(graph, name: str) -> list:
    """Graph nodes in a topological order (stable: file order when it already is one)."""
    import heapq

    producer = {out: i for i, node in enumerate(graph.node) for out in node.output if out}
    known = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    deps: list[set[int]] = []
    for node in graph.node:
        needed = set()
        for t in node.input:
            if t in producer:
                needed.add(producer[t])
            elif t not in known:
                raise ValueError(f"model {name!r}: tensor {t!r} read by {node.op_type} node "
                                 f"{node.name or node.output[0]!r} is neither produced nor a graph input")
        deps.append(needed)
    users: list[list[int]] = [[] for _ in graph.node]
    for i, needed in enumerate(deps):
        for d in needed:
            users[d].append(i)
    waiting = [len(d) for d in deps]
    ready = [i for i, w in enumerate(waiting) if w == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(graph.node[i])
        for u in users[i]:
            waiting[u] -= 1
            if waiting[u] == 0:
                heapq.heappush(ready, u)
    if len(order) != len(graph.node):
        raise ValueError(f"model {name!r}: the ONNX graph has a cycle")
    return order


FOLDED_OPS = frozenset("""
Abs Acos Acosh Add And ArgMax ArgMin Asin Asinh Atan Atanh AveragePool BatchNormalization Bernoulli BitShift
BitwiseAnd BitwiseNot BitwiseOr BitwiseXor BlackmanWindow Cast CastLike Ceil Celu CenterCropPad Clip Compress
Concat ConcatFromSequence Constant ConstantOfShape Cos Cosh CumSum DepthToSpace DequantizeLinear Div Dropout
DynamicQuantizeLinear Elu Equal Erf Exp Expand EyeLike Flatten Floor Gather GatherElements GatherND Gelu
GlobalAveragePool GlobalLpPool GlobalMaxPool Greater GreaterOrEqual GridSample GroupNormalization HammingWindow
HannWindow HardSigmoid HardSwish Hardmax Identity InstanceNormalization IsInf IsNaN LRN LayerNormalization
LeakyRelu Less LessOrEqual Log LogSoftmax LpNormalization LpPool Max MaxPool MaxRoiPool MaxUnpool Mean
MeanVarianceNormalization Min Mish Mod Mul Multinomial Neg NonMaxSuppression NonZero Not OneHot Or PRelu Pad Pow
QuantizeLinear RandomNormal RandomNormalLike RandomUniform RandomUniformLike Range Reciprocal ReduceL1 ReduceL2
ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare Relu Reshape
Resize ReverseSequence RoiAlign Round ScatterElements ScatterND Selu Shape Shrink Sigmoid Sign Sin Sinh Size
Slice Softmax Softplus Softsign SpaceToDepth Split Sqrt Squeeze Sub Sum Tan Tanh ThresholdedRelu Tile TopK
Transpose Trilu Unique Unsqueeze Upsample Where Xor
""".split())
