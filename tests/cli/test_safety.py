"""What a run does to its results directory when things go wrong: a failed run, an interruption
while the results are written, a second writer, someone else's directory, a storage with a password."""

from __future__ import annotations

import json
import os

import optuna
import yaml

from cosearch import experiment, report
from cosearch.cli import main
from cosearch.results import ResultsDir
from tests.cli.conftest import TINY_CONFIG, cosearch, write_config

NO_PLOTS = TINY_CONFIG + "plots: {enabled: false}\n"


def fail_cmaes(monkeypatch):
    """cmaes runs fail with a chained exception whose message has two lines; the others run."""
    real = experiment.run

    def run(spec, **kwargs):
        if spec.optimizer == "cmaes":
            try:
                raise OSError("disk on fire")
            except OSError as e:
                raise RuntimeError("could not open the study\nsecond line of detail") from e
        return real(spec, **kwargs)

    monkeypatch.setattr(experiment, "run", run)


def test_a_failed_run_shows_type_and_first_line_and_keeps_the_whole_chain(tmp_path, monkeypatch, capsys):
    fail_cmaes(monkeypatch)
    config, out = write_config(tmp_path, NO_PLOTS), tmp_path / "results"
    assert main(["run", str(config), "--out", str(out)]) == 1
    printed = "".join(capsys.readouterr())
    assert "run cmaes-0 failed: RuntimeError: could not open the study" in printed
    assert "second line" not in printed and "Traceback" not in printed
    assert "2 run(s) failed: 3 of 5 runs finished and saved" in printed
    error = (out / "runs" / "cmaes-0" / "error.txt").read_text()
    assert "OSError: disk on fire" in error and "direct cause" in error and "second line of detail" in error
    assert ResultsDir(out).finished_runs() == {"random-0", "random-1", "baseline-fda"}

    monkeypatch.setenv("COSEARCH_DEBUG", "1")
    assert main(["run", str(config), "--out", str(out), "--resume"]) == 1
    printed = capsys.readouterr().out
    assert "Traceback" in printed and "OSError: disk on fire" in printed

    monkeypatch.undo()  # the runs now succeed: resuming finishes them and drops the old error
    assert main(["run", str(config), "--out", str(out), "--resume"]) == 0
    assert not (out / "runs" / "cmaes-0" / "error.txt").exists()


def test_interrupted_while_writing_results_leaves_no_summary_and_resume_finishes(tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    config, out = write_config(tmp_path, TINY_CONFIG), tmp_path / "results"
    monkeypatch.setattr(report, "plot_results", interrupted)
    assert main(["run", str(config), "--out", str(out)]) == 1
    assert "interrupted while writing the results" in capsys.readouterr().out
    assert not (out / "summary.json").exists()  # the directory still reads as unfinished
    monkeypatch.undo()
    assert main(["run", str(config), "--out", str(out), "--resume"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["plots"] and all((out / plot).is_file() for plot in summary["plots"])


def test_a_second_run_into_a_directory_in_use_is_refused(tmp_path):
    config, out = write_config(tmp_path, NO_PLOTS), tmp_path / "results"
    with ResultsDir(out).locked():
        result = cosearch("run", config, "--out", out, cwd=tmp_path, process=True)  # the lock held by another process
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"another cosearch run (PID {os.getpid()}) is writing here" in result.stderr
    assert "Traceback" not in result.stderr and [p.name for p in out.iterdir()] == [".cosearch.lock"]


def test_a_run_never_writes_into_a_directory_that_is_not_its_own(tmp_path):
    config, out = write_config(tmp_path, NO_PLOTS), tmp_path / "mine"
    (out / "runs").mkdir(parents=True)
    (out / "config.yaml").write_text("precious: true\n")
    (out / "runs" / "data.csv").write_text("1,2\n")
    result = cosearch("run", config, "--out", out, cwd=tmp_path)
    assert result.returncode == 2 and "is not a cosearch results directory" in result.stderr
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == ["config.yaml", "runs", "runs/data.csv"]


def test_studies_in_a_shared_storage_are_named_by_experiment(tmp_path):
    database = tmp_path / "shared.db"
    text = NO_PLOTS.replace("  - name: cmaes\n    options: {popsize: 8}\n  - name: random\n    options: {batch_size: 16}\n",
                            "  - tpe\n").replace("seeds: 2", "seeds: [0]").replace("evaluations: 48", "evaluations: 8")
    text = text.replace("baselines: {spaces: [fda], optimizer: random, evaluations: 16}", "baselines: []")
    text += f"storage: sqlite:///{database}\n"  # a SQLite file makes every trial slow: a short run
    for name in ("first", "second"):  # two experiments with the same optimizers and seeds share one storage
        config = write_config(tmp_path, text.replace("name: tiny", f"name: {name}"), f"{name}.yaml")
        result = cosearch("run", config, "--out", tmp_path / name, cwd=tmp_path, process=True)  # Optuna's logging
        assert result.returncode == 0, result.stdout + result.stderr
    names = optuna.get_all_study_names(f"sqlite:///{database}")
    assert sorted(names) == ["first/tpe-0", "second/tpe-0"]
    study = optuna.load_study(study_name="first/tpe-0", storage=f"sqlite:///{database}")
    assert len(study.trials) == 8


def test_a_storage_password_is_never_written_or_printed(tmp_path):
    text = NO_PLOTS.replace("  - name: random\n    options: {batch_size: 16}\n", "  - tpe\n") + (
        "storage: postgresql://alice:s3cret@127.0.0.1:1/optuna\n")
    config, out = write_config(tmp_path, text), tmp_path / "results"
    # Optuna's and SQLAlchemy's output, which only a process of its own captures whole
    result = cosearch("run", config, "--out", out, cwd=tmp_path, process=True)
    assert result.returncode == 1  # nothing listens there
    written = "".join(p.read_text(errors="replace") for p in out.rglob("*") if p.is_file())
    assert "s3cret" not in result.stdout + result.stderr + written
    assert yaml.safe_load((out / "config.yaml").read_text())["storage"] == "postgresql://alice:***@127.0.0.1:1/optuna"


def test_optuna_studies_stay_in_memory_by_default(tmp_path):
    from cosearch.config_loader import load_config, run_specs

    text = NO_PLOTS.replace("  - name: random\n    options: {batch_size: 16}\n", "  - tpe\n  - nsga2\n")
    config = load_config(write_config(tmp_path, text))
    specs = run_specs(config, config.storage)
    assert [s.optimizer for s in specs[:6]] == ["cmaes", "cmaes", "tpe", "tpe", "nsga2", "nsga2"]
    assert not any({"storage", "study_name"} & set(s.optimizer_options) for s in specs)  # nothing shared to race on
