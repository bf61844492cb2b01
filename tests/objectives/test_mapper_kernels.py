"""The mapper's compiled search loops against the numpy model they mirror, bit for bit."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from objectives import mapper, mapper_kernels
from objectives.mapper import INPUT, OUTPUT, WEIGHT
from objectives.workloads import ModelBuilder, get_model
from spaces.hardware import DATAFLOWS, get_platform

CLOUD = get_platform("cloud")


def numpy_scores(core, layers, layer, u, t, buf_op, objective):
    """What the search scored before it was compiled: ``evaluate_mappings`` per RF operand."""
    rows = layers.take(layer)
    level = mapper.dram_level(core, rows, u, t, buf_op)
    scores = [mapper.objective_of(mapper.evaluate_mappings(core, rows, u, t, rf_op, buf_op, level), objective, core)
              for rf_op in core.rf_operands]
    return np.stack(scores), level["need"]


def assert_same(core, layers, layer, u, t, buf_op, objective):
    scores, need = mapper.candidate_scores(core, layers, layer, u, t, buf_op, objective)
    expected_scores, expected_need = numpy_scores(core, layers, layer, u, t, buf_op, objective)
    np.testing.assert_array_equal(need, expected_need)
    np.testing.assert_array_equal(scores, expected_scores)


def odd_layers() -> mapper.Layers:
    """Strided, dilated, transposed, grouped, attention and batched nests in one table."""
    b = ModelBuilder("odd")
    b.conv("strided", k=12, c=5, y=19, x=23, r=3, stride=2)
    b.conv("dilated", k=12, c=12, y=9, x=11, r=3, dilation=2)
    b.conv("grouped", k=12, c=12, y=9, x=11, r=3, groups=3)
    b.dwconv("depthwise", channels=12, y=9, x=11, r=3, n=2)
    b.conv("wide", k=7, c=12, y=3, x=61, r=5, s=2, stride=3)
    b.upconv("up", k=6, c=7, y=6, x=122, r=4, stride=2)
    b.matmul("attention", k=7, c=16, y=9, n=3)
    b.lstm("lstm", hidden=8, inputs=16, steps=5)
    layers = mapper.Layers.from_workload(b.build())
    attention = mapper.Layers.from_workload(get_model("vit_b16")).take(np.arange(4))
    fields = [f.name for f in dataclasses.fields(mapper.Layers) if f.name != "names"]
    return mapper.Layers(**{f: np.concatenate([getattr(layers, f), getattr(attention, f)]) for f in fields})


CORES = [
    ("ws_kc", 1024, {}),
    ("os_yx", 256, {"static_pj_per_cycle": 3.5}),
    ("rs", 168, {"buffer_write_pj": 2.9, "rf_write_pj": 0.7}),
    ("dpu_pck", 512, {"word_bytes": 2}),
    ("systolic", 4096, {"acc_bytes": 2, "cycle_scale": 1.5}),
]


@pytest.mark.parametrize("objective", mapper.OBJECTIVES)
@pytest.mark.parametrize("dataflow, pes, changes", CORES)
def test_compiled_scores_are_the_numpy_models_on_every_candidate(dataflow, pes, changes, objective):
    """Every candidate the search costs, on every preset dataflow (systolic
    fill and drain, static power, unequal read and write energies, 2-byte
    words, a core clocked slower than the platform) and every kind of layer: the compiled objective and buffer need
    equal ``evaluate_mappings``' to the last bit, so the search chooses what
    the numpy model would."""
    core = dataclasses.replace(mapper.core_for(CLOUD, DATAFLOWS[dataflow], pes), **changes)
    layers = odd_layers()
    for buf_op in (INPUT, WEIGHT, OUTPUT):
        layer, u, t = mapper.candidate_mappings(core, layers, buf_op)
        assert_same(core, layers, layer, u, t, buf_op, objective)


@settings(max_examples=60, deadline=None)
@given(
    dims=st.lists(st.integers(1, 40), min_size=8, max_size=8),
    u=st.lists(st.integers(1, 9), min_size=8, max_size=8),
    t=st.lists(st.integers(1, 50), min_size=8, max_size=8),
    stride=st.integers(1, 4), dilation=st.integers(1, 3),
    transposed=st.booleans(), matmul=st.booleans(), buf_op=st.sampled_from((INPUT, WEIGHT, OUTPUT)),
)
def test_compiled_scores_hold_for_any_tiling(dims, u, t, stride, dilation, transposed, matmul, buf_op):
    """Tilings outside the ladder (any count on any dim, R and S split too,
    spatial factors above the dims): the same numbers as numpy."""
    layers = mapper.Layers(
        dims=np.array([dims]), stride=np.array([stride]), dilation=np.array([dilation]),
        density=np.array([1.0 / stride**2 if transposed else 1.0]), transposed=np.array([transposed]),
        weight_is_activation=np.array([matmul]),
    )
    core = mapper.core_for(CLOUD, DATAFLOWS["systolic"], 256)
    core = dataclasses.replace(core, rf_operands=(INPUT, WEIGHT, OUTPUT), static_pj_per_cycle=1.25, cycle_scale=1.25)
    assert_same(core, layers, np.zeros(1, dtype=np.int64), np.array([u]), np.array([t]), buf_op, "edp")


def numpy_choose(score, need, layer, num_layers, capacities):
    """The choice per capacity as numpy wrote it before it was compiled."""
    order = np.lexsort((need, layer))
    starts = np.searchsorted(layer[order], np.arange(num_layers + 1))
    chosen = np.zeros((len(capacities), num_layers), dtype=np.int64)
    fits = np.zeros((len(capacities), num_layers), dtype=bool)
    for l in range(num_layers):
        rows = order[starts[l] : starts[l + 1]]
        best = np.minimum.accumulate(score[rows])
        argbest = np.maximum.accumulate(np.where(score[rows] <= best, np.arange(len(rows)), 0))
        count = np.searchsorted(need[rows], capacities, side="right")
        fits[:, l] = count > 0
        chosen[:, l] = rows[np.where(count > 0, argbest[np.maximum(count - 1, 0)], 0)]
    return chosen, fits


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 200), num_layers=st.integers(1, 6))
def test_compiled_choice_is_the_numpy_choice(seed, n, num_layers):
    """Few distinct scores and needs, so ties (the later of equal scores wins,
    equal needs keep candidate order) and unfit layers are common; a
    candidate whose RF operand cannot stay has infinite score and need."""
    rng = np.random.default_rng(seed)
    layer = np.concatenate([np.arange(num_layers), rng.integers(0, num_layers, n)])
    score = rng.integers(1, 6, len(layer)).astype(np.float64)
    need = rng.integers(1, 8, len(layer)).astype(np.float64) * 100
    unfit = rng.random(len(layer)) < 0.1
    score[unfit], need[unfit] = np.inf, np.inf
    capacities = np.array([50.0, 100.0, 350.0, 700.0, 1e9])
    chosen, fits = mapper._choose(score, need, layer, num_layers, capacities)
    expected_chosen, expected_fits = numpy_choose(score, need, layer, num_layers, capacities)
    np.testing.assert_array_equal(chosen, expected_chosen)
    np.testing.assert_array_equal(fits, expected_fits)
