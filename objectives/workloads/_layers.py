"""Layer tables: one DNN as a struct of arrays, and a builder that writes it.

A layer is an 8-D loop nest over ``N G K C Y X R S`` (batch, groups, output
channels *per group*, input channels *per group*, output rows, output
columns, filter rows, filter columns) plus ``stride`` and ``dilation`` (one
each for rows and columns) and an op kind.  Every op is expressed in that
nest so the cost model needs one set of formulas:

=========  ====================================================================
op         meaning of the dims
=========  ====================================================================
conv       ordinary convolution (G = 1) or grouped convolution (G groups of
           K outputs reading C inputs each); Y X are output rows/cols
dwconv     depthwise: G = channels, K = C = 1, as ONNX, Timeloop and ZigZag
           write it (one input and one output channel per group)
pwconv     1x1 convolution (R = S = 1, G = 1)
gemm       fully connected / linear: K outputs, C inputs, Y tokens (X=R=S=1)
upconv     transposed convolution; Y X are *output* rows/cols, MACs are
           ``N G K C Y X R S / stride**2`` because each input pixel scatters
matmul     activation x activation (attention): out[N, Y, K] = A[N, Y, C] @
           B[N, C, K]; N counts heads, the "weight" operand B is an
           activation produced by an earlier layer, so it has no parameters
lstm       the four gate GEMMs of one LSTM layer over a sequence: K = 4 H,
           C = input + H, Y = time steps
=========  ====================================================================

MACs are the product of the eight dims, so a grouped layer counts
``G·K·C`` channel pairs -- the same total a ``groups`` attribute on total
channel counts gives (ONNX ``group``).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Sequence

import numpy as np

from spaces.hardware import LOOP_DIMS as DIMS

N_DIM, G_DIM, K_DIM, C_DIM, Y_DIM, X_DIM, R_DIM, S_DIM = range(8)
NUM_DIMS = len(DIMS)

MAX_LAYER_SIZE = 1 << 50
"""Bound on a layer's dims product, which is its MACs and bounds every operand's
element count (an input spans at most Y·R rows and X·S columns).  1.1e15 is a
hundred times the largest GEMM of a 70B-parameter LLM at 32k tokens; the bound
keeps each count exact in float64 and a model's sum in int64."""
MAX_MODEL_MACS = 1 << 58
"""Bound on a model's total MACs, so sums over batches and models stay in int64."""
MAX_STEP = 1 << 20
"""Bound on stride and dilation, so input-extent arithmetic stays in int64."""


class Op(enum.IntEnum):
    CONV = 0
    DWCONV = 1
    PWCONV = 2
    GEMM = 3
    UPCONV = 4
    MATMUL = 5
    LSTM = 6


OP_NAMES = {op.name.lower(): op for op in Op}
OP_NAMES["fc"] = Op.GEMM


def parse_op(name: str) -> Op:
    try:
        return OP_NAMES[name.lower()]
    except KeyError:
        raise ValueError(f"unknown op {name!r} (allowed: {', '.join(sorted(OP_NAMES))})") from None


