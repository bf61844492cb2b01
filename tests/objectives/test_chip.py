"""Chip-level costs by hand: FPGA resources, static power, energy, area, resource fraction."""

import numpy as np
import pytest

from objectives import chip
from spaces import get_platform, single_design
from spaces.hardware import AreaTable, StaticPower

MiB = 1 << 20


def test_static_power_adds_each_resource_the_whole_buffer_and_the_fixed_part():
    table = StaticPower(w_per_pe=1e-3, w_per_dsp=2e-3, w_per_lut=1e-5, w_per_bram36=3e-3, w_per_uram=7e-3,
                        w_per_buffer_mib=0.05, w_fixed=0.5)
    watts = chip.static_power_w(table, np.array([100.0, 0.0]), np.array([10.0, 0.0]), np.array([1000.0, 0.0]),
                                np.array([4.0, 0.0]), np.array([2.0, 0.0]), 2 * MiB)
    # 100 PEs 0.1 + 10 DSP 0.02 + 1000 LUT 0.01 + 4 BRAM 0.012 + 2 URAM 0.014 + 2 MiB 0.1 + 0.5 fixed; an empty
    # chip still leaks its buffer and fixed part.
    assert watts.tolist() == pytest.approx([0.756, 0.6], rel=1e-15)


def test_energy_is_dynamic_picojoules_plus_leakage_over_the_makespan():
    dynamic_j, static_j = chip.energy_j(np.array([2e12, 0.0]), np.array([0.5, 0.25]), np.array([3.0, 4.0]))
    assert dynamic_j.tolist() == [2.0, 0.0]
    assert static_j.tolist() == [1.5, 1.0]


def test_area_counts_pes_used_the_whole_buffer_and_each_active_core():
    table = AreaTable(mm2_per_pe=0.002, mm2_per_buffer_mib=1.0, mm2_per_core=0.05)
    area = chip.area_mm2(table, np.array([1024.0, 256.0]), np.array([2, 1]), 4 * MiB)
    assert area.tolist() == pytest.approx([2.048 + 4.0 + 0.1, 0.512 + 4.0 + 0.05], rel=1e-15)


def test_resource_fraction_is_the_pe_share_on_an_asic_and_the_scarcest_resource_on_an_fpga():
    edge = get_platform("edge")  # 1024 PEs
    assert chip.resource_fraction(edge, np.array([256.0]), 0, 0, 0, 0).tolist() == [0.25]
    zcu = get_platform("zcu102")  # 2520 DSP, 274080 LUT, 912 BRAM36, no UltraRAM (left out)
    fraction = chip.resource_fraction(zcu, np.array([512.0]), np.array([1260.0]), np.array([205560.0]),
                                      np.array([228.0]), np.array([0.0]))
    assert fraction.tolist() == [0.75]  # LUTs: 205560 / 274080; DSPs half, BRAMs a quarter
    u250 = get_platform("u250")  # 12288 DSP, 1728000 LUT, 2688 BRAM36, 1280 UltraRAM
    fraction = chip.resource_fraction(u250, np.array([512.0]), np.array([3072.0]), np.array([432000.0]),
                                      np.array([672.0]), np.array([1152.0]))
    assert fraction.tolist() == [0.9]  # UltraRAM: 1152 / 1280; DSP, LUT, BRAM a quarter each


def test_fpga_resources_take_menu_cores_as_listed_and_scale_custom_cores_per_pe():
    zcu = get_platform("zcu102")  # B512: 98 DSP, 20177 LUT, 69.5 BRAM; largest B4096: 2048 PEs, 642/40865/249.5
    design = single_design(core_pes=[256, 1024, 0], core_size=[0, -1, -1], core_dataflow=["dpu_pck"] * 3,
                           layer_core=[0])
    dsp, lut, bram, uram = chip.fpga_resources(design, zcu)[:, 0]
    # The custom 1024-PE core is half the largest menu core; the inactive third core costs nothing.
    assert (dsp, lut, bram, uram) == pytest.approx((98 + 321, 20177 + 20432.5, 69.5 + 124.75, 0), rel=1e-15)


def test_fpga_resources_count_ultraram_of_dpu_cores_with_ultraram_enabled():
    u250 = get_platform("u250")  # B512 with 12 UltraRAM banks: 21.5 BRAM36 + 12 URAM; B4096: 65.5 + 46
    design = single_design(core_pes=[256, 2048], core_size=[u250.size_index("B512"), u250.size_index("B4096")],
                           core_dataflow=["dpu_pck"] * 2, layer_core=[0])
    assert chip.fpga_resources(design, u250)[:, 0].tolist() == [98 + 642, 20177 + 40865, 21.5 + 65.5, 12 + 46]


def test_a_design_is_over_the_fpga_budget_when_any_resource_is():
    u250 = get_platform("u250")
    used = np.array([[12288.0, 12289.0, 0, 0, 0], [0, 0, 1728001.0, 0, 0], [0, 0, 0, 2688.5, 0],
                     [1280.0, 0, 0, 0, 1281.0]])
    assert chip.over_fpga_budget(used, u250).tolist() == [False, True, True, True, True]
