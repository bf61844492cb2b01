"""results.py: atomic files, the finished-run marker, and what a fresh start may delete."""

from __future__ import annotations

import math

import pytest

from cosearch.results import ResultsDir, ResultsError, atomic_write_json, read_design, read_json


def test_atomic_json_round_trips_non_finite_values(tmp_path):
    path = atomic_write_json(tmp_path / "a" / "x.json", {"inf": math.inf, "nan": math.nan, "list": [1, -math.inf]})
    data = read_json(path)
    assert data["inf"] == math.inf and math.isnan(data["nan"]) and data["list"] == [1, -math.inf]
    assert [p.name for p in path.parent.iterdir()] == ["x.json"]


def test_a_run_is_finished_once_its_record_is_written(tmp_path):
    results = ResultsDir(tmp_path)
    results.prepare({"seeds": [0]}, resume=False)
    history = {"evaluations": [8, 16], "seconds": [0.1, 0.2], "best": [2.0, 1.0], "hypervolume": [0.5, 0.7]}
    results.write_run("cmaes-0", history, {"summary": {"evaluations": 16}})
    assert results.finished_runs() == {"cmaes-0"}
    assert results.read_history("cmaes-0") == history
    (results.run_dir("random-0")).mkdir(parents=True)
    (results.run_dir("random-0") / "history.csv").write_text("evaluations\n")  # no run.json: not finished
    assert results.prepare({"seeds": [0]}, resume=True, compare_keys=("seeds",)) == {"cmaes-0"}
    with pytest.raises(ResultsError, match="seeds differ"):
        results.prepare({"seeds": [1]}, resume=True, compare_keys=("seeds",))


def test_fresh_start_removes_only_cosearch_files(tmp_path):
    results = ResultsDir(tmp_path)
    results.prepare({}, resume=False)
    results.write_summary({"x": 1})
    (tmp_path / "notes.txt").write_text("mine")
    results.prepare({}, resume=False)
    assert not results.summary_path.exists() and (tmp_path / "notes.txt").exists()


def test_read_design_accepts_a_bare_design_and_rejects_other_json(tmp_path):
    bare = tmp_path / "bare.json"
    bare.write_text('{"cores": [], "layer_core": []}')
    assert read_design(bare)["design"]["cores"] == []
    other = tmp_path / "other.json"
    other.write_text("[1, 2]")
    with pytest.raises(ResultsError, match="expected a JSON object"):
        read_design(other)
