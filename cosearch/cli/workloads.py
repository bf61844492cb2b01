"""``cosearch workloads``: mixes and models with layers, MACs and parameters; ``workloads export``."""

from __future__ import annotations

from cosearch.cli.console import UsageError, console, giga, mega, make_table


def add_parser(sub) -> None:
    workloads = sub.add_parser("workloads", help="models and mixes with layers, MACs and parameters")
    workloads.add_argument("name", nargs="?", metavar="NAME",
                           help="a mix or model to show in detail, or 'export' to write a model's layer table")
    workloads.add_argument("model", nargs="?", metavar="MODEL", help="with export: the zoo model to write")
    workloads.add_argument("--to", metavar="FILE", help="with export: the .csv or .yaml file to write")
    workloads.set_defaults(func=command)


def command(args) -> int:
    """Mixes and models with layers, MACs and parameters (or one of them in detail)."""
    from objectives.workloads import MIXES, MODELS, get_workload

    out = console()
    if args.name == "export" or args.to:
        return _export_workload(args)
    if args.name:
        try:
            workload = get_workload(args.name)
        except ValueError as e:
            raise UsageError(str(e)) from None
        rows = []
        for entry, target in zip(workload.summary(), workload.latency_target_s):
            target_ms = "—" if target != target else f"{target * 1e3:g}"
            rows.append([entry["model"], entry["batch"], entry["layers"], giga(entry["macs"]),
                         mega(entry["params"]), target_ms])
        total_macs = sum(e["macs"] * e["batch"] for e in workload.summary())
        rows.append(["total (× batch)", workload.inferences, workload.num_layers, giga(total_macs), "", ""])
        out.print(make_table(f"workload {args.name}", ["model", "batch", "layers", "MACs", "params",
                                                   "latency target (ms)"], rows, right={1, 2, 3, 4, 5}))
        return 0
    rows = []
    for name in MIXES:
        workload = get_workload(name)
        members = ", ".join(f"{e['model']}×{e['batch']}" if e["batch"] > 1 else e["model"]
                            for e in workload.summary())
        macs = sum(e["macs"] * e["batch"] for e in workload.summary())
        rows.append([name, workload.num_layers, giga(macs), members])
    out.print(make_table("mixes (layers and MACs over every batch)", ["mix", "layers", "MACs", "models"], rows,
                     right={1, 2}))
    rows = []
    for name in MODELS:
        entry = get_workload(name).summary()[0]
        rows.append([name, entry["layers"], giga(entry["macs"]), mega(entry["params"])])
    out.print(make_table("models (one inference)", ["model", "layers", "MACs", "params"], rows, right={1, 2, 3}))
    return 0


def _export_workload(args) -> int:
    """``workloads export NAME --to FILE``: a zoo model as a CSV/YAML layer table."""
    from objectives.workloads.files import export_model

    if args.name != "export" or not args.model or not args.to:
        raise UsageError("usage: cosearch workloads export MODEL --to FILE.csv|FILE.yaml")
    try:
        path = export_model(args.model, args.to)
    except ValueError as e:
        raise UsageError(str(e)) from None
    console().print(f"wrote {path}")
    return 0
