"""Hostile and careless input files: each is exit 2 with one message naming the file, no traceback,
in bounded memory (``tracemalloc`` peaks; the times are printed by ``benchmarks/bad_inputs.py``)."""

from __future__ import annotations

import tracemalloc

import pytest

from cosearch.cli import main
from spaces import DATAFLOWS
from tests.cli.conftest import TINY_CONFIG, cosearch, write_config
from tests.spaces.test_userfiles import ALIAS_BOMB

MEMORY_BOUND = 200e6  # bytes Python may allocate while refusing one bad file (the bound: 500 MB)


def validate(path, capsys) -> tuple[int, str]:
    """``cosearch validate PATH`` in process: exit code and stderr; asserts the memory bound."""
    tracemalloc.start()
    try:
        code = main(["validate", str(path)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    err = capsys.readouterr().err
    assert peak < MEMORY_BOUND, f"{peak / 1e6:.0f} MB"
    assert "Traceback" not in err
    return code, err


@pytest.fixture(autouse=True)
def _no_debug_and_no_leftover_dataflows(monkeypatch):
    monkeypatch.delenv("COSEARCH_DEBUG", raising=False)
    registered = dict(DATAFLOWS)  # platform files register the dataflows they declare
    yield
    DATAFLOWS.clear()
    DATAFLOWS.update(registered)


PLATFORM = "name: p\nbase: edge\n"


@pytest.mark.parametrize("data, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not UTF-8 text: byte 0x89 at offset 0 (line 1, column 1)"),
    ("workload: vision\ndescription: caf\u00e9\n".encode("latin-1"),
     "not UTF-8 text: byte 0xe9 at offset 33 (line 2, column 17); save the file as UTF-8"),
    (b"workload: vision\x00\n", "not valid YAML"),
    (("workload: vision\ndescription: " + "[" * 500 + "]" * 500 + "\n").encode(), "nested deeper than 32 levels"),
    (("workload: vision\n" + ALIAS_BOMB).encode(), "aliases expand this value to more than 1,048,576 characters"),
    (b"workload: vision\n# " + b"x" * (1 << 20), "larger than 1,048,576 bytes"),
    (b"workload: vision\nplatform: {preset: edge, bw_gbps: .inf}\n", ".inf is not a finite number"),
    (b"workload: vision\nplatform: {preset: edge, bw_gbps: '1e400'}\n", "platform.bw_gbps: input should be a finite number"),
    (b"workload: vision\nplatform: {preset: edge, pes: 1.0e+29}\n", "platform.pes: unable to parse input string as an integer"),
    (b"workload: vision\nplatform: {preset: edge, pes: 1.0e+12}\n", "platform.pes: input should be less than or equal to 16777216"),
    (b"workload: vision\nplatform: {preset: edge, pes: 100000000000000000000000000000}\n", "is too large"),
    (b"workload: vision\nseeds: 1000000000\n", "seeds: a number of seeds must be between 1 and 1000"),
    (b"workload: {models: [{model: resnet50, batch: 100000000}]}\n", "input should be less than or equal to 1024"),
    (b"workload: vision\ndescription: 2024-13-45\n", "2024-13-45 is not a date"),
    (b"", "the config file is empty"),
])
def test_bad_config_files_exit_2(tmp_path, capsys, data, message):
    path = tmp_path / "bad.yaml"
    path.write_bytes(data)
    code, err = validate(path, capsys)
    assert code == 2, err
    assert err.startswith(f"{path}: ") and message in err, err
    assert len(err) < 1000


def test_a_directory_or_a_missing_file_exits_2(tmp_path, capsys):
    code, err = validate(tmp_path, capsys)
    assert code == 2 and f"{tmp_path}: cannot read: Is a directory" in err
    code, err = validate(tmp_path / "absent.yaml", capsys)
    assert code == 2 and "cannot read: No such file or directory" in err


