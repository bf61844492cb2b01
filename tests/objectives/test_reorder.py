"""Herald's look-ahead post-processing (Fig. 9): a hand-built case it fixes, brute force on small ones."""

import itertools

import numpy as np
import pytest

from objectives import evaluate, schedule
from objectives.reorder import herald_reorder
from spaces import get_platform, single_design
from tests.objectives.helpers import small_cnn, workload_of


def makespan(latency, cores, order, preds, transfer, num_cores):
    return schedule.list_schedule(latency[None], cores[None], order[None], preds, transfer, num_cores).makespan_s[0]


def is_topological(order, preds):
    position = np.empty(len(order), dtype=int)
    position[order] = np.arange(len(order))
    return all(position[p] < position[l] for l in range(len(order)) for p in preds[l] if p >= 0)


def test_a_bad_order_that_idles_a_core_is_fixed_by_look_ahead():
    """Model A: a1 (core 1, 10 s) -> a2 (core 0, 1 s); model B: b0 -> b1 -> b2 (core 0; 1, 5, 5 s).

    Placed a1, b0, a2, b1, b2, core 0 idles from 1 s (b0 done) to 10 s (a2's input): 21 s.  After b0,
    b1 is ready at 1 s, two places ahead: moved, then b2 after b1, giving b0 b1 b2 a2 on core 0 and
    12 s, which is core 0's total work (1 + 5 + 5 + 1) and so optimal.
    """
    latency = np.array([10.0, 1.0, 1.0, 5.0, 5.0])
    cores = np.array([1, 0, 0, 0, 0])
    preds = np.array([[-1], [0], [-1], [2], [3]])
    transfer = np.zeros((5, 1))
    order = np.array([0, 2, 1, 3, 4])
    assert makespan(latency, cores, order, preds, transfer, 2) == 21.0
    new = herald_reorder(latency[None], cores[None], order[None], preds, transfer, 2, lookahead=3)[0]
    assert is_topological(new, preds)
    assert [l for l in new if cores[l] == 0] == [2, 3, 4, 1]
    assert makespan(latency, cores, new, preds, transfer, 2) == 12.0
    # Depth 2 looks only at the layer already next: nothing moves.
    same = herald_reorder(latency[None], cores[None], order[None], preds, transfer, 2, lookahead=2)[0]
    assert same.tolist() == order.tolist()


def all_topological_orders(preds):
    L = len(preds)
    for perm in itertools.permutations(range(L)):
        if is_topological(np.array(perm), preds):
            yield np.array(perm)


@pytest.mark.parametrize("seed", range(12))
def test_never_worse_than_its_input_and_never_better_than_brute_force(seed):
    """Random 6-layer DAGs on 2 cores with transfers: every topological order's makespan, brute force."""
    rng = np.random.default_rng(seed)
    L = 6
    preds = np.full((L, 2), -1)
    for l in range(1, L):
        chosen = rng.choice(l, size=min(l, rng.integers(0, 3)), replace=False)
        preds[l, : len(chosen)] = chosen
    latency = rng.uniform(0.5, 5.0, L)
    cores = rng.integers(0, 2, L)
    transfer = rng.uniform(0.0, 1.0, (L, 2))
    orders = list(all_topological_orders(preds))
    spans = [makespan(latency, cores, o, preds, transfer, 2) for o in orders]
    best = min(spans)
    for o, span in zip(orders[::7], spans[::7]):
        for depth in (3, 4, 6):
            new = herald_reorder(latency[None], cores[None], o[None], preds, transfer, 2, depth)[0]
            assert is_topological(new, preds)
            assert sorted(new.tolist()) == list(range(L))
            after = makespan(latency, cores, new, preds, transfer, 2)
            assert best - 1e-12 <= after <= span + 1e-12


def test_the_evaluator_option_never_lengthens_a_schedule_and_keeps_the_mapping():
    """Two batched CNNs spread over three cores in a model-major order; look-ahead 4 on the edge budget."""
    workload = workload_of(small_cnn("x"), small_cnn("y"), batch=2)
    L = workload.num_layers
    rng = np.random.default_rng(3)
    layer_core = rng.integers(0, 3, L)
    designs = single_design(core_pes=[256, 256, 256], core_dataflow=["ws_kc", "os_yx", "ws_kc"],
                            layer_core=layer_core.tolist(), layer_priority=np.arange(L, dtype=float).tolist())
    edge = get_platform("edge")
    plain = evaluate(designs, workload, edge)
    herald = evaluate(designs, workload, edge.replace(schedule_lookahead=4))
    assert herald.latency_s[0] <= plain.latency_s[0]
    assert herald.layer_core.tolist() == plain.layer_core.tolist()
    assert herald.dynamic_energy_j[0] == pytest.approx(plain.dynamic_energy_j[0], rel=1e-12)
