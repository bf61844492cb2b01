"""Reading experiment configs: YAML → ``ExperimentConfig`` → the objects a run needs.

``load_config(path)`` reads and validates a file; ``build(config)`` turns it
into the workload, platform and space objects, checking what only those
objects can check (space options, optimizers against the objective).  Both
raise ``ConfigError``, whose lines read ``file: dotted.key: message (allowed: …)``.
"""

from __future__ import annotations

import pathlib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from cosearch.config import ConfigError, ExperimentConfig
from spaces import userfiles

# -- loading and error reporting --------------------------------------------


def read_yaml(path: str | pathlib.Path) -> Any:
    """The YAML in ``path``, read by the one bounded loader every user file goes through."""
    try:
        return userfiles.read_yaml(path)
    except userfiles.InputFileError as e:
        raise ConfigError(str(path), [("", str(e))]) from None


def parse_config(data: Any, source: str = "<config>", *, default_name: str = "experiment",
                 base_dir: str | pathlib.Path | None = None) -> ExperimentConfig:
    """Validate plain data (as read from YAML) into an ``ExperimentConfig``.

    Relative ``file:`` paths start at ``base_dir`` (the config file's directory).
    """
    check_is_config(data, source)
    data = {"name": default_name, **data}
    try:
        return ExperimentConfig.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as e:
        raise ConfigError(source, [describe_error(err) for err in e.errors()]) from None


KIND_USE = {
    "platform": "name it in a config as `platform: {file: PATH}` (docs/custom.md)",
    "dataflow": "declare it in a platform's `dataflows:` list (docs/custom.md)",
}


def file_kind(data: Any) -> str | None:
    """``platform`` or ``dataflow`` when ``data`` (a YAML file's content) has no ``workload`` and
    only the keys of a platform or a dataflow file, which are not a config's sections; else None."""
    from spaces.userdefs import DataflowSpec, PlatformSpec

    if not isinstance(data, dict) or "workload" in data or set(data) <= set(ExperimentConfig.model_fields):
        return None
    if "unrolled" in data and set(data) <= set(DataflowSpec.model_fields):
        return "dataflow"
    if set(data) <= set(PlatformSpec.model_fields):
        return "platform"
    return None


def check_is_config(data: Any, source: str) -> None:
    """The ``ConfigError`` of a file that is not an experiment config at all: empty, not a
    mapping, or a platform or dataflow file."""
    if data is None:
        raise ConfigError(source, [("", "the config file is empty (an experiment needs at least `workload:`; "
                                        "see docs/cli.md)")])
    if not isinstance(data, dict):
        raise ConfigError(source, [("", f"expected a mapping of sections, got {type(data).__name__}")])
    kind = file_kind(data)
    if kind is not None:
        raise ConfigError(source, [("", f"this is a {kind} file, not an experiment config: {KIND_USE[kind]} "
                                        f"(`cosearch validate {source}` checks it)")])


