"""The sped-up serving kernels give bit-identical results to the versions the published serving
experiments ran on (frozen in ``tests/objectives/serving_kernel_v1.py``), on zoo models with
branching layer graphs, loads from idle to saturated (so every core's idle-interval memory fills
and forgets), pinned core sets, closed-loop clients and streams given up by ``qps_at_sla``."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from objectives import serving as sv
from objectives import serving_kernels, serving_policies
from objectives.workloads import Workload, get_model
from spaces import get_platform
from tests.objectives.helpers import random_designs
from tests.objectives.serving_kernel_v1 import greedy_stream_kernel as greedy_v1

CLOUD = get_platform("cloud")
MODELS = ("mobilenet_v2", "googlenet")  # branching graphs: multi-input layers, chains, NoC transfers


@pytest.fixture(scope="module")
def zoo():
    workload = Workload.from_models("speedup", [get_model(m) for m in MODELS])
    designs = random_designs(np.random.default_rng(2), workload, 6, 4, pes_choices=(256, 1024, 4096), greedy=True)
    probe = sv.Scenario(tuple(sv.Tenant(m, m, sv.Poisson(1.0), 1.0) for m in MODELS))
    tables = sv.prepare(designs, workload, CLOUD, probe)
    return workload, designs, tables


def _v1(tables, layers, stream, allowed, load, max_gaps=8):
    """What the frozen kernel fills, for the same stream."""
    P, L, C = tables.latency_s.shape
    out = serving_policies.Outputs.empty(P, stream.num_requests, C)
    greedy_v1(tables.latency_s, tables.dynamic_j, tables.chained_latency_s, tables.chained_dynamic_j,
              np.ascontiguousarray(allowed), layers.layer, layers.preds, layers.transfer_s, layers.single,
              *serving_policies._stream_args(stream, load, tables.feasible), max_gaps,
              out.finish, out.arrival, out.dynamic, out.busy, out.peak)  # fmt: skip
    return out


def _new(tables, layers, stream, allowed, load, max_gaps):
    """What the current kernel fills when each core keeps ``max_gaps`` idle intervals."""
    P, L, C = tables.latency_s.shape
    out = serving_policies.Outputs.empty(P, stream.num_requests, C)
    serving_kernels.greedy_stream_kernel(
        tables.latency_s, tables.dynamic_j, tables.chained_latency_s, tables.chained_dynamic_j, tables.layer_power_w,
        tables.chained_layer_power_w, np.ascontiguousarray(allowed), layers.layer, layers.preds, layers.transfer_s,
        layers.single, *serving_policies._stream_args(stream, load, tables.feasible), max_gaps,
        out.finish, out.arrival, out.dynamic, out.busy, out.peak,
    )  # fmt: skip
    return out


def _assert_identical(new, old):
    for field in ("finish", "arrival", "dynamic", "busy", "peak"):
        np.testing.assert_array_equal(getattr(new, field), getattr(old, field), err_msg=field)


def _scenario(tables, utilization, policy, *, requests=400, closed=False, qos=20.0):
    """Two tenants whose rates keep the median design's cores ``utilization`` busy."""
    best = np.median(tables.work_s.min(axis=2), axis=0)
    rate = utilization * np.median(tables.active.sum(axis=1)) / best.sum()
    tenants = tuple(sv.Tenant(m, m, sv.ClosedLoop(3, float(b)) if closed and i == 1 else sv.Poisson(float(rate)),
                              float(qos * b), requests=requests)
                    for i, (m, b) in enumerate(zip(MODELS, best)))  # fmt: skip
    # depth 8, the frozen kernel's default (the engine's default keeps every interval: tested below)
    return sv.Scenario(tenants, policy=policy, warmup=20, seed=4, backfill=8)


