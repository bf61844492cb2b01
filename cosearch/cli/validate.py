"""``cosearch validate``: check a config file without running it, and say what it would run."""

from __future__ import annotations

from cosearch.cli.console import UsageError, console


def add_parser(sub) -> None:
    validate = sub.add_parser("validate", help="check a config file without running it")
    validate.add_argument("file", metavar="FILE")
    validate.set_defaults(func=command)


def command(args) -> int:
    """Check a config file without running it."""
    from cosearch.config import BUDGET_CONSTRAINT
    from cosearch.config_loader import build, file_kind, load_config, read_yaml, run_specs

    kind = file_kind(read_yaml(args.file))
    if kind is not None:
        return _validate_definition(args.file, kind)
    config = load_config(args.file)
    built = build(config, args.file)
    budget = " and ".join(f"{v:g} {k}" for k, v in config.budget.model_dump().items() if v is not None)
    specs = run_specs(config)  # what `run` runs: the searches and the baselines
    runs, searches = len(specs), sum(s.kind == "search" for s in specs)
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


def _validate_definition(path: str, kind: str) -> int:
    """A platform or dataflow file: checked as what it is, and said so."""
    from cosearch.config_loader import KIND_USE, read_yaml
    from spaces.userdefs import DefinitionError, load_dataflow, load_platform

    try:
        if kind == "platform":
            p = load_platform(path)
            budget = f"{p.pes:,} PEs" if p.kind == "asic" else f"{p.dsp:,.0f} DSP, {p.lut:,.0f} LUT, {p.bram36:,.0f} BRAM36"
            what = (f"{p.name}, {p.kind}, {budget}, {p.bw_gbps:g} GB/s, {p.buffer_bytes / 2**20:g} MiB buffer, "
                    f"{p.clock_hz / 1e6:g} MHz, up to {p.max_cores} cores, dataflows {', '.join(p.dataflows)}")
        else:
            d = load_dataflow(read_yaml(path), path)
            caps = ", ".join(f"{dim} ≤ {n}" for dim, n in d.max_extents)
            what = f"{d.name}, unrolls {' × '.join(d.unrolled)}, {d.stationary} stationary" + (f", {caps}" if caps else "")
    except DefinitionError as e:
        raise UsageError(f"{kind} file: {e}") from None
    console().print(f"{path}: a {kind} file, not an experiment config; ok — {what}. To use it, {KIND_USE[kind]}",
                    markup=False)
    return 0
