"""`cosearch run`: every promised file, designs that re-score to their metrics, plots that open."""

from __future__ import annotations

import csv
import json

import matplotlib.image
import pytest
import yaml

from tests.cli.conftest import cosearch, write_config

RUNS = ("cmaes-0", "cmaes-1", "random-0", "random-1", "baseline-fda")


def test_run_writes_every_file(tiny_results):
    root = tiny_results
    for name in ("config.yaml", "summary.json", "pareto.csv", "designs/best.json", "designs/baseline-fda.json"):
        assert (root / name).is_file(), name
    for run in RUNS:
        assert (root / "runs" / run / "history.csv").is_file(), run
        assert (root / "runs" / run / "run.json").is_file(), run
    assert not list(root.rglob(".*.tmp")), "a temporary file was left behind"


def test_config_yaml_is_resolved(tiny_results):
    config = yaml.safe_load((tiny_results / "config.yaml").read_text())
    assert config["seeds"] == [0, 1]
    assert config["objective"]["minimize"] == ["edp"]
    assert config["platform"]["preset"] == "edge" and config["platform"]["max_cores"] == 3
    assert config["output"] == str(tiny_results)


def test_summary_names_best_design_and_runs(tiny_results):
    summary = json.loads((tiny_results / "summary.json").read_text())
    assert summary["workload"] == "custom" and summary["platform"] == "edge"
    assert {r["run_id"] for r in summary["runs"]} == set(RUNS)
    assert summary["evaluations"] == 4 * 48 + 16
    best = summary["best"]
    assert best["design"] == "designs/best.json"
    search_best = min(r["best_objectives"][0] for r in summary["runs"] if r["kind"] == "search")
    assert best["metrics"]["edp"] == pytest.approx(search_best, rel=1e-12)
    fda = summary["baselines"]["fda"]
    assert fda["edp_over_best"] == pytest.approx(fda["metrics"]["edp"] / best["metrics"]["edp"])


