"""The compiled list schedule and greedy assignment against the numpy loops
they replaced (``schedule_reference``), bit for bit, on random DAGs."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from objectives import schedule
from objectives.workloads import get_workload
from tests.objectives import schedule_reference as reference

# Few distinct values make ties (equal keys, equal finish times) common, which
# is where a stable sort or a first-minimum argmin would show a difference;
# inf and NaN check that both propagate as numpy's maximum does.
TIMES = st.sampled_from([0.5, 1.0, 2.0, 3.0]) | st.floats(1e-6, 10.0)
SPECIAL = TIMES | st.sampled_from([np.inf, np.nan])


@st.composite
def dags(draw, max_layers=12):
    """``(L, D)`` predecessors, -1 padded anywhere; each layer reads only earlier layers."""
    L = draw(st.integers(1, max_layers))
    D = draw(st.integers(1, 3))
    preds = np.full((L, D), -1, dtype=np.int64)
    for layer in range(1, L):
        chosen = draw(st.lists(st.integers(0, layer - 1), max_size=D, unique=True))
        slots = draw(st.permutations(range(D)))[: len(chosen)]
        preds[layer, slots] = chosen
    return preds


@st.composite
def problems(draw, special=False):
    preds = draw(dags())
    L, D = preds.shape
    P = draw(st.integers(1, 4))
    C = draw(st.integers(1, 3))
    priority = draw(arrays(np.float64, (P, L), elements=st.sampled_from([0.0, 0.25, 1.0]) | st.floats(0, 1)))
    order = schedule.schedule_order(priority, preds)
    want = reference.schedule_order(priority, preds, reference.dependency_levels(preds))
    np.testing.assert_array_equal(order, want)
    return preds, order, P, C, (SPECIAL if special else TIMES)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), special=st.booleans(), released=st.booleans())
def test_list_schedule_matches_numpy(data, special, released):
    preds, order, P, C, values = data.draw(problems(special))
    L, D = preds.shape
    latency = data.draw(arrays(np.float64, (P, L), elements=values))
    layer_core = data.draw(arrays(np.int64, (P, L), elements=st.integers(0, C - 1)))
    delay = data.draw(arrays(np.float64, (L, D), elements=st.just(0.0) | values))
    # The reference takes the delay per design, paid only between cores, as the evaluator built it.
    safe_preds = np.where(preds >= 0, preds, 0)
    crosses = (preds >= 0)[None] & (layer_core[:, safe_preds] != layer_core[:, :, None])
    transfer = np.where(crosses, delay, 0.0)
    release = data.draw(arrays(np.float64, (P, L), elements=st.just(0.0) | values)) if released else None

    with np.errstate(invalid="ignore"):  # inf - inf in start = finish - latency
        got = schedule.list_schedule(latency, layer_core, order, preds, delay, C, release)
        want = reference.list_schedule_finish(latency, layer_core, order, preds, transfer, C, release)
        np.testing.assert_array_equal(got.start_s, want - latency)
    np.testing.assert_array_equal(got.finish_s, want)
    np.testing.assert_array_equal(got.makespan_s, want.max(axis=1, initial=0.0))


@settings(max_examples=150, deadline=None)
@given(data=st.data(), special=st.booleans(), biased=st.booleans())
def test_greedy_assign_matches_numpy(data, special, biased):
    preds, order, P, C, values = data.draw(problems(special))
    L = preds.shape[0]
    latency = data.draw(arrays(np.float64, (P, L, C), elements=values))
    active = data.draw(arrays(np.bool_, (P, C)))
    bias = data.draw(arrays(np.float64, (P, L, C), elements=st.floats(-2, 2) | st.just(0.0))) if biased else None

    got = schedule.greedy_assign(np.ascontiguousarray(latency.transpose(0, 2, 1)), active, order, preds, bias)
    np.testing.assert_array_equal(got, reference.greedy_assign(latency, active, order, preds, bias))


def test_release_time_delays_a_layer_and_what_follows_it():
    # Chain 0 -> 1 on one core, 1 s each: released at 0 they finish at 1, 2;
    # layer 1 released at 5 starts at 5 (not 1), layer 0 at 0.5 shifts both.
    preds = np.array([[-1], [0]])
    latency = np.ones((3, 2))
    release = np.array([[0.0, 0.0], [0.0, 5.0], [0.5, 0.0]])
    timing = schedule.list_schedule(
        latency, np.zeros((3, 2), dtype=np.int64), np.array([[0, 1]] * 3), preds, np.zeros((2, 1)), 1, release
    )
    np.testing.assert_array_equal(timing.start_s, [[0.0, 1.0], [0.0, 5.0], [0.5, 1.5]])
    np.testing.assert_array_equal(timing.makespan_s, [2.0, 6.0, 2.5])


def test_greedy_prefers_the_core_that_finishes_first_and_skips_inactive_ones():
    # Two independent 1 s layers, cores 0 and 1 equally fast: the second goes
    # to the idle core 1. With core 1 inactive both queue on core 0; a bias of
    # +10 s on core 1 for layer 1 keeps it on core 0 as well.
    preds = np.full((2, 1), -1)
    latency = np.ones((1, 2, 2))  # (P, C, L)
    order = np.array([[0, 1]])
    both = np.array([[True, True]])
    assert schedule.greedy_assign(latency, both, order, preds, None).tolist() == [[0, 1]]
    assert schedule.greedy_assign(latency, np.array([[True, False]]), order, preds, None).tolist() == [[0, 0]]
    bias = np.zeros((1, 2, 2))
    bias[0, 1, 1] = 10.0
    assert schedule.greedy_assign(latency, both, order, preds, bias).tolist() == [[0, 0]]


def test_transfer_is_paid_only_between_cores():
    # Chain 0 -> 1, 1 s each, 0.5 s to move layer 0's output: on one core
    # layer 1 starts at 1, on two cores at 1.5.
    timing = schedule.list_schedule(
        np.ones((2, 2)), np.array([[0, 0], [0, 1]]), np.array([[0, 1]] * 2), np.array([[-1], [0]]),
        np.array([[0.0], [0.5]]), 2,
    )  # fmt: skip
    np.testing.assert_array_equal(timing.start_s, [[0.0, 1.0], [0.0, 1.5]])


def compiled_order(priority, preds):
    """``schedule._order_kernel``'s order, which designs it left to numpy and their raised keys."""
    P, L = priority.shape
    order, fallback, raised = np.full((P, L), -1, dtype=np.int64), np.empty(P, dtype=np.bool_), np.empty((P, L))
    schedule._order_kernel(np.array(priority, dtype=np.float64), np.array(preds, dtype=np.int64), 16 * L, order,
                           fallback, raised, np.empty(L), np.empty((4, max(L, 1)), dtype=np.int64))  # fmt: skip
    return order, fallback, raised


