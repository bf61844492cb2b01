"""User dataflows and platforms from YAML: the objects built, and errors that name key paths."""

import dataclasses

import numpy as np
import pytest

from spaces import DATAFLOWS, DPU_CORES, PLATFORMS, CoreSize, Dataflow
from spaces.hardware import ASIC_ENERGY, FPGA_ENERGY, FPGA_STATIC
from spaces.userdefs import DefinitionError, load_dataflow, load_platform, register_dataflow


def problems(call, *args):
    with pytest.raises(DefinitionError) as info:
        call(*args)
    return info.value.problems


def test_dataflow_from_a_mapping():
    df = load_dataflow({"name": "ws_ky_test", "unrolled": ["K", "Y"], "stationary": "weight", "fill_drain": True,
                        "max_extents": {"Y": 16}})
    assert df == Dataflow(name="ws_ky_test", unrolled=("K", "Y"), stationary="weight", fill_drain=True,
                          max_extents=(("Y", 16),))
    assert "ws_ky_test" not in DATAFLOWS  # loading does not register
    # A built-in declared again identically is accepted (descriptions are comments).
    assert load_dataflow({"name": "ws_kc", "unrolled": ["K", "C"], "stationary": "weight"}).unrolled == ("K", "C")


@pytest.mark.parametrize(
    "data, key, message",
    [
        ({"unrolled": ["K", "Q"]}, "unrolled.1", "'Q' is not a loop dim (allowed: N, G, K, C, Y, X, R, S)"),
        ({"unrolled": []}, "unrolled", "List should have at least 1 item"),
        ({"unrolled": ["K", "Y", "K"]}, "unrolled.2", "'K' is unrolled twice (allowed: each of N, G, K, C, Y, X, R, S"),
        ({"stationary": "psum"}, "stationary", "'psum' is not a stationary operand (allowed: weight, output, input)"),
        ({"fill_drain": "yes"}, "fill_drain", "'yes' is not a boolean (allowed: true, false)"),
        ({"fill": True}, "fill", "unknown key (allowed: name, unrolled, stationary, fill_drain, max_extents"),
        ({"max_extents": {"C": 4}}, "max_extents.C", "'C' is not unrolled (allowed: K, Y)"),
        ({"name": "os_yx"}, "name", "'os_yx' is already a different dataflow (taken: ws_kc, os_yx"),
    ],
)
def test_dataflow_errors_name_the_key_and_the_allowed_values(data, key, message):
    spec = {"name": "mine", "unrolled": ["K", "Y"], "stationary": "weight", **data}
    [(got_key, got_message)] = problems(load_dataflow, spec)
    assert got_key == key
    assert got_message.startswith(message)


def test_register_dataflow_refuses_a_different_definition():
    df = Dataflow(name="test_register_once", unrolled=("C",), stationary="input")
    try:
        assert register_dataflow(df) is df and register_dataflow(df) is df
        assert register_dataflow(dataclasses.replace(df, description="again")) is df
        with pytest.raises(ValueError, match="'test_register_once' is already registered with another definition"):
            register_dataflow(Dataflow(name="test_register_once", unrolled=("K",), stationary="input"))
    finally:
        DATAFLOWS.pop("test_register_once")


def test_platform_from_a_preset_with_overrides():
    p = load_platform({"base": "cloud", "name": "half_cloud", "pes": 8192, "buffer_bytes": "8 MiB",
                       "energy": {"dram_pj_per_byte": 30}})
    cloud = PLATFORMS["cloud"]
    assert (p.name, p.kind, p.pes, p.buffer_bytes, p.bw_gbps) == ("half_cloud", "asic", 8192, 8 << 20, 256)
    assert [s.name for s in p.core_sizes] == ["PE64", "PE128", "PE256", "PE512", "PE1024", "PE2048", "PE4096",
                                              "PE8192"]  # an ASIC menu follows a new pes
    assert p.energy.dram_pj_per_byte == 30 and p.energy.mac_pj == cloud.energy.mac_pj
    assert (p.static, p.clock_hz, p.noc_gbps, p.dataflows) == (cloud.static, cloud.clock_hz, cloud.noc_gbps,
                                                                cloud.dataflows)
    fpga = load_platform({"base": "zcu102", "name": "zcu_small", "max_cores": 2, "core_sizes": ["B1024", "B4096"]})
    assert fpga.pes == 2 * 2048 and fpga.dataflows == PLATFORMS["zcu102"].dataflows
    assert fpga.core_sizes == (DPU_CORES[2], DPU_CORES[7])


