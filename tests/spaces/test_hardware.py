"""Hardware presets: names, budgets and validation messages."""

import math

import pytest

from spaces import DPU_CORES, PLATFORMS, Dataflow, get_dataflow, get_platform


def test_herald_budgets():
    assert [(PLATFORMS[n].pes, PLATFORMS[n].bw_gbps, PLATFORMS[n].buffer_bytes >> 20) for n in ("edge", "mobile", "cloud")] == [
        (1024, 16, 4),
        (4096, 64, 8),
        (16384, 256, 16),
    ]


def test_dpu_menu_macs_are_half_the_peak_ops():
    assert [c.name for c in DPU_CORES] == ["B512", "B800", "B1024", "B1152", "B1600", "B2304", "B3136", "B4096"]
    assert all(2 * c.pes == int(c.name[1:]) for c in DPU_CORES)


def test_zcu102_cannot_hold_four_b4096():
    zcu = get_platform("zcu102")
    b4096 = DPU_CORES[-1]
    assert 3 * b4096.dsp <= zcu.dsp < 4 * b4096.dsp


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="unknown platform 'tpu' \\(allowed: cloud, edge, mobile, u250, zcu102\\)"):
        get_platform("tpu")
    with pytest.raises(ValueError, match="unknown dataflow 'xyz' \\(allowed: dpu_pck, os_yx, rs, systolic, ws_kc\\)"):
        get_dataflow("xyz")
    with pytest.raises(ValueError, match="unknown core size 'B9' \\(allowed: B512, B800"):
        get_platform("u250").size_index("B9")


def test_user_dataflow_validation():
    with pytest.raises(ValueError, match="dataflow 'mine': unrolled dim 'Q' is not a loop dim \\(allowed: N, G, K, C, Y, X, R, S\\)"):
        Dataflow(name="mine", unrolled=("K", "Q"), stationary="weight")
    with pytest.raises(ValueError, match="stationary 'psum' is not one of weight, output, input"):
        Dataflow(name="mine", unrolled=("K",), stationary="psum")


def test_platform_validation():
    edge = get_platform("edge")
    with pytest.raises(ValueError, match="platform 'edge': bw_gbps must be positive and at most 1e\\+06, got 0"):
        edge.replace(bw_gbps=0)
    # the bounds platform files and configs refuse hold for platforms built in Python too
    for field, value in [("clock_hz", math.inf), ("bw_gbps", math.nan), ("pes", 10**29), ("layer_setup_cycles", -1),
                         ("max_cores", 257), ("rf_bytes", 0)]:
        with pytest.raises(ValueError, match=f"platform 'edge': {field} must be"):
            edge.replace(**{field: value})
    assert edge.replace(layer_setup_cycles=0).dsp == math.inf  # an ASIC's FPGA budgets stay unlimited
    with pytest.raises(ValueError, match="dsp must be positive and at most 1e\\+09, got 2000000000.0"):
        get_platform("zcu102").replace(dsp=2e9)
    with pytest.raises(ValueError, match="no core size fits the budget \\(smallest is PE64\\)"):
        edge.replace(pes=32)
