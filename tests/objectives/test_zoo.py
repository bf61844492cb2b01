"""The model zoo and named mixes: published sizes, DAG edges, registries, batch expansion."""

import functools
import math
from pathlib import Path

import numpy as np
import pytest

from objectives.workloads import MIXES, MODELS, Op, get_model, get_workload
from objectives.workloads._layers import C_DIM, K_DIM, Y_DIM
from objectives.workloads.zoo.table import mix_table, model_table
from objectives.workloads.zoo.transformer import bert_encoder

# Published (MACs, parameters) per inference.  Frameworks that quote "FLOPs"
# for CNNs mostly mean multiply-adds (torchvision's GFLOPS column, the
# EfficientNet paper); Open Model Zoo (OMZ) and darknet count 2 FLOPs per MAC,
# so their figures are halved.
PUBLISHED = {
    # torchvision model docs, ResNet50_Weights.IMAGENET1K_V1: 4.09 GFLOPS, 25,557,032 params.
    "resnet50": (4.09e9, 25_557_032),
    # Howard et al. 2017, Table 8, 1.0 MobileNet-224: 569M mult-adds, 4.2M params.
    "mobilenet_v1": (569e6, 4.2e6),
    # Sandler et al. 2018, Table 4: 300M MAdds; params from torchvision (3,504,872),
    # since the paper's rounded 3.4M leaves out batch-norm weights.
    "mobilenet_v2": (300e6, 3_504_872),
    # Tan & Le 2019, Table 2: 0.39B FLOPS (multiply-adds), 5.3M params.
    "efficientnet_b0": (0.39e9, 5.3e6),
    # Szegedy et al. 2015, Table 1: the ops column sums to 1.586G (the text rounds to
    # "1.5 billion"); params: OMZ googlenet-v1 (bvlc_googlenet), 6.999M.
    "googlenet": (1.586e9, 6.999e6),
    # torchvision ViT_B_16_Weights.IMAGENET1K_V1: 17.56 GFLOPS, 86,567,656 params.
    "vit_b16": (17.56e9, 86_567_656),
    # OMZ yolo-v3-tf (416x416, COCO): 65.984 GFLOPs, 61.922M params.
    "yolov3": (65.984e9 / 2, 61.922e6),
    # OMZ yolo-v2-tiny-tf (416x416, COCO): 5.424 GFLOPs, 11.229M params.
    "tiny_yolo": (5.424e9 / 2, 11.229e6),
    # OMZ ssd-resnet34-1200-onnx (the MLPerf model): 433.411 GFLOPs, 20.058M params.
    "ssd_resnet34": (433.411e9 / 2, 20.058e6),
    # OMZ ssd_mobilenet_v1_coco: 2.494 GFLOPs, 6.807M params.
    "ssd_mobilenet_v1": (2.494e9 / 2, 6.807e6),
    # MobileBERT (Sun et al. 2020), Table 4: BERT-base 22.5 GFLOPs at 128 tokens.
    # Params: bert-base-uncased's 109,482,240 less the 23,837,184 embedding and
    # 590,592 pooler weights = 85,054,464 for the encoder stack.
    "bert_base": (22.5e9 / 2, 85_054_464),
}


@functools.cache
def model(name):
    return get_model(name)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_macs_and_params_match_published(name):
    macs, params = PUBLISHED[name]
    m = model(name)
    assert m.macs.sum() == pytest.approx(macs, rel=0.03)
    assert m.params == pytest.approx(params, rel=0.03)


def test_transformer_encoders_match_the_closed_form():
    # Per layer: 4 H^2 projections + 8 H^2 FFN per token, plus s^2 H for scores and again for context.
    for name, layers, hidden in [("bert_base", 12, 768), ("bert_large", 24, 1024)]:
        s = 128
        assert model(name).macs.sum() == layers * (12 * s * hidden**2 + 2 * s**2 * hidden)
    # bert-large-uncased's 335,141,888 less 31,782,912 embedding and 1,049,600 pooler weights.
    assert model("bert_large").params == 302_309_376
    long = bert_encoder("bert_384", layers=24, hidden=1024, heads=16, seq_len=384)
    assert long.macs.sum() == 24 * (12 * 384 * 1024**2 + 2 * 384**2 * 1024)


