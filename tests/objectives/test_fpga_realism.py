"""Cloud-FPGA realism by hand: how many DPU cores fit, UltraRAM, each size's clock, the board's static power.

Per-core figures (docs/costmodel.md, "FPGA platforms"): PG338 v1.2 Table 9, high DSP usage — B512 98 DSP,
20177 LUT, 69.5 BRAM36; B4096 642 DSP, 40865 LUT, 249.5 BRAM36.  With UltraRAM (the DPU-TRD's banks: B512
2 + 9 + 1, B4096 5 + 17 + 1) a bank of ICP x 8 bits x 2048 words is ceil(8·ICP/18) BRAM36 or ceil(8·ICP/72)
UltraRAMs: B512 69.5 − 12·4 = 21.5 BRAM36 + 12 URAM; B4096 249.5 − 23·8 = 65.5 BRAM36 + 23·2 = 46 URAM.
U250 (DS962): 12288 DSP, 1728000 LUT, 2688 BRAM36, 1280 URAM.
"""

import numpy as np
import pytest

from objectives import evaluate, mapper
from objectives.workloads import ModelBuilder
from spaces import get_platform, make_space, single_design
from spaces.design import OVER_FPGA_RESOURCES
from spaces.hardware import DATAFLOWS, DPU_CORES, DPU_CORES_URAM, U250_IDLE_W, fpga_max_cores
from spaces.userdefs import load_platform
from tests.objectives.helpers import gemm_model, workload_of

U250 = get_platform("u250")


def dpu_design(platform, size, count):
    index = platform.size_index(size)
    pes = platform.core_sizes[index].pes
    return single_design(core_pes=[pes] * count, core_size=[index] * count, core_dataflow=["dpu_pck"] * count,
                         layer_core=[0])


def test_ultraram_banks_replace_bram_as_computed_by_hand():
    b512, b4096 = DPU_CORES_URAM[0], DPU_CORES_URAM[-1]
    assert (b512.bram36, b512.uram) == (21.5, 12)
    assert (b4096.bram36, b4096.uram) == (65.5, 46)
    # compute and logic do not change with where the buffers live
    assert [(c.dsp, c.lut, c.pes) for c in DPU_CORES_URAM] == [(c.dsp, c.lut, c.pes) for c in DPU_CORES]
    assert all(c.uram == 0 for c in DPU_CORES)


@pytest.mark.parametrize(
    "size, fits",
    [
        ("B512", 85),   # LUT-bound: 85 x 20177 = 1715045 <= 1728000 < 86 x 20177 = 1735222
        ("B4096", 19),  # DSP-bound: 19 x 642 = 12198 <= 12288 < 20 x 642 = 12840 (URAM 19 x 46 = 874)
    ],
)
def test_n_dpu_cores_fit_the_u250_and_one_more_does_not(size, fits):
    workload = workload_of(gemm_model(k=64, c=64))
    result = evaluate(dpu_design(U250, size, fits), workload, U250)
    assert result.feasible[0]
    assert result.lut_used[0] == fits * U250.core_sizes[U250.size_index(size)].lut
    over = evaluate(dpu_design(U250, size, fits + 1), workload, U250)
    assert not over.feasible[0] and over.reason[0] == OVER_FPGA_RESOURCES and over.latency_s[0] == np.inf


def test_without_ultraram_the_u250_holds_38_b512_by_its_bram():
    bram_only = load_platform({"base": "u250", "name": "u250_bram", "uram": 0})
    b512 = bram_only.core_sizes[bram_only.size_index("B512")]
    assert (b512.bram36, b512.uram) == (69.5, 0)  # a DPU preset falls back to all-BRAM36 without UltraRAM
    assert bram_only.max_cores == 38  # 38 x 69.5 = 2641 <= 2688 < 39 x 69.5 = 2710.5
    workload = workload_of(gemm_model(k=64, c=64))
    assert evaluate(dpu_design(bram_only, "B512", 38), workload, bram_only).feasible[0]
    assert evaluate(dpu_design(bram_only, "B512", 39), workload, bram_only).reason[0] == OVER_FPGA_RESOURCES


def test_the_core_count_gene_ranges_over_what_fits():
    assert U250.max_cores == 85 and get_platform("zcu102").max_cores == 13  # ZCU102: 13 x 69.5 <= 912 BRAM36
    workload = workload_of(gemm_model())
    for platform in (U250, get_platform("zcu102")):
        gene = make_space("cosearch", workload, platform).genes[0]
        assert (gene.name, gene.low, gene.high) == ("cores", 1, platform.max_cores)
    budgets = {"dsp": 12288, "lut": 1728000, "bram36": 2688, "uram": 1280}
    assert fpga_max_cores(DPU_CORES_URAM[-1:], budgets) == 19  # a B4096-only menu


