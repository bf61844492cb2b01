"""Reproduce the published comparisons and write docs/results.md from the runs.

    python benchmarks/paper.py            # run every experiments/paper/*.yaml not yet done, then report
    python benchmarks/paper.py --report   # only regenerate docs/results.md from the digests

Every number in docs/results.md comes from the searches or from the cost model
itself (the evidence tables); nothing is typed in by hand except the published
figures, which are quoted with their source.

The searches' results directories (``results/paper/<name>/``) are not
committed, so each one is condensed into a digest, ``docs/data/paper/<name>.json``,
which is: what the report reads of the run (per seed and space the best
objectives, the half-budget/final convergence figure, the search's best genes
and cores; the best design of the search and of each baseline, for the
re-scoring tables; budget, seconds, commit and date). The report is built from
the digests alone; a digest is refreshed whenever its results directory holds a
finished experiment. Attribution JSONs are copied likewise from
``results/attribution/`` to ``docs/data/attribution/``. The serving experiments'
digests, ``docs/data/serving/<name>.json``, are written by
``experiments/serving/overview.py RESULTS --digest`` (not refreshed here); the
page's serving section shows that script's tables of them.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import importlib.util
import json
import pathlib
import platform as host
import shutil
import subprocess
import sys

import numpy as np

from attribution import read_results, table as attribution_table  # benchmarks/ is on the path as a script
from cosearch.config_loader import build, load_config
from herald_checks import HERALD_TABLE_V, SHI_VARIANTS, post_processing, shi_platform, shi_variants, table_v_design
from objectives import chip, evaluate, mapper
from objectives.workloads import ModelEntry, Op, Workload, get_workload
from provenance import checkout, now_utc, written_utc
from spaces import Dataflow, get_dataflow, get_platform, single_design
from spaces.design_view import Design

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = REPO / "experiments" / "paper"
RESULTS = REPO / "results" / "paper"
ATTRIBUTION = REPO / "results" / "attribution"
DATA = REPO / "docs" / "data" / "paper"
"""The committed digests, one per experiment run (``results/`` is not committed)."""
ATTRIBUTION_DATA = REPO / "docs" / "data" / "attribution"
DOC = REPO / "docs" / "results.md"
IMAGES = REPO / "docs" / "img" / "paper"
PLOTTED = ("fpga_vision", "fpga_nlp", "fpga_mixed", "herald_arvr_a_cloud", "herald_mlperf_mobile")
"""The experiments whose convergence and Pareto plots the report shows."""
DIGEST_FORMAT = "cosearch.paper-digest/1"
SERVING_DATA = REPO / "docs" / "data" / "serving"
"""The serving experiments' digests (``experiments/serving/overview.py RESULTS --digest``)."""
SERVING_OVERVIEW = REPO / "experiments" / "serving" / "overview.py"

# The co-search poster (cloud FPGA INFaaS): the core mix it found per workload.
POSTER_INSIGHT = {
    "vision": "many small cores (B512, B800)",
    "nlp": "a large core plus small ones (B3136 + B800)",
    "mixed": "large cores (B4096, B3136)",
}
# The poster's examples of small and large DPU cores, to count a design's PEs by.
POSTER_SMALL, POSTER_LARGE = ("B512", "B800"), ("B3136", "B4096")
# label -> what it is; the first two are the poster's definitions, the next two v1's.
FPGA_BASELINES = {
    "homogeneous_multicore": "homogeneous multi-core (poster: identical stock DPU cores)",
    "hda_fixed_granularity": "HDA, fixed granularity (poster: one core size, dataflow per core searched)",
    "homogeneous_any_dataflow": "v1: identical cores of any one dataflow",
    "hda_one_core_per_dataflow": "v1: one core per dataflow, even split",
    "fda": "FDA (one monolithic core)",
}
POSTER_BASELINES = ("homogeneous_multicore", "hda_fixed_granularity")
HERALD_BASELINES = ("fda_nvdla", "fda_shidiannao", "sm_fda", "cosearch")
HERALD_MIXES, HERALD_BUDGETS = ("arvr_a", "arvr_b", "mlperf"), ("edge", "mobile", "cloud")
SEARCH = "cmaes-"
"""Run ids of the experiments' own search (one per seed); a baseline's are ``baseline-<label>-<seed>``."""


def launch_record(name: str) -> pathlib.Path:
    """Beside (not inside) the results directory, which cosearch owns: the checkout a run was started from."""
    return RESULTS / f"{name}.launch.json"


def run_missing(names: list[str], ray: bool = True, budget: int | None = None) -> None:
    for name in names:
        out = RESULTS / name
        if (out / "summary.json").exists():
            continue
        print(f"running {name} ...", flush=True)
        command = ["cosearch", "run", str(CONFIGS / f"{name}.yaml"), "--out", str(out)]
        if out.exists():
            command.append("--resume")
        if not ray:
            command.append("--no-ray")
        if budget:
            command += ["--budget", str(budget)]
        RESULTS.mkdir(parents=True, exist_ok=True)
        launch_record(name).write_text(json.dumps({**checkout(), "started": now_utc()}, indent=1) + "\n")
        subprocess.run(command, check=True, cwd=REPO, stdout=subprocess.DEVNULL)


def ran(name: str) -> bool:
    """The experiment's results directory is here and finished (``summary.json`` is written last)."""
    return (RESULTS / name / "summary.json").exists()


def digest_path(name: str) -> pathlib.Path:
    return DATA / f"{name}.json"


def done(name: str) -> bool:
    return ran(name) or digest_path(name).exists()


def load(name: str) -> dict:
    """What the report knows of an experiment: its digest, from the results directory when that is here."""
    if ran(name):
        return digest(name)
    return json.loads(digest_path(name).read_text())


