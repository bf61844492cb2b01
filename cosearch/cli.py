"""``cosearch`` — run experiments from config files, and inspect what they found.

Commands: run · evaluate · cost · plot · compare · workloads · platforms · spaces · validate.
Exit codes: 0 success, 2 usage or config error, 1 failure (SIGINT and SIGTERM
included).  A user mistake prints one message and no traceback;
``COSEARCH_DEBUG=1`` shows tracebacks.

Heavy modules (numpy, pydantic, Ray, Optuna, matplotlib) are imported inside
the commands so ``cosearch --help`` starts at once.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

USAGE_ERROR = 2
FAILURE = 1

SPACE_NOTES = {
    "cosearch": "everything free: core count, sizes, dataflows, shares, mapping",
    "homogeneous_multicore": "all cores one size and dataflow, even shares",
    "hda_fixed_granularity": "heterogeneous dataflow, fixed core granularity: one core per dataflow, sizes on a "
                             "fixed split",
    "hda": "Herald/Maelstrom-like: one core per dataflow (default ws_kc + os_yx); PE, bandwidth and buffer "
           "partition searched",
    "fda": "one monolithic core",
    "fixed_architecture": "cores given; only the mapping is searched",
}


class UsageError(ValueError):
    """A command-line mistake: printed as one line, exit code 2."""


def console(stderr: bool = False):
    from rich.console import Console

    width = None if (sys.stderr if stderr else sys.stdout).isatty() else 160
    return Console(stderr=stderr, width=width, highlight=False, soft_wrap=True)


def make_table(title: str, columns: list[str], rows: list[list], right: set[int] = frozenset()):
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    for i, column in enumerate(columns):
        table.add_column(column, justify="right" if i in right else "left")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    return table


def giga(n: float) -> str:
    return f"{n / 1e9:,.2f} G"


def mega(n: float) -> str:
    return f"{n / 1e6:,.2f} M"


# -- inspection commands -------------------------------------------------------


def cmd_workloads(args) -> int:
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


def cmd_platforms(args) -> int:
    """Platform presets and their budgets."""
    from spaces.hardware import PLATFORMS

    rows = []
    for p in PLATFORMS.values():
        budget = f"{p.pes} PEs" if p.kind == "asic" else f"{p.dsp:,.0f} DSP, {p.lut:,.0f} LUT, {p.bram36:,.0f} BRAM36"
        sizes = [s.name for s in p.core_sizes]
        rows.append([p.name, p.kind, budget, f"{p.bw_gbps:g}", f"{p.buffer_bytes / 2**20:g}",
                     f"{p.clock_hz / 1e6:g}", p.max_cores, ", ".join(p.dataflows),
                     f"{sizes[0]} … {sizes[-1]}" if len(sizes) > 2 else ", ".join(sizes)])
    console().print(make_table("platforms (override any field under platform: in a config)",
                           ["name", "kind", "compute budget", "GB/s", "buffer MiB", "MHz", "max cores",
                            "dataflows", "core sizes"], rows, right={3, 4, 5, 6}))
    return 0


def cmd_spaces(args) -> int:
    """Named search spaces, their options and dimension on a workload and platform."""
    import inspect

    from objectives.workloads import get_workload
    from spaces import SPACES, get_platform, make_space

    try:
        workload, platform = get_workload(args.workload), get_platform(args.platform)
    except ValueError as e:
        raise UsageError(str(e)) from None
    rows = []
    for name, builder in SPACES.items():
        options = [p for p in inspect.signature(builder).parameters if p not in ("workload", "platform")]
        try:
            dim = make_space(name, workload, platform).dim
        except ValueError:
            dim = "needs options"
        note = SPACE_NOTES.get(name) or (builder.__doc__ or "").strip().split("\n")[0]
        rows.append([name, dim, note, ", ".join(options)])
    console().print(make_table(f"spaces (dimension on {args.workload} / {args.platform})",
                           ["name", "genes", "restriction", "options"], rows, right={1}))
    return 0


def cmd_validate(args) -> int:
    """Check a config file without running it."""
    from cosearch.config import BUDGET_CONSTRAINT
    from cosearch.config_loader import build, load_config

    config = load_config(args.file)
    built = build(config, args.file)
    budget = " and ".join(f"{v:g} {k}" for k, v in config.budget.model_dump().items() if v is not None)
    from cosearch.cli_run import run_specs

    runs = len(run_specs(config)[0])  # what `run` runs: the searches and the baselines
    searches = len(config.optimizers) * len(config.seeds)
    baselines = runs - searches
    plan = f"{runs} run{'s' if runs != 1 else ''}: {searches} of {budget}"
    if baselines:
        plan += f" and {baselines} baseline run{'s' if baselines != 1 else ''} of {config.baselines.evaluations} evaluations"
    limits = [c for c in config.objective.constraints if c != BUDGET_CONSTRAINT]  # the budget always holds
    constraints = f" under {', '.join(limits)}" if limits else ""
    console().print(
        f"{args.file}: ok — {built.workload.name} ({built.workload.num_layers} layers) on {built.platform.name}, "
        f"space {config.space.name} ({built.space.dim} genes), objective {', '.join(config.objective.keys)}{constraints}; "
        f"{plan}; results in {config.output_dir}")
    return 0


# -- commands on results ------------------------------------------------------


def cmd_evaluate(args) -> int:
    from cosearch.report import evaluate_design_file

    return evaluate_design_file(args.design, workload=args.workload, platform=args.platform,
                                as_json=args.json, out=console())


def cmd_cost(args) -> int:
    from cosearch.cli_cost import run_cost

    return run_cost(args, out=console())


def cmd_plot(args) -> int:
    from cosearch.report import plot_results
    from cosearch.results import ResultsDir

    paths = plot_results(ResultsDir(args.results_dir), fmt=args.format)
    out = console()
    for path in paths:
        out.print(f"wrote {path}")
    return 0


def cmd_compare(args) -> int:
    from cosearch.report import compare_results

    return compare_results(args.results_dirs, out_path=args.out, fmt=args.format, out=console())


def cmd_run(args) -> int:
    from cosearch.cli_run import run_experiment

    return run_experiment(args, out=console())


# -- parser and entry point ---------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cosearch",
        description="Co-design multi-DNN accelerators: search cores, dataflows, shares and mapping together.",
        epilog="Start with: cosearch run experiments/quickstart.yaml   (COSEARCH_DEBUG=1 shows tracebacks)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser("run", help="run an experiment from a config file")
    run.add_argument("config", metavar="CONFIG", help="experiment YAML file")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--address", help="Ray cluster address (auto, ray://host:10001); default: local Ray")
    where.add_argument("--no-ray", action="store_true", help="run in this process, without Ray")
    run.add_argument("--workers", type=_positive_int, metavar="N", help="CPUs of the local Ray instance; on a cluster, runs in flight at once")
    run.add_argument("--budget", type=_positive_int, metavar="N", help="evaluations per run (overrides the config)")
    run.add_argument("--out", metavar="DIR", help="results directory (overrides output:)")
    run.add_argument("--resume", action="store_true", help="continue a stopped experiment; finished runs are kept")
    run.set_defaults(func=cmd_run)

    evaluate = sub.add_parser("evaluate", help="re-score a design JSON (designs/*.json of a results directory)")
    evaluate.add_argument("design", metavar="DESIGN.json")
    evaluate.add_argument("--workload", help="mix or model name (default: the one recorded in the file)")
    evaluate.add_argument("--platform", help="platform preset (default: the one recorded in the file)")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.set_defaults(func=cmd_evaluate)

    cost = sub.add_parser("cost", help="per-layer mapping, cycles and energy of one model on one core")
    cost.add_argument("model", metavar="MODEL_OR_FILE", help="zoo model name or layer table (.csv, .yaml, .onnx)")
    cost.add_argument("--platform", required=True, metavar="PRESET_OR_YAML", help="platform preset or YAML file")
    cost.add_argument("--core", metavar="SIZE:DATAFLOW",
                      help="core size and dataflow (default: the largest size, the platform's first dataflow)")
    cost.add_argument("--csv", metavar="OUT", help="also write the per-layer table as CSV")
    cost.set_defaults(func=cmd_cost)

    plot = sub.add_parser("plot", help="(re)draw the plots of a results directory")
    plot.add_argument("results_dir", metavar="RESULTS_DIR")
    plot.add_argument("--format", choices=("png", "svg"), default="png")
    plot.set_defaults(func=cmd_plot)

    compare = sub.add_parser("compare", help="one table and one overlay plot across experiments")
    compare.add_argument("results_dirs", metavar="DIR", nargs="+")
    compare.add_argument("--out", metavar="FILE", help="overlay plot path (default: compare.png here)")
    compare.add_argument("--format", choices=("png", "svg"), default="png")
    compare.set_defaults(func=cmd_compare)

    workloads = sub.add_parser("workloads", help="models and mixes with layers, MACs and parameters")
    workloads.add_argument("name", nargs="?", metavar="NAME",
                           help="a mix or model to show in detail, or 'export' to write a model's layer table")
    workloads.add_argument("model", nargs="?", metavar="MODEL", help="with export: the zoo model to write")
    workloads.add_argument("--to", metavar="FILE", help="with export: the .csv or .yaml file to write")
    workloads.set_defaults(func=cmd_workloads)

    platforms = sub.add_parser("platforms", help="platform presets and their budgets")
    platforms.set_defaults(func=cmd_platforms)

    spaces = sub.add_parser("spaces", help="named search spaces and their options")
    spaces.add_argument("--workload", default="herald_arvr_a", help="workload for the gene counts")
    spaces.add_argument("--platform", default="edge", help="platform for the gene counts")
    spaces.set_defaults(func=cmd_spaces)

    validate = sub.add_parser("validate", help="check a config file without running it")
    validate.add_argument("file", metavar="FILE")
    validate.set_defaults(func=cmd_validate)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def debugging() -> bool:
    """``COSEARCH_DEBUG=1``: tracebacks instead of one-line messages."""
    return os.environ.get("COSEARCH_DEBUG", "") not in ("", "0")


def _terminated(signum, frame):
    """SIGTERM (a scheduler's or a service manager's stop) is handled as Ctrl-C: finished runs are kept."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    debug = debugging()
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("cosearch: interrupted", file=sys.stderr)
        return FAILURE
    except Exception as e:  # one place turns errors into messages and exit codes
        from cosearch.config import ConfigError
        from cosearch.results import ResultsError

        if debug:
            raise
        if isinstance(e, (ConfigError, ResultsError, UsageError)):
            print(e if isinstance(e, ConfigError) else f"cosearch {args.command}: {e}", file=sys.stderr)
            return USAGE_ERROR
        from cosearch.experiment import failure_line

        print(f"cosearch {args.command}: error: {failure_line(e)}", file=sys.stderr)
        print("(set COSEARCH_DEBUG=1 for the traceback)", file=sys.stderr)
        return FAILURE
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
