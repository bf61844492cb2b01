"""What the command says in the cases a new user meets: version, missing directories, empty and
non-experiment files, cut tables, and what the progress display says while nothing runs yet."""

from __future__ import annotations

import io
import types
from importlib import metadata

import pytest

from tests.cli.conftest import REPO, cosearch, write_config


def test_version():
    result = cosearch("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"cosearch {metadata.version('cosearch')}"


@pytest.mark.parametrize("command", [["plot"], ["compare"]])
def test_a_missing_results_directory_is_said_not_to_exist(tmp_path, command):
    missing = tmp_path / "no-such-results"
    result = cosearch(*command, missing)
    assert result.returncode == 2, result.stderr
    assert f"{missing}: does not exist" in result.stderr and "has not finished" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_directory_that_is_not_results_is_named_so(tmp_path):
    result = cosearch("plot", tmp_path)
    assert result.returncode == 2 and "not a cosearch results directory" in result.stderr


@pytest.mark.parametrize("text", ["", "# nothing but a comment\n", "\n\n"])
def test_an_empty_config_is_named_empty(tmp_path, text):
    config = tmp_path / "empty.yaml"
    config.write_text(text)
    for command in ("validate", "run"):
        result = cosearch(command, config, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "the config file is empty" in result.stderr and "NoneType" not in result.stderr


@pytest.mark.parametrize("name, kind, facts", [
    ("edge_ky.yaml", "platform", ["edge_ky", "1,024 PEs", "32 GB/s", "2 MiB buffer", "ws_ky"]),
    ("small_fpga.yaml", "platform", ["small_fpga", "fpga", "360 DSP", "300 MHz"]),
    ("dataflow_ky.yaml", "dataflow", ["ws_ky", "unrolls Y × K", "weight stationary", "Y ≤ 16"]),
])
def test_validate_recognises_platform_and_dataflow_files(name, kind, facts):
    path = REPO / "experiments" / "custom" / name
    result = cosearch("validate", path)
    assert result.returncode == 0, result.stderr
    assert f"a {kind} file, not an experiment config; ok" in result.stdout
    assert all(fact in result.stdout for fact in facts), result.stdout
    assert "unknown key" not in result.stdout + result.stderr
    run = cosearch("run", path, "--no-ray", "--out", REPO / "results" / "never-written")
    assert run.returncode == 2 and f"this is a {kind} file, not an experiment config" in run.stderr
    assert not (REPO / "results" / "never-written").exists()


def test_validate_reports_a_bad_dataflow_file_as_one(tmp_path):
    bad = write_config(tmp_path, "name: ws_kq\nunrolled: [K, Q]\nstationary: weights\n", "df.yaml")
    result = cosearch("validate", bad)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "dataflow file" in result.stderr and "'Q' is not a loop dim" in result.stderr


def test_compare_cuts_no_name(tiny_results, tmp_path):
    result = cosearch("compare", tiny_results, tiny_results, "--out", tmp_path / "c.png")
    assert result.returncode == 0, result.stderr
    assert "…" not in result.stdout
    assert "fda" in result.stdout and str(tiny_results) in result.stdout  # same names: told apart by path


def _started(ray: bool):
    """A progress display (no terminal) told one run is planned and has started; its text so far."""
    from rich.console import Console

    from cosearch.cli.run import Progress

    config = types.SimpleNamespace(name="demo", objective=types.SimpleNamespace(keys=("edp",)))
    text = io.StringIO()
    progress = Progress(config, "local Ray (2 CPUs)" if ray else "this process", types.SimpleNamespace(root="r"),
                        Console(file=text, width=200), ray=ray)
    spec = types.SimpleNamespace(label="a", run_id="cmaes-0", max_evaluations=10)
    progress.__enter__()
    progress.event({"type": "planned", "label": None, "runs": [spec], "todo": [spec]})
    progress.event({"type": "started", "label": "a", "node": "n", "pid": 1, "attempt": 1})
    return progress, text


def test_progress_says_what_starts_before_any_run_reports():
    progress, text = _started(ray=True)
    progress.event({"type": "progress", "label": "a", "evaluations": 5, "best": 2e-5})
    result = types.SimpleNamespace(evaluations=10, seconds=0.5, best_objectives=[1.5e-5])
    progress.event({"type": "finished", "label": "a", "result": result})
    progress.__exit__(None, None, None)
    lines = text.getvalue().splitlines()
    assert lines[0] == "preparing the runs and starting local Ray (2 CPUs)…"  # at once: Ray starts meanwhile
    assert lines[1] == "demo: 1 run on local Ray (2 CPUs); results in r"
    assert lines[2].startswith("local Ray (2 CPUs) up, the first run going ") and lines[2].endswith(" s after the start")
    assert lines[3] == "run cmaes-0 finished: 10 evaluations in 0.5 s, best EDP 15 µJ·s"
    assert lines[4] == "writing the designs, the front and the plots…"


def test_progress_in_process_says_nothing_of_ray():
    progress, text = _started(ray=False)
    progress.__exit__(None, None, None)
    assert "Ray" not in text.getvalue() and "starting" not in text.getvalue()
