"""The compiled kernels see one argument type each, wherever their inputs come from.

Numba compiles (and caches on disk) one machine-code version per argument
type, and types a read-only array apart from a writeable one.  A Ray worker
gets its workload and mapper tables from the object store as read-only
arrays, a default placement order is a broadcast view: each such input
compiled every kernel again, cold, in the worker and in the driver.  Here a
"worker" receives the driver's workload, platform and tables as Ray hands
them over (pickle protocol 5, buffers read-only) and scores batches of every
kind; each kernel must see the driver's types, and the worker the driver's
results.
"""

import collections
import dataclasses
import pickle

import numba
import numpy as np
import pytest

from objectives import evaluate, evaluator, mapper_kernels, roofline, schedule
from spaces import get_platform
from tests.objectives.helpers import gemm_model, random_designs, small_cnn, workload_of

# (module, name) of every kernel ``evaluate`` calls from Python (nested kernels are compiled with these).
KERNELS = (
    (evaluator, "_layer_off_active_cores"), (schedule, "_order_kernel"), (roofline, "_greedy_kernel"),
    (roofline, "_score_kernel"), (mapper_kernels, "candidate_scores"), (mapper_kernels, "choose_sorted"),
)  # fmt: skip


def as_from_object_store(value):
    """``value`` pickled and read back the way Ray's object store hands it out: arrays on read-only buffers."""
    buffers = []
    data = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    return pickle.loads(data, buffers=[buffer.raw().toreadonly() for buffer in buffers])


def batches(workload, seed):
    """Explicit and greedy mappings, with priorities and with the default order, of 1 and 6 designs."""
    rng = np.random.default_rng(seed)
    for greedy in (False, True):
        for num_designs in (1, 6):
            designs = random_designs(rng, workload, num_designs, num_cores=3, pes_choices=(64, 256, 512),
                                     greedy=greedy)  # fmt: skip
            yield designs
            yield dataclasses.replace(designs, layer_priority=None)


@pytest.fixture
def kernel_types(monkeypatch):
    """Each kernel's argument types, as numba types them, for every call while the test runs."""
    seen = collections.defaultdict(set)
    for module, name in KERNELS:
        kernel = getattr(module, name)

        def recording(*args, kernel=kernel, name=name):
            seen[name].add(tuple(numba.typeof(a) for a in args))
            return kernel(*args)

        monkeypatch.setattr(module, name, recording)
    return seen


def test_a_worker_given_the_drivers_tables_calls_every_kernel_with_the_drivers_types(monkeypatch, kernel_types):
    for name in ("_STORES", "_ARRAYS"):  # this test's stores only, and the others' left as they were
        monkeypatch.setattr(evaluator, name, collections.OrderedDict())
    monkeypatch.setattr(evaluator, "_LAST_STORE", {})
    workload, platform = workload_of(small_cnn(), gemm_model()), get_platform("edge")
    driver = [evaluate(designs, workload, platform) for designs in batches(workload, seed=1)]
    store = evaluator.known_tables(workload, platform)
    w_workload, w_platform, w_store = as_from_object_store((workload, platform, store))
    assert not w_workload.preds.flags.writeable  # as a worker gets it
    evaluator._STORES.clear()
    evaluator._LAST_STORE.clear()
    evaluator.adopt_tables(w_store, w_workload, w_platform)
    mapped = len(w_store.offsets)
    worker = [evaluate(designs, w_workload, w_platform) for designs in batches(w_workload, seed=1)]
    for designs in batches(w_workload, seed=2):  # cores the driver never mapped: added to the shipped tables
        evaluate(designs, w_workload, w_platform)
    assert len(w_store.offsets) > mapped

    for _, name in KERNELS:
        assert len(kernel_types[name]) == 1, (name, kernel_types[name])
    for got, want in zip(worker, driver):
        for field in ("edp", "latency_s", "energy_j", "layer_core", "progress"):
            np.testing.assert_array_equal(getattr(got, field), getattr(want, field), field)