def test_gnmt_matches_its_stated_configuration():
    h, vocab, steps = 1024, 32_000, 32
    enc = 2 * 4 * h * 2 * h + 4 * h * 3 * h + 6 * 4 * h * 2 * h  # bidirectional, 2048-wide, 6 more
    dec = 8 * 4 * h * 3 * h  # every decoder layer also reads the attention context
    attention = 2 * h * h + 2 * h * steps  # key/query projections; scores and context per token
    m = model("gnmt")
    assert m.macs.sum() == steps * (enc + dec + attention + vocab * h)
    assert (m.op == Op.LSTM).sum() == 17  # 8 encoder layers, the first one as two directions, 8 decoder layers


# MAESTRO's data/model/UNet_model.m (the model Herald's mixes use): K, C, R and
# the layer's *input* rows, in order.
MAESTRO_UNET = [
    (64, 1, 3, 572), (64, 64, 3, 570), (128, 64, 3, 284), (128, 128, 3, 282), (256, 128, 3, 140),
    (256, 256, 3, 138), (512, 256, 3, 68), (512, 512, 3, 66), (1024, 512, 3, 32), (1024, 1024, 3, 30),
    (512, 1024, 2, 28), (512, 1024, 3, 56), (512, 512, 3, 54), (512, 512, 2, 52), (256, 512, 3, 104),
    (256, 256, 3, 102), (128, 256, 2, 100), (128, 256, 3, 200), (128, 128, 3, 198), (64, 128, 2, 196),
    (64, 128, 3, 392), (64, 64, 3, 390), (2, 64, 1, 388),
]


def test_unet_shapes_equal_maestros_model_file():
    m = model("unet")
    # MAESTRO's second TRCONV is 512 -> 512; the paper (and the concat that
    # follows) needs 512 -> 256, so we compare that one layer to the paper.
    expected = [list(row) for row in MAESTRO_UNET]
    expected[13][0] = 256
    got = []
    for op, (n, g, k, c, y, x, r, s), stride in zip(m.op, m.dims, m.stride):
        rows = y // stride if op == Op.UPCONV else y + r - 1
        got.append([k, c, r, rows])
    assert got == expected
    assert m.params == sum(k * c * r * r + k for k, c, r, _ in expected)
    assert m.dims[-1, Y_DIM] == 388  # the paper's 388x388 segmentation map


def test_approximated_arvr_models_use_herald_table_i_operators():
    assert set(model("handposenet").op.tolist()) == {Op.CONV, Op.GEMM}
    depth = model("focal_depthnet")
    assert set(depth.op.tolist()) == {Op.CONV, Op.GEMM, Op.UPCONV}
    # Herald: "FC layer 2" of Focal Length DepthNet is 4096 x 4096 (16.8M channel parallelism).
    fc2 = depth.layer_names.index("fc7")
    assert depth.dims[fc2, K_DIM] * depth.dims[fc2, C_DIM] == 4096 * 4096


def test_detector_outputs_have_published_shapes():
    # MLPerf SSD-ResNet34's ONNX outputs: class scores of 324/486/486/486/324/324 channels on
    # 50/25/13/7/3/3 grids.
    ssd = model("ssd_resnet34")
    conf = [ssd.layer_names.index(f"conf{i}") for i in range(6)]
    assert ssd.dims[conf, K_DIM].tolist() == [324, 486, 486, 486, 324, 324]
    assert ssd.dims[conf, Y_DIM].tolist() == [50, 25, 13, 7, 3, 3]
    yolo = model("yolov3")
    detect = [i for i, n in enumerate(yolo.layer_names) if n.endswith(".detect")]
    assert yolo.dims[detect, K_DIM].tolist() == [255] * 3
    assert sorted(yolo.dims[detect, Y_DIM].tolist()) == [13, 26, 52]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_dependency_points_backwards(name):
    m = model(name)
    assert all(p < i for i, preds in enumerate(m.preds) for p in preds)
    assert m.preds[0] == ()


