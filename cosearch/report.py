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


def score_design(data: dict, *, workload: str | None = None, platform: str | None = None):
    """Evaluate a design file's design; returns ``(metrics, workload, platform, same_setup)``.

    ``workload``/``platform`` names replace the ones recorded in the file;
    ``same_setup`` says whether the recorded metrics apply.
    """
    from cosearch.config import PlatformConfig, WorkloadConfig
    from objectives import evaluate
    from spaces import Design

    recorded_w, recorded_p = data.get("workload"), data.get("platform")
    if workload is None and recorded_w is None or platform is None and recorded_p is None:
        raise ResultsError("the design file records no workload or platform: pass --workload and --platform")
    try:
        workload_config = WorkloadConfig.model_validate(workload if workload is not None else recorded_w)
        platform_config = PlatformConfig.model_validate(platform if platform is not None else recorded_p)
        built_w, built_p = workload_config.build(), platform_config.build()
        design = Design.from_dict(data["design"])
        metrics = evaluate(design.to_batch(built_p), built_w, built_p)
    except ValueError as e:  # a wrong name, or a design that does not fit this workload
        raise ResultsError(" ".join(str(e).split())) from None
    same = (recorded_w is not None and workload_config.model_dump() == WorkloadConfig.model_validate(recorded_w).model_dump()
            and recorded_p is not None
            and platform_config.model_dump() == PlatformConfig.model_validate(recorded_p).model_dump())
    return metrics, built_w, built_p, same


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


def core_work_share(data: dict) -> list[float] | None:
    """Fraction of the workload's MACs each core runs, from a design file's schedule."""
    schedule = data.get("schedule")
    if not schedule:
        return None
    from cosearch.config import WorkloadConfig

    try:
        macs = WorkloadConfig.model_validate(data["workload"]).build().macs
    except (ValueError, KeyError):
        return None
    cores = len(data["design"]["cores"])
    totals = [0.0] * cores
    for c, m in zip(schedule["core"], macs.tolist()):
        totals[c] += m
    return [t / max(sum(totals), 1.0) for t in totals]


def compute_row(data: dict):
    """The design diagram's compute row: PEs of an ASIC's budget, or the scarcest FPGA resource's share."""
    from cosearch.config import PlatformConfig

    try:
        platform = PlatformConfig.model_validate(data["platform"]).build()
    except (ValueError, KeyError):
        return None
    cores = data["design"]["cores"]
    if platform.kind == "asic":
        return "compute (PEs)", [c["pes"] / platform.pes for c in cores], [f"{c['pes']} PEs" for c in cores]
    sizes = {s.name: s for s in platform.core_sizes}
    if not all(c["size"] in sizes for c in cores):
        return None
    used = {k: sum(getattr(sizes[c["size"]], k) for c in cores) / getattr(platform, k)
            for k in ("dsp", "lut", "bram36", "uram") if getattr(platform, k) > 0}  # no UltraRAM: no budget
    scarce = max(used, key=used.get)
    label = {"dsp": "DSP", "lut": "LUT", "bram36": "BRAM36", "uram": "UltraRAM"}[scarce]
    amounts = [getattr(sizes[c["size"]], scarce) for c in cores]
    return f"compute ({label})", [a / getattr(platform, scarce) for a in amounts], [f"{a:,.0f}" for a in amounts]


def plot_results(results: ResultsDir, fmt: str = "png", summary: dict | None = None) -> list[pathlib.Path]:
    """Draw the Pareto front, convergence, best design and its schedule into ``plots/``.

    ``summary``: the experiment's summary when it is not yet written (it is written after the plots).
    """
    from cosearch import plots

    summary = results.read_summary() if summary is None else from_plain(to_plain(summary))  # as read back
    written = []
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
    written.append(plots.pareto_front(
        results.plots_dir / f"pareto.{fmt}", latency_s=cloud_lat + pareto.get("latency_s", []),
        energy_j=cloud_en + pareto.get("energy_j", []), front=[False] * len(cloud_lat) + [True] * n_front,
        best=None if not best else (best["metrics"]["latency_s"], best["metrics"]["energy_j"]),
        baselines=baselines, title=f"Pareto front — {title}", cloud_label="found by single runs",
        front_label=f"Pareto set over {', '.join(summary['pareto']['keys'])}"))
    from objectives.metrics import METRICS

    curves: dict[str, list] = {}
    several = len(summary["objective"]) > 1  # then runs are compared by the hypervolume of their fronts
    objective = METRICS.get(summary["objective"][0])
    higher = not several and objective is not None and objective.direction == "maximize"  # runs record −value
    for run in summary["runs"]:
        if run["kind"] == "search":
            history = results.read_history(run["run_id"])
            if several:
                history = {**history, "best": history["hypervolume"]}
            elif higher:
                history = {**history, "best": [-b for b in history["best"]]}
            curves.setdefault(run["optimizer"], []).append(history)
    if several:
        metric, unit = f"hypervolume over {', '.join(summary['pareto']['keys'])}", ""
        label = "hypervolume so far (higher is better)"
    else:
        metric, unit = (objective.label, objective.unit) if objective else (summary["objective"][0], "")
        label = f"best {metric} so far" + (" (higher is better)" if higher else "")
    written.append(plots.convergence(results.plots_dir / f"convergence.{fmt}", curves, ylabel=label, unit=unit,
                                     title=f"Convergence — {title} (median and IQR over seeds)"))
    if best and best.get("design"):
        data = read_design(results.root / best["design"])
        m = data["metrics"]
        notes = [f"EDP {plots.si(m['edp'], 'J·s', 4)}   latency {plots.si(m['latency_s'], 's', 4)}   "
                 f"energy {plots.si(m['energy_j'], 'J', 4)}   resources {m['resource_fraction']:.0%} of the budget"]
        written.append(plots.design_diagram(
            results.plots_dir / f"design.{fmt}", data["design"]["cores"], compute=compute_row(data),
            work_share=core_work_share(data), title=f"Best design — {title}", notes=notes))
        schedule = data.get("schedule")
        if schedule:
            labels = [f"core {c}: {k['size'] or k['pes']} {k['dataflow']}" for c, k in enumerate(data["design"]["cores"])]
            written.append(plots.gantt(
                results.plots_dir / f"schedule.{fmt}", start_s=schedule["start_s"], finish_s=schedule["finish_s"],
                core=schedule["core"], layer_model=schedule["layer_model"], model_names=data["model_names"],
                core_labels=labels, title=f"Schedule of the best design — {title}"))
    return written
