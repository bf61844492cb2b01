"""`cosearch run --resume`: a stopped experiment finishes without redoing its finished runs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from tests.cli.conftest import TINY_CONFIG, cosearch, write_config

NO_PLOTS = TINY_CONFIG + "plots: {enabled: false}\n"
# Three runs of a second each, so the experiment can be stopped after the first.
SLOW_CONFIG = NO_PLOTS.replace("budget: {evaluations: 48}", "budget: {seconds: 1}").replace(
    "seeds: 2", "seeds: [0]").replace("  - name: random\n    options: {batch_size: 16}\n", "  - random\n  - tpe\n")


def _stamps(root):
    return {p.parent.name: p.stat().st_mtime_ns for p in (root / "runs").glob("*/run.json")}


def test_resume_after_ctrl_c_keeps_finished_runs(tmp_path):
    config = write_config(tmp_path, SLOW_CONFIG)
    out = tmp_path / "results"
    process = subprocess.Popen([sys.executable, "-m", "cosearch", "run", str(config), "--out", str(out)],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not _stamps(out) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stdout + stderr
    assert "--resume" in stdout and not (out / "summary.json").exists()
    finished = _stamps(out)
    assert 1 <= len(finished) < 4, finished

    result = cosearch("run", config, "--out", out, "--resume", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(finished)} of 4 runs already finished" in result.stdout
    after = _stamps(out)
    assert set(after) == {"cmaes-0", "random-0", "tpe-0", "baseline-fda"}
    assert all(after[run] == stamp for run, stamp in finished.items()), "a finished run was redone"
    for run in finished:
        assert f"run {run} finished" not in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert {r["run_id"] for r in summary["runs"]} == set(after)


def test_resume_of_a_finished_experiment_runs_nothing(tiny_results, tmp_path):
    config = write_config(tmp_path, NO_PLOTS)
    before = _stamps(tiny_results)
    result = cosearch("run", config, "--out", tiny_results, "--resume", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "5 of 5 runs already finished" in result.stdout and "0 runs" in result.stdout
    assert _stamps(tiny_results) == before


def test_resume_with_a_changed_config_is_refused(tiny_results, tmp_path):
    config = write_config(tmp_path, TINY_CONFIG.replace("seeds: 2", "seeds: 3"))
    result = cosearch("run", config, "--out", tiny_results, "--resume", cwd=tmp_path)
    assert result.returncode == 2
    assert "seeds differ" in result.stderr and "Traceback" not in result.stderr


def test_resume_without_results_is_refused(tmp_path):
    config = write_config(tmp_path, TINY_CONFIG)
    result = cosearch("run", config, "--out", tmp_path / "nothing", "--resume", cwd=tmp_path)
    assert result.returncode == 2 and "nothing to resume" in result.stderr
