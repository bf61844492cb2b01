"""Re-mapping a design onto another mix (``cosearch.remap``) on the tiny problem: hand-checked carries."""

from __future__ import annotations

import numpy as np
import pytest

from cosearch.remap import greedy_mapping, matching_layers, remap
from cosearch.testing import tiny_platform, tiny_workload
from objectives import evaluate
from objectives.workloads import ModelBuilder, ModelEntry, Workload
from spaces import Core, Design


def other_mix() -> Workload:
    """The tiny MLP twice and a model the tiny mix lacks; no CNN."""
    old = tiny_workload()
    head = ModelBuilder("tiny_head")
    head.gemm("fc", k=64, c=128, y=16)
    mlp = old.models[old.model_names.index("tiny_mlp")]
    return Workload.from_models("other", [ModelEntry(head.build()), ModelEntry(mlp, batch=2)])


CORES = (Core(size="PE128", pes=128, dataflow="os_yx", bw_share=0.5, buffer_share=0.5),
         Core(size="PE256", pes=256, dataflow="ws_kc", bw_share=0.5, buffer_share=0.5))


def test_matching_layers_by_model_instance_and_position():
    old, new = tiny_workload(), other_mix()
    source = matching_layers(old, new)
    # new: tiny_head (1 layer), then tiny_mlp instance 0 (3 layers), instance 1 (3 layers);
    # old: tiny_cnn layers 0-2, tiny_mlp layers 3-5 (one instance, so instance 1 matches it too).
    assert source.tolist() == [-1, 3, 4, 5, 3, 4, 5]


def test_greedy_design_stays_greedy_and_scores_like_greedy_on_the_new_mix():
    old, new, platform = tiny_workload(), other_mix(), tiny_platform()
    design = Design(cores=CORES, layer_core=(-1,) * old.num_layers)
    moved = remap(design, old, new, platform)
    assert moved.layer_core == (-1,) * new.num_layers and moved.cores == CORES
    direct = evaluate(Design(cores=CORES, layer_core=(-1,) * new.num_layers).to_batch(platform), new, platform)
    assert evaluate(moved.to_batch(platform), new, platform).edp[0] == direct.edp[0]


def test_explicit_mapping_carries_over_and_new_layers_take_the_greedy_core():
    old, new, platform = tiny_workload(), other_mix(), tiny_platform()
    layer_core = (0, 0, 0, 1, 0, 1)  # CNN on core 0; MLP layers on 1, 0, 1
    priority = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
    moved = remap(Design(cores=CORES, layer_core=layer_core, layer_priority=priority), old, new, platform)
    greedy = greedy_mapping(Design(cores=CORES, layer_core=(-1,) * old.num_layers), new, platform)
    assert moved.layer_core == (int(greedy[0]), 1, 0, 1, 1, 0, 1)
    assert moved.layer_priority[1:] == (0.4, 0.5, 0.6, 0.4, 0.5, 0.6)
    assert moved.layer_priority[0] == pytest.approx(new.default_priority[0])
    metrics = evaluate(moved.to_batch(platform), new, platform)
    assert metrics.feasible[0] and np.isfinite(metrics.edp[0])


def test_a_design_of_another_length_is_refused():
    old, new, platform = tiny_workload(), other_mix(), tiny_platform()
    with pytest.raises(ValueError, match="maps 7 layers but its recorded workload 'tiny' has 6"):
        remap(Design(cores=CORES, layer_core=(0,) * 7), old, new, platform)
