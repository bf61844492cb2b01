"""`cosearch run --resume`: a stopped experiment finishes without redoing its finished runs."""

from __future__ import annotations

import json
import shlex
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


# `python -m cosearch` with SIGINT as Python expects it, even when this test was started with it
# ignored (nohup, background jobs, some CI runners): an ignored SIGINT stays ignored across exec.
WITH_DEFAULT_SIGINT = ("import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
                       "runpy.run_module('cosearch', run_name='__main__', alter_sys=True)")


def _stop_after_first_run(args, out, sig, cwd) -> tuple[int, str, str]:
    """Start ``cosearch run ARGS``, send ``sig`` once a run has finished; returns code, stdout, stderr."""
    process = subprocess.Popen([sys.executable, "-c", WITH_DEFAULT_SIGINT, "run", *map(str, args)], cwd=cwd,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not _stamps(out) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=60)
    return process.returncode, stdout, stderr


def test_resume_after_ctrl_c_keeps_finished_runs(tmp_path):
    config = write_config(tmp_path, SLOW_CONFIG)
    out = tmp_path / "results"
    returncode, stdout, stderr = _stop_after_first_run([config, "--out", out], out, signal.SIGINT, tmp_path)
    assert returncode == 1, stdout + stderr
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


def test_sigterm_on_ray_keeps_finished_runs_and_the_printed_resume_command_works(tmp_path):
    config = write_config(tmp_path, SLOW_CONFIG.replace("ray: {enabled: false}", "ray: {enabled: true}"))
    out = tmp_path / "results"
    returncode, stdout, stderr = _stop_after_first_run(
        [config, "--out", out, "--budget", 1500, "--workers", 1], out, signal.SIGTERM, tmp_path)
    assert returncode == 1, stdout + stderr
    assert "SIGTERM" not in stderr and "Stack trace" not in stderr and "Traceback" not in stderr, stderr
    finished = _stamps(out)
    assert 1 <= len(finished) < 4 and not (out / "summary.json").exists(), finished

    hint = stdout.split("continue with: ", 1)[1].strip()
    words = shlex.split(hint)
    assert words[:2] == ["cosearch", "run"] and {"--out", "--budget", "--workers", "--resume"} <= set(words)
    result = cosearch(*words[1:], cwd=tmp_path, timeout=180, process=True)  # the command exactly as printed, on Ray
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(finished)} of 4 runs already finished" in result.stdout
    runs = {r["run_id"]: r for r in json.loads((out / "summary.json").read_text())["runs"]}
    assert runs["baseline-fda"]["evaluations"] == 1500  # --budget reached the baseline too


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
