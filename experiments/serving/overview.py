"""Overview of the serving experiments, with the spread over seeds: from their results directories or their digests.

    python experiments/serving/overview.py results/serving_planaria_a ... results/serving_mixed --out docs/img/serving
    python experiments/serving/overview.py results/serving_planaria_a ... results/serving_mixed --digest
    python experiments/serving/overview.py --from-data docs/data/serving --out docs/img/serving

Reads each run's best design (``runs/*/run.json``: every seed of the co-search and of each
baseline), and prints the tables docs/serving.md quotes: throughput at SLA per case as the median
over seeds with its range, the Planaria-over-PREMA and co-search-over-PREMA ratios, the SLA rate and
fairness at the configured load, and each seed's core mix.  With ``--out``, draws ``overview-qps.png`` (median
bars, min-max whiskers over seeds) and ``overview-core-mix.png`` (the cores of each experiment's best design),
and copies each experiment's own figures (``cosearch run``'s ``plots/``) as ``<experiment>-<figure>.png``.

``results/`` is not committed, so ``--digest`` condenses each finished results directory into
``docs/data/serving/<experiment>.json`` (``--data DIR``: elsewhere), format ``cosearch.serving-digest/1``:
exactly what the tables and the overview figures read (per design and seed: evaluations, stop reason,
seconds, the per-case metrics with each tenant's, the cores and their PEs, and the best genes, which
``--rescore`` scores again), the resolved config's text, the dispatch policy, backfilling depth, warm-up and
each case's requests per tenant, when the experiment finished (its ``summary.json``) and the commit checked
out when the digest was written (``benchmarks/provenance.py``; so digest from the checkout the experiments
ran at).  A digest written before of the same runs is left as it is.  ``--from-data`` (digests, or
directories of them) prints the same tables and draws the same two overview figures from the digests alone;
the per-experiment figures are copied only from results directories.  ``python benchmarks/paper.py
--report`` puts the tables of ``docs/data/serving/*.json`` in docs/results.md.

``--rescore`` scores each run's best design again under the metric definitions of this checkout
(one evaluation per run, under the run's own policy) instead of reading the metrics the run recorded:
for results older than a change of definition (``qps_at_sla``'s search) or of a baseline's policy.  The
designs are still the ones each search picked under the definitions it ran with.  A digest keeps the
recorded metrics; ``--rescore`` applies to the tables and figures, from results directories or digests alike.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import pathlib
import shutil
import sys
import types

import numpy as np

from cosearch import plots
from cosearch.config_base import ConfigError
from cosearch.config_loader import build, config_problems, parse_config
from cosearch.report import core_label
from cosearch.results import ResultsDir, ResultsError, read_json, to_plain
from cosearch.run import objective_matrix
from spaces.userfiles import parse_yaml

REPO = pathlib.Path(__file__).resolve().parents[2]


def _script(path: pathlib.Path) -> types.ModuleType:
    """A module of a script directory (not a package) by its path, leaving ``sys.path`` as it is: the names of
    benchmarks/'s scripts (``serving``, ``mapper``, …) on it would shadow others in a process importing this."""
    spec = importlib.util.spec_from_file_location(f"_script_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


provenance = _script(REPO / "benchmarks" / "provenance.py")  # the commit and dates paper.py's digests record too

FIGURES = ("latency_cdf", "sla_load", "qps", "core_mix")
# The poster's granularity classes of DPU sizes: its "small cores" are B512 and B800, its "large" B3136
# and B4096; B1024-B1152 are counted small and B1600-B2304 medium here.
DPU_CLASSES = {"small": ("B512", "B800", "B1024", "B1152"), "medium": ("B1600", "B2304"), "large": ("B3136", "B4096")}
DATA = REPO / "docs" / "data" / "serving"
"""The committed digests, one per serving experiment (``results/`` is not committed)."""
DIGEST_FORMAT = "cosearch.serving-digest/1"
DIGEST_KEYS = ("name", "config", "serving", "finished", "runs")
"""What ``read_experiment`` returns, and so what a digest holds besides its format and ``digested``."""
ORDER = ("planaria_a", "planaria_b", "planaria_c", "vision", "nlp", "mixed")
"""The order docs/serving.md takes the experiments in: a directory of digests is read in it (others after, by name)."""


class DigestError(ValueError):
    """A digest that cannot be read or written: not a serving digest, or of an unfinished experiment."""


def run_label(record: dict, baseline_keys: list[str]) -> str:
    """"co-search" for a search run, else the baseline's label (run ids: ``baseline-<label>[-<seed>]``)."""
    if record["kind"] != "baseline":
        return "co-search"
    rest = record["run_id"].removeprefix("baseline-")
    return next(k for k in sorted(baseline_keys, key=len, reverse=True) if rest == k or rest.startswith(k + "-"))


_BUILT: dict[str, types.SimpleNamespace] = {}
BUILT_KEPT = 8
"""Configs built, by their text: reading, re-scoring and the isolated table build each experiment's once."""


def experiment_of(config_text: str, source: str) -> types.SimpleNamespace:
    """The resolved config of a results directory or a digest (``file:`` paths in it are absolute), built: per
    design label (``co-search`` and each baseline's) its space and its problem (each served under its own
    policy), and the workload; ``source`` names the config in errors."""
    if config_text not in _BUILT:
        config = parse_config(parse_yaml(config_text), source)
        built = build(config, source)
        labels = ["co-search", *(b.key for b in config.baselines.spaces)]
        if len(_BUILT) >= BUILT_KEPT:
            _BUILT.pop(next(iter(_BUILT)))
        _BUILT[config_text] = types.SimpleNamespace(
            config=config, workload=built.workload, labels=labels,
            spaces=dict(zip(labels, (built.space, *built.baselines))),
            problems=dict(zip(labels, config_problems(config, built).values())))
    return _BUILT[config_text]


def serving_settings(exp: types.SimpleNamespace, config_text: str) -> dict:
    """What the streams were: the search's dispatch policy and backfilling depth ("all": every idle interval;
    None: a config written before ``serving.backfill`` was a key, so the depth is not known from it), the
    warm-up, each case's requests per tenant (a scenario may set its own)."""
    from cosearch.scenarios import resolve_cases

    serving = exp.config.serving
    stated = "backfill" in ((parse_yaml(config_text) or {}).get("serving") or {})
    depth = "all" if serving.backfill is None else serving.backfill  # the config's own word for every interval
    return {"policy": serving.policy, "backfill": depth if stated else None, "warmup": serving.warmup,
            "requests": {case.label: {t.name: int(t.requests) for t in case.scenario.tenants}
                         for case in resolve_cases(serving, exp.workload)}}


def recorded(metrics: dict, objective: float) -> dict:
    """What the tables read of a design's metrics row: each case's metrics (each tenant's among them), the
    throughput at SLA per watt, and the first minimised objective (which picks the best seed)."""
    return {"cases": metrics.get("scenarios") or [], "qps_per_watt": metrics.get("qps_per_watt", float("nan")),
            "objective": objective}


def read_experiment(root: pathlib.Path) -> dict:
    """Per design label, one entry per seed: its evaluations, stop reason, seconds, per-case metrics, cores and
    best genes; with the resolved config, the streams' settings and when the experiment finished (None: not yet).

    From the finished runs' ``run.json`` alone, so an experiment still running (no ``summary.json``
    yet) is reported on the runs it has finished.  Plain data: a digest holds exactly this."""
    results = ResultsDir(root)
    results.check_readable()
    if not results.config_path.is_file():
        raise ResultsError(f"{root}: no config.yaml (a results directory: `cosearch run CONFIG` writes one)")
    text = results.config_path.read_text(encoding="utf-8")
    exp = experiment_of(text, str(results.config_path))
    keys = exp.labels[1:]
    runs = {label: [] for label in exp.labels}
    for run_id in sorted(results.finished_runs()):
        run = results.read_run(run_id)["summary"]
        label = run_label(run, keys)
        cores, pes = [], []
        if run["best_x"] is not None:
            design = exp.spaces[label].designs(np.asarray(run["best_x"], dtype=np.float64).reshape(1, -1))[0]
            cores = [core_label(c) for c in design.to_dict()["cores"]]
            pes = [int(c.pes) for c in design.cores]
        runs[label].append({"run": run_id, "seed": run["seed"], "evaluations": run["evaluations"],
                            "stopped_by": run["stopped_by"], "seconds": run["seconds"],
                            **recorded(run["best_metrics"] or {}, (run["best_objectives"] or [np.inf])[0]),
                            "cores": cores, "pes": pes, "x": run["best_x"]})
    return {"name": exp.config.name.removeprefix("serving_"), "config": text,
            "serving": serving_settings(exp, text),
            "finished": provenance.written_utc(results.summary_path) if results.summary_path.is_file() else None,
            "runs": {k: v for k, v in runs.items() if v}}


def built_of(experiment: dict) -> types.SimpleNamespace:
    """The experiment's config built again from the text it keeps (a digest's as much as a directory's)."""
    return experiment_of(experiment["config"], f"{experiment['name']}: config")


def rescore(experiment: dict) -> dict:
    """The experiment with each run's best design scored again here instead of its recorded metrics."""
    exp = built_of(experiment)
    runs = {label: [{**e, **(recorded(*score_again(exp.problems[label], e["x"], exp.config)) if e["x"] is not None
                             else {})} for e in entries] for label, entries in experiment["runs"].items()}
    return {**experiment, "runs": runs}


def score_again(problem, x, config) -> tuple[dict, float]:
    """One design's metrics row and first minimised objective, scored now."""
    metrics = problem.evaluate(np.asarray(x, dtype=np.float64).reshape(1, -1))
    F = objective_matrix(metrics, config.objective.keys, config.objective.constraint_list())
    return problem.metrics_row(metrics, 0), float(F[0, 0])


# -- digests ------------------------------------------------------------------------------------------


def digest_path(experiment: dict, directory: pathlib.Path = DATA) -> pathlib.Path:
    return directory / f"{experiment['name']}.json"


def write_digest(experiment: dict, root: pathlib.Path, directory: pathlib.Path = DATA) -> pathlib.Path:
    """``read_experiment(root)``'s dict as ``<directory>/<name>.json``, with its format and the checkout and
    date it was written at; a digest of the same data already there is kept, its date and commit included."""
    if experiment["finished"] is None:
        raise DigestError(f"{root}: no summary.json (the experiment has not finished; `cosearch run CONFIG "
                          "--resume` completes it): a digest is of a finished experiment")
    data = to_plain({"format": DIGEST_FORMAT, **{k: experiment[k] for k in DIGEST_KEYS}})
    path = digest_path(experiment, directory)
    try:
        before = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, or not one: written anew
        before = None
    if isinstance(before, dict) and {k: v for k, v in before.items() if k != "digested"} == data:
        return path
    data["digested"] = {**provenance.checkout(), "date": provenance.now_utc()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_digest(path: pathlib.Path) -> dict:
    """A digest as ``read_experiment`` returned it (plus ``format`` and ``digested``)."""
    try:
        data = read_json(path)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise DigestError(f"{path}: cannot read a serving digest ({e})") from None
    found = data.get("format") if isinstance(data, dict) else None
    if found != DIGEST_FORMAT:
        raise DigestError(f"{path}: not a serving digest (format {found!r}; expected {DIGEST_FORMAT!r}, written by "
                          "`experiments/serving/overview.py RESULTS --digest`)")
    missing = [k for k in DIGEST_KEYS if k not in data]
    if missing:
        raise DigestError(f"{path}: a serving digest without {', '.join(missing)}")
    return data


def read_digests(paths) -> list[dict]:
    """The digests named, a directory standing for its ``*.json`` (in ``ORDER``, the others after by name)."""
    files = []
    for path in map(pathlib.Path, paths):
        if path.is_dir():
            found = sorted(path.glob("*.json"), key=lambda p: (ORDER.index(p.stem) if p.stem in ORDER else len(ORDER),
                                                               p.stem))
            if not found:
                raise DigestError(f"{path}: no digests (*.json) in it")
            files += found
        else:
            files.append(path)
    return [read_digest(path) for path in files]


# -- tables and figures -------------------------------------------------------------------------------


def print_isolated(experiments: list[dict]) -> None:
    """Each tenant's latency alone on the best design of each label (one request on an idle chip, under the
    label's policy) over its bound, per case: above 1, no load meets that tenant's SLA."""
    from cosearch.scenarios import resolve_cases
    from objectives import serving as engine

    print("\n### Isolated latency over the QoS bound, per tenant (best seed of each design)\n")
    print("| experiment | design | case | tenant: isolated ms / bound ms |\n|---|---|---|---|")
    for exp in experiments:
        built = built_of(exp)
        for label, entries in exp["runs"].items():
            best = min(entries, key=lambda e: e["objective"])
            if best["x"] is None:
                continue
            problem = built.problems[label]
            batch = problem.space.designs(np.asarray(best["x"], dtype=np.float64).reshape(1, -1))[0].to_batch(
                problem.platform)
            for case in resolve_cases(problem.serving, built.workload):
                result = engine.simulate(batch, built.workload, problem.platform, case.scenario, load=case.load)
                cells = ", ".join(f"{t.name} {1e3 * iso:.3g}/{1e3 * q:.3g}{' ✗' if iso > q else ''}" for t, iso, q in
                                  zip(case.scenario.tenants, result.isolated_s[0], result.qos_s))
                print(f"| {exp['name']} | {label} | {case.label} | {cells} |")


def spread(values) -> tuple[float, float, float]:
    v = np.asarray(values, dtype=float)
    return (float(np.median(v)), float(v.min()), float(v.max())) if v.size else (np.nan,) * 3


def fmt(stats: tuple[float, float, float], n: int) -> str:
    med, lo, hi = stats
    if n == 1 or lo == hi:
        return f"{med:.3g}"
    return f"{med:.3g} [{lo:.3g}–{hi:.3g}]"


def case_values(entries: list[dict], case: int, metric: str) -> list[float]:
    return [e["cases"][case].get(metric, np.nan) if len(e["cases"]) > case else np.nan for e in entries]


def mix_text(cores: list[str]) -> str:
    counts = collections.Counter(cores)
    return f"{len(cores)}: " + ", ".join(f"{n} × {c}" if n > 1 else c for c, n in sorted(
        counts.items(), key=lambda kv: (-int(''.join(ch for ch in kv[0].split()[0] if ch.isdigit()) or 0), kv[0])))


def class_shares(cores: list[str], pes: list[int]) -> str:
    """The share of a DPU design's PEs in small / medium / large cores (DPU_CLASSES); empty for other designs."""
    if not cores or not all(c.split()[0] in sum(DPU_CLASSES.values(), ()) for c in cores):
        return ""
    total = sum(pes)
    shares = [sum(n for c, n in zip(cores, pes) if c.split()[0] in sizes) / total for sizes in DPU_CLASSES.values()]
    return " / ".join(f"{s:.0%}" for s in shares)


def table_lines(experiments: list[dict]) -> tuple[list[str], dict]:
    """The markdown tables, and the figure's data: group -> design -> (median, min, max).  The same for an
    experiment read from its results directory and from its digest (the same dict)."""
    bars: dict[str, dict[str, tuple]] = {}
    lines = ["### Throughput at SLA (queries/s): median over seeds [min–max]", "",
             "| experiment, case | " + " | ".join(["design", "seeds × evaluations, s per run", "queries/s",
                                                  "queries/s/W", "SLA rate at load 1", "fairness at load 1"]) + " |",
             "|---|---|---|---:|---:|---:|---:|"]
    for exp in experiments:
        runs = exp["runs"]
        n_cases = max(len(e["cases"]) for entries in runs.values() for e in entries)
        for case in range(n_cases):
            label = next(e["cases"][case]["case"] for e in runs["co-search"] if len(e["cases"]) > case)
            group = f"{exp['name']} {label}".strip() if n_cases > 1 else exp["name"]
            for design, entries in runs.items():
                qps = spread(case_values(entries, case, "qps_at_sla"))
                bars.setdefault(group, {})[design] = qps
                per_watt = (fmt(spread([e["qps_per_watt"] for e in entries]), len(entries)) if n_cases == 1
                            else "")
                evals = "/".join(sorted({str(e["evaluations"]) for e in entries}))
                # "exhausted": a space of one design, scored once
                stopped = {e["stopped_by"] for e in entries} - {"evaluations", "exhausted", None}
                note = f" ({', '.join(stopped)})" if stopped else ""
                note += f", {np.median([e['seconds'] for e in entries]):.0f} s" if case == 0 else ""
                lines.append(f"| {group} | {design} | {len(entries)} × {evals}{note}"
                             f" | {fmt(qps, len(entries))} | {per_watt}"
                             f" | {fmt(spread(case_values(entries, case, 'sla_rate')), len(entries))}"
                             f" | {fmt(spread(case_values(entries, case, 'serving_fairness')), len(entries))} |")
    lines += ["", "### Ratios to PREMA (median over the co-search's seeds; PREMA and Planaria are fixed designs)", "",
              "| experiment, case | Planaria / PREMA | co-search / PREMA | co-search / Planaria |", "|---|---:|---:|---:|"]
    for group, designs in bars.items():
        if "prema" in designs:
            prema, planaria, co = designs["prema"][0], designs["planaria"][0], designs["co-search"][0]
            ratio = lambda a, b: "both 0" if a == b == 0 else ("∞ (divisor 0)" if b == 0 else f"{a / b:.3g}×")
            lines.append(f"| {group} | {ratio(planaria, prema)} | {ratio(co, prema)} | {ratio(co, planaria)} |")
    lines += ["", "### Core mix of each seed's best design", "",
              "| experiment | design | seed | queries/s (first case) | PEs in small / medium / large cores | cores |",
              "|---|---|---:|---:|---|---|"]
    for exp in experiments:
        for design, entries in exp["runs"].items():
            for e in entries:
                qps = e["cases"][0].get("qps_at_sla", np.nan) if e["cases"] else np.nan
                lines.append(f"| {exp['name']} | {design} | {e['seed']} | {qps:.4g} | "
                             f"{class_shares(e['cores'], e['pes'])} | {mix_text(e['cores'])} |")
    return lines, bars


def draw_overview(experiments: list[dict], bars: dict, out: pathlib.Path) -> None:
    """``overview-qps.png`` from ``table_lines``' bars and ``overview-core-mix.png`` from each experiment's best
    co-search seed: from the dicts alone, so the same from a results directory and from its digest."""
    out.mkdir(parents=True, exist_ok=True)
    medians = {g: {d: m for d, (m, _, _) in b.items()} for g, b in bars.items()}
    spreads = {g: {d: (lo, hi) for d, (_, lo, hi) in b.items()} for g, b in bars.items()}
    title = "Throughput at SLA per design: median over seeds, whiskers min–max (0: no seed meets the SLA)"
    plots.grouped_bars(out / "overview-qps.png", medians, spread=spreads, ratios=False, metric="qps_at_sla",
                       title=title)
    # the best co-search seed: the lowest minimised objective, as the run's summary picks it
    mixes = {exp["name"]: min(exp["runs"]["co-search"], key=lambda e: e["objective"])["cores"] for exp in experiments}
    plots.core_mix(out / "overview-core-mix.png", mixes, title="Core mix of each experiment's best design")


def copy_figures(root: pathlib.Path, name: str, out: pathlib.Path) -> None:
    """A finished experiment's own figures (``cosearch run``'s ``plots/``) as ``<name>-<figure>.png``."""
    if not (root / "summary.json").is_file():
        return
    for figure in FIGURES:
        source = root / "plots" / f"{figure}.png"
        if source.is_file():
            shutil.copyfile(source, out / f"{name}-{figure}.png")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="*", type=pathlib.Path, help="results directories (cosearch run's --out)")
    parser.add_argument("--from-data", nargs="+", type=pathlib.Path, metavar="DIGEST",
                        help="read digests instead (files, or directories of them: docs/data/serving)")
    parser.add_argument("--digest", action="store_true",
                        help="write each results directory's digest, <experiment>.json, to --data")
    parser.add_argument("--data", type=pathlib.Path, default=DATA, help="where --digest writes (default: %(default)s)")
    parser.add_argument("--out", type=pathlib.Path, help="draw the overview figures (and copy the experiments') here")
    parser.add_argument("--rescore", action="store_true",
                        help="score each run's best design again under this checkout's definitions")
    args = parser.parse_args(argv)
    if bool(args.results) == bool(args.from_data):
        parser.error("give results directories or --from-data DIGEST..., one of the two")
    if args.digest and not args.results:
        parser.error("--digest condenses results directories: give them (not --from-data)")
    try:
        experiments = [read_experiment(root) for root in args.results] or read_digests(args.from_data)
        if args.digest:
            for root, exp in zip(args.results, experiments):
                print(f"digest: {write_digest(exp, root, args.data)}")
        if args.rescore:  # after the digests: they keep the metrics the runs recorded
            experiments = [rescore(exp) for exp in experiments]
        lines, bars = table_lines(experiments)
        print("\n".join(lines))
        print_isolated(experiments)
    except (ResultsError, DigestError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.out:
        draw_overview(experiments, bars, args.out)
        for root, exp in zip(args.results, experiments):
            copy_figures(root, exp["name"], args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
