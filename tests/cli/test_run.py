"""`cosearch run`: every promised file, designs that re-score to their metrics, plots that open."""

from __future__ import annotations

import csv
import json
import re

import matplotlib.image
import numpy as np
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
    assert list(rows[0]) == ["evaluations", "seconds", "best_edp_j_s",
                             "hypervolume_latency_s_x_energy_j_x_resource_fraction"]
    evaluations = [int(r["evaluations"]) for r in rows]
    best = [float(r["best_edp_j_s"]) for r in rows]
    assert evaluations[-1] == 48 and evaluations == sorted(evaluations)
    assert all(b >= a for a, b in zip(best[1:], best[:-1]))


def test_pareto_csv_lists_front_with_origin(tiny_results):
    with open(tiny_results / "pareto.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows
    assert {"latency_s", "energy_j", "resource_fraction", "edp_j_s", "run", "evaluation", "design"} <= set(rows[0])
    assert {r["run"] for r in rows} <= set(RUNS)
    named = [r["design"] for r in rows if r["design"]]
    assert named and all((tiny_results / n).is_file() for n in named)


def test_pareto_csv_names_genes_and_reads_as_the_design_files(tiny_results):
    """Gene columns carry the space's gene names; the readable columns say what the design file says."""
    with open(tiny_results / "pareto.csv") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0])
    assert "x.cores" in header and "x.core0.size" in header and "x.core0.dataflow" in header
    assert not any(name.startswith("x") and name[1:].isdigit() for name in header)
    for row in rows:
        if not row["design"]:
            continue
        data = json.loads((tiny_results / row["design"]).read_text())
        cores = data["cores"]
        assert int(row["cores"]) == len(cores) == len(data["design"]["cores"])
        assert row["mapping"] == data["mapping"]
        for k, core in enumerate(cores):
            assert row[f"core{k}_size"] == core["size"] and int(row[f"core{k}_pes"]) == core["pes"]
            assert row[f"core{k}_dataflow"] == core["dataflow"]
            assert float(row[f"core{k}_bw_gbps"]) == pytest.approx(core["bw_gbps"], rel=1e-12)
            assert float(row[f"core{k}_buffer_mib"]) == pytest.approx(core["buffer_mib"], rel=1e-12)
        assert float(row["edp_j_s"]) == pytest.approx(data["metrics"]["edp"], rel=1e-12)


def test_design_file_states_platform_numbers_and_each_layers_core(tiny_results):
    """The edge preset with max_cores 3, in numbers; greedy layers on the cores they ran on."""
    from spaces import get_platform

    edge = get_platform("edge")
    data = json.loads((tiny_results / "designs" / "best.json").read_text())
    chip = data["chip"]
    assert data["platform"] == {"preset": "edge", "max_cores": 3}  # what rebuilds it, without unset keys
    assert (chip["pes"], chip["bw_gbps"], chip["clock_mhz"]) == (edge.pes, edge.bw_gbps, edge.clock_hz / 1e6)
    assert chip["buffer_mib"] == edge.buffer_bytes / 2**20 and chip["max_cores"] == 3
    assert data["mapping"] == "greedy" and set(data["design"]["layer_core"]) == {-1}
    cores = data["cores"]
    assert data["layer_core"] == data["schedule"]["core"] == [m["core"] for m in data["layer_mappings"]]
    assert set(data["layer_core"]) <= set(range(len(cores)))
    assert sum(core["layers"] for core in cores) == len(data["layer_core"])
    assert sum(core["pes"] for core in cores) == data["metrics"]["pes_used"]
    assert sum(core["bw_gbps"] for core in cores) == pytest.approx(edge.bw_gbps)
    assert sum(core["buffer_mib"] for core in cores) == pytest.approx(edge.buffer_bytes / 2**20)
    for core in cores:  # the array fits in the core's PEs (a row-stationary array of 1024 is 3 × 16 × 21)
        extents = [int(part.split(" ")[0]) for part in core["array"].split(" × ")]
        assert 0.9 * core["pes"] <= np.prod(extents) <= core["pes"], core


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
    assert "best EDP" in result.stdout and "baselines: their EDP over each experiment's best" in result.stdout
    assert any(line.startswith("│ fda ") for line in result.stdout.splitlines())
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
    assert min(float(r["edp_j_s"]) for r in front) == pytest.approx(summary["best"]["metrics"]["edp"], rel=1e-12)
    finished = [line for line in result.stdout.splitlines() if line.startswith("run nsga2-0 finished")]
    assert finished and re.search(r"best latency [0-9.]+ [µm]?s$", finished[0]), finished  # with its unit
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
