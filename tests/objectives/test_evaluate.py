"""End-to-end evaluator behaviour: hand-computed cases, the references' qualitative facts, bad designs."""

import dataclasses

import numpy as np
import pytest

from objectives import evaluate, mapper
from objectives.workloads import ModelBuilder
from spaces import get_platform, single_design
from spaces.hardware import DATAFLOWS
from spaces.design import DesignBatch
from spaces.design import NON_FINITE, OVER_COMPUTE_BUDGET, LAYER_ON_INACTIVE_CORE, NO_ACTIVE_CORE
from tests.objectives.helpers import gemm_model, small_cnn, workload_of

# The edge budget with its bandwidth shares splitting DRAM and a NoC that never binds: the
# hand computations below are about DRAM and compute (Herald's preset splits a 16 GB/s NoC).
EDGE = get_platform("edge").replace(noc_gbps=128.0, bw_partition="dram")


def one_core(pes=1024, dataflow="ws_kc", layers=1, **kw):
    return single_design(core_pes=[pes], core_dataflow=[dataflow], layer_core=[0] * layers, **kw)


def test_fc_layer_on_one_core_matches_hand_computation():
    """1024x1024 FC on a 32x32 K x C core of the edge platform (the whole 4 MiB buffer).

    DRAM: 1024 in + 1 MiB weights + 1024 out = 1,050,624 B at 16 GB/s = 65.664 us.
    The first tile's load and the last write-back are not overlapped, but with
    compulsory traffic only, edge + (DRAM - edge) is still all of it, and it
    dominates 1024 + 64 cycles at 1 GHz.  Energy is the mapper's table at the
    4 MiB rung (exactly 2**22 B, so no rounding) plus leakage over the latency.
    """
    result = evaluate(one_core(), workload_of(gemm_model()), EDGE)
    latency = 1_050_624 / 16e9
    assert result.latency_s[0] == pytest.approx(latency)
    assert result.dram_bytes[0] == 1_050_624
    core = mapper.core_for(EDGE, DATAFLOWS["ws_kc"], 1024)
    costs = mapper.map_layers(core, mapper.Layers.from_workload(gemm_model()), [4 << 20])
    assert result.dynamic_energy_j[0] == pytest.approx(costs.dynamic_pj[0, 0] * 1e-12)
    macs = 1024 * 1024  # at least: MACs, RF (2 operands + partial sum read/write), DRAM
    assert costs.dynamic_pj[0, 0] >= macs * 0.23 * (1 + 2 + 4 + 4) + 1_050_624 * 46.0
    static_w = 2e-5 * 1024 + 5e-3 * 4 + 0.02
    assert result.static_energy_j[0] == pytest.approx(static_w * latency)
    assert result.edp[0] == pytest.approx(result.energy_j[0] * latency)
    assert result.utilization[0] == pytest.approx(1.0)
    assert result.feasible[0] and result.reason[0] == 0


def test_dram_bound_layer_scales_with_bandwidth_share():
    workload = workload_of(gemm_model())
    full = evaluate(one_core(bw_share=[1.0]), workload, EDGE).latency_s[0]
    design = single_design(
        core_pes=[512, 512], core_dataflow=["ws_kc", "ws_kc"], layer_core=[0], bw_share=[0.5, 0.5]
    )
    assert evaluate(design, workload, EDGE).latency_s[0] == pytest.approx(2 * full)


def test_compute_bound_layer_scales_with_pes():
    builder = ModelBuilder("heavy")
    builder.conv("conv", k=256, c=256, y=28, r=3)  # 462 MMAC, 590 kB weights
    workload = workload_of(builder.build())
    big = evaluate(one_core(1024), workload, EDGE).latency_s[0]
    small = evaluate(one_core(256), workload, EDGE).latency_s[0]
    # Compute scales 4x; the first load and last write-back (about 10 us) do not.
    assert small / big == pytest.approx(4.0, rel=0.03)


def test_idle_core_still_leaks():
    mobile = get_platform("mobile").replace(noc_gbps=512.0, bw_partition="dram")
    workload = workload_of(gemm_model())
    alone = evaluate(one_core(1024, bw_share=[1.0], buffer_share=[1.0]), workload, mobile)
    with_idle = evaluate(
        single_design(
            core_pes=[1024, 2048],
            core_dataflow=["ws_kc", "os_yx"],
            layer_core=[0],
            bw_share=[1.0, 1e-12],
            buffer_share=[1.0, 1e-12],
        ),
        workload,
        mobile,
    )
    assert with_idle.latency_s[0] == pytest.approx(alone.latency_s[0])
    extra = with_idle.energy_j[0] - alone.energy_j[0]
    assert extra == pytest.approx(2e-5 * 2048 * alone.latency_s[0])


