"""What is drawn and re-scored from results: design files and figures (nothing here prints).

* ``score_design`` — a design file's design evaluated again (on its recorded
  workload and platform, or others); ``recorded_differences`` — the metrics
  that do not reproduce what the file records;
* ``plot_results`` — every figure of a results directory, from its files alone.
"""

from __future__ import annotations

import math
import pathlib

from cosearch.results import ResultsDir, ResultsError, from_plain, read_design, to_plain

def shown_metrics() -> list:
    """The metrics listed when a design is printed, in table order (``Metric.shown``)."""
    from objectives.metrics import METRICS

    return [m for m in METRICS.values() if m.shown]


def score_design(data: dict, *, workload=None, platform=None, serving: dict | None = None):
    """Evaluate a design file's design; returns ``(metrics, workload, platform, same_setup)``.

    ``workload``/``platform`` (names, or config sections as plain data) replace
    the ones recorded in the file; on another workload the design is re-mapped
    (``cosearch.remap``: same cores, its mapping carried over).  ``serving`` (a
    config's ``serving`` section as plain data) replaces the request streams the
    file records; with either, the metrics include the serving metrics
    (``cosearch.scenarios``).  ``same_setup`` says whether the recorded metrics apply.
    """
    from cosearch.config import PlatformConfig, ServingConfig, WorkloadConfig
    from cosearch.remap import remap
    from objectives import evaluate
    from spaces import Design

    recorded_w, recorded_p = data.get("workload"), data.get("platform")
    if workload is None and recorded_w is None or platform is None and recorded_p is None:
        raise ResultsError("the design file records no workload or platform: pass --workload and --platform")
    serving = serving if serving is not None else data.get("serving")
    try:
        workload_config = WorkloadConfig.model_validate(workload if workload is not None else recorded_w)
        platform_config = PlatformConfig.model_validate(platform if platform is not None else recorded_p)
        built_w, built_p = workload_config.build(), platform_config.build()
        same_w = (recorded_w is not None and
                  workload_config.model_dump() == WorkloadConfig.model_validate(recorded_w).model_dump())
        design = Design.from_dict(data["design"])
        if not same_w and recorded_w is not None:  # another mix: the same cores, the mapping carried over
            design = remap(design, WorkloadConfig.model_validate(recorded_w).build(), built_w, built_p)
        batch = design.to_batch(built_p)
        if serving is not None:
            from cosearch.scenarios import Judge

            metrics = Judge(built_w, built_p, ServingConfig.model_validate(serving)).score(batch)
        else:
            metrics = evaluate(batch, built_w, built_p)
    except ValueError as e:  # a wrong name, or a design that does not fit this workload
        raise ResultsError(" ".join(str(e).split())) from None
    same = (same_w and recorded_p is not None and serving == data.get("serving")
            and platform_config.model_dump() == PlatformConfig.model_validate(recorded_p).model_dump())
    return metrics, built_w, built_p, same


def regret(row: dict, best: dict, objectives) -> dict:
    """Per objective, how much worse ``row`` is than ``best`` (a mix's own best design), as a fraction of
    the best: ``(value − best) / |best|`` when lower is better, ``(best − value) / |best|`` when higher is;
    0 means as good, negative better."""
    from objectives.metrics import METRICS

    out = {}
    for name in objectives:
        value, reference = row.get(name), best.get(name)
        if value is None or reference is None or reference == 0:
            continue
        gap = (value - reference) if METRICS[name].direction != "maximize" else (reference - value)
        out[name] = gap / abs(reference)
    return out


def recorded_differences(row: dict, recorded: dict) -> list[str]:
    """The metrics of ``row`` whose value differs from the one ``recorded`` (NaN equals NaN;
    1e-12 relative tolerance, for sums taken in another order)."""
    return [k for k in recorded if k in row and not _same(row[k], recorded[k])]


def _same(a, b) -> bool:
    if isinstance(a, list) or isinstance(b, list):
        return isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)
    return a == b


# -- plots ------------------------------------------------------------------


