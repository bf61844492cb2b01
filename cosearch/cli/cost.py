"""``cosearch cost``: the per-layer mapping, cycles and energy of one model on one core.

The table comes from ``cosearch.layer_costs``; this module reads the
arguments and prints it (and writes it as CSV when asked).
"""

from __future__ import annotations

from cosearch.cli.console import UsageError, console, make_table


def add_parser(sub) -> None:
    cost = sub.add_parser("cost", help="per-layer mapping, cycles and energy of one model on one core")
    cost.add_argument("model", metavar="MODEL_OR_FILE", help="zoo model name or layer table (.csv, .yaml, .onnx)")
    cost.add_argument("--platform", required=True, metavar="PRESET_OR_YAML", help="platform preset or YAML file")
    cost.add_argument("--core", metavar="SIZE:DATAFLOW",
                      help="core size and dataflow (default: the largest size, the platform's first dataflow)")
    cost.add_argument("--csv", metavar="OUT", help="also write the per-layer table as CSV")
    cost.set_defaults(func=command)


def command(args) -> int:
    return run_cost(args, out=console())


def run_cost(args, out) -> int:
    from cosearch.layer_costs import COLUMNS, LEVEL_COLUMNS, layer_costs, load_model_arg, load_platform_arg, parse_core
    from cosearch.results import atomic_write_csv
    from objectives import mapper

    try:
        model = load_model_arg(args.model)
        platform = load_platform_arg(args.platform)
        size, dataflow = parse_core(args.core, platform)
    except ValueError as e:
        raise UsageError(str(e)) from None
    core, rows = layer_costs(model, platform, size, dataflow)
    shape = " x ".join(f"{a.extent} {'·'.join(a.dims)}" for a in core.axes)
    title = (f"{model.name} on {size.name}:{dataflow.name} ({shape}) of {platform.name}, "
             f"{platform.buffer_bytes / 2**20:g} MiB buffer, {platform.bw_gbps:g} GB/s; "
             f"mapping objective {platform.mapping_objective}")
    shown = ["index", "layer", "dims", "MACs", "spatial", "RF / buffer", "DRAM tiles", "util", "cycles",
             "stall", *(level for level in mapper.LEVELS), "bound"]
    table_rows = []
    for r in rows:
        table_rows.append([
            r["index"], r["layer"], " ".join(f"{d}{r[d]}" for d in mapper.DIMS if r[d] > 1) or "-",
            f"{r['macs']:,}", r["spatial"], f"{r['rf_stationary'][0].upper()} / {r['buffer_stationary'][0].upper()}",
            r["dram_tiles"], f"{r['utilization']:.1%}", f"{r['cycles']:,.0f}", f"{r['stall_cycles']:,.0f}",
            *(f"{r[c]:.2f}" for c in LEVEL_COLUMNS), r["bound"],
        ])
    total = {c: sum(r[c] for r in rows) for c in ("macs", "cycles", "stall_cycles", *LEVEL_COLUMNS)}
    table_rows.append(["", "total", "", f"{total['macs']:,}", "", "", "",
                       f"{total['macs'] / (total['cycles'] * core.pes):.1%}", f"{total['cycles']:,.0f}",
                       f"{total['stall_cycles']:,.0f}", *(f"{total[c]:.2f}" for c in LEVEL_COLUMNS), ""])
    if not out.is_terminal:  # a pipe or a file: room for one line per layer
        out.width = max(out.width, 200)
    out.print(make_table(title, shown, table_rows, right={0, 3, 7, 8, 9, 10, 11, 12, 13, 14}))
    out.print("energy in uJ per level; RF / buffer: the operand (Input, Weight, Output) kept in the PEs' "
              "register files / at the buffer")
    if args.csv:
        path = atomic_write_csv(args.csv, COLUMNS, [[r[c] for c in COLUMNS] for r in rows])
        out.print(f"wrote {path}")
    return 0
