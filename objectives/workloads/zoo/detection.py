"""Detectors: Tiny-YOLO (YOLOv2-tiny, COCO), YOLOv3-416, MLPerf SSD-ResNet34-1200, SSD-MobileNetV1-300.

Upsampling, pooling and residual adds are folded; YOLOv3 route
(concatenation) layers and SSD prediction heads become DAG edges.
"""

from __future__ import annotations

from objectives.workloads._layers import Model, ModelBuilder
from objectives.workloads._registry import register_model
from objectives.workloads.zoo._folded import conv_bias, conv_bn, residual_output
from objectives.workloads.zoo.cnn import mobilenet_v1_body

Sources = tuple[int, ...]


@register_model("tiny_yolo")
def tiny_yolo() -> Model:
    """YOLOv2-tiny, COCO (80 classes, 5 anchors) at 416x416: darknet's yolov2-tiny.cfg."""
    b = ModelBuilder("tiny_yolo")
    c, y = 3, 416
    for i, k in enumerate([16, 32, 64, 128, 256, 512]):
        conv_bn(b, f"conv{i}", k=k, c=c, y=y, r=3)
        c = k
        y = y // 2 if i < 5 else y  # the sixth max pool has stride 1
    conv_bn(b, "conv6", k=1024, c=512, y=13, r=3)
    conv_bn(b, "conv7", k=512, c=1024, y=13, r=3)
    conv_bias(b, "detect", k=5 * (5 + 80), c=512, y=13, r=1)
    return b.build()