def test_two_models_on_separate_cores_run_in_parallel():
    a, b = gemm_model("a"), gemm_model("b")
    workload = workload_of(a, b)
    apart = single_design(core_pes=[512, 512], core_dataflow=["ws_kc", "ws_kc"], layer_core=[0, 1])
    shared = single_design(core_pes=[512, 512], core_dataflow=["ws_kc", "ws_kc"], layer_core=[0, 0])
    r_apart, r_shared = evaluate(apart, workload, EDGE), evaluate(shared, workload, EDGE)
    assert r_apart.stp[0] == pytest.approx(2.0)
    assert r_apart.antt[0] == pytest.approx(1.0)
    assert r_apart.fairness[0] == pytest.approx(1.0)
    # Serialised on one core: the second model waits for the first.
    assert r_shared.model_latency_s[0].max() == pytest.approx(2 * r_shared.model_latency_s[0].min())
    assert r_shared.stp[0] == pytest.approx(1.5)
    assert r_shared.antt[0] == pytest.approx(1.5)
    assert r_shared.fairness[0] == pytest.approx(0.5)


def test_sla_violations_count_models_over_their_target():
    workload = workload_of(gemm_model("a"), gemm_model("b"), targets=[1.0, 1e-9])
    result = evaluate(single_design(core_pes=[1024], core_dataflow=["ws_kc"], layer_core=[0, 0]), workload, EDGE)
    assert result.sla_violations[0] == 1


def test_greedy_mapping_never_worse_latency_than_all_on_one_core():
    workload = workload_of(small_cnn("x"), small_cnn("y"), batch=2)
    cores = dict(core_pes=[512, 512], core_dataflow=["ws_kc", "os_yx"])
    greedy = evaluate(single_design(layer_core=[-1] * workload.num_layers, **cores), workload, EDGE)
    for core in (0, 1):
        fixed = evaluate(single_design(layer_core=[core] * workload.num_layers, **cores), workload, EDGE)
        assert greedy.latency_s[0] <= fixed.latency_s[0]
    assert set(np.unique(greedy.layer_core)) <= {0, 1}


def test_infeasible_designs_get_inf_and_a_reason_without_touching_the_rest():
    workload = workload_of(small_cnn())
    L = workload.num_layers
    good = single_design(core_pes=[512, 512], core_dataflow=["ws_kc", "os_yx"], layer_core=[0, 1] * 2 + [0])
    over = dataclasses.replace(good, core_pes=np.array([[1024, 512]]))
    nan = dataclasses.replace(good, bw_share=np.array([[np.nan, 0.5]]))
    inactive = dataclasses.replace(good, core_pes=np.array([[512, 0]]))
    none = dataclasses.replace(good, core_pes=np.array([[0, 0]]))
    batch = DesignBatch.concatenate([good, over, nan, inactive, none, good])
    result = evaluate(batch, workload, EDGE)
    assert result.reason.tolist() == [0, OVER_COMPUTE_BUDGET, NON_FINITE, LAYER_ON_INACTIVE_CORE, NO_ACTIVE_CORE, 0]
    assert np.isinf(result.edp[1:5]).all()
    for field in ("latency_s", "energy_j", "edp", "stp", "fairness"):
        values = getattr(result, field)
        assert not np.isnan(values).any(), field
    alone = evaluate(good, workload, EDGE)
    assert result.edp[0] == alone.edp[0] == result.edp[5]
    assert L == 5


def test_mismatched_layer_count_is_a_value_error():
    with pytest.raises(ValueError, match="designs map 2 layers but workload 'test' has 1"):
        evaluate(one_core(layers=2), workload_of(gemm_model()), EDGE)


def test_schedule_on_request_reports_start_finish_and_core():
    workload = workload_of(small_cnn())
    design = single_design(core_pes=[512, 512], core_dataflow=["ws_kc", "os_yx"], layer_core=[0, 1, 1, 0, 0])
    result = evaluate(design, workload, EDGE, with_schedule=True)
    sched = result.schedule
    assert sched["core"].tolist() == [[0, 1, 1, 0, 0]]
    assert sched["finish_s"].max() == pytest.approx(result.latency_s[0])
    assert (sched["finish_s"] >= sched["start_s"]).all()
    busy = sched["finish_s"] - sched["start_s"]
    assert sched["core_busy_s"][0].tolist() == pytest.approx([busy[0, [0, 3, 4]].sum(), busy[0, [1, 2]].sum()])
    assert evaluate(design, workload, EDGE).schedule is None


