"""ImageNet classifiers at 224x224: ResNet-50, MobileNetV1/V2, EfficientNet-B0, GoogLeNet.

Pooling, activations and residual adds are folded; a layer after a folded
add or concatenation lists every operand in ``after``.  Spatial sizes are
output sizes and follow the frameworks' "same" padding (``ceil(in/stride)``).
"""

from __future__ import annotations

from objectives.workloads._layers import Model, ModelBuilder
from objectives.workloads._registry import register_model
from objectives.workloads.zoo._folded import conv_bias, conv_bn, dwconv_bn, gemm_bias, residual_output

Sources = tuple[int, ...]


def _bottleneck(b: ModelBuilder, name: str, x: Sources, *, c: int, width: int, y: int, stride: int) -> Sources:
    """ResNet v1.5 bottleneck: the stride sits on the 3x3, as in torchvision."""
    out = 4 * width
    conv1 = conv_bn(b, f"{name}.conv1", k=width, c=c, y=y * stride, r=1, after=x)
    conv2 = conv_bn(b, f"{name}.conv2", k=width, c=width, y=y, r=3, stride=stride)
    conv3 = conv_bn(b, f"{name}.conv3", k=out, c=width, y=y, r=1)
    if stride != 1 or c != out:
        shortcut = conv_bn(b, f"{name}.downsample", k=out, c=c, y=y, r=1, stride=stride, after=x)
        return (conv3, shortcut)
    return residual_output(conv3, x)


@register_model("resnet50")
def resnet50() -> Model:
    """He et al. 2016, torchvision's v1.5 variant (the one MLPerf serves)."""
    b = ModelBuilder("resnet50")
    x: Sources = (conv_bn(b, "conv1", k=64, c=3, y=112, r=7, stride=2),)
    c, y = 64, 56  # after the folded 3x3/2 max pool
    for stage, (width, blocks, stride) in enumerate([(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)], start=1):
        for i in range(blocks):
            s = stride if i == 0 else 1
            y //= s
            x = _bottleneck(b, f"layer{stage}.{i}", x, c=c, width=width, y=y, stride=s)
            c = 4 * width
    gemm_bias(b, "fc", k=1000, c=2048, after=x)
    return b.build()


