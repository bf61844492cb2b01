"""Layers whose folded companions still own parameters.

Batch norm and bias adds are not layers of the table (the cost model folds
them into the conv or gemm they follow), but their gamma/beta and bias
vectors are real weights: these wrappers add them to ``extra_params`` so the
zoo's parameter totals can be checked against published counts.
"""

from __future__ import annotations

from objectives.workloads._layers import ModelBuilder


def conv_bn(b: ModelBuilder, name: str, **shape) -> int:
    """Bias-free convolution followed by batch norm (gamma and beta per channel)."""
    index = b.conv(name, **shape)
    b.extra_params += 2 * shape["k"]
    return index


def dwconv_bn(b: ModelBuilder, name: str, **shape) -> int:
    index = b.dwconv(name, **shape)
    b.extra_params += 2 * shape["channels"]
    return index


def conv_bias(b: ModelBuilder, name: str, **shape) -> int:
    index = b.conv(name, **shape)
    b.extra_params += shape["k"]
    return index


def upconv_bias(b: ModelBuilder, name: str, **shape) -> int:
    index = b.upconv(name, **shape)
    b.extra_params += shape["k"]
    return index


def gemm_bias(b: ModelBuilder, name: str, **shape) -> int:
    index = b.gemm(name, **shape)
    b.extra_params += shape["k"]
    return index


def residual_output(branch_end: int, block_input: tuple[int, ...]) -> tuple[int, ...]:
    """The layers a reader of ``branch_end + block_input`` depends on.

    The add is folded, so its consumers read both operands.  The block input
    is itself a folded add; its newest producer (``block_input[0]``) already
    comes after every older operand, so naming it keeps the edge set small
    without losing an ordering constraint.  An empty ``block_input`` is the
    network input, which needs no edge.
    """
    return (branch_end, *block_input[:1])
