"""benchmarks/paper.py: a digest holds everything the report reads of a run, so the page built from the
committed digest alone equals the page built from the results directory it was made from."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spaces.hardware import DATAFLOWS, PLATFORMS

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "benchmarks"
NAME = "herald_mlperf_mobile"
"""A name the report has sections for (the Herald table, the convergence table, the plots)."""


@pytest.fixture(scope="module")
def paper(tmp_path_factory, serving_digest):
    """paper.py with its configs, results, digests and images in a scratch directory, after a tiny run
    of the Herald mlperf-mobile experiment (2 seeds, 32 evaluations per run) and ``--report``'s refresh:
    the digest is written, the page built from the results directory is ``paper.from_run`` and its
    ``summary.json`` ``paper.summary``; then the results directory is removed, as on a fresh checkout.
    The serving digests are the tiny serving experiment's (conftest)."""
    dataflows, platforms, modules = set(DATAFLOWS), set(PLATFORMS), set(sys.modules)
    sys.path.insert(0, str(BENCHMARKS))  # paper.py imports its sibling scripts by name, as a script does
    import paper

    root = tmp_path_factory.mktemp("paper")
    config = (REPO / "experiments" / "paper" / f"{NAME}.yaml").read_text()
    config = config.replace("seeds: 5", "seeds: 2").replace("evaluations: 2000", "evaluations: 32")
    assert config.count("seeds: 2") == 2 and config.count("evaluations: 32") == 2
    (root / "configs").mkdir()
    (root / "configs" / f"{NAME}.yaml").write_text(config)
    saved = {k: getattr(paper, k) for k in ("CONFIGS", "RESULTS", "ATTRIBUTION", "DATA", "ATTRIBUTION_DATA", "IMAGES",
                                            "SERVING_DATA")}
    paper.SERVING_DATA = serving_digest.data
    paper.CONFIGS, paper.RESULTS = root / "configs", root / "results"
    paper.ATTRIBUTION, paper.DATA = root / "attribution", root / "data" / "paper"
    paper.ATTRIBUTION_DATA, paper.IMAGES = root / "data" / "attribution", root / "img"
    subprocess.run([sys.executable, "-m", "cosearch", "run", str(paper.CONFIGS / f"{NAME}.yaml"), "--no-ray",
                    "--out", str(paper.RESULTS / NAME)], check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    paper.refresh_digests([NAME])
    assert paper.ran(NAME)
    written = paper.digest_path(NAME).stat().st_mtime_ns
    paper.refresh_digests([NAME])
    paper.rewritten = paper.digest_path(NAME).stat().st_mtime_ns != written
    paper.from_run = paper.report_lines()  # load() reads the results directory while it is here
    paper.summary = json.loads((paper.RESULTS / NAME / "summary.json").read_text())
    shutil.rmtree(paper.RESULTS / NAME)
    yield paper
    for key, value in saved.items():
        setattr(paper, key, value)
    sys.path.remove(str(BENCHMARKS))
    # The report registers the ShiDianNao variants' dataflows and platforms (herald_checks); other tests
    # list the registries in their messages, and other benchmarks' modules must not find these by name.
    for name in set(DATAFLOWS) - dataflows:
        DATAFLOWS.pop(name)
    for name in set(PLATFORMS) - platforms:
        PLATFORMS.pop(name)
    for name in set(sys.modules) - modules:
        if str(getattr(sys.modules[name], "__file__", "")).startswith(str(BENCHMARKS)):
            sys.modules.pop(name)


def test_the_page_from_the_digest_equals_the_page_from_the_run(paper):
    assert not paper.ran(NAME) and paper.done(NAME)  # only the digest is left
    from_digest = paper.report_lines()
    assert from_digest == paper.from_run

    page = "\n".join(from_digest)
    # The sections are there and carry this run's figures, not an empty page that trivially matches.
    assert "| mlperf | mobile |" in page
    assert f"| {NAME} | hda (the search) | 32 |" in page
    assert f"| {NAME} | 32 evaluations × 2 seeds |" in page
    assert f"![{NAME} convergence](img/paper/{NAME}-convergence.png)" in page
    best_edp = paper.summary["best"]["metrics"]["edp"]
    assert f"{best_edp:.4g}" in page


def test_the_page_has_the_serving_section_from_the_serving_digests(paper, overview, serving_digest):
    page = "\n".join(paper.from_run)
    section = page.split("## Serving (throughput at SLA)\n")[1].split("\n## ")[0]
    digest = overview.read_digest(serving_digest.path)
    # overview.py's tables as they are, and the line that says what they stand on
    assert "\n".join(overview.table_lines([digest])[0]) in section
    assert (f"- `tiny`: co-search 2 seeds × 8 evaluations; policy `shared`, backfilling depth all (every idle "
            f"interval kept), 25–30 requests per tenant (5 warm-up); finished {digest['finished'][:10]} "
            f"{digest['finished'][11:16]} UTC, digested at commit {digest['digested']['commit'][:10]}{'+' if digest['digested']['dirty'] else ''}.") in section


def test_no_serving_digests_is_one_line(paper, tmp_path):
    saved, paper.SERVING_DATA = paper.SERVING_DATA, tmp_path
    try:
        lines = []
        paper.serving_section(lines, paper.serving_digests())
    finally:
        paper.SERVING_DATA = saved
    assert lines[0] == "## Serving (throughput at SLA)" and [line for line in lines[1:] if line] == [
        "No serving digests yet (`docs/data/serving/<name>.json`, written by "
        "`python experiments/serving/overview.py RESULTS --digest`)."]


def test_a_bad_serving_digest_stops_the_report(paper, tmp_path, capsys):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "tiny.json").write_text('{"format": "cosearch.paper-digest/1"}')
    saved, paper.SERVING_DATA = paper.SERVING_DATA, tmp_path / "data"
    try:
        assert paper.main(["--report", "--doc", str(tmp_path / "results.md")]) == 2
    finally:
        paper.SERVING_DATA = saved
    assert "tiny.json: not a serving digest (format 'cosearch.paper-digest/1'" in capsys.readouterr().err
    assert not (tmp_path / "results.md").exists()


def test_the_digest_keeps_the_figures_and_is_small(paper):
    data = json.loads(paper.digest_path(NAME).read_text())
    assert data["format"] == paper.DIGEST_FORMAT and data["experiment"] == NAME
    search = [r for r in data["runs"] if r["run_id"].startswith(paper.SEARCH)]
    assert [r["seed"] for r in search] == [0, 1]
    # The best design is one of the search's seeds, and its cores are the ones the digest decoded for that seed.
    best = next(r for r in search if r["run_id"] == data["best"]["run"])
    assert [(c["size"], c["pes"], c["dataflow"]) for c in data["best_design"]["cores"]] == [tuple(c) for c in best["cores"]]
    assert best["best_objectives"][0] == min(r["best_objectives"][0] for r in search)
    assert all(r["half_final"] >= 1.0 for r in data["runs"])  # a best-so-far never gets worse
    assert set(data["baselines"]) == {"fda_nvdla", "fda_shidiannao", "sm_fda", "cosearch"}
    assert paper.digest_path(NAME).stat().st_size < 200_000


def test_a_digest_is_not_rewritten_for_the_same_run(paper):
    assert not paper.rewritten


def test_a_digest_without_its_run_survives_a_refresh(paper):
    before = paper.digest_path(NAME).read_text()
    paper.refresh_digests([NAME])  # the results directory is gone: the digest is kept as it was
    assert paper.digest_path(NAME).read_text() == before
