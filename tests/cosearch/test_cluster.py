"""A two-node Ray cluster on this machine (ray.cluster_utils): runs land on both nodes.

Marked ``cluster`` (deselected by default): ``python -m pytest -m cluster tests/cosearch``.
"""

import numpy as np
import pytest

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from cosearch.experiment import ExperimentSpec, SyntheticProblem, run_experiment  # noqa: E402

pytestmark = pytest.mark.cluster


@pytest.fixture
def two_nodes():
    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster
    if ray.is_initialized():
        ray.shutdown()
    cluster.shutdown()


def test_experiment_spreads_over_both_nodes(two_nodes):
    spec = ExperimentSpec(
        problems=(SyntheticProblem(dim=5, seconds_per_batch=0.05),),
        optimizers=(("random", {"batch_size": 10}), "cmaes"),
        seeds=(0, 1),
        max_evaluations=200,
    )
    remote = run_experiment(spec, executor="ray", address=two_nodes.address)
    assert len(remote.runs) == 4 and not remote.failures
    assert len(set(remote.nodes.values())) == 2, remote.nodes
    local = run_experiment(spec)
    for label, run in local.runs.items():
        assert (run.best_x == remote.runs[label].best_x).all()
    assert local.archives["synthetic5"].same_front(remote.archives["synthetic5"])
    assert not ray.is_initialized()  # the executor connected, so it disconnected


def test_one_run_split_over_both_nodes_gives_the_in_process_results(two_nodes):
    from cosearch import distributed
    from cosearch.experiment import TinyProblem

    spec = ExperimentSpec(
        problems=(TinyProblem(),), optimizers=(("cmaes", {"popsize": 24}),), seeds=(0,), max_evaluations=96
    )
    # One run, two 1-CPU nodes: the run gets both, and every batch after the first is split.
    executor = distributed.RayExecutor(address=two_nodes.address, population_split=0.0)
    remote = run_experiment(spec, executor=executor)
    (label, run), = run_experiment(spec).runs.items()
    np.testing.assert_array_equal(run.best_x, remote.runs[label].best_x)
    assert run.history == remote.runs[label].history | {"seconds": run.history["seconds"]}
    assert run.archive.same_front(remote.runs[label].archive)