def test_decoded_designs_over_the_resources_are_repaired_into_them():
    space = make_space("cosearch", workload_of(gemm_model()), U250)
    designs = space.decode(space.sample(400, 3))
    result = evaluate(designs, workload_of(gemm_model()), U250)
    assert result.feasible.all()
    assert (result.lut_used <= U250.lut).all() and (result.uram_used <= U250.uram).all()


def test_the_homogeneous_baseline_runs_the_stock_dpu_dataflow_only():
    workload = workload_of(gemm_model())
    space = make_space("homogeneous_multicore", workload, U250)
    assert space.dataflow_names == ("dpu_pck",)
    assert make_space("cosearch", workload, U250).dataflow_names == ("dpu_pck", "ws_kc", "os_yx")
    assert make_space("homogeneous_multicore", workload, get_platform("cloud")).dataflow_names == \
        get_platform("cloud").dataflows  # an ASIC has no stock cores: its whole menu
    full = make_space("homogeneous_multicore", workload, U250, cores=85, size="B512")
    assert evaluate(full.decode(full.sample(2, 0)), workload, U250).feasible.all()


def test_the_boards_idle_power_and_the_cores_leakage_accrue_over_the_makespan():
    result = evaluate(dpu_design(U250, "B512", 1), workload_of(gemm_model()), U250)
    s = U250.static
    # one B512 with UltraRAM: 98 DSP, 20177 LUT, 21.5 BRAM36, 12 URAM, on a board idling at 17.4 W
    watts = U250_IDLE_W + 98 * s.w_per_dsp + 20177 * s.w_per_lut + 21.5 * s.w_per_bram36 + 12 * s.w_per_uram
    assert s.w_fixed == U250_IDLE_W == 17.4
    assert result.static_energy_j[0] == pytest.approx(watts * result.latency_s[0], rel=1e-12)
    assert result.average_power_w[0] > U250_IDLE_W


def compute_bound_workload():
    builder = ModelBuilder("heavy")
    builder.conv("conv", k=64, c=64, y=28, r=3)
    return workload_of(builder.build())


def test_a_core_sizes_own_clock_scales_its_compute_cycles():
    fast = U250.replace(bw_gbps=1e5, noc_gbps=1e6)  # compute-bound whatever the tiling
    b512 = fast.core_sizes[fast.size_index("B512")]
    layers = mapper.Layers.from_workload(compute_bound_workload())
    full = mapper.core_for(fast, DATAFLOWS["dpu_pck"], b512.pes, b512.unroll)
    half = mapper.core_for(fast, DATAFLOWS["dpu_pck"], b512.pes, b512.unroll, fast.clock_hz / 2)
    at_full, at_half = (mapper.map_layers(core, layers, [1 << 20], "latency") for core in (full, half))
    # steps x PP·ICP·OCP: 64 x 64 x 28 x 28 x 9 MACs / 256 per cycle, plus the setup, in platform cycles
    assert at_half.compute_cycles[0, 0] == 2 * at_full.compute_cycles[0, 0]


def test_a_slower_core_size_takes_longer_in_the_evaluator():
    fast = U250.replace(bw_gbps=1e5, noc_gbps=1e6)
    slow = load_platform({"base": "u250", "name": "u250_slow", "bw_gbps": 1e5, "noc_gbps": 1e6,
                          "core_sizes": [{"name": "B512", "pes": 256, "dsp": 98, "lut": 20177, "bram36": 21.5,
                                          "uram": 12, "unroll": {"X": 4, "C": 8, "K": 8}, "clock_hz": 150e6}]})
    workload = compute_bound_workload()
    latency = [evaluate(dpu_design(p, "B512", 1), workload, p).latency_s[0] for p in (fast, slow)]
    assert latency[1] / latency[0] == pytest.approx(2.0, rel=1e-3)


def test_the_allocation_rule_agrees_with_the_published_zcu104_build():
    """Vitis AI's ZCU104 image runs 2 x B4096 with UltraRAM on (DPU-TRD README); XCZU7EV: 1728 DSP,
    230400 LUT, 312 BRAM36, 96 UltraRAM.  A check of the rule, not a figure it was set from."""
    zcu104 = {"kind": "fpga", "name": "zcu104", "dsp": 1728, "lut": 230400, "bram36": 312, "bw_gbps": 19.2,
              "buffer_bytes": "2 MiB", "clock_hz": 300e6, "core_sizes": ["B4096"]}
    with_uram = load_platform({**zcu104, "uram": 96})
    assert with_uram.max_cores == 2  # 2 x (65.5 BRAM36, 46 URAM, 642 DSP) fit; a third needs 138 URAM
    assert load_platform({**zcu104, "uram": 0}).max_cores == 1  # 2 x 249.5 = 499 BRAM36 > 312
