"""Herald's AR/VR models (Herald Table I): UNet, Br-Q HandposeNet, Focal-length DepthNet.

UNet follows Ronneberger et al. 2015 exactly.  HandposeNet (Madadi et al.
2017) and Focal-length DepthNet (He et al. 2018) do not publish layer
tables we could find; both are documented approximations built from what
their papers and Herald's Table I state, and docs/workloads.md says so.
"""

from __future__ import annotations

from objectives.workloads._layers import Model, ModelBuilder
from objectives.workloads._registry import register_model
from objectives.workloads.zoo._folded import conv_bias, gemm_bias, upconv_bias


@register_model("unet")
def unet() -> Model:
    """U-Net (Ronneberger et al. 2015, Fig. 1): 572x572x1 in, unpadded 3x3 convs, 388x388x2 out.

    The shapes equal MAESTRO's UNet_model.m that Herald's mixes use.  Crops
    and max pools are folded; each decoder stage's first conv reads the
    up-convolution and the skip (concatenation) from the encoder.
    """
    b = ModelBuilder("unet")
    c, y = 1, 572
    skips = []
    for level, k in enumerate([64, 128, 256, 512, 1024], start=1):
        conv_bias(b, f"down{level}.conv1", k=k, c=c, y=y - 2, r=3)
        skip = conv_bias(b, f"down{level}.conv2", k=k, c=k, y=y - 4, r=3)
        skips.append((skip, y - 4))
        c, y = k, (y - 4) // 2
    y = skips.pop()[1]
    for level, k in enumerate([512, 256, 128, 64], start=1):
        y *= 2
        up = upconv_bias(b, f"up{level}.upconv", k=k, c=c, y=y, r=2, stride=2)
        skip, _ = skips.pop()
        conv_bias(b, f"up{level}.conv1", k=k, c=2 * k, y=y - 2, r=3, after=(up, skip))
        conv_bias(b, f"up{level}.conv2", k=k, c=k, y=y - 4, r=3)
        c, y = k, y - 4
    conv_bias(b, "classifier", k=2, c=64, y=y, r=1)
    return b.build()


# Five fingers and the palm; the palm branch regresses the hand viewpoint as
# a quaternion ("Q" in Br-Q), each finger its four joints in 3-D.
_HAND_BRANCHES = {"thumb": 12, "index": 12, "middle": 12, "ring": 12, "pinky": 12, "palm": 4}


@register_model("handposenet")
def handposenet() -> Model:
    """APPROXIMATION of Br-Q HandposeNet (Madadi et al. 2017, arXiv:1705.09606).

    What the paper fixes: a tree-shaped CNN on a depth crop whose shared
    trunk splits into one branch per finger plus a palm/viewpoint branch,
    each ending in fully connected layers, and a fusion network of fully
    connected layers over the concatenated branch features.  What we chose:
    a 64x64 depth input (Herald Table I's smallest channel/width ratio,
    0.016 = 1/64), a two-conv trunk, two convs + two 1024-wide FCs per
    branch, and a two-FC fusion network regressing 21 joints.
    """
    b = ModelBuilder("handposenet")
    conv_bias(b, "trunk.conv1", k=32, c=1, y=64, r=5)
    trunk = conv_bias(b, "trunk.conv2", k=64, c=32, y=32, r=3)  # after a folded 2x2 pool
    features = []
    for branch, outputs in _HAND_BRANCHES.items():
        conv_bias(b, f"{branch}.conv1", k=64, c=64, y=16, r=3, after=trunk)
        conv_bias(b, f"{branch}.conv2", k=128, c=64, y=8, r=3)
        gemm_bias(b, f"{branch}.fc1", k=1024, c=128 * 4 * 4)
        features.append(gemm_bias(b, f"{branch}.fc2", k=1024, c=1024))
        gemm_bias(b, f"{branch}.pose", k=outputs, c=1024)
    gemm_bias(b, "fusion.fc1", k=1024, c=1024 * len(features), after=tuple(features))
    gemm_bias(b, "fusion.fc2", k=1024, c=1024)
    gemm_bias(b, "fusion.pose", k=3 * 21, c=1024)
    return b.build()


_VGG16 = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]


@register_model("focal_depthnet")
def focal_depthnet() -> Model:
    """APPROXIMATION of Focal-length DepthNet (He et al. 2018, IEEE TIP 27(9)).

    What the paper and Herald fix: a VGG-16 encoder, fully connected layers
    (Herald names a 4096x4096 FC, "FC layer 2"), the focal length embedded
    as an extra input to the FC stack, and up-convolutions that restore the
    resolution while fusing middle-level encoder features.  What we chose:
    224x224 RGB input, fc8 producing a 64x7x7 map, four 4x4/2 up-convolutions
    each followed by a 3x3 conv over the concatenated encoder features, and
    a half-resolution (112x112) depth map.
    """
    b = ModelBuilder("focal_depthnet")
    c, y = 3, 224
    stage_ends = []
    for stage, (k, convs) in enumerate(_VGG16, start=1):
        for i in range(1, convs + 1):
            conv_bias(b, f"conv{stage}_{i}", k=k, c=c, y=y, r=3)
            c = k
        stage_ends.append((b.last, k))
        y //= 2  # folded 2x2 max pool
    gemm_bias(b, "fc6", k=4096, c=512 * 7 * 7)
    gemm_bias(b, "fc7", k=4096, c=4096)
    fc8 = gemm_bias(b, "fc8", k=64 * 7 * 7, c=4096 + 1)  # + the focal length
    conv5, conv5_k = stage_ends.pop()
    x = conv_bias(b, "fuse5", k=256, c=64 + conv5_k, y=7, r=3, after=(fc8, conv5))
    c, y = 256, 7
    for level, k in zip(range(4, 0, -1), [256, 128, 64, 32]):
        y *= 2
        up = upconv_bias(b, f"up{level}", k=k, c=c, y=y, r=4, stride=2, after=x)
        skip, skip_k = stage_ends.pop()
        x = conv_bias(b, f"fuse{level}", k=k, c=k + skip_k, y=y, r=3, after=(up, skip))
        c = k
    conv_bias(b, "depth", k=1, c=c, y=y, r=3)
    return b.build()