@pytest.mark.parametrize("policy", ["shared", "pinned"])
@pytest.mark.parametrize("utilization", [0.05, 0.5, 0.9, 3.0])
def test_the_greedy_kernel_is_bit_identical_to_its_first_version(zoo, policy, utilization):
    workload, designs, tables = zoo
    scenario = _scenario(tables, utilization, policy, closed=utilization == 0.5)
    layers, stream = sv.tenant_layers(workload, scenario, CLOUD), sv.request_stream(scenario)
    allowed = sv.pinned_cores(tables, scenario) if policy == "pinned" else \
        np.repeat(tables.active[:, None, :], len(MODELS), axis=1)  # fmt: skip
    load = np.linspace(0.7, 1.3, designs.num_designs)
    new = sv.POLICIES[policy].run(tables, layers, stream, scenario, load)
    _assert_identical(new, _v1(tables, layers, stream, allowed, load))
    assert np.isfinite(new.finish).all() and (new.peak > 0).any()


@pytest.mark.parametrize("max_gaps", [1, 2, 3])
@pytest.mark.parametrize("utilization", [0.5, 3.0])
def test_cores_that_keep_few_idle_intervals_forget_the_ones_the_first_version_did(zoo, max_gaps, utilization):
    """Few slots: nearly every split and insertion finds its core full."""
    workload, designs, tables = zoo
    scenario = _scenario(tables, utilization, "shared")
    layers, stream = sv.tenant_layers(workload, scenario, CLOUD), sv.request_stream(scenario)
    allowed = np.repeat(tables.active[:, None, :], len(MODELS), axis=1)
    load = np.linspace(0.7, 1.3, designs.num_designs)
    new = _new(tables, layers, stream, allowed, load, max_gaps)
    _assert_identical(new, _v1(tables, layers, stream, allowed, load, max_gaps))
    assert np.isfinite(new.finish).all()


@pytest.mark.parametrize("max_gaps", [64, 10**6])
@pytest.mark.parametrize("utilization", [0.9, 3.0])
def test_cores_that_keep_many_idle_intervals_choose_as_the_first_version_did(zoo, max_gaps, utilization):
    """Deep lists: cores hold hundreds of intervals and the search skips, by bisection, those that start
    too late to win (``serving_kernels.BISECT_FROM``); 10**6 keeps every one."""
    workload, designs, tables = zoo
    scenario = _scenario(tables, utilization, "shared", requests=150)
    layers, stream = sv.tenant_layers(workload, scenario, CLOUD), sv.request_stream(scenario)
    allowed = np.repeat(tables.active[:, None, :], len(MODELS), axis=1)
    load = np.linspace(0.7, 1.3, designs.num_designs)
    new = serving_policies._run_greedy(tables, layers, stream, allowed, load, max_gaps)
    depth = min(max_gaps, int(((layers.layer >= 0).sum(axis=1) * stream.count).sum()))  # as _run_greedy keeps
    _assert_identical(new, _v1(tables, layers, stream, allowed, load, depth))
    assert np.isfinite(new.finish).all()


def _spy(monkeypatch, name="greedy_no_backfill_kernel"):
    """Record the calls of one of the kernels."""
    calls, kernel = [], getattr(serving_kernels, name)
    monkeypatch.setattr(serving_kernels, name, lambda *a: calls.append(1) or kernel(*a))
    return calls


@pytest.mark.parametrize("policy", ["shared", "pinned"])
@pytest.mark.parametrize("utilization, given_up", [(0.05, False), (0.9, False), (3.0, False), (3.0, True)])
def test_the_kernel_without_backfilling_is_bit_identical_to_the_general_one_at_depth_0(zoo, monkeypatch, policy,
                                                                                      utilization, given_up):
    """Depth 0 runs kernels of its own: every design in lockstep on an open-loop stream
    (``serving_kernels.greedy_lockstep_kernel``), else a design at a time
    (``greedy_no_backfill_kernel``: closed-loop clients, at 0.9).  The same results, a stream given up by
    ``qps_at_sla`` included."""
    workload, designs, tables = zoo
    scenario = dataclasses.replace(_scenario(tables, utilization, policy, closed=utilization == 0.9), backfill=0)
    layers, stream = sv.tenant_layers(workload, scenario, CLOUD), sv.request_stream(scenario)
    if given_up:
        stream = dataclasses.replace(stream, abandon=np.array([5, 5]))
    allowed = sv.pinned_cores(tables, scenario) if policy == "pinned" else \
        np.repeat(tables.active[:, None, :], len(MODELS), axis=1)  # fmt: skip
    load = np.linspace(0.7, 1.3, designs.num_designs)
    calls = _spy(monkeypatch, "greedy_no_backfill_kernel" if utilization == 0.9 else "greedy_lockstep_kernel")
    new = sv.POLICIES[policy].run(tables, layers, stream, scenario, load)
    assert calls, "depth 0 did not run the kernel expected"
    _assert_identical(new, _new(tables, layers, stream, allowed, load, 0))
    assert np.isnan(new.finish).any(axis=1).all() if given_up else np.isfinite(new.finish).all()