def mobilenet_v1_body(b: ModelBuilder, size: int) -> list[tuple[int, int, int]]:
    """Conv stem + 13 depthwise-separable pairs (width 1.0); shared with SSD-MobileNet.

    Returns ``(pointwise layer, channels, rows)`` per pair so detectors can tap features.
    """
    y = -(-size // 2)
    conv_bn(b, "conv0", k=32, c=3, y=y, r=3, stride=2)
    c = 32
    taps = []
    pairs = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    for i, (k, stride) in enumerate(pairs, start=1):
        y = -(-y // stride)
        dwconv_bn(b, f"conv{i}.dw", channels=c, y=y, r=3, stride=stride)
        pw = conv_bn(b, f"conv{i}.pw", k=k, c=c, y=y, r=1)
        taps.append((pw, k, y))
        c = k
    return taps


@register_model("mobilenet_v1")
def mobilenet_v1() -> Model:
    """Howard et al. 2017, 1.0 MobileNet-224."""
    b = ModelBuilder("mobilenet_v1")
    mobilenet_v1_body(b, 224)
    gemm_bias(b, "fc", k=1000, c=1024)
    return b.build()


def _inverted_residual(
    b: ModelBuilder, name: str, x: Sources, *, c: int, out: int, expand: int, y: int, stride: int, kernel: int = 3,
    se_channels: int = 0,
) -> Sources:
    """MobileNetV2 / EfficientNet MBConv; ``se_channels`` > 0 adds squeeze-excitation."""
    hidden = c * expand
    if expand != 1:
        conv_bn(b, f"{name}.expand", k=hidden, c=c, y=y * stride, r=1, after=x)
        dw_after = None
    else:
        dw_after = x
    dw = dwconv_bn(b, f"{name}.dw", channels=hidden, y=y, r=kernel, stride=stride, after=dw_after)
    project_after: Sources = (dw,)
    if se_channels:
        # The excitation scales the depthwise output, so the projection reads both.
        squeeze = gemm_bias(b, f"{name}.se.reduce", k=se_channels, c=hidden, after=dw)
        excite = gemm_bias(b, f"{name}.se.expand", k=hidden, c=se_channels, after=squeeze)
        project_after = (dw, excite)
    project = conv_bn(b, f"{name}.project", k=out, c=hidden, y=y, r=1, after=project_after)
    if stride == 1 and c == out:
        return residual_output(project, x)
    return (project,)


@register_model("mobilenet_v2")
def mobilenet_v2() -> Model:
    """Sandler et al. 2018, width 1.0 at 224 (torchvision layout)."""
    b = ModelBuilder("mobilenet_v2")
    x: Sources = (conv_bn(b, "conv0", k=32, c=3, y=112, r=3, stride=2),)
    c, y = 32, 112
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    for stage, (t, out, n, stride) in enumerate(settings, start=1):
        for i in range(n):
            s = stride if i == 0 else 1
            y //= s
            x = _inverted_residual(b, f"block{stage}.{i}", x, c=c, out=out, expand=t, y=y, stride=s)
            c = out
    conv_bn(b, "conv_last", k=1280, c=320, y=7, r=1, after=x)
    gemm_bias(b, "fc", k=1000, c=1280)
    return b.build()


@register_model("efficientnet_b0")
def efficientnet_b0() -> Model:
    """Tan & Le 2019 Table 1 (torchvision layout; SE squeezes to a quarter of the block input)."""
    b = ModelBuilder("efficientnet_b0")
    x: Sources = (conv_bn(b, "stem", k=32, c=3, y=112, r=3, stride=2),)
    c, y = 32, 112
    stages = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
              (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]  # (expand, kernel, stride, out, repeats)
    for stage, (t, kernel, stride, out, n) in enumerate(stages, start=1):
        for i in range(n):
            s = stride if i == 0 else 1
            y //= s
            x = _inverted_residual(
                b, f"stage{stage}.{i}", x, c=c, out=out, expand=t, y=y, stride=s, kernel=kernel,
                se_channels=max(1, c // 4),
            )
            c = out
    conv_bn(b, "head", k=1280, c=320, y=7, r=1, after=x)
    gemm_bias(b, "fc", k=1000, c=1280)
    return b.build()


# (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj) from Szegedy et al. 2015, Table 1.
_INCEPTION = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


def _inception(b: ModelBuilder, name: str, x: Sources, *, c: int, y: int) -> tuple[Sources, int]:
    n1, r3, n3, r5, n5, pool = _INCEPTION[name]
    one = conv_bias(b, f"{name}.1x1", k=n1, c=c, y=y, r=1, after=x)
    conv_bias(b, f"{name}.3x3_reduce", k=r3, c=c, y=y, r=1, after=x)
    three = conv_bias(b, f"{name}.3x3", k=n3, c=r3, y=y, r=3)
    conv_bias(b, f"{name}.5x5_reduce", k=r5, c=c, y=y, r=1, after=x)
    five = conv_bias(b, f"{name}.5x5", k=n5, c=r5, y=y, r=5)
    proj = conv_bias(b, f"{name}.pool_proj", k=pool, c=c, y=y, r=1, after=x)  # 3x3/1 max pool folded
    return (one, three, five, proj), n1 + n3 + n5 + pool


@register_model("googlenet")
def googlenet() -> Model:
    """Szegedy et al. 2015 as published (5x5 branches, biases, no batch norm, no auxiliary heads)."""
    b = ModelBuilder("googlenet")
    conv_bias(b, "conv1", k=64, c=3, y=112, r=7, stride=2)
    conv_bias(b, "conv2_reduce", k=64, c=64, y=56, r=1)
    x: Sources = (conv_bias(b, "conv2", k=192, c=64, y=56, r=3),)
    c = 192
    for name in _INCEPTION:
        y = {"3": 28, "4": 14, "5": 7}[name[0]]
        x, c = _inception(b, name, x, c=c, y=y)
    gemm_bias(b, "fc", k=1000, c=1024, after=x)
    return b.build()
