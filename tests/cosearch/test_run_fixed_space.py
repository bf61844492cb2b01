"""A space with no free genes is one design: a run scores it once and stops."""

import numpy as np

from cosearch.experiment import SpaceProblem
from cosearch.run import RunSpec, run
from objectives import evaluate
from objectives.workloads import get_workload
from spaces import get_platform, make_space


def test_a_space_without_genes_is_scored_once():
    problem = SpaceProblem("mobilenet_v1", "edge", "fda", {"dataflow": "os_yx"})
    result = run(RunSpec(problem=problem, optimizer="cmaes", seed=0, max_evaluations=100))
    assert result.evaluations == 1 and result.stopped_by == "exhausted"
    space = make_space("fda", get_workload("mobilenet_v1"), get_platform("edge"), dataflow="os_yx")
    expected = evaluate(space.decode(np.empty((1, 0))), get_workload("mobilenet_v1"), get_platform("edge"))
    assert result.best_objectives[0] == expected.edp[0]
