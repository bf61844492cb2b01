"""Print the zoo's markdown tables for docs/workloads.md: ``python -m objectives.workloads.zoo.table``.

Our counts come from the layer tables; the published figures next to them
are typed in here with their sources so the docs never drift from the code.
"""

from __future__ import annotations

import dataclasses

from objectives.workloads._registry import MIXES, MODELS, get_model, get_workload


@dataclasses.dataclass(frozen=True)
class Published:
    macs: float | None  # multiply-accumulates per inference
    params: float | None
    source: str
    shapes: str = "exact"


# Frameworks quoting "FLOPs" for CNNs mostly mean multiply-adds (torchvision's
# GFLOPS column, the EfficientNet paper); Open Model Zoo and darknet count two
# FLOPs per MAC, so their figures are halved here.
PUBLISHED = {
    "resnet50": Published(4.09e9, 25_557_032, "torchvision ResNet50 IMAGENET1K_V1 (4.09 GFLOPS = GMAC)"),
    "mobilenet_v1": Published(569e6, 4.2e6, "Howard et al. 2017, Table 8 (1.0 MobileNet-224)"),
    "mobilenet_v2": Published(0.30e9, 3_504_872, "torchvision MobileNet_V2 IMAGENET1K_V1 (paper: 300M MAdds, 3.4M)"),
    "efficientnet_b0": Published(0.39e9, 5_288_548, "torchvision EfficientNet_B0 (paper Table 2: 0.39B, 5.3M)"),
    "googlenet": Published(
        1.586e9, 6.999e6, "Szegedy et al. 2015 Table 1 ops column summed; params Open Model Zoo googlenet-v1"
    ),
    "tiny_yolo": Published(5.424e9 / 2, 11.229e6, "Open Model Zoo yolo-v2-tiny-tf (5.424 GFLOPs)"),
    "yolov3": Published(65.984e9 / 2, 61.922e6, "Open Model Zoo yolo-v3-tf (65.984 GFLOPs; darknet: 65.86 Bn)"),
    "ssd_resnet34": Published(433.411e9 / 2, 20.058e6, "Open Model Zoo ssd-resnet34-1200-onnx (433.411 GFLOPs)"),
    "ssd_mobilenet_v1": Published(2.494e9 / 2, 6.807e6, "Open Model Zoo ssd_mobilenet_v1_coco (2.494 GFLOPs)"),
    "bert_base": Published(
        22.5e9 / 2, 85.05e6,
        "MobileBERT (Sun et al. 2020) Table 4: 22.5 GFLOPs at 128 tokens; params: 109.48M less embeddings, pooler",
    ),
    "bert_large": Published(None, 302.3e6, "335.14M (bert-large-uncased) less 31.78M embeddings and 1.05M pooler"),
    "vit_b16": Published(17.56e9, 86_567_656, "torchvision ViT_B_16 IMAGENET1K_V1 (17.56 GFLOPS = GMAC)"),
    "gnmt": Published(
        None, None, "Wu et al. 2016 publish no count; 8+8 layers, 1024 units, 32k vocab", "GNMT-style, 32 tokens"
    ),
    "unet": Published(None, None, "Ronneberger et al. 2015 Fig. 1; shapes equal MAESTRO's UNet_model.m"),
    "handposenet": Published(None, None, "Madadi et al. 2017; no layer table published", "approximation"),
    "focal_depthnet": Published(None, None, "He et al. 2018; no layer table published", "approximation"),
}

# Herald Table VII; its models are MAESTRO's data/model files, which count
# every residual addition as a layer.
HERALD_LAYERS = {"herald_arvr_a": 448, "herald_arvr_b": 618, "herald_mlperf": 181}


def _fmt_macs(macs: float | None) -> str:
    return "—" if macs is None else f"{macs / 1e9:.3f} G"


def _fmt_params(params: float | None) -> str:
    return "—" if params is None else f"{params / 1e6:.2f} M"


def _ratio(ours: float, published: float | None) -> str:
    return "" if published is None else f" ({100 * (ours / published - 1):+.1f}%)"


def model_table() -> str:
    rows = [
        "| model | layers | MACs | params | published MACs | published params | source | shapes |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for name in sorted(MODELS):
        model = get_model(name)
        macs, params = int(model.macs.sum()), model.params
        ref = PUBLISHED[name]
        rows.append(
            f"| {name} | {model.num_layers} | {_fmt_macs(macs)}{_ratio(macs, ref.macs)} "
            f"| {_fmt_params(params)}{_ratio(params, ref.params)} | {_fmt_macs(ref.macs)} "
            f"| {_fmt_params(ref.params)} | {ref.source} | {ref.shapes} |"
        )
    return "\n".join(rows)


def mix_table() -> str:
    rows = [
        "| mix | models (× batch) | layers (ours) | MACs per mix | Herald's layer count |",
        "|---|---|---:|---:|---:|",
    ]
    for name in sorted(MIXES):
        workload = get_workload(name)
        members = ", ".join(
            f"{m} ×{b}" if b > 1 else m for m, b in zip(workload.model_names, workload.batch.tolist())
        )
        herald = HERALD_LAYERS.get(name)
        rows.append(
            f"| {name} | {members} | {workload.num_layers} | {_fmt_macs(int(workload.macs.sum()))} "
            f"| {herald if herald else '—'} |"
        )
    return "\n".join(rows)


def main() -> None:
    print("### Models\n")
    print(model_table())
    print("\n### Mixes\n")
    print(mix_table())


if __name__ == "__main__":
    main()
