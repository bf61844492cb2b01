"""Layer tables: one DNN as a struct of arrays, and a builder that writes it.

A layer is a 7-D loop nest over ``N K C Y X R S`` (batch, output channels,
input channels *per group*, output rows, output columns, filter rows, filter
columns) plus ``stride``, ``groups`` and an op kind.  Every op is expressed in
that nest so the cost model needs one set of formulas:

=========  ====================================================================
op         meaning of the dims
=========  ====================================================================
conv       ordinary convolution; Y X are output rows/cols
dwconv     depthwise: ``groups == K``, ``C == 1`` (one input channel per group)
pwconv     1x1 convolution (R = S = 1)
gemm       fully connected / linear: K outputs, C inputs, Y tokens (X=R=S=1)
upconv     transposed convolution; Y X are *output* rows/cols, MACs are
           ``N K C Y X R S / stride**2`` because each input pixel scatters
matmul     activation x activation (attention): out[N, Y, K] = A[N, Y, C] @
           B[N, C, K]; N counts heads, the "weight" operand B is an
           activation produced by an earlier layer, so it has no parameters
lstm       the four gate GEMMs of one LSTM layer over a sequence: K = 4 H,
           C = input + H, Y = time steps
=========  ====================================================================
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Sequence

import numpy as np

from spaces.hardware import LOOP_DIMS as DIMS

N_DIM, K_DIM, C_DIM, Y_DIM, X_DIM, R_DIM, S_DIM = range(7)

MAX_LAYER_SIZE = 1 << 50
"""Bound on a layer's dims product x groups x stride**2, which bounds its MACs and
every operand's element count (an input tile spans at most stride x Y x R rows).
1.1e15 is a hundred times the largest GEMM of a 70B-parameter LLM at 32k
tokens; the bound keeps each count exact in float64 and a model's sum in int64."""
MAX_MODEL_MACS = 1 << 58
"""Bound on a model's total MACs, so sums over batches and models stay in int64."""


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


