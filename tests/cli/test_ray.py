"""One experiment on local Ray (2 CPUs): the same results as in process."""

from __future__ import annotations

import json

from tests.cli.conftest import TINY_CONFIG, cosearch, write_config


def test_ray_run_matches_in_process_run(tiny_results, tmp_path):
    config = write_config(tmp_path, TINY_CONFIG.replace("ray: {enabled: false}", "ray: {num_cpus: 2}\nplots: {enabled: false}"))
    result = cosearch("run", config, "--out", tmp_path / "results", cwd=tmp_path, timeout=180, process=True)  # Ray's start-up
    assert result.returncode == 0, result.stdout + result.stderr
    assert "local Ray (2 CPUs)" in result.stdout
    assert "starting local Ray (2 CPUs)…" in result.stdout and "local Ray (2 CPUs) up, the first run going" in result.stdout
    assert "authentication" not in result.stdout + result.stderr  # token auth is on, without a notice each run
    on_ray = json.loads((tmp_path / "results" / "summary.json").read_text())
    local = json.loads((tiny_results / "summary.json").read_text())
    assert on_ray["best"]["metrics"] == local["best"]["metrics"]
    assert {r["run_id"]: r["best_objectives"] for r in on_ray["runs"]} == {
        r["run_id"]: r["best_objectives"] for r in local["runs"]}
    assert (tmp_path / "results" / "pareto.csv").read_text() == (tiny_results / "pareto.csv").read_text()
