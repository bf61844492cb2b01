"""Every serving policy on hand-computed cases (two requests, one or two layers each),
and the shared policy's kernel against a plain-Python reference on random small streams."""

import dataclasses

import numpy as np
import pytest

from objectives import serving as sv
from objectives import serving_policies
from objectives.evaluator import CoreLayerCosts
from tests.objectives.serving_reference import reference_shared


def chains(*models, transfer_s=0.0):
    """Tenant layer graphs, each a chain of the given global layers."""
    T, J = len(models), max(len(m) for m in models)
    layer = np.full((T, J), -1)
    preds = np.full((T, J, 1), -1)
    for t, m in enumerate(models):
        layer[t, : len(m)] = m
        preds[t, 1 : len(m), 0] = np.arange(len(m) - 1)
    return sv.TenantLayers(layer=layer, preds=preds, transfer_s=np.where(preds >= 0, transfer_s, 0.0),
                           single=preds[:, :, 0] >= 0)


def tables(latency, layers, chained=None):
    """One design whose layer l takes ``latency[l][c]`` s on core c (2 W while it runs)."""
    lat = np.asarray(latency, dtype=np.float64).T[None]  # (1, C, L)
    chain = lat if chained is None else np.asarray(chained, dtype=np.float64).T[None]
    costs = CoreLayerCosts(latency_s=lat, dynamic_j=2 * lat, chained_latency_s=chain, chained_dynamic_j=2 * chain,
                           static_w=np.array([1.0]), active=np.ones(lat.shape[:2], dtype=bool),
                           reason=np.zeros(1, dtype=np.int8))
    return sv.core_tables(costs, layers)


def tenant(name, at, *, priority=1, qos=10.0):
    return sv.Tenant(name, "m", sv.Trace((at,)), qos, priority=priority, requests=1)


def finish(policy, table, layers, *tenants, **options):
    scenario = sv.Scenario(tenants, policy=policy, policy_options=options)
    return sv.POLICIES[policy].run(table, layers, sv.request_stream(scenario), scenario, np.ones(1)).finish[0]


# Tenant a: L0 -> L1; tenant b: L2 alone.  Core 0 is fast for L0, core 1 for L1 and L2.
A_B = chains([0, 1], [2], transfer_s=0.5)
COSTS = [[1.0, 10.0], [10.0, 1.0], [10.0, 1.0]]


def test_shared_best_fit_prices_transfers_and_back_fills_idle_time():
    # a: L0 on core 0 [0, 1]; L1 on core 1 once L0's output crossed (0.5 s): [1.5, 2.5].
    # b arrives at 0 too, after a: L2 fits core 1's idle [0, 1.5) -> [0, 1] rather than [2.5, 3.5].
    np.testing.assert_allclose(finish("shared", tables(COSTS, A_B), A_B, tenant("a", 0.0), tenant("b", 0.0)),
                               [2.5, 1.0])


def test_shared_keeps_a_chained_layer_where_its_input_is():
    # L1 chained on core 0 costs 0.2 s (input in the buffer): [1, 1.2] beats core 1's [1.5, 2.5].
    chained = [[1.0, 10.0], [0.2, 1.0], [10.0, 1.0]]
    np.testing.assert_allclose(
        finish("shared", tables(COSTS, A_B, chained), A_B, tenant("a", 0.0), tenant("b", 0.0)), [1.2, 1.0])


def test_pinned_keeps_each_tenant_on_its_cores():
    # a only on core 0: L0 [0, 1], L1 [1, 11]; b only on core 1: [0, 1].
    got = finish("pinned", tables(COSTS, A_B), A_B, tenant("a", 0.0), tenant("b", 0.0), cores={"a": [0], "b": [1]})
    np.testing.assert_allclose(got, [11.0, 1.0])


def test_whole_request_runs_a_request_on_the_core_where_it_finishes_first():
    # a: 1 + 10 = 11 s on core 0, 10 + 0.5 = 10.5 on core 1 -> core 1 [0, 10.5];
    # b: core 0 [0, 10] beats core 1 [10.5, 11.5].
    costs = [[1.0, 10.0], [10.0, 0.5], [10.0, 1.0]]
    np.testing.assert_allclose(finish("whole_request", tables(costs, A_B), A_B, tenant("a", 0.0), tenant("b", 0.0)),
                               [10.5, 10.0])


# Two tenants of one 2-layer chain (1 s a layer) on one core: lo arrives at 0, hi at 0.5.
SAME = chains([0, 1], [0, 1])
ONE_CORE = tables([[1.0], [1.0]], SAME)


