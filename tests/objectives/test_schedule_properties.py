"""Scheduler invariants on random workloads and designs (hypothesis)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from objectives import evaluate
from objectives.workloads import ModelBuilder, ModelEntry, Workload
from spaces import get_platform
from tests.objectives.helpers import random_designs

MOBILE = get_platform("mobile")


@st.composite
def random_workloads(draw):
    """1-3 DAG models of 1-6 layers; each layer reads from 1-2 earlier layers."""
    entries = []
    for m in range(draw(st.integers(1, 3))):
        b = ModelBuilder(f"m{m}")
        for i in range(draw(st.integers(1, 6))):
            after = ()
            if i:
                after = tuple(sorted(set(draw(st.lists(st.integers(0, i - 1), min_size=1, max_size=2)))))
            kind = draw(st.sampled_from(["conv", "dw", "fc"]))
            size = draw(st.sampled_from([7, 14, 28]))
            if kind == "conv":
                b.conv(f"l{i}", k=draw(st.sampled_from([16, 64])), c=16, y=size, r=3, after=after)
            elif kind == "dw":
                b.dwconv(f"l{i}", channels=32, y=size, r=3, after=after)
            else:
                b.gemm(f"l{i}", k=draw(st.sampled_from([10, 256])), c=512, after=after)
        entries.append(ModelEntry(b.build(), batch=draw(st.integers(1, 2))))
    return Workload.from_models("random", entries)


def critical_path(workload, latency):
    """Longest dependency chain per design, ``(P,)``, by dynamic programming."""
    longest = np.zeros_like(latency)
    for layer in range(workload.num_layers):
        preds = workload.preds[layer][workload.preds[layer] >= 0]
        before = longest[:, preds].max(axis=1) if preds.size else 0.0
        longest[:, layer] = before + latency[:, layer]
    return longest.max(axis=1)


@settings(max_examples=40, deadline=None)
@given(workload=random_workloads(), seed=st.integers(0, 2**31), greedy=st.booleans(), cores=st.integers(1, 3))
def test_schedule_invariants(workload, seed, greedy, cores):
    rng = np.random.default_rng(seed)
    designs = random_designs(rng, workload, num_designs=5, num_cores=cores, greedy=greedy)
    result = evaluate(designs, workload, MOBILE, with_schedule=True)
    assert result.feasible.all()
    start, finish, core = (result.schedule[k] for k in ("start_s", "finish_s", "core"))
    latency = finish - start
    assert (latency > 0).all()
    # No layer starts before its predecessors end.
    for layer in range(workload.num_layers):
        for pred in workload.preds[layer][workload.preds[layer] >= 0]:
            assert (start[:, layer] >= finish[:, pred] - 1e-15).all()
    # Two layers never overlap on one core.
    for p in range(designs.num_designs):
        for c in range(cores):
            on_core = np.flatnonzero(core[p] == c)
            spans = sorted(zip(start[p, on_core], finish[p, on_core]))
            for (_, end), (begin, _) in zip(spans, spans[1:]):
                assert begin >= end - 1e-15
    # Makespan bounds: the longest chain and the busiest core.
    makespan = result.latency_s
    assert (makespan >= critical_path(workload, latency) * (1 - 1e-12)).all()
    busy = np.stack([np.where(core == c, latency, 0).sum(axis=1) for c in range(cores)], axis=1)
    assert (makespan >= busy.max(axis=1) * (1 - 1e-12)).all()


@settings(max_examples=15, deadline=None)
@given(workload=random_workloads(), seed=st.integers(0, 2**31), greedy=st.booleans())
def test_batch_equals_single_evaluations(workload, seed, greedy):
    rng = np.random.default_rng(seed)
    designs = random_designs(rng, workload, num_designs=6, num_cores=3, greedy=greedy)
    batch = evaluate(designs, workload, MOBILE)
    for p in range(designs.num_designs):
        single = evaluate(designs.take(p), workload, MOBILE)
        for field in ("latency_s", "energy_j", "edp", "stp", "antt", "fairness", "utilization"):
            assert getattr(single, field)[0] == getattr(batch, field)[p], field
        assert (single.layer_core[0] == batch.layer_core[p]).all()


@settings(max_examples=40, deadline=None)
@given(workload=random_workloads(), seed=st.integers(0, 2**31), greedy=st.booleans(), cores=st.integers(1, 3))
def test_progress_is_per_instance_and_at_most_one(workload, seed, greedy, cores):
    """Co-location only slows an instance down: progress in (0, 1], so STP <= instances and ANTT >= 1.

    A model run several times once counted all its runs as isolated time
    against its last run's finish: progress 3.86, STP 4 with 3 models.
    """
    rng = np.random.default_rng(seed)
    designs = random_designs(rng, workload, num_designs=5, num_cores=cores, greedy=greedy)
    result = evaluate(designs, workload, MOBILE, with_schedule=True)
    instances = int(workload.batch.sum())
    assert result.progress.shape == (5, instances)
    assert ((result.progress > 0) & (result.progress <= 1)).all()
    assert (result.stp <= instances).all() and (result.stp > 0).all()
    assert (result.antt >= 1).all() and ((result.fairness > 0) & (result.fairness <= 1)).all()
    # Each instance's shared finish is where its last layer ends; its model's latency is its last instance's.
    finish = result.schedule["finish_s"]
    blocks = np.split(np.arange(workload.num_layers), np.cumsum([m.num_layers for m, b in
                                                                 zip(workload.models, workload.batch)
                                                                 for _ in range(b)])[:-1])
    shared = np.stack([finish[:, block].max(axis=1) for block in blocks], axis=1)
    assert np.allclose(result.stp, (result.progress).sum(axis=1))
    assert np.allclose(result.antt, (1 / result.progress).mean(axis=1))
    owner = np.repeat(np.arange(workload.num_models), workload.batch)
    for m in range(workload.num_models):
        assert np.allclose(result.model_latency_s[:, m], shared[:, owner == m].max(axis=1))


def test_an_instance_alone_on_its_core_makes_full_progress():
    """Two runs of one model on two cores: each runs as if alone, STP 2; on one core the second waits."""
    b = ModelBuilder("net")
    b.gemm("a", k=256, c=512)
    b.gemm("b", k=256, c=256)
    workload = Workload.from_models("twice", [ModelEntry(b.build(), batch=2)])
    from spaces import single_design

    apart = single_design(core_pes=[256, 256], core_dataflow=["ws_kc"] * 2, layer_core=[0, 0, 1, 1])
    together = single_design(core_pes=[256, 256], core_dataflow=["ws_kc"] * 2, layer_core=[0, 0, 0, 0])
    r_apart, r_together = evaluate(apart, workload, MOBILE), evaluate(together, workload, MOBILE, with_schedule=True)
    assert r_apart.progress[0].tolist() == [1.0, 1.0] and r_apart.stp[0] == 2.0
    # One core, the runs advancing side by side: a0 a1 b0 b1, so run 0 ends at 2a + b, run 1 at 2a + 2b.
    a, b = (r_together.schedule["finish_s"] - r_together.schedule["start_s"])[0, [0, 1]]
    assert np.allclose(r_together.progress[0], [(a + b) / (2 * a + b), 0.5])
    assert np.isclose(r_together.stp[0], (a + b) / (2 * a + b) + 0.5)