def test_decode_reasons_carry_through_per_design():
    workload = workload_of(gemm_model())
    batch = DesignBatch.concatenate([one_core(), one_core(), one_core()])
    batch = dataclasses.replace(batch, decode_reason=np.array([0, OVER_COMPUTE_BUDGET, 0], dtype=np.int8))
    result = evaluate(batch, workload, EDGE)
    assert result.reason.tolist() == [0, OVER_COMPUTE_BUDGET, 0]
    assert np.isfinite(result.edp[[0, 2]]).all() and np.isinf(result.edp[1])


def test_layers_whose_counts_wrapped_are_refused_never_scored():
    """int64 MACs that wrapped negative once made a negative EDP, feasible and chosen as the best design.

    ``make_model`` refuses such layers (see tests/objectives/test_layers.py); a
    workload assembled around it is refused by the evaluator too.
    """
    workload = workload_of(gemm_model())
    wrapped = dataclasses.replace(workload, dims=np.array([[1, 1, 3_000_000, 3_000_000, 3_000_000, 3_000_000, 1, 1]]))
    assert wrapped.macs[0] < 0  # what int64 makes of 8.1e25
    with pytest.raises(ValueError, match="layer 'fc/fc': dims .* MACs; counts must be positive"):
        evaluate(one_core(), wrapped, EDGE)
    assert evaluate(one_core(), workload, EDGE).feasible[0]


def test_buffer_share_is_rounded_down_to_a_rung():
    """Two cores whose buffers round down to the same quarter-octave rung score alike;
    the evaluator never credits a core with more buffer than its share."""
    builder = ModelBuilder("big")
    builder.conv("conv", k=256, c=256, y=56, r=3)  # 590 kB of weights, 800 kB in and out
    workload = workload_of(builder.build())

    def two_cores(share):
        return single_design(core_pes=[512, 512], core_dataflow=["ws_kc", "ws_kc"], layer_core=[0],
                             buffer_share=[share, 1 - share])

    # 4 MiB · 0.20 = 838,861 B and · 0.21 = 880,804 B both lie between the rungs
    # 2**(78/4) = 741,455 B and 2**(79/4) = 881,743 B, so both cores get 741,455 B.
    low, high = mapper.rung_of(np.array([0.20, 0.21]) * EDGE.buffer_bytes)
    assert low == high == 78
    a = evaluate(two_cores(0.20), workload, EDGE)
    b = evaluate(two_cores(0.21), workload, EDGE)
    assert (a.latency_s[0], a.energy_j[0], a.dram_bytes[0]) == (b.latency_s[0], b.energy_j[0], b.dram_bytes[0])
    # what is charged is the mapper's choice at that rung, whose tiles fit it
    core = mapper.core_for(EDGE, DATAFLOWS["ws_kc"], 512)
    costs = mapper.map_layers(core, mapper.Layers.from_workload(workload), [741_455.0])
    assert costs.fits[0, 0] and costs.buffer_need[0, 0] <= 741_455
    assert a.dram_bytes[0] == costs.dram_bytes[0, 0]


@pytest.mark.parametrize("greedy", [False, True])
def test_blocks_of_a_large_batch_give_the_one_pass_metrics(monkeypatch, greedy):
    from objectives import evaluator
    from tests.objectives.helpers import random_designs

    workload = workload_of(small_cnn(), gemm_model())
    designs = random_designs(np.random.default_rng(3), workload, num_designs=7, num_cores=3, greedy=greedy)
    designs.core_pes[2] = 0  # an infeasible design in the middle block
    one_pass = evaluate(designs, workload, EDGE, with_schedule=True)
    monkeypatch.setattr(evaluator, "BLOCK_DESIGNS", 3)
    blocks = evaluate(designs, workload, EDGE, with_schedule=True)
    assert blocks.reason[2] == NO_ACTIVE_CORE
    for field in dataclasses.fields(one_pass):
        want, got = getattr(one_pass, field.name), getattr(blocks, field.name)
        for key in want if isinstance(want, dict) else [None]:
            np.testing.assert_array_equal(got if key is None else got[key], want if key is None else want[key])


def test_core_tables_kept_across_calls_change_no_result(monkeypatch):
    from objectives import evaluator
    from tests.objectives.helpers import random_designs

    workload = workload_of(small_cnn(), gemm_model())
    first, second = (
        random_designs(np.random.default_rng(seed), workload, num_designs=5, num_cores=3) for seed in (1, 2)
    )
    evaluator._STORES.clear()
    fresh = evaluate(second, workload, EDGE)
    evaluator._STORES.clear()
    evaluate(first, workload, EDGE)
    store = evaluator.table_store(workload, EDGE)
    seen = len(store.offsets)
    after_first = evaluate(second, workload, EDGE)
    assert seen > 0 and len(store.offsets) > seen  # cores of the first batch reused, the second's added
    rows_per_core = store.rungs * workload.num_layers
    monkeypatch.setattr(evaluator.TableStore, "MAX_ROWS", 4 * rows_per_core)  # a reset on most calls
    after_reset = evaluate(second, workload, EDGE)
    assert store.size <= max(4, len(store.offsets)) * rows_per_core
    for got in (after_first, after_reset):
        for field in ("latency_s", "energy_j", "dram_bytes", "utilization", "layer_core"):
            np.testing.assert_array_equal(getattr(got, field), getattr(fresh, field), field)