def _built(data: dict):
    """The design file's workload and platform, built; ``(None, None)`` where the file cannot say."""
    from cosearch.config import PlatformConfig, WorkloadConfig

    try:
        workload = WorkloadConfig.model_validate(data["workload"]).build()
    except (ValueError, KeyError, TypeError):
        workload = None
    try:
        platform = PlatformConfig.model_validate(data["platform"]).build()
    except (ValueError, KeyError, TypeError):
        platform = None
    return workload, platform


def core_work(data: dict, workload) -> list[list[float]] | None:
    """``(C, M)`` MACs of each DNN on each core, from a design file's schedule."""
    schedule = data.get("schedule")
    if not schedule or workload is None or len(schedule["core"]) != workload.num_layers:
        return None
    cores = len(data["design"]["cores"])
    work = [[0.0] * workload.num_models for _ in range(cores)]
    for c, m, macs in zip(schedule["core"], workload.model.tolist(), workload.macs.tolist()):
        work[c][m] += macs
    return work


def core_facts(data: dict, platform) -> list[dict]:
    """Each core of a design file with its absolute resources: PE array shape, GB/s and MiB.

    A design file that records them (its ``cores``) is read as it is; for
    one that does not, they follow from its shares and the platform it names.
    """
    from objectives.chip import partitioned_gbps
    from objectives.mapper import core_for
    from spaces.hardware import MiB, get_dataflow

    recorded = data.get("cores") or []
    if len(recorded) == len(data["design"]["cores"]):
        return [{**core, **{k: r[k] for k in ("array", "bw_gbps", "buffer_mib") if k in r}}
                for core, r in zip(data["design"]["cores"], recorded)]
    sizes = {} if platform is None else {s.name: s for s in platform.core_sizes}
    facts = []
    for core in data["design"]["cores"]:
        fact = dict(core)
        if platform is not None:
            fact["bw_gbps"] = core["bw_share"] * partitioned_gbps(platform)
            fact["buffer_mib"] = core["buffer_share"] * platform.buffer_bytes / MiB
            try:
                size = sizes.get(core.get("size"))
                axes = core_for(platform, get_dataflow(core["dataflow"]), core["pes"], size.unroll if size else ()).axes
                fact["array"] = " × ".join(f"{a.name}{a.extent}" for a in axes)
                used = math.prod(a.extent for a in axes)
                if used != core["pes"]:  # extents that do not tile the PE count leave some PEs idle
                    fact["array"] += f" = {used:,}"
            except (KeyError, ValueError):  # a dataflow this process does not know: no shape, the rest stands
                pass
        facts.append(fact)
    return facts


def compute_row(data: dict, platform=None):
    """The design diagram's compute row: PEs of an ASIC's budget, or the scarcest FPGA resource's share."""
    if platform is None:
        platform = _built(data)[1]
        if platform is None:
            return None
    cores = data["design"]["cores"]
    if platform.kind == "asic":
        return "compute (PEs)", [c["pes"] / platform.pes for c in cores], [f"{c['pes']:,} PEs" for c in cores]
    sizes = {s.name: s for s in platform.core_sizes}
    if not all(c["size"] in sizes for c in cores):
        return None
    used = {k: sum(getattr(sizes[c["size"]], k) for c in cores) / getattr(platform, k)
            for k in ("dsp", "lut", "bram36", "uram") if getattr(platform, k) > 0}  # no UltraRAM: no budget
    scarce = max(used, key=used.get)
    label = {"dsp": "DSP", "lut": "LUT", "bram36": "BRAM36", "uram": "UltraRAM"}[scarce]
    amounts = [getattr(sizes[c["size"]], scarce) for c in cores]
    return (f"compute ({label})", [a / getattr(platform, scarce) for a in amounts],
            [f"{c['size']}: {a:,.0f} {label}" for c, a in zip(cores, amounts)])


def _hypervolume_share(history: dict, reference) -> dict:
    """The run's hypervolume as a fraction of the box from the origin to the reference point (costs are
    non-negative), so runs and experiments read on one scale; raw when the box is not that."""
    box = math.prod(reference) if reference and all(r > 0 for r in reference) else None
    if box is None:
        return {**history, "best": history["hypervolume"]}
    return {**history, "best": [h / box for h in history["hypervolume"]]}


def _key_labels(keys) -> str:
    from objectives.metrics import METRICS

    labels = [METRICS[k].label if k in METRICS else k for k in keys]
    return ", ".join(labels[:-1]) + f" and {labels[-1]}" if len(labels) > 1 else "".join(labels)