@pytest.mark.parametrize("name", sorted(MIXES))
def test_every_mix_builds_with_backward_edges(name):
    w = get_workload(name)
    index = np.arange(w.num_layers)[:, None]
    assert ((w.preds < index) | (w.preds == -1)).all()
    assert w.num_layers == sum(m.num_layers * b for m, b in zip(w.models, w.batch))


def preds_of(m, layer):
    return {m.layer_names[p] for p in m.preds[m.layer_names.index(layer)]}


def test_residual_and_concat_edges():
    r = model("resnet50")
    # After a projection block the add reads the main branch and the projection ...
    assert preds_of(r, "layer1.1.conv1") == {"layer1.0.conv3", "layer1.0.downsample"}
    # ... after an identity block, the main branch and the block's input.
    assert preds_of(r, "layer1.2.conv1") == {"layer1.1.conv3", "layer1.0.conv3"}
    assert preds_of(model("mobilenet_v2"), "block3.2.expand") == {"block3.1.project", "block3.0.project"}
    assert preds_of(model("efficientnet_b0"), "stage2.0.project") == {"stage2.0.dw", "stage2.0.se.expand"}
    g = model("googlenet")
    assert preds_of(g, "3b.1x1") == {"3a.1x1", "3a.3x3", "3a.5x5", "3a.pool_proj"}
    assert preds_of(model("unet"), "up1.conv1") == {"up1.upconv", "down4.conv2"}
    y = model("yolov3")
    assert preds_of(y, "head26.conv0") == {"lateral26", "stage4.7.conv2", "stage4.6.conv2"}
    bert = model("bert_base")
    assert preds_of(bert, "layer3.scores") == {"layer3.q", "layer3.k"}
    assert preds_of(bert, "layer3.context") == {"layer3.scores", "layer3.v"}
    assert preds_of(bert, "layer3.ffn1") == {"layer3.out", "layer2.ffn2"}


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown model 'resnet51' \(allowed: .*resnet50"):
        get_model("resnet51")
    with pytest.raises(ValueError, match=r"unknown mix 'arvr' \(allowed: .*herald_arvr_a.*; or a single model: .*resnet50"):
        get_workload("arvr")


def test_batch_counts_expand_into_repeated_instances():
    w = get_workload("herald_arvr_a")
    assert w.model_names == ("resnet50", "unet", "mobilenet_v2")
    assert w.batch.tolist() == [2, 4, 4]
    unet = w.model_names.index("unet")
    in_unet = w.model == unet
    assert np.bincount(w.instance[in_unet]).tolist() == [23] * 4
    assert "unet#3/up1.conv1" in w.layer_names
    # Each copy depends only on layers of the same instance.
    for i in np.flatnonzero(in_unet):
        preds = w.preds[i][w.preds[i] >= 0]
        assert (w.instance[preds] == w.instance[i]).all() and (w.model[preds] == unet).all()


def test_latency_targets():
    for name in ["herald_arvr_a", "herald_arvr_b", "herald_mlperf"]:
        assert np.isnan(get_workload(name).latency_target_s).all()
    c = get_workload("planaria_c")
    assert len(c.model_names) == 9
    targets = dict(zip(c.model_names, c.latency_target_s.tolist()))
    # MLPerf server bounds: ResNet-50 15 ms, SSD-ResNet34 100 ms, GNMT 250 ms, MobileNet 10 ms.
    assert targets["resnet50"] == 0.015 and targets["ssd_resnet34"] == 0.1 and targets["gnmt"] == 0.25
    assert targets["mobilenet_v1"] == 0.01
    assert all(math.isfinite(t) for t in get_workload("mixed").latency_target_s)


def test_docs_tables_are_generated_from_the_zoo():
    """docs/workloads.md pastes `python -m objectives.workloads.zoo.table`; rerun it after zoo changes."""
    doc = (Path(__file__).parents[2] / "docs" / "workloads.md").read_text()
    assert model_table() in doc
    assert mix_table() in doc