def layer_macs(op: np.ndarray, dims: np.ndarray, stride: np.ndarray) -> np.ndarray:
    """Multiply-accumulates per layer, ``(L,)`` int64."""
    macs = np.prod(dims, axis=-1, dtype=np.int64)
    scatter = op == Op.UPCONV
    return np.where(scatter, macs // (stride.astype(np.int64) ** 2), macs)


def touched_extent(out: np.ndarray, taps: np.ndarray, stride: np.ndarray, dilation: np.ndarray) -> np.ndarray:
    """Input rows (or columns) a windowed layer reads: ``|{o·stride + t·dilation}|``
    over ``o < out`` output rows and ``t < taps`` filter taps.

    The span ``(out-1)·stride + (taps-1)·dilation + 1`` counts rows the
    windows skip when they do not touch (a 1x1 stride-2 conv reads every
    other row: ``out`` rows, not ``2·out - 1``); ``out·taps`` counts rows
    that neighbouring windows share.  The smaller of the two is exact when,
    after dividing both by their common factor, stride or dilation is 1 (every
    published network), and an upper bound otherwise.  A common factor g of
    stride and dilation spaces every touched row g apart without changing
    their number, so it divides out first.
    """
    out, taps = out.astype(np.int64), taps.astype(np.int64)
    g = np.gcd(stride.astype(np.int64), dilation.astype(np.int64))
    span = (out - 1) * (stride // g) + (taps - 1) * (dilation // g) + 1
    return np.minimum(span, out * taps)


def operand_elements(op: np.ndarray, dims: np.ndarray, stride: np.ndarray, dilation: np.ndarray):
    """Element counts of (input, weight, output) per layer, each ``(L,)`` int64.

    The input counts the pixels the windows actually touch
    (:func:`touched_extent`).  For ``matmul`` the weight is the second
    activation operand B.
    """
    n, g, k, c, y, x, r, s = (dims[..., i].astype(np.int64) for i in range(NUM_DIMS))
    windowed = (op == Op.CONV) | (op == Op.DWCONV) | (op == Op.PWCONV)
    upconv_rows, upconv_cols = -(-y // stride), -(-x // stride)
    in_rows = np.where(windowed, touched_extent(y, r, stride, dilation), np.where(op == Op.UPCONV, upconv_rows, y))
    in_cols = np.where(windowed, touched_extent(x, s, stride, dilation), np.where(op == Op.UPCONV, upconv_cols, x))
    inputs = n * g * c * in_rows * in_cols
    weights = np.where(op == Op.MATMUL, n * g * k * c, g * k * c * r * s)
    # An LSTM layer computes 4 gate pre-activations per step but emits only h.
    outputs = np.where(op == Op.LSTM, n * g * (k // 4) * y * x, n * g * k * y * x)
    return inputs, weights, outputs


@dataclasses.dataclass(frozen=True, eq=False)
class Model:
    """One DNN as a layer table; arrays are ``(L,)`` unless noted.

    ``preds`` holds, per layer, the indices of the layers it reads from (an
    empty tuple for layers fed by the network input).  Layers are stored in
    a topological order.
    """

    name: str
    layer_names: tuple[str, ...]
    op: np.ndarray  # (L,) int8 Op codes
    dims: np.ndarray  # (L, 8) int64 in DIMS order
    stride: np.ndarray  # (L,) int64
    dilation: np.ndarray  # (L,) int64
    preds: tuple[tuple[int, ...], ...]
    extra_params: int = 0
    """Parameters the layer table does not hold (biases, norms, embeddings)."""

    @property
    def num_layers(self) -> int:
        return len(self.layer_names)

    @property
    def macs(self) -> np.ndarray:
        return layer_macs(self.op, self.dims, self.stride)

    @property
    def params(self) -> int:
        _, weights, _ = operand_elements(self.op, self.dims, self.stride, self.dilation)
        return int(weights[self.op != Op.MATMUL].sum()) + self.extra_params

    def __eq__(self, other):
        if not isinstance(other, Model):
            return NotImplemented
        return (
            self.name == other.name
            and self.layer_names == other.layer_names
            and self.preds == other.preds
            and all(np.array_equal(a, b) for a, b in zip(self._arrays(), other._arrays()))
        )

    def _arrays(self):
        return self.op, self.dims, self.stride, self.dilation

    __hash__ = None


def layer_size_problem(dims, stride, dilation) -> str | None:
    """Why one layer is too large to count in int64/float64 (see ``MAX_LAYER_SIZE``), or None.

    Computed on Python ints, so it holds whatever the dims: int64 would wrap.
    """
    size = math.prod(int(d) for d in dims)
    if size > MAX_LAYER_SIZE:
        named = ", ".join(f"{d}={int(v)}" for d, v in zip(DIMS, dims))
        return (f"dimensions {named} are too large: they multiply to {size:.3g} MACs "
                f"(allowed: at most {MAX_LAYER_SIZE:.3g} per layer)")
    if int(stride) > MAX_STEP or int(dilation) > MAX_STEP:
        return f"stride {int(stride)} or dilation {int(dilation)} is too large (allowed: at most {MAX_STEP})"
    return None


def validate_layers(model_name, layer_names, op, dims, stride, dilation, preds) -> None:
    """Raise ``ValueError`` naming the model and layer for a malformed table."""
    total = 0
    for i, name in enumerate(layer_names):
        where = f"model {model_name!r}, layer {name!r}"
        bad = [d for d, v in zip(DIMS, dims[i]) if v <= 0]
        if bad:
            raise ValueError(f"{where}: dimension(s) {', '.join(bad)} must be positive, got {dims[i].tolist()}")
        if stride[i] <= 0:
            raise ValueError(f"{where}: stride must be positive, got {stride[i]}")
        if dilation[i] <= 0:
            raise ValueError(f"{where}: dilation must be positive, got {dilation[i]}")
        if op[i] == Op.DWCONV and (dims[i, K_DIM] != 1 or dims[i, C_DIM] != 1):
            raise ValueError(
                f"{where}: a depthwise layer has K=C=1 channel per group (G = channels), "
                f"got K={dims[i, K_DIM]}, C={dims[i, C_DIM]}"
            )
        too_large = layer_size_problem(dims[i], stride[i], dilation[i])
        if too_large:
            raise ValueError(f"{where}: {too_large}")
        total += math.prod(int(d) for d in dims[i])
        if total > MAX_MODEL_MACS:
            raise ValueError(f"{where}: the model's layers so far multiply-accumulate {total:.3g} times "
                             f"(allowed: at most {MAX_MODEL_MACS:.3g} per model)")
        for p in preds[i]:
            if not 0 <= p < len(layer_names):
                raise ValueError(f"{where}: depends on missing layer index {p}")


def topological_order(model_name: str, layer_names: Sequence[str], preds: Sequence[Sequence[int]]) -> list[int]:
    """Kahn's algorithm, stable in table order; a cycle is a ``ValueError``."""
    indegree = [len(set(p)) for p in preds]
    users: list[list[int]] = [[] for _ in preds]
    for i, ps in enumerate(preds):
        for p in set(ps):
            users[p].append(i)
    ready = [i for i, d in enumerate(indegree) if d == 0]
    order: list[int] = []
    while ready:
        ready.sort()
        i = ready.pop(0)
        order.append(i)
        for u in users[i]:
            indegree[u] -= 1
            if indegree[u] == 0:
                ready.append(u)
    if len(order) != len(preds):
        stuck = next(layer_names[i] for i, d in enumerate(indegree) if d > 0)
        raise ValueError(f"model {model_name!r}, layer {stuck!r}: dependency cycle")
    return order


def make_model(name, layer_names, op, dims, stride, preds, extra_params=0, *, dilation=None) -> Model:
    """Validate a layer table (``dims`` ``(L, 8)`` in DIMS order) and store it
    in topological order; ``dilation`` defaults to 1 everywhere."""
    layer_names = tuple(layer_names)
    op = np.asarray(op, dtype=np.int8)
    try:
        dims = np.asarray(dims, dtype=np.int64).reshape(len(layer_names), NUM_DIMS)
        stride = np.asarray(stride, dtype=np.int64)
        dilation = np.ones_like(stride) if dilation is None else np.asarray(dilation, dtype=np.int64)
    except OverflowError:  # a count beyond int64: name the layer (on Python ints)
        for layer, d, s, t in zip(layer_names, dims, stride, dilation if dilation is not None else stride):
            too_large = layer_size_problem(d, s, 1 if dilation is None else t)
            if too_large:
                raise ValueError(f"model {name!r}, layer {layer!r}: {too_large}") from None
        raise ValueError(f"model {name!r}: a dimension, stride or dilation exceeds 64 bits") from None
    preds = [tuple(int(p) for p in ps) for ps in preds]
    if not layer_names:
        raise ValueError(f"model {name!r}: has no layers")
    if len(set(layer_names)) != len(layer_names):
        dup = next(n for n in layer_names if layer_names.count(n) > 1)
        raise ValueError(f"model {name!r}, layer {dup!r}: duplicate layer name")
    validate_layers(name, layer_names, op, dims, stride, dilation, preds)
    order = topological_order(name, layer_names, preds)
    position = {old: new for new, old in enumerate(order)}
    return Model(
        name=name,
        layer_names=tuple(layer_names[i] for i in order),
        op=op[order],
        dims=dims[order],
        stride=stride[order],
        dilation=dilation[order],
        preds=tuple(tuple(sorted(position[p] for p in set(preds[i]))) for i in order),
        extra_params=int(extra_params),
    )


class ModelBuilder:
    """Writes a layer table one layer at a time.

    Each method returns the new layer's index. ``after`` names the layers it
    reads from: by default the previous layer (a chain), ``()`` for a layer
    fed by the network input, or any indices for skips and concatenations.
    """

    def __init__(self, name: str):
        self.name = name
        self._rows: list[tuple] = []
        self._names: list[str] = []
        self._preds: list[tuple[int, ...]] = []
        self.extra_params = 0

    @property
    def last(self) -> int:
        return len(self._rows) - 1

    def _add(self, name, op, n, g, k, c, y, x, r, s, stride, dilation, after) -> int:
        x = y if x is None else x
        s = r if s is None else s
        if after is None:
            after = () if not self._rows else (self.last,)
        elif isinstance(after, (int, np.integer)):
            after = (int(after),)
        self._names.append(name)
        self._rows.append((op, (n, g, k, c, y, x, r, s), stride, dilation))
        self._preds.append(tuple(after))
        return self.last

    def conv(self, name, *, k, c, y, x=None, r, s=None, stride=1, dilation=1, groups=1, n=1, after=None) -> int:
        """``k`` and ``c`` are total channel counts (as a framework writes
        them); ``groups`` splits both into G groups of ``k/G`` and ``c/G``."""
        if k % groups or c % groups:
            raise ValueError(
                f"model {self.name!r}, layer {name!r}: groups={groups} must divide output channels {k} "
                f"and input channels {c}"
            )
        if groups > 1 and groups == k == c:
            return self.dwconv(name, channels=k, y=y, x=x, r=r, s=s, stride=stride, dilation=dilation, n=n, after=after)
        op = Op.PWCONV if (r == 1 and (s is None or s == 1) and groups == 1) else Op.CONV
        return self._add(name, op, n, groups, k // groups, c // groups, y, x, r, s, stride, dilation, after)

    def dwconv(self, name, *, channels, y, x=None, r, s=None, stride=1, dilation=1, n=1, after=None) -> int:
        return self._add(name, Op.DWCONV, n, channels, 1, 1, y, x, r, s, stride, dilation, after)

    def upconv(self, name, *, k, c, y, x=None, r, s=None, stride=2, n=1, after=None) -> int:
        return self._add(name, Op.UPCONV, n, 1, k, c, y, x, r, s, stride, 1, after)

    def gemm(self, name, *, k, c, y=1, n=1, after=None) -> int:
        return self._add(name, Op.GEMM, n, 1, k, c, y, 1, 1, 1, 1, 1, after)

    def matmul(self, name, *, k, c, y, n=1, after=None) -> int:
        return self._add(name, Op.MATMUL, n, 1, k, c, y, 1, 1, 1, 1, 1, after)

    def lstm(self, name, *, hidden, inputs, steps, n=1, after=None) -> int:
        return self._add(name, Op.LSTM, n, 1, 4 * hidden, inputs + hidden, steps, 1, 1, 1, 1, 1, after)

    def build(self) -> Model:
        ops, dims, strides, dilations = zip(*self._rows) if self._rows else ((), (), (), ())
        return make_model(
            self.name, self._names, ops, dims, strides, self._preds, self.extra_params, dilation=dilations
        )