def _best_label(objectives, space: str | None = None) -> str:
    """What the star is: the best design of the searched space, named as the baselines' spaces are
    (a baseline may search a larger space and beat it); with several objectives, the best by the
    first (runs compare lexicographically)."""
    from objectives.metrics import METRICS

    best = f"best {space} design" if isinstance(space, str) and space else "best design"
    if len(objectives) == 1:
        return best
    first = METRICS.get(objectives[0])
    word = "most" if first is not None and first.direction == "maximize" else "least"
    return f"{best} ({word} {_key_labels(objectives[:1])})"


def _convergence(results: ResultsDir, summary: dict, fmt: str, title: str) -> pathlib.Path:
    from cosearch import plots
    from objectives.metrics import METRICS

    several = len(summary["objective"]) > 1  # then runs are compared by the hypervolume of their fronts
    objective = METRICS.get(summary["objective"][0])
    higher = not several and objective is not None and objective.direction == "maximize"  # runs record −value
    curves: dict[str, list] = {}
    for run in summary["runs"]:
        if run["kind"] == "search":
            history = results.read_history(run["run_id"])
            if several:
                history = _hypervolume_share(history, results.read_run(run["run_id"])["archive"].get("reference"))
            elif higher:
                history = {**history, "best": [-b for b in history["best"]]}
            curves.setdefault(run["optimizer"], []).append(history)
    if several:
        keys = _key_labels(summary["pareto"]["keys"])
        options = {"label": "hypervolume so far", "unit": "% of the reference box", "scale": 100.0, "log": False}
        title = (f"Convergence — {title}\nhypervolume of each run's front over {keys} (higher is better); "
                 "median and IQR over seeds")
    else:
        name, unit = (objective.label, objective.unit) if objective else (summary["objective"][0], "")
        options = {"label": f"best {name} so far" + (", higher is better" if higher else ""), "unit": unit,
                   "log": True}
        title = f"Convergence — {title} (median and IQR over seeds)"
    return plots.convergence(results.plots_dir / f"convergence.{fmt}", curves, title=title, **options)


def _best_design_plots(results: ResultsDir, best: dict, fmt: str, title: str) -> list[pathlib.Path]:
    from cosearch import plots
    from objectives.chip import PARTITIONED_BANDWIDTH

    data = read_design(results.root / best["design"])
    workload, platform = _built(data)
    m = data["metrics"]
    notes = [f"EDP {plots.si(m['edp'], 'J·s', 4)}   latency {plots.si(m['latency_s'], 's', 4)}   "
             f"energy {plots.si(m['energy_j'], 'J', 4)}   resources {m['resource_fraction']:.0%} of the budget"]
    written = [plots.design_diagram(
        results.plots_dir / f"design.{fmt}", core_facts(data, platform), compute=compute_row(data, platform),
        bandwidth=PARTITIONED_BANDWIDTH[getattr(platform, "bw_partition", "dram")],  # a file naming no platform: DRAM
        work=core_work(data, workload), model_names=data["model_names"], title=f"Best design — {title}",
        notes=notes)]
    schedule = data.get("schedule")
    if schedule:
        labels = [f"core {c}: {k['size'] or k['pes']} {k['dataflow']}" for c, k in enumerate(data["design"]["cores"])]
        deadlines = None if workload is None else workload.latency_target_s.tolist()
        written.append(plots.gantt(
            results.plots_dir / f"schedule.{fmt}", start_s=schedule["start_s"], finish_s=schedule["finish_s"],
            core=schedule["core"], layer_model=schedule["layer_model"], model_names=data["model_names"],
            layer_names=schedule.get("layer_names"), model_finish_s=m.get("model_latency_s"), deadline_s=deadlines,
            core_labels=labels, title=f"Schedule of the best design — {title}"))
    return written