def test_platform_from_scratch_in_a_file_declares_a_dataflow(tmp_path):
    path = tmp_path / "my_fpga.yaml"
    path.write_text("""\
kind: fpga
dsp: 1200
lut: 150000
bram36: 400
bw_gbps: 12.8
buffer_bytes: 1 MiB
clock_hz: 250e6
max_cores: 3
static: {w_fixed: 0.3}
core_sizes:
  - B512
  - {name: K16C16, dsp: 150, lut: 15000, bram36: 40, unroll: {K: 16, C: 16}}
dataflows:
  - ws_kc
  - {name: test_file_kx, unrolled: [K, X], stationary: output}
""")
    try:
        p = load_platform(path)
        assert (p.name, p.kind, p.dsp, p.lut, p.bram36, p.clock_hz) == ("my_fpga", "fpga", 1200, 150000, 400, 250e6)
        assert p.buffer_bytes == 1 << 20 and p.noc_gbps == 8 * 12.8
        assert p.core_sizes[1] == CoreSize(name="K16C16", pes=256, dsp=150, lut=15000, bram36=40,
                                           unroll=(("K", 16), ("C", 16)))
        assert p.pes == 3 * 256  # max_cores x the largest core, as the FPGA presets
        assert p.energy == FPGA_ENERGY and p.static == FPGA_STATIC.__class__(**{**vars(FPGA_STATIC), "w_fixed": 0.3})
        assert p.dataflows == ("ws_kc", "test_file_kx")
        assert DATAFLOWS["test_file_kx"].unrolled == ("K", "X")  # registered: designs and spaces find it
        assert load_platform(path) == p  # loading again is harmless
    finally:
        DATAFLOWS.pop("test_file_kx", None)


def test_user_platform_and_dataflow_evaluate_end_to_end():
    import objectives
    from objectives.workloads import get_workload
    from spaces import make_space

    p = load_platform({"name": "tiny_asic", "kind": "asic", "pes": 512, "bw_gbps": 8, "buffer_bytes": "512 KiB",
                       "clock_hz": 5e8, "max_cores": 2, "core_sizes": ["PE128", "PE256"],
                       "dataflows": [{"name": "test_e2e_ky", "unrolled": ["K", "Y"], "stationary": "weight"},
                                     "os_yx"]})
    try:
        assert p.energy == ASIC_ENERGY
        space = make_space("cosearch", get_workload("tiny_yolo"), p)
        designs = space.decode(space.sample(8, np.random.default_rng(0)))
        metrics = objectives.evaluate(designs, get_workload("tiny_yolo"), p)
        assert metrics.feasible.any() and np.isfinite(metrics.latency_s[metrics.feasible]).all()
    finally:
        DATAFLOWS.pop("test_e2e_ky", None)


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"base": "clod"}, [("base", "unknown platform 'clod' (allowed: cloud, edge, mobile, u250, zcu102)")]),
        ({"base": "edge", "energy": {"mac_pJ": 1}},
         [("energy.mac_pJ", "unknown key (allowed: mac_pj, rf_pj_per_byte, noc_pj_per_byte, buffer_pj_per_byte, "
                            "dram_pj_per_byte, rf_write_pj_per_byte, buffer_write_pj_per_byte)")]),
        ({"base": "edge", "pes": -1}, [("pes", "Input should be greater than 0 (got -1)")]),
        ({"base": "edge", "buffer_bytes": "4 MB/s"},
         [("buffer_bytes", "'4 MB/s' is not a size (allowed: a positive integer of bytes or "
                           "'<number> B|KiB|MiB|GiB|kB|MB|GB')")]),
        ({"base": "edge", "core_sizes": ["B999"]},
         [("core_sizes.0", "unknown core size 'B999' (allowed: B512, B800, B1024, B1152, B1600, B2304, B3136, "
                           "B4096, PE<n>, or a mapping with name, pes, dsp, lut, bram36, uram, unroll, clock_hz)")]),
        ({"base": "edge", "core_sizes": [{"name": "x", "pes": 100, "unroll": {"K": 8, "C": 8}}]},
         [("core_sizes.0.unroll", "extents {'K': 8, 'C': 8} multiply to 64, not pes=100")]),
        ({"base": "edge", "dataflows": ["ws_kc", "nope", "ws_kc"]},
         [("dataflows.1", "unknown dataflow 'nope' (allowed: ws_kc, os_yx, rs, dpu_pck, systolic"),
          ("dataflows.2", "'ws_kc' is listed twice")]),
        ({"base": "edge", "dataflows": [{"name": "d", "unrolled": ["K", "Q"], "stationary": "weight"}]},
         [("dataflows.0.unrolled.1", "'Q' is not a loop dim (allowed: N, G, K, C, Y, X, R, S)")]),
        ({"base": "edge", "core_sizes": ["PE2048"]},
         [("core_sizes", "platform 'edge_custom': no core size fits the budget (smallest is PE2048)")]),
        ({"name": "p", "kind": "asic", "pes": 64, "bw_gbps": 1, "clock_hz": 1e9},
         [("buffer_bytes", "required key is missing (or start from a preset with base: cloud, edge, mobile"),
          ("core_sizes", "required key is missing (a list of core sizes: B512")]),
        ({"name": "p", "kind": "fpga", "bw_gbps": 1, "clock_hz": 1e9, "buffer_bytes": 1, "core_sizes": ["B512"]},
         [("dsp", "required key is missing"), ("lut", "required key is missing"),
          ("bram36", "required key is missing")]),
    ],
)
def test_platform_errors_name_every_key_path(data, expected):
    got = problems(load_platform, data)
    assert [key for key, _ in got] == [key for key, _ in expected]
    for (_, message), (_, start) in zip(got, expected):
        assert message.startswith(start), message


