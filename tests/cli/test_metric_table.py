"""The metrics table drives the config, the results and the report: a metric registered in it
(with its computation, here ``derive``) is accepted, searched, recorded and shown, untouched elsewhere."""

import csv
import json
import re

import numpy as np
import pytest

from cosearch.cli import main
from cosearch.config import ConfigError
from cosearch.config_loader import load_config, parse_config
from cosearch.pareto import DEFAULT_KEYS, archive_keys
from objectives.metrics import Metric
from tests.cli.conftest import TINY_CONFIG, write_config
from tests.objectives.helpers import registered_metric

# Energy per PE in use: a metric no module but this test knows about.
PER_PE = Metric("energy_per_pe_j", "J", "energy per PE", "minimize", "design", "energy over the PEs in use",
                shown=True, display_unit="nJ", display_scale=1e9,
                derive=lambda v: v["energy_j"] / np.maximum(v["pes_used"], 1.0))

DUMMY_CONFIG = TINY_CONFIG.replace(
    "objective: edp", "objective: {minimize: [edp, energy_per_pe_j], constraints: [energy_per_pe_j < 1]}"
).replace("  - name: cmaes\n    options: {popsize: 8}\n", "").replace("seeds: 2", "seeds: 1")


def test_a_registered_metric_is_validated_searched_recorded_and_shown(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("COSEARCH_DEBUG", raising=False)
    path = write_config(tmp_path, DUMMY_CONFIG)
    with registered_metric(PER_PE):
        assert main(["validate", str(path)]) == 0
        assert "under energy_per_pe_j < 1" in capsys.readouterr().out
        assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
        capsys.readouterr()
        summary = json.loads((tmp_path / "out" / "summary.json").read_text())
        assert summary["objective"] == ["edp", "energy_per_pe_j"]
        assert summary["pareto"]["keys"] == ["latency_s", "energy_j", "resource_fraction", "energy_per_pe_j"]
        best = summary["best"]["metrics"]
        assert best["energy_per_pe_j"] == pytest.approx(best["energy_j"] / best["pes_used"], rel=1e-15)
        with open(tmp_path / "out" / "pareto.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert rows and all(float(r["energy_per_pe_j"]) < 1 for r in rows)
        assert main(["evaluate", str(tmp_path / "out" / "designs" / "best.json")]) == 0
        shown = capsys.readouterr().out
        value = f"{best['energy_per_pe_j'] * 1e9:.6g}"
        assert re.search(rf"energy per PE +│ +{re.escape(value)} │ nJ", shown), shown
        assert "reproduces the recorded metrics" in shown
    with pytest.raises(ConfigError, match="unknown metric 'energy_per_pe_j' to minimize"):
        load_config(path)


def objective(**section):
    return parse_config({"workload": "planaria_b", "objective": section}).objective


@pytest.mark.parametrize(("given", "entries"), [
    ({}, ["resource_fraction <= 1"]),
    (["latency_s<0.05"], ["latency_s < 0.05", "resource_fraction <= 1"]),
    ("sla_violations == 0", ["sla_violations == 0", "resource_fraction <= 1"]),
    (["resource_fraction <= 0.5", "stp >= 1.5"], ["resource_fraction <= 0.5", "stp >= 1.5"]),
    # the deprecated mapping form: the same constraints, in the order it always applied them
    ({"no_sla_violations": True, "max_latency_s": 0.05}, ["latency_s <= 0.05", "resource_fraction <= 1",
                                                          "sla_violations <= 0"]),
    ({"max_power_w": 5, "max_resource_fraction": 0.8}, ["average_power_w <= 5", "resource_fraction <= 0.8"]),
    ({"no_sla_violations": False}, ["resource_fraction <= 1"]),
])
def test_constraints_are_metric_op_bound_entries_within_the_budget(given, entries):
    section = objective(constraints=given) if given != {} else objective()
    assert section.constraints == entries
    assert [str(c) for c in section.constraint_list()] == entries


@pytest.mark.parametrize(("given", "message"), [
    (["model_latency_s <= 0.1"], "unknown metric 'model_latency_s' in constraint"),
    (["latency_s <= inf"], "constraint 'latency_s <= inf': the bound must be a finite number"),
    ({"max_latency_s": -1}, "max_latency_s must be a positive number, got -1 (or write constraints: [latency_s <="),
    ({"max_resource_fraction": 1.5}, "max_resource_fraction must be at most 1, got 1.5"),
    ({"no_sla_violations": "yes"}, "no_sla_violations must be true or false, got 'yes'"),
])
def test_bad_constraints_are_refused_with_the_form_to_write(given, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        objective(constraints=given)


def test_fronts_are_kept_over_the_table_front_metrics_and_minimised_objectives():
    assert archive_keys(("edp",)) == DEFAULT_KEYS == ("latency_s", "energy_j", "resource_fraction")
    assert archive_keys(("stp", "area_mm2", "latency_s", "edp")) == (*DEFAULT_KEYS, "area_mm2")


def test_a_maximised_objective_is_shown_and_plotted_as_itself(tmp_path, monkeypatch, capsys):
    """Runs record the negated STP they minimise; progress lines and the log-scale plot show STP itself."""
    from cosearch import plots

    drawn = {}
    real = plots.convergence
    monkeypatch.setattr(plots, "convergence", lambda path, curves, **kw: drawn.update(curves=curves, **kw)
                        or real(path, curves, **kw))
    config = DUMMY_CONFIG.replace("{minimize: [edp, energy_per_pe_j], constraints: [energy_per_pe_j < 1]}",
                                  "{minimize: [], maximize: [stp]}")
    assert main(["run", str(write_config(tmp_path, config)), "--out", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    (history,) = drawn["curves"]["random"]
    assert drawn["label"] == "best STP so far, higher is better"  # the unit's parentheses follow
    assert history["best"][-1] == summary["best"]["metrics"]["stp"] > 0
    assert f"best STP {summary['best']['metrics']['stp']:.4g}\n" in capsys.readouterr().out
