"""results.py: atomic files, the finished-run marker, the directory marker and lock, and what a
fresh start may delete."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest

from cosearch.results import (
    MARKER,
    ResultsDir,
    ResultsError,
    atomic_write_json,
    atomic_write_text,
    read_design,
    read_json,
    redact_url,
)


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


def test_history_columns_name_the_objective_and_hypervolume_with_units(tmp_path):
    """A maximised objective is written as its value and read back negated, as runs minimise it."""
    import csv

    results = ResultsDir(tmp_path)
    history = {"evaluations": [8, 16], "seconds": [0.1, 0.2], "best": [-1.5, -2.0], "hypervolume": [0.5, 0.7]}
    record = {"summary": {"objectives": ["stp", "edp"]}, "archive": {"keys": ["latency_s", "energy_j", "edp"]}}
    results.write_run("nsga2-0", history, record)
    with open(results.run_dir("nsga2-0") / "history.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["evaluations", "seconds", "best_stp", "hypervolume_latency_s_x_energy_j_x_edp_j_s"]
    assert [float(r[2]) for r in rows[1:]] == [1.5, 2.0]
    assert results.read_history("nsga2-0") == history


def test_results_written_before_units_were_named_still_read(tmp_path):
    results = ResultsDir(tmp_path)
    (results.run_dir("cmaes-0")).mkdir(parents=True)
    (results.run_dir("cmaes-0") / "history.csv").write_text("evaluations,seconds,best,hypervolume\n8,0.5,2.0,0.1\n")
    assert results.read_history("cmaes-0") == {"evaluations": [8.0], "seconds": [0.5], "best": [2.0],
                                               "hypervolume": [0.1]}
    results.pareto_path.write_text("latency_s,energy_j,edp,run,evaluation,design,x0\n0.5,2.0,1.0,cmaes-0,3,,0.25\n")
    front = results.read_pareto()
    assert front["edp_j_s"] == [1.0] and front["x0"] == [0.25] and "edp" not in front
    (results.run_dir("cmaes-0") / "history.csv").write_text("evaluations,seconds\n8,0.5\n")
    with pytest.raises(ResultsError, match="no best, hypervolume column"):
        results.read_history("cmaes-0")


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_one(tmp_path):
    path = atomic_write_text(tmp_path / "run.json", "old\n")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(path, "half \ud800 written")  # a lone surrogate cannot be encoded: the write fails
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_fresh_start_removes_only_cosearch_files(tmp_path):
    results = ResultsDir(tmp_path)
    results.prepare({}, resume=False)
    results.write_summary({"x": 1})
    results.write_run("cmaes-0", {"evaluations": [1], "seconds": [0], "best": [1], "hypervolume": [0]}, {})
    results.write_design("best", {})
    theirs = [tmp_path / "notes.txt", tmp_path / "runs" / "cmaes-0" / "notes.txt", tmp_path / "plots" / "mine.png",
              tmp_path / "designs" / "hand-made.json", tmp_path / "optuna.journal"]
    for path in theirs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("mine")
    (tmp_path / "runs" / "random-0").mkdir()
    (tmp_path / "runs" / "random-0" / ".run.json.123.tmp").write_text("{")  # an interrupted write
    results.prepare({}, resume=False)
    assert not results.summary_path.exists() and not results.design_path("best").exists()
    assert not (tmp_path / "runs" / "cmaes-0" / "run.json").exists() and not (tmp_path / "runs" / "random-0").exists()
    assert all(path.read_text() == "mine" for path in theirs)


def test_a_directory_without_the_marker_is_never_written(tmp_path):
    (tmp_path / "config.yaml").write_text("name: mine\n")  # looks like results, is not cosearch's
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "data.csv").write_text("1\n")
    results = ResultsDir(tmp_path)
    for resume in (False, True):
        with pytest.raises(ResultsError, match=f"no {MARKER}"):
            results.prepare({}, resume=resume)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["config.yaml", "data.csv", "runs"]
    assert (tmp_path / "config.yaml").read_text() == "name: mine\n"
    (tmp_path / MARKER).write_text('{"format": "cosearch.results/0"}')  # a format this version cannot read
    with pytest.raises(ResultsError, match="not a cosearch results directory"):
        results.check_target(resume=False)


def test_resume_refuses_runs_of_another_spec_by_name(tmp_path):
    results = ResultsDir(tmp_path)
    results.prepare({}, resume=False)
    for run_id, digest in (("cmaes-0", "sha256:a"), ("random-0", "sha256:b")):
        results.write_run(run_id, {c: [1] for c in ("evaluations", "seconds", "best", "hypervolume")},
                          {"spec_hash": digest})
    assert results.prepare({}, resume=True, run_hashes={"cmaes-0": "sha256:a", "random-0": "sha256:b"}) == {
        "cmaes-0", "random-0"}
    with pytest.raises(ResultsError, match="finished runs random-0 were made by a different run spec"):
        results.prepare({}, resume=True, run_hashes={"cmaes-0": "sha256:a", "random-0": "sha256:c"})


def test_a_second_writer_is_refused_with_the_holders_pid(tmp_path):
    results = ResultsDir(tmp_path / "out")
    with results.locked():
        with pytest.raises(ResultsError, match=f"another cosearch run \\(PID {os.getpid()}\\) is writing here"):
            with ResultsDir(tmp_path / "out").locked():
                pass
    with results.locked():  # released at the end of the block
        pass


def test_the_lock_of_a_killed_run_does_not_block(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from cosearch.results import ResultsDir\n"
         "with ResultsDir(sys.argv[1]).locked():\n    print('locked', flush=True); time.sleep(60)", str(tmp_path)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert holder.stdout.readline() == "locked\n"
    with pytest.raises(ResultsError, match=f"PID {holder.pid}"):
        with ResultsDir(tmp_path).locked():
            pass
    holder.kill()
    holder.wait()
    assert (tmp_path / ".cosearch.lock").read_text() == f"{holder.pid}\n"  # a dead PID is left in the file
    with ResultsDir(tmp_path).locked():
        assert (tmp_path / ".cosearch.lock").read_text() == f"{os.getpid()}\n"


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://alice:s3cret@db.example:5432/optuna", "postgresql://alice:***@db.example:5432/optuna"),
    ("mysql+pymysql://bob:p%40ss@host/db?charset=utf8", "mysql+pymysql://bob:***@host/db?charset=utf8"),
    ("postgresql://host/db?user=carol&password=s3cret", "postgresql://host/db?user=carol&password=***"),
    ("sqlite:////tmp/optuna.db", "sqlite:////tmp/optuna.db"),
    (None, None),
])
def test_storage_urls_are_shown_without_credentials(url, shown):
    assert redact_url(url) == shown


def test_read_design_accepts_a_bare_design_and_rejects_other_json(tmp_path):
    bare = tmp_path / "bare.json"
    bare.write_text('{"cores": [], "layer_core": []}')
    assert read_design(bare)["design"]["cores"] == []
    other = tmp_path / "other.json"
    other.write_text("[1, 2]")
    with pytest.raises(ResultsError, match="expected a JSON object"):
        read_design(other)