def test_an_infinite_cost_on_a_core_in_use_runs_the_general_kernel(zoo, monkeypatch):
    """The kernel without backfilling requires finite costs; a design whose core cannot run a layer (an
    infinite latency) is left to the general kernel, which never picks that core for that layer."""
    workload, designs, tables = zoo
    scenario = dataclasses.replace(_scenario(tables, 0.5, "shared"), backfill=0)
    layers, stream = sv.tenant_layers(workload, scenario, CLOUD), sv.request_stream(scenario)
    allowed = np.repeat(tables.active[:, None, :], len(MODELS), axis=1)
    load = np.ones(designs.num_designs)
    g = int(layers.layer[0, 1])
    latency = tables.latency_s.copy()
    latency[:, g, 0] = np.inf  # core 0 (active in every design) cannot run tenant 0's second layer from DRAM
    broken = dataclasses.replace(tables, latency_s=latency)
    calls, lockstep = _spy(monkeypatch), _spy(monkeypatch, "greedy_lockstep_kernel")
    new = sv.POLICIES["shared"].run(broken, layers, stream, scenario, load)
    assert not calls and not lockstep
    _assert_identical(new, _new(broken, layers, stream, allowed, load, 0))
    assert np.isfinite(new.finish).all()


def _open_loop(tables, utilization, policy="shared", **kw):
    return dataclasses.replace(_scenario(tables, utilization, policy, **kw), backfill=0)


@pytest.mark.parametrize("group", [4, serving_policies.LOCKSTEP])
def test_the_lockstep_kernel_writes_infeasible_designs_as_the_others_do(zoo, monkeypatch, group):
    """Infeasible designs among feasible ones: inf outputs, and the others unchanged by their company
    (in groups of 4 and 2 designs too)."""
    workload, designs, tables = zoo
    monkeypatch.setattr(serving_policies, "LOCKSTEP", group)
    scenario = _open_loop(tables, 0.9)
    layers, stream = sv.tenant_layers(workload, scenario, CLOUD), sv.request_stream(scenario)
    feasible = tables.feasible.copy()
    feasible[[1, 4]] = False
    some = dataclasses.replace(tables, feasible=feasible)
    allowed = np.repeat(tables.active[:, None, :], len(MODELS), axis=1)
    load = np.linspace(0.7, 1.3, designs.num_designs)
    lockstep = _spy(monkeypatch, "greedy_lockstep_kernel")
    new = sv.POLICIES["shared"].run(some, layers, stream, scenario, load)
    assert lockstep
    _assert_identical(new, _new(some, layers, stream, allowed, load, 0))
    assert np.isinf(new.finish[[1, 4]]).all() and np.isinf(new.dynamic[[1, 4]]).all()
    assert np.isfinite(new.finish[[0, 2, 3, 5]]).all()


