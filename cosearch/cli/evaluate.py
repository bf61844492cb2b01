"""``cosearch evaluate``: re-score a design file and say whether it reproduces its recorded metrics;
on another mix (``--workload``, ``--scenario``) re-map it and report its regret against that mix's best."""

from __future__ import annotations

from cosearch.cli.console import console


def add_parser(sub) -> None:
    evaluate = sub.add_parser("evaluate", help="re-score a design JSON (designs/*.json of a results directory)")
    evaluate.add_argument("design", metavar="DESIGN.json")
    evaluate.add_argument("--workload", help="mix or model name (default: the one recorded in the file); "
                                             "the design's mapping is carried over to it")
    evaluate.add_argument("--platform", help="platform preset (default: the one recorded in the file)")
    evaluate.add_argument("--scenario", metavar="CONFIG.yaml",
                          help="an experiment config: score on its workload and serving section (request streams)")
    evaluate.add_argument("--against", metavar="RESULTS",
                          help="a results directory of the other mix: report the regret against its best design")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.set_defaults(func=command)


def command(args) -> int:
    return evaluate_design_file(args.design, workload=args.workload, platform=args.platform,
                                scenario=args.scenario, against=args.against, as_json=args.json, out=console())


def evaluate_design_file(path, *, workload=None, platform=None, scenario=None, against=None, as_json=False,
                         out) -> int:
    """Print a design's metrics; 1 when the file's recorded metrics are not reproduced."""
    import json

    from cosearch.report import recorded_differences, regret, score_design, shown_metrics
    from cosearch.results import read_design, to_plain

    data = read_design(path)
    serving = None
    if scenario is not None:
        from cosearch.config_loader import load_config

        config = load_config(scenario)
        if config.serving is None:
            from cosearch.config import ConfigError

            raise ConfigError(str(scenario), [("serving", "required key is missing: --scenario scores on the "
                                                          "config's serving section")])
        serving = config.serving.model_dump(mode="json")
        workload = workload if workload is not None else config.workload.model_dump(mode="json")
    metrics, built_w, built_p, same = score_design(data, workload=workload, platform=platform, serving=serving)
    row = metrics.row(0)
    recorded = data.get("metrics") if same else None
    differ = recorded_differences(row, recorded or {})
    gaps, best = None, None
    if against is not None:
        from cosearch.results import ResultsDir

        summary = ResultsDir(against).read_summary()
        best = summary.get("best") or {}
        gaps = regret(row, best.get("metrics") or {}, summary["objective"])
    if as_json:
        print(json.dumps(to_plain({"workload": built_w.name, "platform": built_p.name, "metrics": row,
                                   "matches_recorded": None if recorded is None else not differ,
                                   **({"regret": gaps} if gaps is not None else {})}), indent=1))
    else:
        from rich.table import Table

        table = Table(title=f"{path}: {built_w.name} on {built_p.name}", title_justify="left")
        table.add_column("metric")
        table.add_column("value", justify="right")
        table.add_column("unit")
        for m in shown_metrics():
            if m.name in row:
                table.add_row(m.label, f"{row[m.name] * m.display_scale:.6g}", m.shown_unit)
        table.add_row("feasible", str(row["feasible"]), "" if row["feasible"] else _reason(row["reason"]))
        out.print(table)
        if row.get("scenarios"):
            out.print(scenario_table(row["scenarios"]))
        if recorded is not None:
            out.print("reproduces the recorded metrics" if not differ
                      else f"differs from the recorded metrics in: {', '.join(differ)}")
        if gaps is not None:
            out.print(f"regret against the best design of {against}: " + (", ".join(
                f"{name} {gap:+.1%}" for name, gap in gaps.items()) or "no common objective"))
    return 1 if differ else 0


SERVING_COLUMNS = ("qps_at_sla", "qps_per_watt", "sla_rate", "p99_latency_s", "energy_per_query_j", "peak_power_w",
                   "serving_fairness")
"""The serving metrics the console shows, in this order."""


def scenario_table(scenarios: list[dict]):
    """The per-scenario table: one row per (scenario, load) case, a column per serving metric it holds."""
    from rich.table import Table

    from objectives.metrics import METRICS

    names = [k for k in SERVING_COLUMNS if k in scenarios[0]]
    table = Table(title="per scenario", title_justify="left")
    table.add_column("case")
    for name in names:
        m = METRICS[name]
        table.add_column(f"{m.label} ({m.shown_unit})" if m.shown_unit else m.label, justify="right")
    for entry in scenarios:
        table.add_row(entry["case"], *(f"{entry[n] * METRICS[n].display_scale:.4g}" for n in names))
    return table


def _reason(code: int) -> str:
    from spaces import REASONS

    return REASONS.get(int(code), f"reason {code}")