def half_budget_gain(history: pathlib.Path) -> float:
    """A run's best EDP at half its evaluations over its best at the end (1.00: no gain in the second half)."""
    with open(history, newline="") as f:
        rows = [(int(r["evaluations"]), float(r["best_edp_j_s"])) for r in csv.DictReader(f)]
    final_evals, final = rows[-1]
    half = [edp for evals, edp in rows if evals <= final_evals / 2]
    return (half[-1] if half else rows[0][1]) / final


RUN_KEYS = ("run_id", "kind", "optimizer", "seed", "space", "evaluations", "seconds", "stopped_by", "best_objectives")
"""What the report reads of each run in ``summary.json``."""


def digest(name: str) -> dict:
    """The report's view of a finished results directory: ``summary.json`` without the front, plots and
    file names, the designs it names inlined (``best_design``; each baseline's ``design_data``), and per
    run its half-budget/final figure and — for the search's runs — the best genes and the cores they decode
    to (with the config as it is now; the digest keeps them so that a later change of the space's encoding
    cannot change an old result)."""
    root = RESULTS / name
    summary = json.loads((root / "summary.json").read_text())
    built = experiment(name)
    sizes = built.platform.core_sizes
    runs = []
    for run in summary["runs"]:
        entry = {k: run[k] for k in RUN_KEYS if k in run}
        if run["best_objectives"]:
            entry["half_final"] = half_budget_gain(root / "runs" / run["run_id"] / "history.csv")
        if run["run_id"].startswith(SEARCH) and run["best_objectives"]:
            x = json.loads((root / "runs" / run["run_id"] / "run.json").read_text())["summary"]["best_x"]
            batch = built.space.decode(np.array([x], dtype=float))
            entry["best_x"] = x
            entry["cores"] = [[sizes[s].name if s >= 0 else f"PE{p}", int(p), batch.dataflows[d].name]
                              for p, s, d in zip(batch.core_pes[0], batch.core_size[0], batch.core_dataflow[0])
                              if p > 0]
        runs.append(entry)
    launch = launch_record(name)
    return {
        "format": DIGEST_FORMAT,
        **{k: summary[k] for k in ("experiment", "workload", "platform", "space", "genes", "layers", "objective",
                                   "evaluations", "seconds")},
        "finished": written_utc(root / "summary.json"),
        "launched": json.loads(launch.read_text()) if launch.exists() else None,
        "best": {k: summary["best"][k] for k in ("run", "evaluations", "metrics")},
        "best_design": json.loads((root / summary["best"]["design"]).read_text())["design"],
        "baselines": {label: {**{k: entry[k] for k in ("run", "space", "metrics")},
                              "design_data": json.loads((root / entry["design"]).read_text())["design"]}
                      for label, entry in summary["baselines"].items()},
        "runs": runs,
    }


def refresh_digests(names: list[str]) -> None:
    """A digest per finished results directory (and its plots beside the report), the attribution JSONs
    copied; what is not here keeps its committed digest."""
    for name in names:
        if not ran(name):
            continue
        data, path = digest(name), digest_path(name)
        if path.exists() and {k: v for k, v in json.loads(path.read_text()).items() if k != "digested"} == data:
            continue  # the same run digested before: its file (and git diff) stays as it is
        data["digested"] = {**checkout(), "date": now_utc()}
        DATA.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=None, separators=(",", ":")) + "\n")
        if name in PLOTTED:
            IMAGES.mkdir(parents=True, exist_ok=True)
            for plot in ("convergence", "pareto"):
                source = RESULTS / name / "plots" / f"{plot}.png"
                if source.exists():
                    shutil.copyfile(source, IMAGES / f"{name}-{plot}.png")
    for path in sorted(ATTRIBUTION.glob("*.json")):
        ATTRIBUTION_DATA.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, ATTRIBUTION_DATA / path.name)


def experiment(name: str):
    """The workload, platform and spaces the experiment's config stands for."""
    path = CONFIGS / f"{name}.yaml"
    return build(load_config(path), str(path))


def core_mix(design: dict) -> str:
    return " + ".join(f"{c['size']} {c['dataflow']}" for c in design["cores"])


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}×"


def prefix_of(label: str | None) -> str:
    return SEARCH if label is None else f"baseline-{label}-"


def seed_runs(summary: dict, label: str | None = None) -> list[dict]:
    """The runs of the search (``label`` None) or of one baseline, one per seed, that found a design."""
    return [r for r in summary["runs"] if r["run_id"].startswith(prefix_of(label)) and r["best_objectives"]]


def seed_edps(summary: dict, label: str | None = None) -> np.ndarray:
    return np.array([r["best_objectives"][0] for r in seed_runs(summary, label)])


def spread(values) -> str:
    """``median (min–max)`` over seeds."""
    v = np.asarray(values, dtype=float)
    return f"{np.median(v):.4g} ({v.min():.4g}–{v.max():.4g})"


def ratios(summary: dict, label: str) -> tuple[float, float]:
    """Baseline over search EDP: best of seeds over best of seeds, and median over median."""
    base, search = seed_edps(summary, label), seed_edps(summary)
    return base.min() / search.min(), float(np.median(base) / np.median(search))


def ratio_cell(summary: dict, label: str) -> str:
    if label not in summary["baselines"]:
        return "—"
    best, median = ratios(summary, label)
    return f"{fmt_ratio(best)} (median {fmt_ratio(median)})"


def budget_text(summary: dict) -> str:
    """``3000 evaluations × 5 seeds`` as the search's runs used them (the baselines had the same budget;
    a space with nothing to search stops after one)."""
    runs = seed_runs(summary)
    return f"{max(r['evaluations'] for r in runs)} evaluations × {len(runs)} seeds"


