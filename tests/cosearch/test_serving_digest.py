"""experiments/serving/overview.py: a serving experiment's digest holds everything its tables and overview
figures read, so both come out the same from the committed digest as from the results directory."""

from __future__ import annotations

import datetime
import json
import re
import subprocess

import numpy as np
import pytest

from cosearch.results import read_json
from tests.cosearch.conftest import REPO


def output(overview, capsys, *argv) -> str:
    assert overview.main([str(a) for a in argv]) == 0
    return capsys.readouterr().out


def test_tables_and_figures_from_the_digest_equal_those_from_the_results_directory(serving_digest, overview,
                                                                                     capsys, tmp_path):
    from_run = output(overview, capsys, serving_digest.results, "--out", tmp_path / "run")
    from_digest = output(overview, capsys, "--from-data", serving_digest.data, "--out", tmp_path / "digest")
    assert from_digest == from_run
    for figure in ("overview-qps.png", "overview-core-mix.png"):
        assert (tmp_path / "digest" / figure).read_bytes() == (tmp_path / "run" / figure).read_bytes(), figure
    # the experiment's own figures are copied from its results directory only
    assert (tmp_path / "run" / "tiny-qps.png").is_file() and not (tmp_path / "digest" / "tiny-qps.png").exists()

    # Not two empty outputs: the tables carry this run's figures.
    summary = read_json(serving_digest.results / "summary.json")
    best = summary["best"]["metrics"]["scenarios"]
    assert [c["case"] for c in best] == ["QoS-S", "loose"]
    assert "| tiny QoS-S | co-search | 2 × 8, " in from_run and "| tiny loose | prema | 1 × 1 |" in from_run
    assert "| tiny loose | " in from_run.split("### Ratios to PREMA")[1]  # the ratio table has its rows
    core_mix = from_run.split("### Core mix")[1].split("### Isolated")[0]
    seeds = [line for line in core_mix.splitlines() if line.startswith("| tiny | co-search | ")]
    assert len(seeds) == 2 and any(f"| {best[0]['qps_at_sla']:.4g} |" in line for line in seeds)


def test_the_digest_is_read_experiments_dict_with_its_format_and_provenance(serving_digest, overview):
    data = json.loads(serving_digest.path.read_text())
    assert serving_digest.path.name == "tiny.json" and data["format"] == overview.DIGEST_FORMAT
    assert data["format"] == "cosearch.serving-digest/1"
    digest = overview.read_digest(serving_digest.path)
    assert {k: v for k, v in digest.items() if k not in ("format", "digested")}.keys() == serving_digest.experiment.keys()
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    assert data["digested"]["commit"] == head and isinstance(data["digested"]["dirty"], bool)
    assert data["finished"] == overview.provenance.written_utc(serving_digest.results / "summary.json")
    assert datetime.datetime.fromisoformat(data["finished"]) <= datetime.datetime.fromisoformat(data["digested"]["date"])
    assert data["config"] == (serving_digest.results / "config.yaml").read_text()
    # The streams as run: the section's backfilling default, and the loose scenario's own request count.
    assert data["serving"] == {"policy": "shared", "backfill": "all", "warmup": 5,
                               "requests": {"QoS-S": {"mobilenet_v1": 30, "tiny_yolo": 30},
                                            "loose": {"mobilenet_v1": 25, "tiny_yolo": 25}}}
    assert set(data["runs"]) == {"co-search", "prema", "planaria"}
    assert [e["seed"] for e in data["runs"]["co-search"]] == [0, 1]
    tenants = data["runs"]["co-search"][0]["cases"][0]["tenants"]
    assert set(tenants) == {"mobilenet_v1", "tiny_yolo"} and "tenant_sla_rate" in tenants["tiny_yolo"]
    assert data["runs"]["planaria"][0]["cores"] == ["PE256 systolic"] * 4
    assert serving_digest.path.stat().st_size < 30_000  # no per-request arrays


def test_a_digest_alone_is_rescored_from_its_genes(serving_digest, overview):
    digest = overview.read_digest(serving_digest.path)
    for entry in digest["runs"]["co-search"]:
        assert len(entry["x"]) == overview.built_of(digest).spaces["co-search"].dim
    again = overview.rescore(digest)
    # the same checkout scores the same designs the same: the tables do not move
    assert overview.table_lines([again])[0] == overview.table_lines([digest])[0]
    qps = [e["cases"][0]["qps_at_sla"] for e in again["runs"]["co-search"]]
    assert qps == [e["cases"][0]["qps_at_sla"] for e in digest["runs"]["co-search"]] and np.isfinite(qps).all()


def test_a_digest_of_the_same_runs_is_not_rewritten(serving_digest, overview):
    before = serving_digest.path.read_text(), serving_digest.path.stat().st_mtime_ns
    overview.write_digest(overview.read_experiment(serving_digest.results), serving_digest.results,
                          serving_digest.data)
    assert (serving_digest.path.read_text(), serving_digest.path.stat().st_mtime_ns) == before


@pytest.mark.parametrize("content, message", [
    ('{"format": "cosearch.paper-digest/1"}', "not a serving digest (format 'cosearch.paper-digest/1'; expected "
                                              "'cosearch.serving-digest/1'"),
    ('{"name": "tiny"}', "not a serving digest (format None"),
    ('[1, 2]', "not a serving digest (format None"),
    ('{"format": "cosearch.serving-digest/1", "name": "tiny"}', "a serving digest without config, serving, finished, runs"),
    ("not json", "cannot read a serving digest"),
])
def test_a_bad_digest_is_a_clear_error(overview, capsys, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(overview.DigestError, match="^" + re.escape(f"{path}: ")):
        overview.read_digest(path)
    assert overview.main(["--from-data", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_unfinished_experiments_and_empty_directories_are_refused(serving_digest, overview, capsys, tmp_path):
    with pytest.raises(overview.DigestError, match="no summary.json"):
        overview.write_digest({**serving_digest.experiment, "finished": None}, serving_digest.results, tmp_path)
    assert not any(tmp_path.iterdir())
    assert overview.main(["--from-data", str(tmp_path)]) == 2
    assert "no digests (*.json) in it" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        overview.main(["--from-data", str(serving_digest.data), "--digest"])
    assert exit_.value.code == 2