@pytest.mark.parametrize("platform, message", [
    (PLATFORM + "pes: 1024\npes: 2048\n", "p.yaml: not valid YAML at line 4, column 1: key 'pes' appears twice"),
    (PLATFORM + "bw_gbps: .inf\n", ".inf is not a finite number"),
    (PLATFORM + "bw_gbps: 1e400\n", "bw_gbps: Input should be a finite number"),
    (PLATFORM + "pes: 1e29\n", "pes: Input should be a valid integer"),
    (PLATFORM + "pes: 1.0e+29\n", "pes: Unable to parse input string as an integer, exceeded maximum size"),
    (PLATFORM + "pes: 1.0e+12\n", "pes: Input should be less than or equal to 16777216"),
    (PLATFORM + "buffer_bytes: 100000 GiB\n", "buffer_bytes: Input should be less than or equal to 1099511627776"),
    (PLATFORM + "max_cores: 100000\n", "max_cores: Input should be less than or equal to 256"),
    (PLATFORM + "clock_hz: 1.0e+300\n", "clock_hz: Input should be less than or equal to 10000000000"),
    (PLATFORM + "core_sizes: [PE99999999999]\n", "core_sizes.0.pes: Input should be less than or equal to 16777216"),
    (PLATFORM + "energy: {mac_pj: .nan}\n", ".nan is not a finite number"),
])
def test_bad_platform_files_exit_2(tmp_path, capsys, platform, message):
    (tmp_path / "p.yaml").write_text(platform)
    path = write_config(tmp_path, "workload: vision\nplatform: {file: p.yaml}\n")
    code, err = validate(path, capsys)
    assert code == 2, err
    assert message in err, err


def test_validate_builds_the_optimizers_as_run_does(tmp_path, capsys):
    """Option values are checked by the optimizer's constructor, so validate builds each optimizer."""
    path = write_config(tmp_path, TINY_CONFIG.replace("options: {popsize: 8}", "options: {popsize: -3}"))
    assert main(["validate", str(path)]) == 2  # untraced: tracemalloc slows building the workload
    err = capsys.readouterr().err
    assert f"{path}: optimizers[0].options: cmaes: popsize must be an integer >= 2, got -3" in err
    path = write_config(tmp_path, TINY_CONFIG.replace("optimizer: random, evaluations: 16",
                                                      "optimizer: random, optimizer_options: {batch_size: 0}, "
                                                      "evaluations: 16"))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "baselines.optimizer_options: random: batch_size must be a positive integer" in err


@pytest.mark.parametrize("command, data", [
    ("validate", "description: caf\u00e9\nworkload: vision\n".encode("latin-1")),
    ("run", ("workload: vision\n" + ALIAS_BOMB).encode()),
    ("run", ("workload: " + "[" * 500 + "\n").encode()),
])
def test_bad_files_exit_2_without_traceback_from_the_command(tmp_path, command, data):
    path = tmp_path / "bad.yaml"
    path.write_bytes(data)
    out = ("--out", tmp_path / "out") if command == "run" else ()
    result = cosearch(command, path, *out, cwd=tmp_path, timeout=60, process=True)  # the real exit code
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"{path}: ") and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("table, message", [
    ("name,op,K,C,Y\na,gemm,100000000000000000000000000,4,4\n",
     "big.csv: line 2 (layer 'a'), columns N,G,K,C,Y,X,R,S: dimensions N=1, G=1, K=100000000000000000000000000"),
    ("name,op,N,K,C,Y,X\na,conv,1,3000000,3000000,3000000,3000000\n", "big.csv: line 2 (layer 'a'), columns"),
    ("name,op,K,C,Y,X\na,conv,4,4\n", "big.csv: line 2, column Y: 4 cells but the header has 6 columns"),
])
def test_layer_tables_whose_macs_overflow_exit_2(tmp_path, capsys, table, message):
    (tmp_path / "big.csv").write_text(table)
    path = write_config(tmp_path, "workload: {models: [{file: big.csv}]}\n")
    code, err = validate(path, capsys)
    assert code == 2 and message in err, err


@pytest.mark.parametrize("data, message", [
    (b"\xff\xfe{}", "not UTF-8 text: byte 0xff at offset 0"),
    (b"[" * 100_000, "not JSON: maximum recursion depth exceeded"),
    (b"{}", "not a cosearch design"),
])
def test_bad_design_files_exit_2(tmp_path, capsys, data, message):
    path = tmp_path / "design.json"
    path.write_bytes(data)
    assert main(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: {message}" in err and "Traceback" not in err, err


def test_a_huge_value_is_quoted_short(tmp_path, capsys):
    path = write_config(tmp_path, "workload: " + "x" * 500_000 + "\n")
    code, err = validate(path, capsys)
    assert code == 2 and "workload.mix: unknown mix 'xxxx" in err and len(err) < 2500, len(err)