def load_config(path: str | pathlib.Path, overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    """Read and validate a config file; ``overrides`` maps dotted keys to values set first."""
    path = pathlib.Path(path)
    data = read_yaml(path)
    check_is_config(data, str(path))  # before the overrides add sections to it
    if isinstance(data, dict):
        for dotted, value in (overrides or {}).items():
            set_dotted(data, dotted, value)
    return parse_config(data, str(path), default_name=path.stem, base_dir=path.resolve().parent)


def set_dotted(data: dict, dotted: str, value) -> None:
    """``data[a][b] = value`` for ``"a.b"``, expanding short forms on the way when they are scalars."""
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {} if child is None else {_SHORT_KEYS.get(part, part): child}
            node[part] = child
        node = child
    node[last] = value


_SHORT_KEYS = {"workload": "mix", "platform": "preset", "space": "name", "budget": "evaluations", "ray": "enabled"}


def dotted_key(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe_error(err: dict) -> tuple[str, str]:
    """A pydantic error as ``(dotted key, message naming the bad value and what is allowed)``."""
    loc, kind, value = tuple(err["loc"]), err["type"], err.get("input")
    message = err["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        allowed = section_keys(loc[:-1])
        return dotted_key(loc), "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    if kind == "missing":
        return dotted_key(loc), "required key is missing"
    message = message[0].lower() + message[1:]
    shown = userfiles.shown(value)
    if not isinstance(value, dict) and shown not in message and len(shown) < 80:
        message += f" (got {shown})"
    return dotted_key(loc), message


def section_keys(loc: tuple) -> list[str]:
    """The keys allowed in the section at ``loc`` (empty when it is not a section)."""
    node: Any = ExperimentConfig
    for part in loc:
        node = _strip_optional(node)
        if isinstance(part, int):
            args = typing.get_args(node)
            node = args[0] if args else None
        elif isinstance(node, type) and issubclass(node, BaseModel) and part in node.model_fields:
            node = node.model_fields[part].annotation
        else:
            return []
    node = _strip_optional(node)
    if isinstance(node, type) and issubclass(node, BaseModel):
        return list(node.model_fields)
    return []


def _strip_optional(tp):
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


# -- building the objects a run needs ---------------------------------------


class Built(typing.NamedTuple):
    """What a config stands for: the workload, platform and search space objects
    (``baselines``: each baseline's space, in the config's order)."""

    workload: Any
    platform: Any
    space: Any
    baselines: tuple = ()


def build(config: ExperimentConfig, source: str = "<config>") -> Built:
    """Build the workload, platform and space, and check the optimizers against the objective.

    Raises ``ConfigError`` for every problem found (keys as in the file).
    """
    from cosearch.optimizers import check_optimizer
    from spaces import make_space

    problems: list[tuple[str, str]] = []
    n_obj = len(config.objective.keys)
    for i, opt in enumerate(config.optimizers):
        try:
            check_optimizer(opt.name, n_obj, opt.options)
        except ValueError as e:
            about_options = any(repr(o) in str(e) or f" {o}" in str(e) for o in opt.options)
            problems.append((f"optimizers[{i}].{'options' if about_options else 'name'}", str(e)))
    try:
        check_optimizer(config.baselines.optimizer, n_obj, config.baselines.optimizer_options)
    except ValueError as e:
        problems.append(("baselines.optimizer", str(e)))
    if config.baselines.spaces and config.baselines.seeds > len(config.seeds):
        problems.append(("baselines.seeds", f"{config.baselines.seeds} baseline seeds but only "
                                            f"{len(config.seeds)} in seeds"))
    workload = platform = space = None
    baselines = []
    try:
        workload = config.workload.build()
    except ValueError as e:
        problems.append(("workload", str(e)))
    try:
        platform = config.platform.build()
    except ValueError as e:
        problems.append(("platform", str(e)))
    if workload is not None and platform is not None:
        try:
            space = make_space(config.space.name, workload, platform, **config.space.options)
        except (ValueError, TypeError) as e:
            problems.append(_space_problem(str(e)))
        for i, baseline in enumerate(config.baselines.spaces):
            try:
                baseline_space = make_space(baseline.name, workload, platform, **baseline.options)
            except (ValueError, TypeError) as e:
                problems.append((f"baselines.spaces[{i}]", str(e)))
            else:
                baselines.append(baseline_space)
                problems += _optimizer_problems("baselines.optimizer_options", config.baselines.optimizer,
                                                config.baselines.optimizer_options, baseline_space, n_obj)
    if workload is not None:
        problems += _serving_problems(config, workload)
    if space is not None:
        for i, opt in enumerate(config.optimizers):
            problems += _optimizer_problems(f"optimizers[{i}].options", opt.name, opt.options, space, n_obj)
    if problems:
        raise ConfigError(source, problems)
    return Built(workload, platform, space, tuple(baselines))


def _serving_problems(config: ExperimentConfig, workload) -> list[tuple[str, str]]:
    """The serving section against the workload (tenants' models); serving metrics and baseline policies
    without one."""
    from cosearch.scenarios import resolve_cases, serving_metric_names

    if config.serving is None:
        problems = [(f"baselines.spaces[{i}].policy", "a dispatch policy needs a serving section")
                    for i, b in enumerate(config.baselines.spaces) if b.policy is not None]
        serving_names = set(serving_metric_names())
        for key, names in (("objective", config.objective.keys),
                           ("objective.constraints", [c.metric for c in config.objective.constraint_list()])):
            problems += [(key, f"{name!r} is a serving metric: add a serving section (docs/serving.md)")
                         for name in names if name in serving_names]
        return problems
    try:
        cases = resolve_cases(config.serving, workload)
    except ValueError as e:
        key, _, message = str(e).partition(": ")
        return [(key, message)]
    needs = {*config.objective.keys, *(c.metric for c in config.objective.constraint_list())}
    rated = sorted(needs & {"qps_at_sla", "qps_per_watt"})
    closed = [case.label for case in cases if not case.scenario.base_qps > 0]
    if rated and closed:  # throughput at SLA scales open-loop arrival rates
        return [("objective", f"{rated[0]!r} needs an open-loop tenant (poisson or trace arrivals) in every "
                              f"scenario; {', '.join(closed)} has closed-loop tenants only")]
    return []


def _optimizer_problems(key: str, name: str, options: dict, space, n_obj: int) -> list[tuple[str, str]]:
    """Build the optimizer as a run would: option values are only checked by its constructor."""
    from cosearch.optimizers import make_optimizer

    if space.dim == 0:  # a run scores a space without genes' one design; no optimizer is built
        return []
    try:
        make_optimizer(name, dim=space.dim, n_obj=n_obj, genes=space.genes, **options)
    except (ValueError, TypeError) as e:
        return [(key, str(e))]
    return []


def _space_problem(message: str) -> tuple[str, str]:
    """Space errors start ``option NAME:``; point at ``space.options.NAME`` when they do."""
    head, sep, rest = message.partition(":")
    if sep and head.startswith("option ") and " " not in head[7:].strip():
        return f"space.options.{head[7:].split('[')[0]}", rest.strip()
    return "space", message


class ConfigProblem(typing.NamedTuple):
    """A picklable problem spec (``cosearch.experiment``'s protocol) built from config sections.

    Unlike ``experiment.SpaceProblem`` it takes custom model lists and
    platform overrides: ``workload`` and ``platform`` are the resolved
    sections as plain data, rebuilt wherever the problem runs.
    """

    key: str
    workload: dict
    platform: dict
    space: str
    space_options: dict

    @classmethod
    def from_config(cls, config: ExperimentConfig, baseline=None):
        """The main space's problem, or the one of a ``BaselineSpaceConfig``; with a ``serving``
        section, a ``ServingSpec`` (designs judged on its request streams)."""
        name = config.space.name if baseline is None else baseline.name
        options = config.space.options if baseline is None else baseline.options
        label = name if baseline is None else baseline.key
        workload = config.workload.model_dump(mode="json")
        platform = config.platform.model_dump(mode="json")
        key = f"{label}:{config.workload.mix or config.workload.name or 'custom'}@{config.platform.label}"
        if config.serving is not None:
            serving = config.serving.model_dump(mode="json")
            if baseline is not None and baseline.policy is not None:
                serving["policy"] = baseline.policy
            needs = (*config.objective.keys, *(c.metric for c in config.objective.constraint_list()))
            return ServingSpec(key, workload, platform, name, dict(options), serving, needs)
        return cls(key, workload, platform, name, dict(options))

    def build(self):
        """Rebuild from the plain sections (where only the spec travelled; ``config_problems``
        gives a config's problems without building them twice)."""
        from cosearch.config import PlatformConfig, WorkloadConfig
        from cosearch.experiment import BuiltProblem
        from spaces import make_space

        workload = WorkloadConfig.model_validate(self.workload).build()
        platform = PlatformConfig.model_validate(self.platform).build()
        return BuiltProblem(make_space(self.space, workload, platform, **self.space_options), workload, platform)


class ServingSpec(typing.NamedTuple):
    """A picklable problem spec (``ConfigProblem``'s fields plus the ``serving`` section as plain
    data), rebuilt as a ``scenarios.ServingProblem`` wherever the run goes. It lives here, beside
    ``ConfigProblem``, so ``scenarios`` never imports this module (config_loader → scenarios only)."""

    key: str
    workload: dict
    platform: dict
    space: str
    space_options: dict
    serving: dict
    needs: tuple = ()

    def build(self):
        from cosearch.config_serving import ServingConfig
        from cosearch.scenarios import ServingProblem

        built = ConfigProblem(*self[:5]).build()
        return ServingProblem(built, ServingConfig.model_validate(self.serving), self.needs)


# -- the runs a config asks for ------------------------------------------------

def constraints_of(config: ExperimentConfig) -> tuple:
    return config.objective.constraint_list()


def storage_options(name: str, study_name: str, storage: str | None) -> dict:
    """``storage``/``study_name`` for optimizers that take them (Optuna's), so optuna-dashboard can open runs."""
    from cosearch.optimizers import optimizer_options

    takes = optimizer_options(name)
    if storage is None or "storage" not in takes:
        return {}
    return {"storage": storage, **({"study_name": study_name} if "study_name" in takes else {})}


def run_specs(config: ExperimentConfig, storage: str | None = None) -> list:
    """Every run of the experiment: its optimizers × seeds over its space (kind ``search``), then
    the brief runs of each baseline space (kind ``baseline``), each named by its results directory.

    ``storage``: the Optuna storage URL given to optimizers that take one;
    their studies are named ``<experiment>/<run id>``, so experiments sharing
    a storage never replace each other's studies.
    """
    from cosearch.pareto import archive_keys
    from cosearch.run import RunSpec

    keys = archive_keys(config.objective.keys)
    common = dict(objectives=config.objective.keys, constraints=constraints_of(config), archive_keys=keys)
    main = ConfigProblem.from_config(config)
    specs = []
    for opt in config.optimizers:
        for seed in config.seeds:
            run_id = f"{opt.name}-{seed}"
            options = {**storage_options(opt.name, f"{config.name}/{run_id}", storage), **opt.options}
            specs.append(RunSpec(problem=main, optimizer=opt.name, seed=seed, optimizer_options=options,
                                 max_evaluations=config.budget.evaluations, max_seconds=config.budget.seconds,
                                 kind="search", name=run_id, **common))
    baselines = config.baselines
    for baseline in baselines.spaces:
        problem = ConfigProblem.from_config(config, baseline)
        for seed in config.seeds[: baselines.seeds]:
            suffix = f"-{seed}" if baselines.seeds > 1 else ""
            specs.append(RunSpec(problem=problem, optimizer=baselines.optimizer, seed=seed,
                                 optimizer_options=dict(baselines.optimizer_options),
                                 max_evaluations=baselines.evaluations, kind="baseline",
                                 name=f"baseline-{baseline.key}{suffix}", **common))
    return specs


def config_problems(config: ExperimentConfig, built: Built) -> dict:
    """The built problem of the config's space and of each baseline, by problem key, from the
    objects ``build`` made while checking the config (so nothing is built twice)."""
    from cosearch.experiment import BuiltProblem

    def problem(space, baseline=None):
        plain = BuiltProblem(space, built.workload, built.platform)
        if config.serving is None:
            return plain
        from cosearch.scenarios import ServingProblem

        policy = None if baseline is None else baseline.policy
        serving = config.serving if policy is None else config.serving.model_copy(update={"policy": policy})
        return ServingProblem(plain, serving, ConfigProblem.from_config(config, baseline).needs)

    problems = {ConfigProblem.from_config(config).key: problem(built.space)}
    for baseline, space in zip(config.baselines.spaces, built.baselines):
        problems[ConfigProblem.from_config(config, baseline).key] = problem(space, baseline)
    return problems