def test_platform_file_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("base: edge\nbw_gbps: fast\n")
    with pytest.raises(DefinitionError, match=f"^{path}: bw_gbps: Input should be a valid number"):
        load_platform(path)
    with pytest.raises(DefinitionError, match="missing.yaml: cannot read"):
        load_platform(tmp_path / "missing.yaml")
    with pytest.raises(DefinitionError, match="<platform>: expected a mapping, got list"):
        load_platform([1])


def test_dataflow_axes_may_share_dims_and_restrict_the_register_file():
    dataflow = load_dataflow({"name": "dw_kc_t", "unrolled": [["K", "G"], "C"], "stationary": "weight",
                              "rf_operands": ["weight", "output"]})
    assert dataflow.unrolled == ("K", "C")
    assert dataflow.axes_dims == (("K", "G"), ("C",))
    assert dataflow.rf_operands == ("weight", "output")
    assert DATAFLOWS["dpu_pck"].axes_dims[0] == ("X", "Y", "N")  # tokens land on the DPU pixel axis


@pytest.mark.parametrize(
    "data, key, message",
    [
        ({"name": "a", "unrolled": [["K", "Q"]], "stationary": "weight"}, "unrolled.0", "'Q' is not a loop dim"),
        ({"name": "a", "unrolled": [[]], "stationary": "weight"}, "unrolled.0", "is not an array axis"),
        ({"name": "a", "unrolled": ["K"], "stationary": "weight", "rf_operands": ["psum"]}, "rf_operands.0",
         "'psum' is not an operand (allowed: weight, output, input)"),
    ],
)
def test_bad_dataflow_axes_name_the_key(data, key, message):
    got = problems(load_dataflow, data)
    assert [k for k, _ in got] == [key] and message in got[0][1]


def test_platform_core_model_fields():
    platform = load_platform({"base": "edge", "acc_bytes": 2, "rf_bytes": 16, "mapping_objective": "latency"})
    assert (platform.acc_bytes, platform.rf_bytes, platform.mapping_objective) == (2, 16, "latency")
    got = problems(load_platform, {"base": "edge", "mapping_objective": "speed"})
    assert got == [("mapping_objective", "'speed' is not a mapping objective (allowed: edp, latency, energy)")]