def test_table_store_lookup_by_identity_follows_the_stores():
    """The pair asked last is answered without hashing, but never past a cleared
    or evicted store, and an equal workload still finds the store by content."""
    from objectives import evaluator

    workload = workload_of(small_cnn(), gemm_model())
    evaluator._STORES.clear()
    store = evaluator.table_store(workload, EDGE)
    assert evaluator.table_store(workload, EDGE) is store
    assert evaluator.table_store(workload_of(small_cnn(), gemm_model()), EDGE) is store  # same layers
    evaluator._STORES.clear()
    fresh = evaluator.table_store(workload, EDGE)
    assert fresh is not store and evaluator.table_store(workload, EDGE) is fresh


def test_layer_off_active_cores_matches_its_definition():
    """The compiled feasibility pass against the rule written out in numpy, on
    random mappings with -1s, all--1 (greedy) rows and inactive cores."""
    from objectives import evaluator

    rng = np.random.default_rng(3)
    for _ in range(50):
        P, L, C = rng.integers(1, 6), rng.integers(1, 7), rng.integers(1, 4)
        layer_core = rng.integers(-1, C, (P, L))
        layer_core[rng.random(P) < 0.3] = -1
        active = rng.random((P, C)) < 0.7
        greedy = (layer_core < 0).all(axis=1)
        mapped = np.take_along_axis(active, np.maximum(layer_core, 0), axis=1) & (layer_core >= 0)
        want = ~greedy & ~mapped.all(axis=1)
        got = np.ones(P, dtype=bool)  # every entry must be written
        evaluator._layer_off_active_cores(layer_core, active, got)
        np.testing.assert_array_equal(got, want)


def test_on_herald_budgets_the_noc_share_sets_a_noc_bound_layers_latency():
    """Herald's edge class: 16 GB/s of NoC split by the design's shares.  A 1x1 conv over a 56x56 map
    moves its whole input and output over the NoC once per output-channel pass, so it is NoC bound,
    and halving its core's NoC share (same PEs, same DRAM) nearly doubles its latency."""
    edge = get_platform("edge")
    builder = ModelBuilder("pw")
    builder.conv("pw", k=64, c=64, y=56, r=1)
    workload = workload_of(builder.build())
    design = lambda share: single_design(core_pes=[512, 512], core_dataflow=["os_yx", "ws_kc"], layer_core=[0],
                                         bw_share=[share, 1 - share])  # noqa: E731
    half, quarter = (evaluate(design(s), workload, edge).latency_s[0] for s in (0.5, 0.25))
    assert 1.6 < quarter / half <= 2.0


def test_one_loop_order_per_dataflow_is_a_subset_of_the_mappers_search():
    """``intra_core_mapping: stationary`` keeps the dataflow's stationary operand in the buffer and PEs.
    Per layer, under the bandwidth the mapper chooses with, the search (a superset) is never worse on its
    objective; on a 3x3 conv then a pointwise one over 56x56 it picks otherwise on ws_kc, for less EDP.
    (The whole design can differ either way: the evaluator charges each design's own bandwidth shares.)"""
    builder = ModelBuilder("m")
    builder.conv("c", k=64, c=64, y=56, r=3)
    builder.conv("p", k=256, c=64, y=56, r=1)
    workload = workload_of(builder.build())
    layers = mapper.Layers.from_workload(workload)
    for dataflow in ("ws_kc", "os_yx", "rs"):
        search, stationary = (
            mapper.map_layers(mapper.core_for(EDGE.replace(intra_core_mapping=m), DATAFLOWS[dataflow], 1024),
                              layers, [1 << 20]).objective for m in ("search", "stationary"))
        assert (search <= stationary * (1 + 1e-12)).all()
    design = one_core(1024, "ws_kc", layers=2, buffer_share=[1.0])
    search, stationary = (evaluate(design, workload, EDGE.replace(intra_core_mapping=m)).edp[0]
                          for m in ("search", "stationary"))
    assert search < 0.97 * stationary
    core = mapper.core_for(EDGE.replace(intra_core_mapping="stationary"), DATAFLOWS["os_yx"], 256)
    assert (core.rf_operands, core.buffer_operands) == ((mapper.OUTPUT,), (mapper.OUTPUT,))