def plot_results(results: ResultsDir, fmt: str = "png", summary: dict | None = None) -> list[pathlib.Path]:
    """Draw the Pareto front, convergence, best design and its schedule into ``plots/``.

    ``summary``: the experiment's summary when it is not yet written (it is written after the plots).
    """
    from cosearch import plots

    summary = results.read_summary() if summary is None else from_plain(to_plain(summary))  # as read back
    title = f"{summary['workload']} on {summary['platform']}"
    pareto = results.read_pareto()
    cloud_lat, cloud_en = [], []
    for run in summary["runs"]:
        front = results.read_run(run["run_id"])["archive"]
        keys = front["keys"]
        for row in front["values"]:
            cloud_lat.append(row[keys.index("latency_s")])
            cloud_en.append(row[keys.index("energy_j")])
    best = summary.get("best")
    baselines = {name: (b["metrics"]["latency_s"], b["metrics"]["energy_j"])
                 for name, b in summary.get("baselines", {}).items() if b.get("metrics")}
    n_front = len(pareto.get("latency_s", []))
    written = [plots.pareto_front(
        results.plots_dir / f"pareto.{fmt}", latency_s=cloud_lat + pareto.get("latency_s", []),
        energy_j=cloud_en + pareto.get("energy_j", []), front=[False] * len(cloud_lat) + [True] * n_front,
        front_keys=summary["pareto"]["keys"],
        best=None if not best else (best["metrics"]["latency_s"], best["metrics"]["energy_j"]),
        baselines=baselines, title=f"Pareto front — {title}", cloud_label="on single runs' fronts only",
        best_label=_best_label(summary["objective"], summary.get("space")))]
    written.append(_convergence(results, summary, fmt, title))
    if best and best.get("design"):
        written.extend(_best_design_plots(results, best, fmt, title))
    if summary.get("serving"):
        written += plot_serving(results, summary, fmt, title)
    return written


def core_label(core: dict) -> str:
    """A core as the core-mix figure counts it: its size (or PEs) and dataflow."""
    return f"{core.get('size') or str(core['pes']) + ' PEs'} {core['dataflow']}"


def plot_serving(results: ResultsDir, summary: dict, fmt: str, title: str) -> list[pathlib.Path]:
    """The serving figures: the best design's latency CDF per tenant, SLA rate against load per design,
    throughput at SLA of the best design and each baseline per case, and their core mixes."""
    from cosearch import plots

    serving, written = summary["serving"], []
    latency = serving.get("latency")
    if latency:
        tenants = latency["tenants"]
        written.append(plots.latency_cdf(
            results.plots_dir / f"latency_cdf.{fmt}", {t: v["latency_s"] for t, v in tenants.items()},
            qos_s={t: v["qos_s"] for t, v in tenants.items()},
            title=f"Latency per tenant, {latency['design']} at {plots.si(latency['offered_qps'], 'queries/s')} "
                  f"({latency['case']}) — {title}"))
    sweep = serving.get("sla_vs_load")
    if sweep:
        written.append(plots.sla_vs_load(
            results.plots_dir / f"sla_load.{fmt}",
            {label: (sweep["offered_qps"], rates) for label, rates in sweep["sla_rate"].items()},
            load="offered load, every tenant's rate scaled alike",
            title=f"SLA satisfaction vs load ({serving['cases'][0]}) — {title}"))
    designs = {f"best ({summary['space']})": summary["best"]}
    designs.update({label: entry for label, entry in summary["baselines"].items() if entry.get("metrics")})
    per_case: dict[str, dict[str, float]] = {}
    for label, entry in designs.items():
        cases = entry["metrics"].get("scenarios") or []
        for case in cases:
            per_case.setdefault(case["case"], {})[label] = case.get("qps_at_sla", float("nan"))
        if len(cases) > 1:
            per_case.setdefault(f"{serving['aggregate']} over cases", {})[label] = entry["metrics"].get(
                "qps_at_sla", float("nan"))
    if per_case:
        written.append(plots.grouped_bars(
            results.plots_dir / f"qps.{fmt}", per_case, metric="qps_at_sla",
            title=f"Throughput at SLA, relative to the best design — {title}"))
    mixes = {}
    for label, entry in designs.items():
        if entry.get("design"):
            mixes[label] = [core_label(c) for c in read_design(results.root / entry["design"])["design"]["cores"]]
    if mixes:
        written.append(plots.core_mix(results.plots_dir / f"core_mix.{fmt}", mixes,
                                      title=f"Core mix of each design — {title}"))
    return written