def convergence_row(name: str, summary: dict, label: str | None) -> str:
    runs = seed_runs(summary, label)
    gains = [r["half_final"] for r in runs]
    edps = seed_edps(summary, label)
    space = label or f"{summary['space']} (the search)"
    return (f"| {name} | {space} | {runs[0]['evaluations']} | {np.median(gains):.3f} | {max(gains):.3f} | "
            f"{edps.max() / edps.min():.3f} |")


def seed_cores(summary: dict) -> list[list[tuple[str, int, str]]]:
    """Per seed of the search: its best design's active cores as (size name, PEs, dataflow)."""
    return [[tuple(core) for core in run["cores"]] for run in seed_runs(summary)]


def size_counts(cores) -> str:
    """``3×B4096 ws_kc, 1×B800 os_yx`` (largest first)."""
    counts: dict[tuple[str, int, str], int] = {}
    for core in cores:
        counts[core] = counts.get(core, 0) + 1
    return ", ".join(f"{n}×{size} {df}" for (size, _, df), n in sorted(counts.items(), key=lambda kv: (-kv[0][1], kv[0][2])))


def pe_share(cores, names) -> float:
    return sum(p for size, p, _ in cores if size in names) / sum(p for _, p, _ in cores)


# -- evidence from the cost model itself ----------------------------------------------------------------


def mac_shares(workload) -> dict[str, float]:
    macs = workload.macs.astype(float)
    return {op.name.lower(): macs[workload.op == op].sum() / macs.sum() for op in Op if (workload.op == op).any()}


def mac_share_text(workload) -> str:
    """MAC shares of at least 1 %, largest first: "conv 57%, pwconv 42%"."""
    shares = sorted(mac_shares(workload).items(), key=lambda kv: -kv[1])
    return ", ".join(f"{op} {share:.0%}" for op, share in shares if share >= 0.01)


def compute_cycles(workload, platform, pes: int, dataflow: str | Dataflow, fixed=()) -> tuple[np.ndarray, int]:
    """Each layer's compute cycles on one core owning the platform's buffer, with the
    per-layer mapper's choices, and the core's array size."""
    dataflow = get_dataflow(dataflow) if isinstance(dataflow, str) else dataflow
    core = mapper.core_for(platform, dataflow, pes, fixed)
    layers = mapper.Layers.from_workload(workload)
    costs = mapper.map_layers(core, layers, [float(platform.buffer_bytes)], platform.mapping_objective)
    return costs.compute_cycles[0], int(np.prod([axis.extent for axis in core.axes]))


def dataflow_utilization(workload, platform, pes: int, dataflow: str | Dataflow, fixed=()) -> float:
    """MAC-weighted array utilization of the whole workload on one core: MACs over PEs ×
    compute cycles (edge waste and setup, not memory stalls, which depend on the core's
    bandwidth share in a design)."""
    cycles, array = compute_cycles(workload, platform, pes, dataflow, fixed)
    return float(workload.macs.astype(float).sum() / (array * cycles.sum()))


def depthwise_cycle_share(workload, platform, pes: int, dataflow: str | Dataflow, fixed=()) -> float:
    """The depthwise layers' share of the compute cycles on one core (0 without depthwise layers)."""
    cycles, _ = compute_cycles(workload, platform, pes, dataflow, fixed)
    return float(cycles[workload.op == Op.DWCONV].sum() / cycles.sum())


def alone_on_largest_core(workload, platform, dataflows) -> dict[str, float]:
    """Each model's latency alone on the platform's largest core, with its best dataflow (s)."""
    largest = max(range(len(platform.core_sizes)), key=lambda i: platform.core_sizes[i].pes)
    pes = platform.core_sizes[largest].pes
    out = {}
    for model in workload.models:
        alone = Workload.from_models(model.name, [ModelEntry(model)])
        out[model.name] = min(
            evaluate(single_design(core_pes=[pes], core_dataflow=[df], layer_core=[0] * alone.num_layers,
                                   core_size=[largest]), alone, platform).latency_s[0]
            for df in dataflows
        )
    return out


def herald_published(mix: str, platform_name: str):
    """Herald's Table V partition scored by our model (greedy mapping, even buffer split)."""
    return evaluate(table_v_design(mix, platform_name), get_workload(f"herald_{mix}"), get_platform(platform_name))


def rescored(design: dict, workload, platform) -> float:
    """A found design's EDP on a changed platform (the design as found, not searched again)."""
    return float(evaluate(Design.from_json(json.dumps(design)).to_batch(platform), workload, platform).edp[0])


# -- the report -------------------------------------------------------------------------------------------


