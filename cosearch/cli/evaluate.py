"""``cosearch evaluate``: re-score a design file and say whether it reproduces its recorded metrics."""

from __future__ import annotations

from cosearch.cli.console import console


def add_parser(sub) -> None:
    evaluate = sub.add_parser("evaluate", help="re-score a design JSON (designs/*.json of a results directory)")
    evaluate.add_argument("design", metavar="DESIGN.json")
    evaluate.add_argument("--workload", help="mix or model name (default: the one recorded in the file)")
    evaluate.add_argument("--platform", help="platform preset (default: the one recorded in the file)")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.set_defaults(func=command)


def command(args) -> int:
    return evaluate_design_file(args.design, workload=args.workload, platform=args.platform,
                                as_json=args.json, out=console())


def evaluate_design_file(path, *, workload=None, platform=None, as_json=False, out) -> int:
    """Print a design's metrics; 1 when the file's recorded metrics are not reproduced."""
    import json

    from cosearch.report import recorded_differences, score_design, shown_metrics
    from cosearch.results import read_design, to_plain

    data = read_design(path)
    metrics, built_w, built_p, same = score_design(data, workload=workload, platform=platform)
    row = metrics.row(0)
    recorded = data.get("metrics") if same else None
    differ = recorded_differences(row, recorded or {})
    if as_json:
        print(json.dumps(to_plain({"workload": built_w.name, "platform": built_p.name, "metrics": row,
                                 "matches_recorded": None if recorded is None else not differ}), indent=1))
    else:
        from rich.table import Table

        table = Table(title=f"{path}: {built_w.name} on {built_p.name}", title_justify="left")
        table.add_column("metric")
        table.add_column("value", justify="right")
        table.add_column("unit")
        for m in shown_metrics():
            table.add_row(m.label, f"{row[m.name] * m.display_scale:.6g}", m.shown_unit)
        table.add_row("feasible", str(row["feasible"]), "" if row["feasible"] else _reason(row["reason"]))
        out.print(table)
        if recorded is not None:
            out.print("reproduces the recorded metrics" if not differ
                      else f"differs from the recorded metrics in: {', '.join(differ)}")
    return 1 if differ else 0


def _reason(code: int) -> str:
    from spaces import REASONS

    return REASONS.get(int(code), f"reason {code}")
