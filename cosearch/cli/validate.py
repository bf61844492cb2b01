"""``cosearch validate``: check a config file without running it, and say what it would run."""

from __future__ import annotations

from cosearch.cli.console import console


def add_parser(sub) -> None:
    validate = sub.add_parser("validate", help="check a config file without running it")
    validate.add_argument("file", metavar="FILE")
    validate.set_defaults(func=command)


def command(args) -> int:
    """Check a config file without running it."""
    from cosearch.config import BUDGET_CONSTRAINT
    from cosearch.config_loader import build, load_config, run_specs

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