def fpga_section(lines: list[str]) -> None:
    names = [f"fpga_{mix}" for mix in POSTER_INSIGHT if done(f"fpga_{mix}")]
    if not names:
        return
    runs = {name: load(name) for name in names}
    u250 = get_platform("u250")
    lines += [
        "## Cloud FPGA INFaaS with DPU granularity (the co-search poster)",
        "",
        "Alveo U250 (12 288 DSP, 1.73 M LUT, 2688 BRAM36, 1280 UltraRAM, 77 GB/s), DPU cores B512…B4096",
        f"(PG338), as many cores as the board's resources allow (up to {u250.max_cores}), dataflows `dpu_pck`, `ws_kc`,",
        "`os_yx`. Every space is searched by CMA-ES with the same population, budget and seeds",
        "(`experiments/paper/fpga_*.yaml`; " + "; ".join(f"{n}: {budget_text(s)}" for n, s in runs.items()) + ").",
        "Ratio = baseline EDP / co-search EDP (above 1×: the co-search is better), best of seeds over best of",
        "seeds, and in brackets median over median.",
        "",
        "**Published (poster): 3.0–7.5× over homogeneous multi-core, 1.8–3.6× over HDA with fixed core",
        "granularity.** The poster's baselines are the first two columns: homogeneous multi-core = identical",
        "stock DPU cores (`dpu_pck`, count and size searched); HDA with fixed granularity = every core one",
        "size, the dataflow per core searched. v1's definitions are kept for comparison with the v1 figures:",
        "identical cores of any one dataflow (`ws_kc` included, which a DPU cannot run) and one core per",
        "dataflow on an even split.",
        "",
        "| workload | co-search EDP (J·s), median (min–max) over seeds | " + " | ".join(FPGA_BASELINES.values()) + " |",
        "|---|---|" + "---|" * len(FPGA_BASELINES),
    ]
    for name, s in runs.items():
        lines.append(f"| {name[5:]} | {spread(seed_edps(s))} | "
                     + " | ".join(ratio_cell(s, b) for b in FPGA_BASELINES) + " |")
    extra = [f"fpga_{mix}_8cores" for mix in POSTER_INSIGHT if done(f"fpga_{mix}_8cores")]
    if extra:
        lines += ["", "**Extra runs, not the poster's setting:** every space limited to 8 cores "
                  "(`experiments/paper/fpga_*_8cores.yaml`; the co-search space shrinks from 341 genes to 33), same "
                  "optimizer, budget and seeds, the poster's two baselines also limited to 8 cores:", "",
                  "| workload | co-search EDP (J·s), median (min–max) | " + " | ".join(POSTER_BASELINES) + " |",
                  "|---|---|" + "---|" * len(POSTER_BASELINES)]
        for name in extra:
            s = load(name)
            lines.append(f"| {name[5:]} | {spread(seed_edps(s))} | "
                         + " | ".join(ratio_cell(s, b) for b in POSTER_BASELINES) + " |")
    lines += ["", "EDP of every space over seeds (J·s), median (min–max):", "",
              "| workload | co-search | " + " | ".join(FPGA_BASELINES) + " |", "|---|---|" + "---|" * len(FPGA_BASELINES)]
    for name, s in runs.items():
        cells = [spread(seed_edps(s, b)) if b in s["baselines"] else "—" for b in FPGA_BASELINES]
        lines.append(f"| {name[5:]} | {spread(seed_edps(s))} | " + " | ".join(cells) + " |")

    lines += ["", "### The poster's insights: which cores the co-search picks",
              "",
              "Every seed's best design (the co-search; also the 8-core extra runs), with the share of its PEs in the",
              "poster's small cores",
              f"({', '.join(POSTER_SMALL)}) and large cores ({', '.join(POSTER_LARGE)}):", "",
              "| workload | poster | seed | EDP (J·s) | cores | PEs in small cores | PEs in large cores |",
              "|---|---|---|---|---|---|---|"]
    for name, s in [*runs.items(), *((n, load(n)) for n in extra)]:
        mix = name[5:].removesuffix("_8cores")
        shown = f"{mix} (8 cores)" if name.endswith("_8cores") else mix
        for run, cores in zip(seed_runs(s), seed_cores(s)):
            lines.append(f"| {shown} | {POSTER_INSIGHT[mix]} | {run['seed']} | {run['best_objectives'][0]:.4g} | "
                         f"{size_counts(cores)} | {pe_share(cores, POSTER_SMALL):.0%} | "
                         f"{pe_share(cores, POSTER_LARGE):.0%} |")
    lines += ["", "The best design of each baseline (best seed):", "",
              "| workload | " + " | ".join(POSTER_BASELINES) + " |", "|---|" + "---|" * len(POSTER_BASELINES)]
    for name, s in runs.items():
        lines.append(f"| {name[5:]} | " + " | ".join(core_mix(s["baselines"][b]["design_data"])
                                                      for b in POSTER_BASELINES if b in s["baselines"]) + " |")

    # Not a lower bound: the DNNs are graphs (BERT's Q/K/V and residual branches), and a design may run
    # a DNN's branches on several cores at once and each layer on the dataflow that suits it.
    lines += ["", "How far the best design is from running its slowest DNN alone: that DNN on one B4096 (its best",
              "dataflow) against the best design's makespan, which can be shorter — a DNN's parallel branches",
              "(BERT's Q, K, V) run on several cores at once, and each layer on the dataflow that suits it:", "",
              "| workload | slowest DNN alone on one B4096 (ms) | best design's makespan (ms) | cores used |",
              "|---|---|---|---|"]
    for name, s in runs.items():
        alone = alone_on_largest_core(get_workload(name[5:]), u250, u250.dataflows)
        slowest = max(alone, key=alone.get)
        lines.append(f"| {name[5:]} | {slowest} {alone[slowest] * 1e3:.2f} | "
                     f"{s['best']['metrics']['latency_s'] * 1e3:.2f} | {len(s['best_design']['cores'])} |")

    lines += ["", "What binds: each best design re-scored with one resource changed (EDP relative to as found; the",
              "design is not searched again). The NoC figure (8 × DRAM) has no published source (see",
              "[costmodel.md](costmodel.md)); the 0.5× and 2× NoC columns are the 4× and 16× DRAM alternatives:", "",
              "| workload | 0.5× DRAM | 2× DRAM | 0.5× NoC (4 × DRAM) | 2× NoC (16 × DRAM) | 2× clock |",
              "|---|---|---|---|---|---|"]
    variants = (u250.replace(bw_gbps=u250.bw_gbps / 2), u250.replace(bw_gbps=2 * u250.bw_gbps),
                u250.replace(noc_gbps=u250.noc_gbps / 2), u250.replace(noc_gbps=2 * u250.noc_gbps),
                u250.replace(clock_hz=2 * u250.clock_hz))
    for name, s in runs.items():
        workload, base = get_workload(name[5:]), s["best"]["metrics"]["edp"]
        lines.append(f"| {name[5:]} | " + " | ".join(f"{rescored(s['best_design'], workload, v) / base:.2f}"
                                                      for v in variants) + " |")
    lines += ["", "The NoC assumption against the poster's baselines: each space's best design re-scored at a NoC",
              "of 4 × and 16 × DRAM (the searches ran at 8 ×); baseline EDP over co-search EDP:", "",
              "| workload | baseline | at 8 × (as searched) | at 4 × | at 16 × |", "|---|---|---|---|---|"]
    for name, s in runs.items():
        workload = get_workload(name[5:])
        for b in POSTER_BASELINES:
            if b not in s["baselines"]:
                continue
            cells = []
            for factor in (8, 4, 16):
                plat = u250.replace(noc_gbps=factor * u250.bw_gbps)
                cells.append(rescored(s["baselines"][b]["design_data"], workload, plat)
                             / rescored(s["best_design"], workload, plat))
            lines.append(f"| {name[5:]} | {b} | " + " | ".join(fmt_ratio(c) for c in cells) + " |")

    lines += ["", "Why the ratios are what they are — MAC share by layer kind and the MAC-weighted array utilization",
              "of one B4096 core per dataflow (from the cost model; compute cycles only, memory stalls excluded):", "",
              "| workload | MAC share by op | util dpu_pck | util ws_kc | util os_yx | depthwise share of MACs "
              "| of the cycles on dpu_pck | on ws_kc | on os_yx |", "|---|---|---|---|---|---|---|---|---|"]
    b4096 = next(c for c in u250.core_sizes if c.name == "B4096")
    dataflows = ("dpu_pck", "ws_kc", "os_yx")
    for name in runs:
        w = get_workload(name[5:])
        utils = [dataflow_utilization(w, u250, b4096.pes, df, b4096.unroll) for df in dataflows]
        dw = [depthwise_cycle_share(w, u250, b4096.pes, df, b4096.unroll) for df in dataflows]
        dw_macs = w.macs[w.op == Op.DWCONV].sum() / w.macs.sum()
        lines.append(f"| {name[5:]} | {mac_share_text(w)} | " + " | ".join(f"{u:.0%}" for u in utils)
                     + f" | {dw_macs:.1%} | " + " | ".join(f"{d:.0%}" for d in dw) + " |")
    lines.append("")


