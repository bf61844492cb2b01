"""First contract checks of the unified space: shapes, bounds, feasibility."""

import numpy as np

import objectives
from spaces import make_space
from cosearch.testing import tiny_problem


def test_cosearch_decodes_samples_to_feasible_designs():
    tiny = tiny_problem()
    space = make_space("cosearch", tiny.workload, tiny.platform)
    X = space.sample(64, np.random.default_rng(0))
    assert X.shape == (64, space.dim) and len(space.genes) == space.dim
    designs = space.decode(X)
    metrics = objectives.evaluate(designs, tiny.workload, tiny.platform)
    assert metrics.feasible.all()