def test_priority_lets_a_later_request_of_higher_priority_go_first():
    # lo L0 [0, 1]; at 1 hi is ready: hi L0 [1, 2], hi L1 [2, 3]; lo L1 [3, 4].
    got = finish("priority", ONE_CORE, SAME, tenant("lo", 0.0, priority=1), tenant("hi", 0.5, priority=5))
    np.testing.assert_allclose(got, [4.0, 3.0])
    fifo = finish("shared", ONE_CORE, SAME, tenant("lo", 0.0, priority=1), tenant("hi", 0.5, priority=5))
    np.testing.assert_allclose(fifo, [2.0, 4.0])


def test_prema_tokens_age_a_waiting_request_into_the_candidates():
    # At 1: lo's token 4 x (1 + 0/2) < threshold 5, hi's 5 x (1 + 0.5/2) -> hi L0 [1, 2] (preempting lo).
    # At 2: lo waited 1 s: 4 x 1.5 = 6 >= 5; both have 1 s left, lo arrived first -> lo L1 [2, 3]; hi L1 [3, 4].
    got = finish("prema", ONE_CORE, SAME, tenant("lo", 0.0, priority=4), tenant("hi", 0.5, priority=5))
    np.testing.assert_allclose(got, [3.0, 4.0])
    strict = finish("priority", ONE_CORE, SAME, tenant("lo", 0.0, priority=4), tenant("hi", 0.5, priority=5))
    np.testing.assert_allclose(strict, [4.0, 3.0])


# Two identical cores = two subarrays; one 2-layer chain, 2 s a layer on one subarray.
TWO = tables([[2.0, 2.0], [2.0, 2.0]], SAME)


def test_planaria_gives_a_lone_request_every_subarray_then_splits_them():
    # a alone: 1 + spare 1 = 2 subarrays, L0 [0, 1].  b at 0.5: both need 1 (4 s in a 10 s slack), no spare:
    # b waits for a's layer; at 1 each takes 1: a L1 [1, 3], b L0 [1, 3]; b alone then takes 2: L1 [3, 4].
    np.testing.assert_allclose(finish("planaria", TWO, SAME, tenant("a", 0.0), tenant("b", 0.5)), [3.0, 4.0])
    # PREMA runs one at a time on both: a [0, 1] then, the shortest remaining job, a L1 [1, 2]; b [2, 4].
    np.testing.assert_allclose(finish("prema", TWO, SAME, tenant("a", 0.0), tenant("b", 0.5)), [2.0, 4.0])


def test_planaria_puts_the_tight_request_first_when_the_minima_do_not_fit():
    # b's bound 2.6 s needs both subarrays (4 s of work); a needs 1: 3 > 2, so by priority / (slack x minimum)
    # b (1 / 5.2) outranks a (1 / 9.5): b takes both once a's L0 ends: [1, 2], [2, 3]; then a L1 on both [3, 4].
    got = finish("planaria", TWO, SAME, tenant("a", 0.0), tenant("b", 0.5, qos=2.6))
    np.testing.assert_allclose(got, [4.0, 3.0])


def test_planaria_serves_a_request_past_its_bound_after_one_that_can_still_make_it():
    # One 2 s layer per request, two subarrays.  b (bound 100 s) has both over [0, 1]; a (at 0.1, bound
    # 0.5 s) and c (at 0.5, bound 2 s) wait.  When b ends, at 1, a needs both (slack -0.4 s) and so does c
    # (2 s of work in 1.5 s of slack): they do not fit, and by priority / (slack x minimum) a scores
    # 1 / (-0.4 x 2) < 0, c 1 / (1.5 x 2): c takes both, [1, 2], within its bound; a then [2, 3].
    # (Clamping a's slack at a tiny positive number ranked it first: a [1, 2], c [2, 3], past c's 2.5 s.)
    one = chains([0], [0], [0])
    got = finish("planaria", tables([[2.0, 2.0]], one), one, tenant("b", 0.0, qos=100.0),
                 tenant("a", 0.1, qos=0.5), tenant("c", 0.5, qos=2.0))
    np.testing.assert_allclose(got, [1.0, 3.0, 2.0])


# Tenant a: L0 -> L1 -> L2 -> L3, its layers alternating between a core fast for them (core 0 for L0
# and L2, core 1 for L1 and L3); L1's input takes 3 s to cross, L2's and L3's 0.5 s.  Tenant b: L4 alone,
# 3 s on core 1 (1000 s on core 0).
WAITS = chains([0, 1, 2, 3], [4], transfer_s=1.0)
WAITS = dataclasses.replace(WAITS, transfer_s=WAITS.transfer_s * np.array([0.0, 3.0, 0.5, 0.5])[None, :, None])
WAITS_COSTS = [[1.0, 100.0], [100.0, 1.0], [1.0, 100.0], [100.0, 1.0], [1000.0, 3.0]]