def fda_of(summary: dict) -> dict:
    """The better of the two FDAs (by EDP), as Herald compares with "the best FDA"."""
    return min((summary["baselines"][b] for b in ("fda_nvdla", "fda_shidiannao")), key=lambda e: e["metrics"]["edp"])


def by_budget(runs: dict[str, dict]) -> list[str]:
    """Each budget the runs used, naming the experiments that used it when they differ."""
    names: dict[str, list[str]] = {}
    for name, summary in runs.items():
        names.setdefault(budget_text(summary), []).append(name)
    if len(names) == 1:
        return list(names)
    return [f"{budget}: {', '.join(f'`{n}`' for n in members)}" for budget, members in sorted(names.items())]


def herald_section(lines: list[str]) -> None:
    cases = [(mix, plat, f"herald_{mix}_{plat}") for mix in HERALD_MIXES for plat in HERALD_BUDGETS]
    cases = [(mix, plat, name) for mix, plat, name in cases if done(name)]
    if not cases:
        return
    runs = {name: load(name) for _, _, name in cases}
    budgets = by_budget(runs)
    lines += [
        "## Herald's AR/VR and MLPerf workloads (Maelstrom)",
        "",
        "Herald Table IV budgets (NoC 16 / 64 / 256 GB/s, global buffer → sub-accelerators, split by the",
        "searched shares like Table V's; DRAM, which Herald does not give, set to the same figure and shared",
        "in proportion to PEs); Maelstrom = one NVDLA-style (`ws_kc`) + one ShiDianNao-style (`os_yx`) core",
        "with the PE, NoC and buffer partition searched (space `hda`, PE splits in 1/128 steps of the budget),",
        "against the two fixed-dataflow accelerators (FDA), the scaled-out multi-FDA (two equal cores of one",
        "dataflow) and the full co-search (up to 4 cores, any dataflow and size). All searched by CMA-ES",
        f"({'; '.join(budgets)}; the configs say 2000 evaluations, see the convergence table below).",
        "EDP ratios are best of seeds over best of seeds.",
        "",
        "| workload | budget | Maelstrom EDP (J·s), median (min–max) | PEs ws/os (ours, best seed) | ws PEs over seeds "
        "| Herald Table V | NoC GB/s ws/os (ours) | Herald | Herald's partition in our model / our Maelstrom "
        "| best FDA / Maelstrom | SM-FDA / Maelstrom | co-search / Maelstrom |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mix, plat, name in cases:
        s = runs[name]
        platform = get_platform(plat)
        cores = s["best_design"]["cores"]
        pes = "/".join(str(c["pes"]) for c in cores)
        ws = [c[0][1] for c in seed_cores(s)]
        # Like for like with Table V: the shares split the global NoC on Herald's budgets.
        bw = "/".join(f"{c['bw_share'] * chip.partitioned_gbps(platform):.0f}" for c in cores)
        (hbw, hpe) = HERALD_TABLE_V[(mix, plat)]
        best = s["best"]["metrics"]["edp"]
        published = herald_published(mix, plat).edp[0]
        lines.append(
            f"| {mix} | {plat} | {spread(seed_edps(s))} | {pes} | {min(ws)}–{max(ws)} | {hpe[0]}/{hpe[1]} | {bw} | "
            f"{hbw[0]}/{hbw[1]} | {published / best:.2f}× | {fda_of(s)['metrics']['edp'] / best:.2f}× | "
            f"{s['baselines']['sm_fda']['metrics']['edp'] / best:.2f}× | "
            f"{s['baselines']['cosearch']['metrics']['edp'] / best:.2f}× |"
        )
    lines += [
        "",
        "A ratio above 1× in \"best FDA / Maelstrom\" is Maelstrom winning; below 1× in \"co-search / Maelstrom\"",
        "is the free co-search finding something better than any NVDLA + Shi split.",
        "",
        "**Published (Herald §V-B): Maelstrom 65.3 % lower latency, 5.0 % lower energy and 73.6 % lower EDP",
        "than the best FDA, on average.** Ours, per case (the best FDA by EDP; negative: Maelstrom is worse):",
        "",
        "| workload | budget | best FDA | lower latency | lower energy | lower EDP |",
        "|---|---|---|---|---|---|",
    ]
    reductions = []
    for mix, plat, name in cases:
        s = runs[name]
        fda, best = fda_of(s), s["best"]["metrics"]
        r = [1 - best[k] / fda["metrics"][k] for k in ("latency_s", "energy_j", "edp")]
        reductions.append(r)
        label = next(b for b in ("fda_nvdla", "fda_shidiannao") if s["baselines"][b] is fda)
        lines.append(f"| {mix} | {plat} | {label} | " + " | ".join(f"{x:.1%}" for x in r) + " |")
    mean = np.mean(reductions, axis=0)
    lines += [f"| **mean of the {len(cases)} cases** | | | " + " | ".join(f"**{x:.1%}**" for x in mean) + " |",
              "| Herald (published) | | | 65.3 % | 5.0 % | 73.6 % |", ""]

    lines += ["DRAM bandwidth is an assumption on Herald's budgets (Herald gives none; see",
              "[costmodel.md](costmodel.md)). Maelstrom's and the best FDA's designs re-scored with DRAM at 0.5×",
              "and 2× the Table IV figure (not searched again); best FDA EDP / Maelstrom EDP. The last two",
              "columns double the NoC instead — Table IV's figure is published, so they are not a test of an",
              "assumption but show what binds: two cores split the NoC a monolithic FDA has to itself.", "",
              "| workload | budget | DRAM 0.5× | as searched (1×) | DRAM 2× | NoC 2× | NoC 4× |", "|---|---|---|---|---|---|---|"]
    for mix, plat, name in cases:
        s = runs[name]
        built = experiment(name)
        workload, cells, base = built.workload, [], built.platform
        variants = [base.replace(bw_gbps=f * base.bw_gbps) for f in (0.5, 1, 2)]
        variants += [base.replace(noc_gbps=f * base.noc_gbps) for f in (2, 4)]
        for platform in variants:
            cells.append(rescored(fda_of(s)["design_data"], workload, platform)
                         / rescored(s["best_design"], workload, platform))
        lines.append(f"| {mix} | {plat} | " + " | ".join(fmt_ratio(c) for c in cells) + " |")
    lines.append("")


def herald_checks_section(lines: list[str]) -> None:
    """Herald's Table V partitions scored as published (no search): the look-ahead post-processing and
    the ShiDianNao variants, computed here from the model (``benchmarks/herald_checks.py`` prints the same)."""
    depths = (4, 8)
    lines += [
        "## Herald's published partitions in our model (no search)",
        "",
        "Table V's partitions as published (greedy best-fit layer mapping, even buffer split), computed when",
        "this page is generated (`python benchmarks/herald_checks.py` prints the same figures).",
        "",
        "Herald's look-ahead post-processing (Fig. 9, `schedule_lookahead`), from the default breadth-first",
        "order and from a depth-first one (each model's layers before the next's); EDP with the pass over",
        "without it (below 1: it helped):",
        "",
        "| workload | budget | " + " | ".join(f"{o} LA{d}" for o in ("breadth", "depth") for d in depths) + " |",
        "|---|---|" + "---|" * (2 * len(depths)),
    ]
    for mix in HERALD_MIXES:
        for plat in HERALD_BUDGETS:
            rows = post_processing(mix, plat, list(depths))
            lines.append(f"| {mix} | {plat} | " + " | ".join(f"{r['edp']:.3f}" for r in rows) + " |")
    lines += [
        "",
        "The ShiDianNao-style core: MAC-weighted utilization of one core of the whole budget, and the better",
        "FDA's EDP over Table V's partition with that variant as its Shi core (above 1×: Maelstrom wins).",
        "`os_yx` is the preset (one Y × X array), `os_yx_maestro` MAESTRO's cluster shape (K and C temporal,",
        "Y over clusters, X over 8 PEs), `os_yx16_k` a 16 × 16 array replicated over K (an ablation — neither",
        "Herald nor MAESTRO unrolls K):",
        "",
        "| workload | budget | util ws_kc | " + " | ".join(f"util {v}" for v in SHI_VARIANTS) + " | "
        + " | ".join(f"best FDA / Table V HDA, {v}" for v in SHI_VARIANTS) + " |",
        "|---|---|---|" + "---|" * (2 * len(SHI_VARIANTS)),
    ]
    for mix in HERALD_MIXES:
        for plat in ("edge", "cloud"):
            r = shi_variants(mix, plat)
            lines.append(f"| {mix} | {plat} | {r['util']['ws_kc']:.0%} | "
                         + " | ".join(f"{r['util'][v]:.0%}" for v in SHI_VARIANTS) + " | "
                         + " | ".join(fmt_ratio(r["fda_over_hda"][v]) for v in SHI_VARIANTS) + " |")
    lines.append("")


def ablation_section(lines: list[str]) -> None:
    base = "herald_arvr_a_cloud"
    ablations = [n for n in ("herald_arvr_a_cloud_shi_maestro", "herald_arvr_a_cloud_os16k") if done(n)]
    if not done(base) or not ablations:
        return
    runs = [load(base)] + [load(n) for n in ablations]
    lines += [
        "## Ablations: the ShiDianNao core as MAESTRO maps it, and replicated over K",
        "",
        "The AR/VR-A cloud experiment with the ShiDianNao-style core changed, everything else equal",
        "(`experiments/paper/herald_arvr_a_cloud_shi_maestro.yaml`: `os_yx_maestro`, MAESTRO's cluster shape;",
        "`herald_arvr_a_cloud_os16k.yaml`: `os_yx16_k`, a 16 × 16 array replicated over K, which neither Herald",
        "(Fig. 4(b): pfor y0, x0) nor MAESTRO does). EDP in J·s, best of seeds; ratio = design / that",
        "experiment's Maelstrom.",
        "",
        "| design | " + " | ".join(f"{n} | ratio" for n in [base] + ablations) + " |",
        "|---|" + "---|---|" * len(runs),
    ]
    rows = [("Maelstrom (hda)", [r["best"]["metrics"]["edp"] for r in runs])]
    rows += [(label, [r["baselines"][label]["metrics"]["edp"] for r in runs]) for label in HERALD_BASELINES]
    maelstrom = rows[0][1]
    for label, values in rows:
        lines.append(f"| {label} | " + " | ".join(f"{v:.4g} | {v / m:.2f}×" for v, m in zip(values, maelstrom)) + " |")
    lines += [""] + [f"Maelstrom's partition in {n}: {core_mix(r['best_design'])}." for n, r in
                     zip(ablations, runs[1:])] + [""]


def attribution_section(lines: list[str]) -> None:
    files = sorted(ATTRIBUTION_DATA.glob("*.json"))
    if not files:
        return
    lines += [
        "## Attribution: where the gain over the homogeneous baseline comes from",
        "",
        "`python benchmarks/attribution.py EXPERIMENT.yaml --json …` (`cosearch/attribution.py`): from identical",
        "cores of one stock dataflow (even shares, greedy layer mapping, one loop order per dataflow), each",
        "row frees one more choice — the intra-core mapping (so that row is the experiments' homogeneous",
        "baseline), the dataflow per core, core granularity, the bandwidth/buffer partition, the layer → core",
        "mapping, the schedule (layer priorities, plus Herald's look-ahead when set) — and searches again,",
        "warm-started from the row before. A row's gain is the previous row's EDP over its own; the split",
        "depends on the order (a choice freed earlier takes credit a later one might also have earned).",
        "",
    ]
    for path in files:
        for name, (settings, results) in read_results(path).items():
            seeds = sorted({r.seed for r in results})
            opts = ", ".join(f"{k} {v}" for k, v in settings["options"].items())
            lines += [f"### {name}", "",
                      f"Stock dataflow `{settings['stock']}`"
                      # JSONs written before the chain took the experiment space's menu do not record one:
                      # their dataflow step chose among every dataflow of the platform.
                      + (f", dataflows {', '.join(f'`{d}`' for d in settings['dataflows'])}"
                         if "dataflows" in settings else ", dataflows: all of the platform's")
                      + f"; {settings['optimizer']} ({opts}), "
                      f"{settings['evaluations']} evaluations per step and seed, {len(seeds)} seeds"
                      + (f", look-ahead {settings['lookahead']} in the schedule step" if settings["lookahead"] else "")
                      + f"; {settings['seconds']:.0f} s on a shared machine.", ""]
            lines += attribution_table(results, seeds) + [""]


def serving_overview():
    """``experiments/serving/overview.py``, whose tables the serving section shows: a script beside its
    experiments, not a package, so loaded by its path once, under a name of its own (``overview`` would say
    nothing on ``sys.path``)."""
    name = "serving_overview"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SERVING_OVERVIEW)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name)
            raise
    return sys.modules[name]


