"""The attribution chain on the tiny problem: each step's restrictions, brute force at the start, monotone gains."""

import itertools
import math

import numpy as np
import pytest

from cosearch.attribution import STEPS, attribute, gains, step_problem
from cosearch.testing import tiny_problem
from objectives import evaluate


@pytest.fixture(scope="module")
def tiny():
    return tiny_problem()


def test_the_homogeneous_step_is_identical_stock_cores_and_each_step_frees_one_more_choice(tiny):
    spaces = {step: step_problem(STEPS[1 : k + 1], tiny.workload, tiny.platform, "ws_kc")
              for k, step in enumerate(STEPS)}
    names = {step: {g.name.split(".")[-1] if "." in g.name else g.name for g in space.genes}
             for step, (space, _) in spaces.items()}
    assert names["homogeneous"] == {"cores", "size"}
    assert names["dataflow"] == {"cores", "size", "dataflow"}
    assert names["partition"] == {"cores", "size", "dataflow", "bw_share", "buffer_share"}
    assert "priority" not in names["layer_mapping"] and "priority" in names["schedule"]
    assert [p.intra_core_mapping for _, p in spaces.values()] == ["stationary"] + ["search"] * 6
    space, _ = spaces["homogeneous"]
    designs = space.decode(space.sample(200, 0))
    active = designs.core_pes > 0
    assert {designs.dataflows[i].name for i in designs.core_dataflow[active]} == {"ws_kc"}
    assert (np.where(active, designs.core_pes == designs.core_pes[:, :1], True)).all()
    assert (designs.layer_core == -1).all()  # greedy best fit
    space, _ = spaces["dataflow"]
    designs = space.decode(space.sample(200, 1))
    assert len({tuple(row) for row in designs.core_dataflow[(designs.core_pes > 0).all(axis=1)].tolist()}) > 1


def test_the_chain_starts_at_the_brute_force_baseline_and_never_rises(tiny):
    results = attribute(tiny.workload, tiny.platform, "ws_kc", seeds=(0, 1), evaluations=150, optimizer="random")
    assert [r.step for r in results] == list(STEPS) * 2
    # Brute force over the homogeneous step: 2 core counts x 3 sizes, at the centre of each bin.
    space, platform = step_problem((), tiny.workload, tiny.platform, "ws_kc")
    grid = np.array([[(i + 0.5) / 2, (j + 0.5) / 3] for i, j in itertools.product(range(2), range(3))])
    brute = evaluate(space.decode(grid), tiny.workload, platform).edp.min()
    for seed in (0, 1):
        chain = [r.edp for r in results if r.seed == seed]
        assert chain[0] == pytest.approx(brute, rel=1e-12)
        assert all(b <= a * (1 + 1e-12) for a, b in zip(chain, chain[1:]))
        # Everything freed reaches at least the tiny space's optimum (PE128 os_yx + PE256 ws_kc, even shares).
        assert chain[-1] <= 6.43e-10
    summary = gains(results)
    assert set(summary) == {*STEPS[1:], "total"}
    for mean, low, high in summary.values():
        assert 1.0 - 1e-12 <= low <= mean <= high
    steps_product = math.prod(summary[s][0] for s in STEPS[1:])
    same_every_seed = all(low == high for low, high in ((v[1], v[2]) for v in summary.values()))
    if same_every_seed:
        assert steps_product == pytest.approx(summary["total"][0], rel=1e-9)
    assert summary["dataflow"][0] > 1.2  # the CNN wants os_yx, the GEMMs ws_kc


def test_an_unknown_or_repeated_step_is_refused(tiny):
    with pytest.raises(ValueError, match="unknown attribution step 'dram'"):
        step_problem(["dram"], tiny.workload, tiny.platform, "ws_kc")
    with pytest.raises(ValueError, match="frees a choice twice"):
        attribute(tiny.workload, tiny.platform, "ws_kc", order=["dataflow", "dataflow"])


def test_another_order_frees_the_same_choices_and_ends_at_the_same_space(tiny):
    """Granularity before dataflow: the same start and the same fully free space, credited differently."""
    order = ("granularity", "dataflow", "partition", "layer_mapping", "intra_core", "schedule")
    results = attribute(tiny.workload, tiny.platform, "ws_kc", seeds=(0,), evaluations=150, optimizer="random",
                        order=order)
    assert [r.step for r in results] == ["homogeneous", *order]
    chain = [r.edp for r in results]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(chain, chain[1:]))
    assert chain[-1] <= 6.43e-10


def test_with_cma_es_no_step_ends_above_the_design_it_started_from(tiny):
    """CMA-ES injects the start into its first generation, so each step scores it (to share rounding)."""
    results = attribute(tiny.workload, tiny.platform, "ws_kc", seeds=(0, 1, 2), evaluations=24, optimizer="cmaes",
                        options={"popsize": 8})
    for seed in (0, 1, 2):
        chain = [r.edp for r in results if r.seed == seed]
        assert all(b <= a * (1 + 1e-9) for a, b in zip(chain, chain[1:])), chain