def operand_elements(op: np.ndarray, dims: np.ndarray, stride: np.ndarray, groups: np.ndarray):
    """Element counts of (input, weight, output) per layer, each ``(L,)`` int64.

    For ``matmul`` the weight is the second activation operand B.
    """
    n, k, c, y, x, r, s = (dims[..., i].astype(np.int64) for i in range(7))
    stride = stride.astype(np.int64)
    windowed = (op == Op.CONV) | (op == Op.DWCONV) | (op == Op.PWCONV)
    in_rows = np.where(windowed, (y - 1) * stride + r, np.where(op == Op.UPCONV, -(-y // stride), y))
    in_cols = np.where(windowed, (x - 1) * stride + s, np.where(op == Op.UPCONV, -(-x // stride), x))
    inputs = n * c * groups.astype(np.int64) * in_rows * in_cols
    weights = np.where(op == Op.MATMUL, n * k * c, k * c * r * s)
    # An LSTM layer computes 4 gate pre-activations per step but emits only h.
    outputs = np.where(op == Op.LSTM, n * (k // 4) * y * x, n * k * y * x)
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
    dims: np.ndarray  # (L, 7) int64 in DIMS order
    stride: np.ndarray  # (L,) int64
    groups: np.ndarray  # (L,) int64
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
        _, weights, _ = operand_elements(self.op, self.dims, self.stride, self.groups)
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
        return self.op, self.dims, self.stride, self.groups

    __hash__ = None


def layer_size_problem(dims, stride, groups) -> str | None:
    """Why one layer is too large to count in int64/float64 (see ``MAX_LAYER_SIZE``), or None.

    Computed on Python ints, so it holds whatever the dims: int64 would wrap.
    """
    size = math.prod(int(d) for d in dims) * int(groups) * int(stride) ** 2
    if size <= MAX_LAYER_SIZE:
        return None
    named = ", ".join(f"{d}={int(v)}" for d, v in zip(DIMS, dims))
    return (f"dimensions {named} (groups={int(groups)}, stride={int(stride)}) are too large: their product x groups "
            f"x stride**2 is {size:.3g} (allowed: at most {MAX_LAYER_SIZE:.3g}, about 1e15 MACs per layer)")


def validate_layers(model_name, layer_names, op, dims, stride, groups, preds) -> None:
    """Raise ``ValueError`` naming the model and layer for a malformed table."""
    total = 0
    for i, name in enumerate(layer_names):
        where = f"model {model_name!r}, layer {name!r}"
        bad = [d for d, v in zip(DIMS, dims[i]) if v <= 0]
        if bad:
            raise ValueError(f"{where}: dimension(s) {', '.join(bad)} must be positive, got {dims[i].tolist()}")
        if stride[i] <= 0:
            raise ValueError(f"{where}: stride must be positive, got {stride[i]}")
        if groups[i] <= 0 or dims[i, K_DIM] % groups[i]:
            raise ValueError(f"{where}: groups={groups[i]} must divide the output channels K={dims[i, K_DIM]}")
        if op[i] == Op.DWCONV and dims[i, C_DIM] != 1:
            raise ValueError(f"{where}: a depthwise layer has C=1 input channel per group, got C={dims[i, C_DIM]}")
        too_large = layer_size_problem(dims[i], stride[i], groups[i])
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


def make_model(name, layer_names, op, dims, stride, groups, preds, extra_params=0) -> Model:
    """Validate a layer table and store it in topological order."""
    layer_names = tuple(layer_names)
    op = np.asarray(op, dtype=np.int8)
    try:
        dims = np.asarray(dims, dtype=np.int64).reshape(len(layer_names), 7)
        stride = np.asarray(stride, dtype=np.int64)
        groups = np.asarray(groups, dtype=np.int64)
    except OverflowError:  # a count beyond int64: name the layer (on Python ints)
        for layer, d, s, g in zip(layer_names, dims, stride, groups):
            too_large = layer_size_problem(d, s, g)
            if too_large:
                raise ValueError(f"model {name!r}, layer {layer!r}: {too_large}") from None
        raise ValueError(f"model {name!r}: a dimension, stride or group count exceeds 64 bits") from None
    preds = [tuple(int(p) for p in ps) for ps in preds]
    if not layer_names:
        raise ValueError(f"model {name!r}: has no layers")
    if len(set(layer_names)) != len(layer_names):
        dup = next(n for n in layer_names if layer_names.count(n) > 1)
        raise ValueError(f"model {name!r}, layer {dup!r}: duplicate layer name")
    validate_layers(name, layer_names, op, dims, stride, groups, preds)
    order = topological_order(name, layer_names, preds)
    position = {old: new for new, old in enumerate(order)}
    return Model(
        name=name,
        layer_names=tuple(layer_names[i] for i in order),
        op=op[order],
        dims=dims[order],
        stride=stride[order],
        groups=groups[order],
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

    def _add(self, name, op, n, k, c, y, x, r, s, stride, groups, after) -> int:
        x = y if x is None else x
        s = r if s is None else s
        if after is None:
            after = () if not self._rows else (self.last,)
        elif isinstance(after, (int, np.integer)):
            after = (int(after),)
        self._names.append(name)
        self._rows.append((op, (n, k, c, y, x, r, s), stride, groups))
        self._preds.append(tuple(after))
        return self.last

    def conv(self, name, *, k, c, y, x=None, r, s=None, stride=1, groups=1, n=1, after=None) -> int:
        """``c`` is the total number of input channels; it is divided by ``groups``."""
        op = Op.PWCONV if (r == 1 and (s is None or s == 1) and groups == 1) else Op.CONV
        if groups > 1 and groups == k and groups == c:
            op = Op.DWCONV
        if c % groups:
            raise ValueError(f"model {self.name!r}, layer {name!r}: groups={groups} must divide input channels {c}")
        return self._add(name, op, n, k, c // groups, y, x, r, s, stride, groups, after)

    def dwconv(self, name, *, channels, y, x=None, r, s=None, stride=1, n=1, after=None) -> int:
        return self._add(name, Op.DWCONV, n, channels, 1, y, x, r, s, stride, channels, after)

    def upconv(self, name, *, k, c, y, x=None, r, s=None, stride=2, n=1, after=None) -> int:
        return self._add(name, Op.UPCONV, n, k, c, y, x, r, s, stride, 1, after)

    def gemm(self, name, *, k, c, y=1, n=1, after=None) -> int:
        return self._add(name, Op.GEMM, n, k, c, y, 1, 1, 1, 1, 1, after)

    def matmul(self, name, *, k, c, y, n=1, after=None) -> int:
        return self._add(name, Op.MATMUL, n, k, c, y, 1, 1, 1, 1, 1, after)

    def lstm(self, name, *, hidden, inputs, steps, n=1, after=None) -> int:
        return self._add(name, Op.LSTM, n, 4 * hidden, inputs + hidden, steps, 1, 1, 1, 1, 1, after)

    def build(self) -> Model:
        ops, dims, strides, groups = zip(*self._rows) if self._rows else ((), (), (), ())
        return make_model(self.name, self._names, ops, dims, strides, groups, self._preds, self.extra_params)