def serving_digests() -> list[dict]:
    """The serving experiments' digests in ``SERVING_DATA`` (none: an empty list), in docs/serving.md's order."""
    if not any(SERVING_DATA.glob("*.json")):
        return []
    return serving_overview().read_digests([SERVING_DATA])


def serving_line(exp: dict) -> str:
    """What an experiment's tables stand on: the co-search's seeds × evaluations, the streams (backfilling depth,
    requests per tenant), when it finished and the commit its digest was written at."""
    search = exp["runs"].get("co-search", [])
    evaluations = "/".join(sorted({str(e["evaluations"]) for e in search}))
    streams = exp["serving"]
    counts = sorted({n for tenants in streams["requests"].values() for n in tenants.values()})
    requests = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    depth = ("not stated in its config (run before `serving.backfill` was a key)" if streams["backfill"] is None
             else "all (every idle interval kept)" if streams["backfill"] == "all" else str(streams["backfill"]))
    digested = exp["digested"]
    return (f"- `{exp['name']}`: co-search {len(search)} seeds × {evaluations} evaluations; policy "
            f"`{streams['policy']}`, backfilling depth {depth}, {requests} requests per tenant ({streams['warmup']} "
            f"warm-up); finished {exp['finished'].replace('T', ' ')[:16]} UTC, digested at commit "
            f"{digested['commit'][:10]}{'+' if digested['dirty'] else ''}.")