@pytest.mark.parametrize("backfill, b_finish", [(0, 11.0), (1, 11.0), (2, 3.0), (8, 3.0), (None, 3.0)])
def test_a_deeper_backfill_reaches_an_older_idle_interval(backfill, b_finish):
    # a: L0 on core 0 [0, 1]; L1 on core 1 [4, 5] (core 1 idle [0, 4)); L2 on core 0 [5.5, 6.5]; L3 on
    # core 1 [7, 8] (core 1 idle [5, 7)).  b arrives at 0 too, after a: its 3 s fit core 1's older idle
    # interval [0, 4) -> [0, 3], not the later [5, 7).  A core that keeps one interval forgot [0, 4)
    # when [5, 7) opened (the earliest goes): b waits for core 1's last layer, [8, 11]; so does one
    # that keeps none.  None (the default) keeps every interval.
    scenario = sv.Scenario((tenant("a", 0.0), tenant("b", 0.0)), backfill=backfill)
    out = sv.POLICIES["shared"].run(tables(WAITS_COSTS, WAITS), WAITS, sv.request_stream(scenario), scenario,
                                    np.ones(1))
    np.testing.assert_array_equal(out.finish[0], [8.0, b_finish])


@pytest.mark.parametrize("backfill", [-1, 1.5, True])
def test_a_backfill_depth_is_a_whole_number_of_intervals(backfill):
    with pytest.raises(ValueError, match="backfill must be a whole number of idle intervals ≥ 0 or None"):
        sv.Scenario((tenant("a", 0.0),), backfill=backfill)


@pytest.mark.parametrize("seed", range(6))
def test_the_shared_kernel_matches_the_reference_on_random_streams(seed):
    rng = np.random.default_rng(seed)
    L, C, T = 7, 3, 2
    preds = np.full((T, 4, 2), -1)
    preds[0, 1:, 0] = [0, 0, 1]
    preds[0, 3, 1] = 2  # a diamond: 0 -> (1, 2) -> 3
    preds[1, 1:3, 0] = [0, 1]
    layers = sv.TenantLayers(layer=np.array([[0, 1, 2, 3], [4, 5, 6, -1]]), preds=preds,
                             transfer_s=np.where(preds >= 0, rng.uniform(0, 0.3, preds.shape), 0.0),
                             single=(preds[:, :, 0] >= 0) & (preds[:, :, 1] < 0))
    latency = rng.uniform(0.2, 2.0, (2, L, C))
    table = tables(latency[0], layers, chained=latency[0] * rng.uniform(0.5, 1.0, (L, C)))
    allowed = rng.uniform(size=(1, T, C)) < 0.7
    allowed[:, :, 0] = True
    scenario = sv.Scenario((sv.Tenant("a", "m", sv.Poisson(0.4), 5.0, requests=12),
                            sv.Tenant("b", "m", sv.Poisson(0.6), 5.0, requests=12)), seed=seed)
    stream = sv.request_stream(scenario)
    # The reference keeps every idle interval: an unbounded depth (no core ever holds more intervals than
    # the stream has layers, so the kernel keeps that many, not 10^12).
    got = serving_policies._run_greedy(table, layers, stream, allowed, np.ones(1), 10**12).finish
    np.testing.assert_allclose(got, reference_shared(table, layers, stream, allowed), rtol=1e-12)


