"""benchmarks/optimizers.py: its core function on a tiny budget gives a full, sane table (and a plot)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from cosearch.experiment import SpaceProblem
from cosearch.optimizers import OPTIMIZERS, available
from spaces.genes import Gene

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
EVALUATIONS, SEEDS = 40, 2


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return load("optimizers")


@pytest.fixture(scope="module")
def mix(bench):
    (result,) = bench.compare([SpaceProblem("planaria_b", "cloud")], seeds=SEEDS, evaluations=EVALUATIONS)
    return result


def test_every_optimizer_is_run_or_skipped_with_a_reason(mix):
    ran = [row.optimizer for row in mix.rows]
    assert sorted(ran + list(mix.skipped)) == sorted(OPTIMIZERS)
    assert "grid" in mix.skipped and "more than the budget of 40 evaluations" in mix.skipped["grid"]
    assert "repeats the tpe runs" in mix.skipped["optuna"]
    assert ("gp" in mix.skipped) == (not available("gp"))
    assert {"cmaes", "random", "tpe", "nsga2", "qmc"} <= set(ran)
    assert not mix.failures


def test_columns_are_sane(mix):
    assert math.isfinite(mix.best_edp) and mix.best_edp > 0
    assert mix.reference is not None and len(mix.reference) == 3
    for row in mix.rows:
        q25, q50, q75 = row.best_edp
        assert mix.best_edp <= q25 <= q50 <= q75 < math.inf, row
        assert row.seeds == SEEDS and 0 <= row.reached <= SEEDS
        assert math.isinf(row.to_within) or 1 <= row.to_within <= EVALUATIONS
        assert row.hypervolume > 0 and row.seconds > 0
        curves = mix.curves[row.optimizer]
        assert curves.shape == (SEEDS, EVALUATIONS)
        assert (np.diff(np.minimum(curves, 1e300), axis=1) <= 0).all()  # best so far never gets worse (inf: none yet)
        assert np.isclose(np.median(curves[:, -1]), q50)
    assert sum(row.reached for row in mix.rows) >= 1  # the run that found the best got within 1 % of it


def test_tables_list_every_optimizer(bench, mix):
    text = bench.text_table([mix])
    markdown = bench.markdown([mix], command="python benchmarks/optimizers.py", machine="test", seconds=1.0,
                              evaluations=EVALUATIONS, seeds=SEEDS, images={})  # fmt: skip
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + len(mix.rows)  # header + one per optimizer
    assert all(line.count(" | ") == len(bench.COLUMNS) - 1 for line in rows)
    for row in mix.rows:
        assert any(line.startswith(f"{row.optimizer} ") for line in text.splitlines())
        assert any(line.startswith(f"| {row.optimizer} |") or line.startswith(f"| **{row.optimizer}") for line in rows)
    assert "skipped grid" in text and "skipped grid" in markdown


def test_grid_runs_when_the_space_is_small(bench):
    genes = [Gene(name="a", kind="categorical", choices=(0, 1, 2)), Gene(name="b", kind="integer", low=1, high=4),
             Gene(name="x", kind="continuous")]
    chosen, skipped = bench.choose_optimizers(["grid", "optuna"], genes, evaluations=12)
    assert chosen == [("grid", {"levels": 1}), ("optuna", {})] and not skipped  # named: run even an alias
    with pytest.raises(ValueError, match=r"unknown optimizer 'nope' \(allowed: cmaes,"):
        bench.choose_optimizers(["nope"], genes, evaluations=12)


def test_convergence_plot_is_written(mix, tmp_path):
    path = load("optimizers_plot").convergence(tmp_path / "c.png", mix.curves, best_edp=mix.best_edp)
    assert path.stat().st_size > 10_000
