"""Small workloads and designs shared by the evaluator tests."""

import contextlib

import numpy as np

from objectives.workloads import ModelBuilder, ModelEntry, Workload
from spaces import DATAFLOWS, DesignBatch


def gemm_model(name="fc", k=1024, c=1024, y=1):
    b = ModelBuilder(name)
    b.gemm("fc", k=k, c=c, y=y)
    return b.build()


def small_cnn(name="cnn"):
    b = ModelBuilder(name)
    stem = b.conv("stem", k=32, c=3, y=56, r=3, stride=2)
    b.dwconv("dw", channels=32, y=56, r=3)
    branch = b.conv("pw", k=32, c=32, y=56, r=1)
    b.conv("merge", k=64, c=32, y=28, r=3, stride=2, after=(branch, stem))
    b.gemm("head", k=10, c=64)
    return b.build()


def workload_of(*models, batch=1, targets=None):
    entries = [
        ModelEntry(m, batch=batch, latency_target_s=float("nan") if targets is None else targets[i])
        for i, m in enumerate(models)
    ]
    return Workload.from_models("test", entries)


def random_designs(rng, workload, num_designs, num_cores, pes_choices=(64, 128, 256), greedy=False):
    """Random feasible designs (every core active) for property tests."""
    P, C, L = num_designs, num_cores, workload.num_layers
    dataflows = tuple(DATAFLOWS.values())
    bw = rng.uniform(0.1, 1.0, (P, C))
    buf = rng.uniform(0.1, 1.0, (P, C))
    return DesignBatch(
        core_pes=rng.choice(pes_choices, (P, C)).astype(np.int64),
        core_size=np.full((P, C), -1, dtype=np.int64),
        core_dataflow=rng.integers(0, len(dataflows), (P, C)),
        bw_share=bw / bw.sum(1, keepdims=True),
        buffer_share=buf / buf.sum(1, keepdims=True),
        layer_core=np.full((P, L), -1) if greedy else rng.integers(0, C, (P, L)),
        layer_priority=rng.uniform(0, 1, (P, L)),
        dataflows=dataflows,
    )


@contextlib.contextmanager
def registered_metric(metric):
    """``metric`` in the metrics table for the duration of the block (tests only: the table is global)."""
    from objectives import metrics

    metrics.register(metric)
    try:
        yield metric
    finally:
        del metrics.METRICS[metric.name]