def serving_section(lines: list[str], experiments: list[dict]) -> None:
    lines += ["## Serving (throughput at SLA)", ""]
    if not experiments:  # one line under the heading, so that it is not read as part of the section above
        lines += ["No serving digests yet (`docs/data/serving/<name>.json`, written by "
                  "`python experiments/serving/overview.py RESULTS --digest`).", ""]
        return
    lines += [
        "The serving experiments (`experiments/serving/*.yaml`; [serving.md](serving.md) discusses them), from",
        "their digests `docs/data/serving/<name>.json` (`python experiments/serving/overview.py RESULTS --digest`,",
        "whose tables these are). Spreads are over seeds; a design with no genes (PREMA's, Planaria's) is scored",
        "once. The commit is the checkout the digest was written at (`+`: the model, search or experiment",
        "files differed from it).",
        "",
    ]
    lines += [serving_line(exp) for exp in experiments] + [""]
    tables, _ = serving_overview().table_lines(experiments)
    lines += tables + [""]


def convergence_section(lines: list[str], names: list[str]) -> None:
    lines += [
        "## Is the budget enough? Convergence and seed spread",
        "",
        "Per space: the evaluations of each run, the best EDP at half of them over the best at the end",
        "(median and worst over seeds; 1.000 = nothing gained in the second half) and the worst seed's EDP",
        "over the best seed's.",
        "",
        "| experiment | space | evaluations per seed | half / final, median | half / final, worst | worst / best seed |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        s = load(name)
        labels = [None] + [b for b in s["baselines"] if name.startswith("fpga") or b == "cosearch"]
        lines += [convergence_row(name, s, label) for label in labels if seed_runs(s, label)]
    lines.append("")


def provenance_section(lines: list[str], names: list[str]) -> None:
    about = ("Each experiment's digest `docs/data/paper/<name>.json` (written from `results/paper/<name>/`, "
             "which is not committed; `--report` rebuilds this page from the digests): when its search finished, "
             "the commit it was started from (`+` when the model, search or experiment files differed from it) "
             "and the seconds its runs took, all spaces and seeds, one process each (on a shared machine).")
    header = "| experiment | evaluations × seeds | finished (UTC) | started from commit | seconds, sum over runs |"
    lines += ["## Where the numbers come from", "", about, "", header, "|---|---|---|---|---|"]
    for name in names:
        s = load(name)
        launched = s["launched"]
        commit = "—" if launched is None else launched["commit"][:10] + ("+" if launched["dirty"] else "")
        lines.append(f"| {name} | {budget_text(s)} | {s['finished'].replace('T', ' ')[:16]} | {commit} | "
                     f"{s['seconds']:.0f} |")
    lines.append("")


def plots_section(lines: list[str], names: list[str]) -> None:
    lines += ["## Plots", ""]
    for name in PLOTTED:
        for plot in ("convergence", "pareto"):
            if name in names and (IMAGES / f"{name}-{plot}.png").exists():
                lines += [f"### {name}: {plot}", "", f"![{name} {plot}](img/paper/{name}-{plot}.png)", ""]


def report_lines() -> list[str]:
    """The page, from the digests (or the results directories, where they are here)."""
    names = sorted(p.stem for p in CONFIGS.glob("*.yaml"))
    serving = serving_digests()  # read first: a bad digest is told before the page's long computations
    finished = [n for n in names if done(n)]
    missing = [n for n in names if n not in finished]
    lines = [
        "# Reproducing the published comparisons",
        "",
        f"Generated by `python benchmarks/paper.py` on {datetime.date.today()} ({host.machine()}, "
        f"Python {host.python_version()}) from the digests of the runs in `docs/data/paper/` and",
        "`docs/data/attribution/` (see the end of this page). Do not edit by",
        "hand; the discussion of why cosearch agrees or differs is in",
        "[results-discussion.md](results-discussion.md). Objective: EDP of one batch (every DNN ready at",
        "t = 0); the serving objectives are in [serving.md](serving.md). Seeds: every space, the",
        "baselines' included, is searched once per seed; spreads are over those seeds.",
        "",
    ]
    if missing:
        lines += ["Not run for this page (no digest `docs/data/paper/<name>.json`): "
                  + ", ".join(f"`{n}`" for n in missing) + ".", ""]
    fpga_section(lines)
    herald_section(lines)
    herald_checks_section(lines)
    ablation_section(lines)
    attribution_section(lines)
    serving_section(lines, serving)
    convergence_section(lines, finished)
    provenance_section(lines, finished)
    plots_section(lines, finished)
    return lines


def write_report(doc: pathlib.Path = DOC) -> None:
    refresh_digests(sorted(p.stem for p in CONFIGS.glob("*.yaml")))
    doc.write_text("\n".join(report_lines()) + "\n")
    print(f"wrote {doc}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true",
                        help="only regenerate docs/results.md (from the digests, refreshed from results/paper/)")
    parser.add_argument("--doc", type=pathlib.Path, default=DOC,
                        help="write the page here instead of docs/results.md (e.g. to look at a partial one)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="configs to run (default: all)")
    parser.add_argument("--no-ray", action="store_true", help="run each config in one process, without Ray")
    parser.add_argument("--budget", type=int, metavar="N",
                        help="evaluations per run, baselines included (overrides the configs; the report states "
                             "the evaluations each run used)")
    args = parser.parse_args(argv)
    names = args.only or sorted(p.stem for p in CONFIGS.glob("*.yaml"))
    if not args.report:
        run_missing(names, ray=not args.no_ray, budget=args.budget)
    try:
        write_report(args.doc)
    except serving_overview().DigestError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
