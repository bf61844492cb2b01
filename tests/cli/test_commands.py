"""Inspection commands, fast --help, and exit codes of failures."""

from __future__ import annotations

import subprocess
import sys

from tests.cli.conftest import TINY_CONFIG, cosearch, write_config


def test_help_lists_every_command():
    result = cosearch("--help")
    assert result.returncode == 0
    for command in ("run", "evaluate", "cost", "plot", "compare", "workloads", "platforms", "spaces", "validate"):
        assert command in result.stdout


def test_help_imports_no_heavy_module():
    code = ("import sys; from cosearch.cli import build_parser; build_parser().format_help(); "
            "print(sorted(m for m in ('ray', 'optuna', 'matplotlib', 'numpy', 'pydantic', 'cma') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_usage_error_exits_2():
    assert cosearch("run").returncode == 2
    assert cosearch("frobnicate").returncode == 2
    result = cosearch("run", "x.yaml", "--budget", "-3")
    assert result.returncode == 2 and "expected a positive integer" in result.stderr


def test_missing_config_file_exits_2(tmp_path):
    result = cosearch("validate", tmp_path / "absent.yaml")
    assert result.returncode == 2 and "cannot read" in result.stderr


def test_workloads_lists_mixes_and_models():
    result = cosearch("workloads")
    assert result.returncode == 0
    for name in ("herald_arvr_a", "planaria_c", "mixed", "resnet50", "bert_large"):
        assert name in result.stdout
    assert "MACs" in result.stdout and "params" in result.stdout


def test_workloads_detail_and_unknown_name():
    result = cosearch("workloads", "herald_arvr_a")
    assert result.returncode == 0
    assert "unet" in result.stdout and "412" in result.stdout  # 2×54 + 4×23 + 4×53 layers
    unknown = cosearch("workloads", "nope")
    assert unknown.returncode == 2 and "unknown mix 'nope' (allowed: " in unknown.stderr


def test_platforms_and_spaces():
    platforms = cosearch("platforms")
    assert platforms.returncode == 0
    assert all(name in platforms.stdout for name in ("edge", "mobile", "cloud", "zcu102", "u250"))
    spaces = cosearch("spaces", "--workload", "planaria_b", "--platform", "cloud")
    assert spaces.returncode == 0
    assert all(name in spaces.stdout for name in ("cosearch", "homogeneous_multicore", "hda_fixed_granularity", "fda"))


def test_unreachable_cluster_is_a_failure_without_traceback(tmp_path):
    config = write_config(tmp_path, TINY_CONFIG)
    result = cosearch("run", config, "--address", "ray://127.0.0.1:1", "--out", tmp_path / "out", cwd=tmp_path,
                      process=True)  # Ray's client, whose failure must not leave a traceback
    assert result.returncode == 1, result.stdout + result.stderr
    assert "cannot reach the Ray cluster" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_out_dir_that_is_not_a_results_dir_is_refused(tmp_path):
    config = write_config(tmp_path, TINY_CONFIG)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    result = cosearch("run", config, "--out", tmp_path / "mine", cwd=tmp_path)
    assert result.returncode == 2 and "not a cosearch results directory" in result.stderr
    assert "give another --out" in result.stderr and "pass --out" not in result.stderr  # --out was given
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    config.write_text(config.read_text() + f"output: {tmp_path / 'mine'}\n")  # the config's output: instead
    result = cosearch("run", config, cwd=tmp_path)
    assert result.returncode == 2 and "pass --out DIR to write elsewhere" in result.stderr