@pytest.mark.parametrize("seed", range(1, 4))  # seeds whose streams bisect (52 to 64 times each)
def test_the_shared_kernel_matches_the_reference_when_cores_keep_many_idle_intervals(seed):
    """A stream arriving faster than the cores serve it books them far ahead, and
    the NoC transfers leave hundreds of idle intervals open on each core: the
    kernel then skips, by bisection, the ones that start too late to win
    (``serving_kernels.BISECT_FROM``), and must place every layer where the
    reference, which keeps and tries every interval, does."""
    rng = np.random.default_rng(seed)
    L, C, T = 7, 3, 2
    preds = np.full((T, 4, 2), -1)
    preds[0, 1:, 0] = [0, 0, 1]
    preds[0, 3, 1] = 2
    preds[1, 1:3, 0] = [0, 1]
    layers = sv.TenantLayers(layer=np.array([[0, 1, 2, 3], [4, 5, 6, -1]]), preds=preds,
                             transfer_s=np.where(preds >= 0, rng.uniform(0.5, 1.5, preds.shape), 0.0),
                             single=(preds[:, :, 0] >= 0) & (preds[:, :, 1] < 0))
    latency = rng.uniform(0.2, 2.0, (L, C))
    table = tables(latency, layers, chained=latency * rng.uniform(0.5, 1.0, (L, C)))
    allowed = np.ones((1, T, C), dtype=bool)
    scenario = sv.Scenario((sv.Tenant("a", "m", sv.Poisson(6.0), 5.0, requests=200),
                            sv.Tenant("b", "m", sv.Poisson(6.0), 5.0, requests=200)), seed=seed)
    stream = sv.request_stream(scenario)
    got = serving_policies._run_greedy(table, layers, stream, allowed, np.ones(1), 10**12).finish
    np.testing.assert_allclose(got, reference_shared(table, layers, stream, allowed), rtol=1e-12)


@pytest.mark.parametrize("seed, C", [(0, 3), (1, 2), (2, 3)])  # (1, 2) holds an interval exactly as long as a layer
def test_the_shared_kernel_matches_the_reference_when_layers_fill_idle_intervals_exactly(seed, C):
    """Latencies, transfers and arrivals on a grid of quarter seconds (exact in
    binary floating point), so layers often fill an idle interval to the end,
    or whole: the list of a core that keeps every interval then moves down as
    well as up, across the blocks whose bounds let the scan skip
    (``serving_kernels.BLOCK``); every layer must go where the reference,
    which tries every interval, puts it."""
    rng = np.random.default_rng(seed)
    L, T = 7, 2
    preds = np.full((T, 4, 2), -1)
    preds[0, 1:, 0] = [0, 0, 1]
    preds[0, 3, 1] = 2
    preds[1, 1:3, 0] = [0, 1]
    layers = sv.TenantLayers(layer=np.array([[0, 1, 2, 3], [4, 5, 6, -1]]), preds=preds,
                             transfer_s=np.where(preds >= 0, rng.integers(1, 3, preds.shape) / 4, 0.0),
                             single=(preds[:, :, 0] >= 0) & (preds[:, :, 1] < 0))
    latency = rng.integers(1, 5, (L, C)) / 4
    table = tables(latency, layers, chained=latency / rng.integers(1, 3, (L, C)))
    allowed = np.ones((1, T, C), dtype=bool)
    arrivals = [tuple(np.cumsum(rng.integers(0, 2, 300)) / 4) for _ in range(T)]
    scenario = sv.Scenario(tuple(sv.Tenant(n, "m", sv.Trace(a), 5.0, requests=300) for n, a in zip("ab", arrivals)))
    stream = sv.request_stream(scenario)
    got = serving_policies._run_greedy(table, layers, stream, allowed, np.ones(1), 10**12).finish
    np.testing.assert_array_equal(got, reference_shared(table, layers, stream, allowed))


def test_a_closed_loop_client_sends_its_next_request_when_the_last_returns():
    # Two clients, think time 0.5 s, one 2-layer request = 2 s on one core: requests arrive at 0, 0 (both
    # clients), then each client's next 0.5 s after its last returned.
    scenario = sv.Scenario((sv.Tenant("a", "m", sv.ClosedLoop(outstanding=2, think_s=0.5), 100.0, requests=4),))
    layers = chains([0, 1])
    table = tables([[1.0], [1.0]], layers)
    out = sv.POLICIES["shared"].run(table, layers, sv.request_stream(scenario), scenario, np.ones(1))
    np.testing.assert_allclose(out.arrival[0], [0.0, 0.0, 2.5, 4.5])
    np.testing.assert_allclose(out.finish[0], [2.0, 4.0, 6.0, 8.0])


def test_a_trace_is_served_at_its_times_and_compressed_by_the_load():
    scenario = sv.Scenario((sv.Tenant("a", "m", sv.Trace((0.0, 4.0, 5.0)), 100.0, requests=3),))
    layers = chains([0])
    table = tables([[3.0]], layers)
    run = sv.POLICIES["whole_request"].run
    np.testing.assert_allclose(run(table, layers, sv.request_stream(scenario), scenario, np.ones(1)).finish[0],
                               [3.0, 7.0, 10.0])
    np.testing.assert_allclose(run(table, layers, sv.request_stream(scenario), scenario, np.full(1, 2.0)).finish[0],
                               [3.0, 6.0, 9.0])  # arrivals at 0, 2, 2.5