@pytest.mark.parametrize("group", [2, 4, serving_policies.LOCKSTEP])
def test_designs_given_up_at_different_requests_stop_where_they_did_alone(zoo, monkeypatch, group):
    """Loads from light to heavy: each design gives up at its own request (or never) while the others
    go on (a group of 2 all given up stops early); its outputs are those of the design simulated alone."""
    workload, designs, tables = zoo
    monkeypatch.setattr(serving_policies, "LOCKSTEP", group)
    scenario = _open_loop(tables, 0.5, qos=10.0)
    layers = sv.tenant_layers(workload, scenario, CLOUD)
    stream = dataclasses.replace(sv.request_stream(scenario), abandon=np.array([5, 5]))
    load = np.linspace(0.2, 2.5, designs.num_designs)
    lockstep = _spy(monkeypatch, "greedy_lockstep_kernel")
    new = sv.POLICIES["shared"].run(tables, layers, stream, scenario, load)
    assert lockstep
    allowed = np.repeat(tables.active[:, None, :], len(MODELS), axis=1)
    _assert_identical(new, _new(tables, layers, stream, allowed, load, 0))
    given_up = np.isnan(new.finish).any(axis=1)
    assert given_up.any() and not given_up.all()
    assert len({int(np.isnan(row).sum()) for row in new.finish[given_up]}) > 1  # at different requests


def test_qps_at_sla_without_backfilling_is_the_same_in_lockstep(zoo, monkeypatch):
    """The bisection's loads differ by design and round by round, and designs drop out as they are
    decided: the same brackets as a design at a time."""
    workload, designs, tables = zoo
    scenario = dataclasses.replace(_scenario(tables, 0.5, "shared", requests=200, qos=10.0), backfill=0)
    lockstep = _spy(monkeypatch, "greedy_lockstep_kernel")
    new = sv.qps_at_sla(designs, workload, CLOUD, scenario, tables=tables, iterations=6)
    assert lockstep
    monkeypatch.setattr(serving_policies, "_common_order", lambda stream, load: None)
    old = sv.qps_at_sla(designs, workload, CLOUD, scenario, tables=tables, iterations=6)
    np.testing.assert_array_equal(new, old)
    assert (new > 0).sum() >= 4


def test_a_tenant_allowed_no_core_never_finishes_in_lockstep_as_a_design_at_a_time(zoo, monkeypatch):
    """Where no core is allowed the kernel without backfilling keeps core 0, never finishing; the lockstep
    kernel, which takes core 0 outright, does the same."""
    workload, designs, tables = zoo
    scenario = _open_loop(tables, 0.5)
    layers, stream = sv.tenant_layers(workload, scenario, CLOUD), sv.request_stream(scenario)
    allowed = np.repeat(tables.active[:, None, :], len(MODELS), axis=1)
    allowed[:, 1, :] = False
    load = np.ones(designs.num_designs)
    lockstep = _spy(monkeypatch, "greedy_lockstep_kernel")
    new = serving_policies._run_greedy(tables, layers, stream, allowed, load, 0)
    assert lockstep
    old = serving_policies.Outputs.empty(*new.finish.shape, tables.latency_s.shape[2])
    serving_kernels.greedy_no_backfill_kernel(
        tables.latency_s, tables.dynamic_j, tables.chained_latency_s, tables.chained_dynamic_j, tables.layer_power_w,
        tables.chained_layer_power_w, allowed, layers.layer, layers.preds, layers.transfer_s, layers.single,
        *serving_policies._stream_args(stream, load, tables.feasible), old.finish, old.arrival, old.dynamic, old.busy,
        old.peak,
    )  # fmt: skip
    _assert_identical(new, old)
    assert np.isinf(new.finish[:, stream.tenant == 1]).all()


def _two_tenants(arrival_s, tenant):
    count = np.bincount(tenant, minlength=2)
    return sv.RequestStream(
        tenant=np.asarray(tenant), first=np.array([0, count[0]]), count=count, arrival_s=np.asarray(arrival_s),
        outstanding=np.zeros(2, dtype=np.int64), think_s=np.zeros(2), priority=np.ones(len(tenant)),
        qos_s=np.ones(2), measured=np.ones(len(tenant), dtype=bool), abandon=count.copy(),
    )  # fmt: skip