def _darknet_residuals(b: ModelBuilder, name: str, x: Sources, *, c: int, y: int, blocks: int) -> Sources:
    for i in range(blocks):
        conv_bn(b, f"{name}.{i}.conv1", k=c // 2, c=c, y=y, r=1, after=x)
        out = conv_bn(b, f"{name}.{i}.conv2", k=c, c=c // 2, y=y, r=3)
        x = residual_output(out, x)
    return x


def _yolo_head(b: ModelBuilder, name: str, x: Sources, *, c: int, width: int, y: int) -> tuple[int, int]:
    """Five alternating 1x1/3x3 convs, then the 3x3 + 1x1 detector; returns (route tap, detector)."""
    for i in range(5):
        if i % 2 == 0:
            tap = conv_bn(b, f"{name}.conv{i}", k=width, c=c, y=y, r=1, after=x)
            c = width
        else:
            conv_bn(b, f"{name}.conv{i}", k=2 * width, c=width, y=y, r=3)
            c = 2 * width
        x = None
    conv_bn(b, f"{name}.conv5", k=2 * width, c=width, y=y, r=3, after=tap)
    detect = conv_bias(b, f"{name}.detect", k=3 * (5 + 80), c=2 * width, y=y, r=1)
    return tap, detect


@register_model("yolov3")
def yolov3() -> Model:
    """Redmon & Farhadi 2018, COCO at 416x416: Darknet-53 + three detection scales (yolov3.cfg)."""
    b = ModelBuilder("yolov3")
    x: Sources = (conv_bn(b, "conv0", k=32, c=3, y=416, r=3),)
    c, y = 32, 416
    taps = {}
    for stage, blocks in enumerate([1, 2, 8, 8, 4], start=1):
        y //= 2
        x = (conv_bn(b, f"down{stage}", k=2 * c, c=c, y=y, r=3, stride=2, after=x),)
        c *= 2
        x = _darknet_residuals(b, f"stage{stage}", x, c=c, y=y, blocks=blocks)
        taps[y] = x
    tap, _ = _yolo_head(b, "head13", x, c=1024, width=512, y=13)
    # route -> 1x1 -> folded nearest upsample -> concat with the Darknet stage of the same size
    lateral = conv_bn(b, "lateral26", k=256, c=512, y=13, r=1, after=tap)
    tap, _ = _yolo_head(b, "head26", (lateral, *taps[26]), c=256 + 512, width=256, y=26)
    lateral = conv_bn(b, "lateral52", k=128, c=256, y=26, r=1, after=tap)
    _yolo_head(b, "head52", (lateral, *taps[52]), c=128 + 256, width=128, y=52)
    return b.build()


def _basic_block(b: ModelBuilder, name: str, x: Sources, *, c: int, width: int, y: int, stride: int) -> Sources:
    conv_bn(b, f"{name}.conv1", k=width, c=c, y=y, r=3, stride=stride, after=x)
    conv2 = conv_bn(b, f"{name}.conv2", k=width, c=width, y=y, r=3)
    if stride != 1 or c != width:
        return (conv2, conv_bn(b, f"{name}.downsample", k=width, c=c, y=y, r=1, stride=stride, after=x))
    return residual_output(conv2, x)


def _ssd_heads(b: ModelBuilder, features, *, classes: int, kernel: int, stride: int = 1) -> None:
    """One box-regression and one class-score conv per feature map."""
    for i, (source, c, y, anchors) in enumerate(features):
        out = -(-y // stride)
        conv_bias(b, f"loc{i}", k=4 * anchors, c=c, y=out, r=kernel, stride=stride, after=source)
        conv_bias(b, f"conf{i}", k=classes * anchors, c=c, y=out, r=kernel, stride=stride, after=source)


@register_model("ssd_resnet34")
def ssd_resnet34() -> Model:
    """MLPerf Inference SSD-ResNet34 at 1200x1200 (mlcommons/inference v0.5 ssd_r34.py).

    ResNet-34 through layer3 with layer3's stride removed (150x150 features),
    five extra 1x1/3x3 blocks, and 3x3 heads with stride 3 on every map.
    """
    b = ModelBuilder("ssd_resnet34")
    x: Sources = (conv_bn(b, "conv1", k=64, c=3, y=600, r=7, stride=2),)
    c, y = 64, 300  # after the folded max pool
    for stage, (width, blocks, stride) in enumerate([(64, 3, 1), (128, 4, 2), (256, 6, 1)], start=1):
        for i in range(blocks):
            s = stride if i == 0 else 1
            y //= s
            x = _basic_block(b, f"layer{stage}.{i}", x, c=c, width=width, y=y, stride=s)
            c = width
    features = [(x, 256, 150, 4)]
    # (1x1 width, 3x3 out, 3x3 stride, output rows); the last two 3x3s are unpadded.
    extras = [(256, 512, 2, 75), (256, 512, 2, 38), (128, 256, 2, 19), (128, 256, 2, 9), (128, 256, 1, 7)]
    for i, (mid, out, stride, rows) in enumerate(extras):
        conv_bias(b, f"extra{i}.conv1", k=mid, c=c, y=features[-1][2], r=1, after=features[-1][0])
        conv = conv_bias(b, f"extra{i}.conv2", k=out, c=mid, y=rows, r=3, stride=stride)
        features.append(((conv,), out, rows, 6 if i < 3 else 4))
        c = out
    _ssd_heads(b, features, classes=81, kernel=3, stride=3)
    return b.build()


@register_model("ssd_mobilenet_v1")
def ssd_mobilenet_v1() -> Model:
    """SSD-MobileNetV1 at 300x300, COCO (TF Object Detection API ssd_mobilenet_v1_coco, as in MLPerf).

    Taps the 19x19 pointwise conv 11 and the 10x10 conv 13, adds four
    1x1/3x3-stride-2 extra blocks, and predicts with 1x1 convs (3 anchors on
    the first map, 6 elsewhere; 90 classes + background).
    """
    b = ModelBuilder("ssd_mobilenet_v1")
    taps = mobilenet_v1_body(b, 300)
    features = [((pw,), c, y, 3 if i == 0 else 6) for i, (pw, c, y) in enumerate([taps[10], taps[12]])]
    c = 1024
    for i, (mid, out, rows) in enumerate([(256, 512, 5), (128, 256, 3), (128, 256, 2), (64, 128, 1)]):
        conv_bn(b, f"extra{i}.conv1", k=mid, c=c, y=features[-1][2], r=1, after=features[-1][0])
        conv = conv_bn(b, f"extra{i}.conv2", k=out, c=mid, y=rows, r=3, stride=2)
        features.append(((conv,), out, rows, 6))
        c = out
    _ssd_heads(b, features, classes=91, kernel=1)
    return b.build()
