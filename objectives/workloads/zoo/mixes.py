"""Named multi-DNN mixes from Herald (HPCA'21), Planaria (MICRO'20) and INFaaS serving.

Herald's mixes carry batch counts but no latency targets (Herald optimises
latency and energy of the whole mix).  Planaria's and the INFaaS mixes give
each model its MLPerf Inference server-scenario latency bound, which is
Planaria's QoS-S ("1x QoS given in MLPerf"); QoS-M and QoS-H are those
bounds over 4 and 16, left to the caller.
"""

from __future__ import annotations

from objectives.workloads._registry import get_model, register_mix
from objectives.workloads._workload import ModelEntry

# MLPerf Inference rules, server-scenario latency constraints (v0.5 for the
# vision models and GNMT, v0.7 for BERT).
_MLPERF_SERVER_BOUND_S = {
    "resnet50": 0.015,
    "mobilenet_v1": 0.010,
    "ssd_mobilenet_v1": 0.010,
    "ssd_resnet34": 0.100,
    "gnmt": 0.250,
    "bert_large": 0.130,
}
# Models MLPerf does not serve take the bound of the MLPerf model in the same
# task and weight class, the grouping Planaria uses ("heavy"/"light").
_BOUND_BY_ANALOGY = {
    "googlenet": "resnet50",  # heavy image classification
    "efficientnet_b0": "mobilenet_v1",  # light image classification
    "mobilenet_v2": "mobilenet_v1",
    "yolov3": "ssd_resnet34",  # heavy object detection
    "tiny_yolo": "ssd_mobilenet_v1",  # light object detection
    "bert_base": "bert_large",
}


def latency_bound_s(model: str) -> float:
    """MLPerf server latency bound for ``model``, directly or by analogy."""
    return _MLPERF_SERVER_BOUND_S[_BOUND_BY_ANALOGY.get(model, model)]


def _herald(batches: dict[str, int]) -> list[ModelEntry]:
    return [ModelEntry(get_model(name), batch=batch) for name, batch in batches.items()]


def _served(names: list[str]) -> list[ModelEntry]:
    return [ModelEntry(get_model(name), latency_target_s=latency_bound_s(name)) for name in names]


# Herald Table II.
@register_mix("herald_arvr_a")
def herald_arvr_a() -> list[ModelEntry]:
    return _herald({"resnet50": 2, "unet": 4, "mobilenet_v2": 4})


@register_mix("herald_arvr_b")
def herald_arvr_b() -> list[ModelEntry]:
    return _herald({"resnet50": 2, "unet": 2, "mobilenet_v2": 4, "handposenet": 2})


@register_mix("herald_mlperf")
def herald_mlperf() -> list[ModelEntry]:
    return _herald(
        {"focal_depthnet": 2, "resnet50": 1, "mobilenet_v1": 1, "ssd_resnet34": 1, "ssd_mobilenet_v1": 1, "gnmt": 1}
    )


# Planaria Table I: Workload-A (heavier), -B (lighter), -C (all nine).
PLANARIA_A = ["resnet50", "googlenet", "yolov3", "ssd_resnet34", "gnmt"]
PLANARIA_B = ["efficientnet_b0", "mobilenet_v1", "ssd_mobilenet_v1", "tiny_yolo"]


@register_mix("planaria_a")
def planaria_a() -> list[ModelEntry]:
    return _served(PLANARIA_A)


@register_mix("planaria_b")
def planaria_b() -> list[ModelEntry]:
    return _served(PLANARIA_B)


@register_mix("planaria_c")
def planaria_c() -> list[ModelEntry]:
    return _served(PLANARIA_A + PLANARIA_B)


# INFaaS mixes of the cloud-FPGA co-search poster: vision, NLP, and both.
VISION = ["resnet50", "googlenet", "mobilenet_v2", "efficientnet_b0", "ssd_mobilenet_v1", "tiny_yolo"]
NLP = ["bert_base", "bert_large", "gnmt"]


@register_mix("vision")
def vision() -> list[ModelEntry]:
    return _served(VISION)


@register_mix("nlp")
def nlp() -> list[ModelEntry]:
    return _served(NLP)


@register_mix("mixed")
def mixed() -> list[ModelEntry]:
    return _served(VISION + NLP)