def test_the_common_order_is_arrival_then_tenant():
    """Requests by arrival; at one time the lower tenant first (the kernels' tie rule)."""
    stream = _two_tenants([1.0, 3.0, 5.0, 0.5, 3.0, 4.0], [0, 0, 0, 1, 1, 1])
    order = serving_policies._common_order(stream, np.array([1.0, 2.0]))
    assert order.tolist() == [3, 0, 1, 4, 5, 2]


def test_a_load_that_makes_two_tenants_arrive_at_once_has_no_common_order():
    """Tenant 1 one ulp before tenant 0: at load 1 it goes first; a load that rounds both arrivals to one
    time (1.5: the quotients are 2/3 of an ulp apart) puts tenant 0 first in that design, so no order
    serves every design."""
    early, late = np.nextafter(2.0, 0.0), 2.0
    assert early / 1.5 == late / 1.5 and early / 1.25 != late / 1.25
    stream = _two_tenants([late, early], [0, 1])
    assert serving_policies._common_order(stream, np.array([1.0, 1.25])).tolist() == [1, 0]
    assert serving_policies._common_order(stream, np.array([1.0, 1.5])) is None


def test_closed_loop_and_unsorted_arrivals_have_no_common_order():
    stream = _two_tenants([1.0, 2.0, 0.5], [0, 0, 1])
    assert serving_policies._common_order(stream, np.ones(1)) is not None
    closed = dataclasses.replace(stream, outstanding=np.array([0, 2]))
    unsorted = dataclasses.replace(stream, arrival_s=np.array([2.0, 1.0, 0.5]))
    assert serving_policies._common_order(closed, np.ones(1)) is None
    assert serving_policies._common_order(unsorted, np.ones(1)) is None


def test_a_stream_given_up_stops_where_it_did(zoo):
    """``qps_at_sla``'s early stop: the same requests finished, the same left NaN."""
    workload, designs, tables = zoo
    scenario = _scenario(tables, 1.5, "shared", qos=3.0)
    layers = sv.tenant_layers(workload, scenario, CLOUD)
    stream = dataclasses.replace(sv.request_stream(scenario), abandon=np.array([5, 5]))
    allowed = np.repeat(tables.active[:, None, :], len(MODELS), axis=1)
    new = sv.POLICIES["shared"].run(tables, layers, stream, scenario, np.ones(designs.num_designs))
    _assert_identical(new, _v1(tables, layers, stream, allowed, np.ones(designs.num_designs)))
    assert np.isnan(new.finish).any(axis=1).all()  # every design gave up


def test_qps_at_sla_is_bit_identical_to_the_first_kernel(zoo, monkeypatch):
    workload, designs, tables = zoo
    scenario = _scenario(tables, 0.5, "shared", requests=200, qos=10.0)
    new = sv.qps_at_sla(designs, workload, CLOUD, scenario, tables=tables, iterations=6)

    monkeypatch.setattr(serving_policies, "_run_greedy", _v1)
    old = sv.qps_at_sla(designs, workload, CLOUD, scenario, tables=tables, iterations=6)
    np.testing.assert_array_equal(new, old)
    assert (new > 0).sum() >= 4  # real brackets, not all zeros


def test_the_benchmark_runs_as_its_docstring_says():
    """``python benchmarks/serving.py ...`` from the checkout (its directory, not the checkout, is then on
    ``sys.path``: an import of ``benchmarks.evaluator`` failed there); a bad ``--requests`` exits 2."""
    repo = Path(__file__).resolve().parents[2]
    run = [sys.executable, "benchmarks/serving.py", "--designs", "2", "--repeats", "1", "--policies", "shared"]
    done = subprocess.run([*run, "--requests", "60", "--backfill", "0"], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "shared (backfill 0)" in done.stdout and "designs/s" in done.stdout
    bad = subprocess.run([*run, "--requests", "50"], cwd=repo, capture_output=True, text=True)
    assert bad.returncode == 2 and "--requests" in bad.stderr and "Traceback" not in bad.stderr