def stable_argsort_of_raised_keys(priority, preds):
    return np.argsort(reference.topological_priority(priority, preds, reference.dependency_levels(preds)), axis=1,
                      kind="stable")  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_schedule_order_is_the_stable_argsort_of_the_raised_keys(data):
    # Larger DAGs than problems() and mostly distinct priorities, so that most
    # designs take the compiled path; ties, NaN, -0.0 and inf the other.
    preds = data.draw(dags(max_layers=40))
    P = data.draw(st.integers(1, 4))
    if data.draw(st.booleans()):  # distinct values
        priority = data.draw(arrays(np.float64, (P, preds.shape[0]), elements=st.floats(-10, 10), unique=True))
    else:
        values = st.floats(-10, 10) | st.sampled_from([0.0, -0.0, 0.5, np.inf, -np.inf, np.nan])
        priority = data.draw(arrays(np.float64, (P, preds.shape[0]), elements=values))
    want = stable_argsort_of_raised_keys(priority, preds)
    np.testing.assert_array_equal(schedule.schedule_order(priority, preds), want)
    order, fallback, raised = compiled_order(priority, preds)
    np.testing.assert_array_equal(order[~fallback], want[~fallback])
    keys = reference.topological_priority(priority, preds, reference.dependency_levels(preds))
    np.testing.assert_array_equal(raised[fallback], keys[fallback])
    np.testing.assert_array_equal(schedule.topological_priority(priority, preds), keys)


def test_schedule_order_on_a_zoo_workload_takes_the_compiled_path():
    # What a search sends: random priorities on a 412-layer workload of three
    # models; every design is ordered by the kernel, as numpy orders it.
    preds = get_workload("herald_arvr_a").preds
    rng = np.random.default_rng(3)
    for priority in (rng.uniform(0, 1, (32, len(preds))), rng.normal(0, 1, (32, len(preds)))):
        order, fallback, _ = compiled_order(priority, preds)
        assert not fallback.any()
        np.testing.assert_array_equal(order, stable_argsort_of_raised_keys(priority, preds))

def test_compiled_order_by_hand_and_the_designs_it_leaves_to_numpy():
    # 0 -> 1, 0 -> 2, (1, 2) -> 3, 4 alone.  Raised keys 0.5, 0.5, 0.9, 0.9, 0.3
    # (sources 0, 2 and 4): 4 first, then 0 and 1 (ties by index), then 2 and 3.
    preds = np.array([[-1, -1], [0, -1], [0, -1], [1, 2], [-1, -1]])
    order, fallback, _ = compiled_order(np.array([[0.5, 0.1, 0.9, 0.2, 0.3]]), preds)
    assert order.tolist() == [[4, 0, 1, 2, 3]] and not fallback[0]
    # Left to numpy: a NaN priority; two sources of one value (4 and 0 at 0.5,
    # whose layers interleave by index); a chain of rising priorities, every
    # layer a source (S^2 > 16 L from S = 26 of L = 40).
    chain = np.array([[-1]] + [[i] for i in range(39)])
    cases = [
        (np.array([[0.5, 0.1, np.nan, 0.2, 0.3]]), preds, [[4, 0, 1, 2, 3]]),  # NaN keys last
        (np.array([[0.5, 0.1, 0.9, 0.2, 0.5]]), preds, [[0, 1, 4, 2, 3]]),
        (np.arange(40.0)[None], chain, [list(range(40))]),
    ]
    for priority, dag, want in cases:
        order, fallback, _ = compiled_order(priority, dag)
        assert fallback[0]
        assert schedule.schedule_order(priority, dag).tolist() == want
        np.testing.assert_array_equal(stable_argsort_of_raised_keys(priority, dag), want)

def test_max_is_numpys_maximum_on_nan_inf_and_signed_zeros():
    # The kernels' scalar maximum, written so that it compiles branch-free,
    # must still be np.maximum's value: a NaN on either side wins; between
    # equal values (-0.0 and 0.0, on which numpy's own SIMD and scalar loops
    # differ) it keeps the first argument, as it always has.
    values = [np.nan, -np.inf, -1.0, -0.0, 0.0, 0.5, np.inf]
    for a in values:
        for b in values:
            got, want = schedule._max(a, b), np.maximum(a, b)
            assert np.isnan(got) == np.isnan(want) and (np.isnan(want) or got == want), (a, b, got)
            if a == b:
                assert np.signbit(got) == np.signbit(a), (a, b, got)