def test_history_is_best_so_far(tiny_results):
    with open(tiny_results / "runs" / "cmaes-0" / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["evaluations", "seconds", "best", "hypervolume"]
    evaluations = [int(r["evaluations"]) for r in rows]
    best = [float(r["best"]) for r in rows]
    assert evaluations[-1] == 48 and evaluations == sorted(evaluations)
    assert all(b >= a for a, b in zip(best[1:], best[:-1]))


def test_pareto_csv_lists_front_with_origin(tiny_results):
    with open(tiny_results / "pareto.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows
    assert {"latency_s", "energy_j", "resource_fraction", "edp", "run", "evaluation", "design", "x0"} <= set(rows[0])
    assert {r["run"] for r in rows} <= set(RUNS)
    named = [r["design"] for r in rows if r["design"]]
    assert named and all((tiny_results / n).is_file() for n in named)


def test_plots_open_as_images(tiny_results):
    for name in ("pareto", "convergence", "design", "schedule"):
        image = matplotlib.image.imread(tiny_results / "plots" / f"{name}.png")
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 400, name


@pytest.mark.parametrize("design", ["best", "baseline-fda", "pareto-0"])
def test_evaluate_reproduces_recorded_metrics(tiny_results, design):
    path = tiny_results / "designs" / f"{design}.json"
    result = cosearch("evaluate", path, "--json")
    assert result.returncode == 0, result.stderr
    scored = json.loads(result.stdout)
    recorded = json.loads(path.read_text())["metrics"]
    assert scored["matches_recorded"] is True
    for key in ("edp", "latency_s", "energy_j", "resource_fraction", "sla_violations", "model_latency_s"):
        assert scored["metrics"][key] == recorded[key], key


def test_evaluate_table_and_other_platform(tiny_results):
    path = tiny_results / "designs" / "best.json"
    result = cosearch("evaluate", path)
    assert result.returncode == 0 and "reproduces the recorded metrics" in result.stdout
    other = cosearch("evaluate", path, "--platform", "mobile")
    assert other.returncode == 0 and "on mobile" in other.stdout and "recorded" not in other.stdout


def test_evaluate_on_another_mix_remaps_the_design(tiny_results):
    """The design maps the mix's 2 × MobileNetV1 + Tiny-YOLO layers; on ResNet-50 (none of them) its cores
    stay and the greedy mapper places every layer (cosearch.remap)."""
    path = tiny_results / "designs" / "best.json"
    result = cosearch("evaluate", path, "--workload", "resnet50", "--json")
    assert result.returncode == 0, result.stderr
    scored = json.loads(result.stdout)
    assert scored["workload"] == "resnet50" and scored["metrics"]["feasible"] is True
    assert scored["matches_recorded"] is None  # another mix: nothing recorded to reproduce


def test_evaluate_regret_against_a_results_directory(tiny_results):
    """Against its own experiment the best design's regret is 0; the fda baseline's is its EDP ratio − 1."""
    best = cosearch("evaluate", tiny_results / "designs" / "best.json", "--against", tiny_results, "--json")
    assert best.returncode == 0, best.stderr
    assert json.loads(best.stdout)["regret"] == {"edp": 0.0}
    fda = cosearch("evaluate", tiny_results / "designs" / "baseline-fda.json", "--against", tiny_results)
    summary = json.loads((tiny_results / "summary.json").read_text())
    ratio = summary["baselines"]["fda"]["edp_over_best"]
    assert fda.returncode == 0 and f"edp {ratio - 1:+.1%}" in fda.stdout


def test_evaluate_on_a_workload_it_cannot_build_is_a_usage_error(tiny_results):
    result = cosearch("evaluate", tiny_results / "designs" / "best.json", "--workload", "resnet51")
    assert result.returncode == 2
    assert "unknown mix 'resnet51'" in result.stderr and "Traceback" not in result.stderr


def test_plot_redraws_as_svg(tiny_results):
    result = cosearch("plot", tiny_results, "--format", "svg")
    assert result.returncode == 0, result.stderr
    for name in ("pareto", "convergence", "design", "schedule"):
        assert (tiny_results / "plots" / f"{name}.svg").read_text().lstrip().startswith("<?xml")


def test_compare_writes_table_and_overlay(tiny_results, tmp_path):
    out = tmp_path / "compare.png"
    result = cosearch("compare", tiny_results, tiny_results, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "best EDP" in result.stdout and "fda EDP / best" in result.stdout
    assert matplotlib.image.imread(out).shape[0] > 200


def test_plot_on_a_directory_without_results_is_a_usage_error(tmp_path):
    result = cosearch("plot", tmp_path)
    assert result.returncode == 2 and "no summary.json" in result.stderr


def test_multi_objective_run_with_constraints(tmp_path):
    config = write_config(tmp_path, """\
        workload: {models: [{model: mobilenet_v1}, {model: tiny_yolo}]}
        platform: mobile
        objective:
          minimize: [latency_s, energy_j]
          maximize: [stp]
          constraints: {max_resource_fraction: 0.8}
        optimizers: [nsga2, random]
        budget: 100
        ray: false
        """)
    result = cosearch("run", config, "--out", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["objective"] == ["latency_s", "energy_j", "stp"]
    assert summary["best"]["metrics"]["resource_fraction"] <= 0.8
    with open(tmp_path / "out" / "pareto.csv") as f:
        front = list(csv.DictReader(f))
    assert min(float(r["edp"]) for r in front) == pytest.approx(summary["best"]["metrics"]["edp"], rel=1e-12)
    assert matplotlib.image.imread(tmp_path / "out" / "plots" / "convergence.png").shape[0] > 200


def test_design_file_records_each_layers_mapping(tiny_results):
    data = json.loads((tiny_results / "designs" / "best.json").read_text())
    mappings, schedule = data["layer_mappings"], data["schedule"]
    assert [m["layer"] for m in mappings] == schedule["layer_names"]
    assert [m["core"] for m in mappings] == schedule["core"]
    first = mappings[0]
    assert {"spatial", "rf_stationary", "buffer_stationary", "dram_tiles", "buffer_loop_order",
            "dram_loop_order", "buffer_rung_bytes", "utilization"} <= set(first)
    assert first["rf_stationary"] in ("input", "weight", "output") and 0 < first["utilization"] <= 1
