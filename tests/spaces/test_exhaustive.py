"""The grid optimizer's enumeration of a space agrees with an independent brute force on the tiny problem."""

import itertools

import numpy as np
import pytest

import objectives
from cosearch.optimizers.grid import GridSearch
from cosearch.testing import tiny_problem
from spaces import DesignBatch, get_dataflow
from spaces.design_view import design_keys


@pytest.fixture(scope="module")
def tiny():
    return tiny_problem()


def brute_force(workload, platform):
    """Every design with 1–2 cores within budget, even shares, every layer → core assignment."""
    dataflows = tuple(get_dataflow(name) for name in ("ws_kc", "os_yx"))
    L = workload.num_layers
    rows = []
    for count in (1, 2):
        for cores in itertools.product(range(len(platform.core_sizes)), range(len(dataflows)), repeat=count):
            sizes, flows = cores[0::2], cores[1::2]
            if sum(platform.core_sizes[s].pes for s in sizes) > platform.pes:
                continue
            for assignment in itertools.product(range(count), repeat=L):
                rows.append((sizes, flows, assignment))
    P = len(rows)
    core_size = np.full((P, 2), -1)
    core_pes = np.zeros((P, 2), dtype=np.int64)
    core_dataflow = np.zeros((P, 2), dtype=np.int64)
    share = np.zeros((P, 2))
    for p, (sizes, flows, _) in enumerate(rows):
        n = len(sizes)
        core_size[p, :n] = sizes
        core_pes[p, :n] = [platform.core_sizes[s].pes for s in sizes]
        core_dataflow[p, :n] = flows
        share[p, :n] = 1.0 / n
    batch = DesignBatch(
        core_pes=core_pes, core_size=core_size, core_dataflow=core_dataflow, bw_share=share,
        buffer_share=share.copy(), layer_core=np.array([r[2] for r in rows]), layer_priority=None,
        dataflows=dataflows,
    )
    return batch, objectives.evaluate(batch, workload, platform).edp


def grid_points(space, unique=False):
    """``(N, d)`` every point the grid optimizer enumerates; ``unique``: one per decoded design, in grid order."""
    search = GridSearch(dim=space.dim, genes=space.genes)
    X = search.ask(search.size)
    if unique:
        X = X[np.sort(np.unique(design_keys(space.decode(X)), axis=0, return_index=True)[1])]
    return X


def keys(batch, explicit_only=True):
    rows = design_keys(DesignBatch(
        core_pes=batch.core_pes, core_size=batch.core_size, core_dataflow=batch.core_dataflow,
        bw_share=batch.bw_share, buffer_share=batch.buffer_share, layer_core=batch.layer_core,
        layer_priority=None, dataflows=batch.dataflows,
    ))
    if explicit_only:
        rows = rows[(batch.layer_core >= 0).all(axis=1)]
    return {tuple(r) for r in rows}


def test_tiny_space_is_small_and_fully_discrete(tiny):
    assert GridSearch(dim=tiny.space.dim, genes=tiny.space.genes).size == 9216 and tiny.space.dim == 12
    assert all(g.is_discrete for g in tiny.space.genes)


def test_grid_reaches_exactly_the_brute_force_designs(tiny):
    brute, _ = brute_force(tiny.workload, tiny.platform)
    grid = tiny.space.decode(grid_points(tiny.space))
    assert keys(grid) == keys(brute)
    assert len(keys(brute)) == 6 + 32 * 64


def test_grid_optimum_matches_brute_force_optimum(tiny):
    brute, brute_edp = brute_force(tiny.workload, tiny.platform)
    X = grid_points(tiny.space, unique=True)
    designs = tiny.space.decode(X)
    edp = objectives.evaluate(designs, tiny.workload, tiny.platform).edp
    assert edp.min() == pytest.approx(brute_edp.min(), rel=1e-12)
    best_brute = brute.take(np.flatnonzero(brute_edp <= brute_edp.min() * (1 + 1e-12)))
    best_grid = designs.take(np.flatnonzero((edp <= edp.min() * (1 + 1e-12)) & (designs.layer_core >= 0).all(1)))
    assert keys(best_grid) == keys(best_brute)
    best = tiny.space.designs(X[np.argmin(edp)])[0]
    assert sorted((c.size, c.dataflow) for c in best.cores) == [("PE128", "os_yx"), ("PE256", "ws_kc")]


def test_unique_grid_has_one_point_per_design(tiny):
    X = grid_points(tiny.space, unique=True)
    designs = tiny.space.decode(X)
    assert len(np.unique(design_keys(designs), axis=0)) == len(X) == len(keys(designs, explicit_only=False))


def test_every_grid_design_encodes_back_to_itself(tiny):
    designs = tiny.space.decode(grid_points(tiny.space))
    again = tiny.space.decode(tiny.space.encode(designs))
    np.testing.assert_array_equal(design_keys(again), design_keys(designs))
