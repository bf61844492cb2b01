"""The compiled roofline, greedy and scoring kernels give every metric bit for
bit as the numpy path they replaced (tests/objectives/roofline_reference.py)."""

import dataclasses

import numpy as np
import pytest

from objectives import evaluate, roofline
from objectives.workloads import get_workload
from spaces import get_platform
from tests.objectives import roofline_reference
from tests.objectives.helpers import gemm_model, random_designs, small_cnn, workload_of

EDGE = get_platform("edge")


def assert_same_metrics(want, got):
    for field in dataclasses.fields(want):
        a, b = getattr(want, field.name), getattr(got, field.name)
        for key in a if isinstance(a, dict) else [None]:
            np.testing.assert_array_equal(b if key is None else b[key], a if key is None else a[key], field.name)


def both_paths(monkeypatch, designs, workload, platform):
    got = evaluate(designs, workload, platform, with_schedule=True)
    with monkeypatch.context() as patch:
        patch.setattr(roofline, "greedy_assign", roofline_reference.greedy_assign)
        patch.setattr(roofline, "layer_roofline", roofline_reference.layer_roofline)
        patch.setattr(roofline, "score", roofline_reference.score)
        want = evaluate(designs, workload, platform, with_schedule=True)
    return want, got


def varied(designs, rng, priorities, bias):
    """Half the designs greedy, an idle core in one, an infeasible one, optional bias."""
    P, C, L = designs.num_designs, designs.num_cores, designs.num_layers
    layer_core = designs.layer_core.copy()
    layer_core[::2] = -1
    core_pes = designs.core_pes.copy()
    core_pes[0, -1] = 0  # a greedy design with an idle core
    core_pes[1] = 0  # no active core: infeasible
    return dataclasses.replace(
        designs,
        layer_core=layer_core,
        core_pes=core_pes,
        layer_priority=designs.layer_priority if priorities else None,
        mapping_bias=rng.normal(0, 1e-4, (P, L, C)) if bias else None,
    )


@pytest.mark.parametrize("priorities", [True, False])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_small_workloads_match_numpy_bit_for_bit(monkeypatch, seed, priorities, bias):
    rng = np.random.default_rng(seed)
    workload = workload_of(small_cnn(), gemm_model(), small_cnn("cnn2"))
    designs = varied(random_designs(rng, workload, num_designs=9, num_cores=3), rng, priorities, bias)
    want, got = both_paths(monkeypatch, designs, workload, EDGE)
    assert want.feasible.sum() >= 7 and (want.layer_core[0] != 2).all()
    assert_same_metrics(want, got)


@pytest.mark.parametrize("greedy", [False, True])
def test_zoo_workload_matches_numpy_bit_for_bit(monkeypatch, greedy):
    workload = get_workload("planaria_b")
    rng = np.random.default_rng(5)
    designs = random_designs(rng, workload, num_designs=6, num_cores=4, pes_choices=(256, 1024), greedy=greedy)
    designs = dataclasses.replace(designs, layer_priority=None if greedy else designs.layer_priority)
    want, got = both_paths(monkeypatch, designs, workload, get_platform("cloud"))
    assert want.feasible.all()
    assert_same_metrics(want, got)


def test_input_stays_on_chip_only_after_its_single_predecessor_on_the_same_core():
    """One chain a -> b: b reads no input from DRAM exactly when a ran on its core."""
    rows = np.zeros((4, 8))
    rows[:, 1] = 100.0  # DRAM bytes, of which 40 the input
    rows[:, 2] = 40.0
    rows[:, 6] = 10.0  # dynamic pJ
    preds = np.array([[-1], [0]])
    block = np.zeros((1, 2), dtype=np.int64)
    bw = np.ones((1, 2))
    buffer = np.full((1, 2), 1e6)
    same = roofline.layer_roofline(rows, block, bw, bw, buffer, np.array([[0, 0]]), preds, np.full(2, 8.0), 0.1, 1.0)
    apart = roofline.layer_roofline(rows, block, bw, bw, buffer, np.array([[0, 1]]), preds, np.full(2, 8.0), 0.1, 1.0)
    assert same[1].tolist() == [[100.0, 60.0]] and same[2].tolist() == [[10.0, 10.0 - 40.0 * 0.1]]
    assert apart[1].tolist() == [[100.0, 100.0]] and same[0][0, 1] == 60.0 and apart[0][0, 1] == 100.0
