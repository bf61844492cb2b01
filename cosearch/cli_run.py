"""``cosearch run``: a config file → runs on Ray or in process → the results directory.

Runs are the config's optimizers × seeds over its space, plus one brief run
per baseline space.  Each run's files are written the moment it finishes, so
a stopped experiment resumes (``--resume``) without redoing finished runs;
``summary.json``, ``pareto.csv``, the design files and the plots are written
once every run is done.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import shlex
import sys
import time

import numpy as np

from cosearch.config_loader import ConfigProblem, build, load_config
from cosearch.results import ResultsDir, redact_url, to_plain

# What decides the runs' results: resuming needs config.yaml to agree on these.
RESULT_KEYS = ("workload", "platform", "space", "objective", "optimizers", "seeds", "budget", "baselines")
FRONT_DESIGNS = 10  # front members written to designs/pareto-<k>.json, lowest EDP first


def constraints_of(config) -> tuple:
    return config.objective.constraint_list()


STORAGE_OPTIONS = ("storage", "study_name")  # where a run keeps its study, not what it finds


def storage_options(name: str, study_name: str, storage: str | None) -> dict:
    """``storage``/``study_name`` for optimizers that take them (Optuna's), so optuna-dashboard can open runs."""
    from cosearch.optimizers import optimizer_options

    takes = optimizer_options(name)
    if storage is None or "storage" not in takes:
        return {}
    return {"storage": storage, **({"study_name": study_name} if "study_name" in takes else {})}


def create_storage(url: str) -> None:
    """Create the tables of an Optuna storage once, in the driver, before any run opens it:
    runs opening a new database at the same moment race creating them."""
    import optuna

    optuna.storages.get_storage(url)


def spec_hash(spec) -> str:
    """A digest of what decides a run's result, stored with the run; resuming compares it.

    Left out: where the run keeps its Optuna study and the hypervolume
    reference point (derived from the problem).
    """
    problem = spec.problem
    problem = problem._asdict() if hasattr(problem, "_asdict") else (
        dataclasses.asdict(problem) if dataclasses.is_dataclass(problem) else repr(problem))
    fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.name != "reference"}
    fields.update(problem=problem, constraints=[str(c) for c in spec.constraints],
                  optimizer_options={k: v for k, v in spec.optimizer_options.items() if k not in STORAGE_OPTIONS})
    text = json.dumps(to_plain(fields), sort_keys=True, default=repr)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def run_specs(config, storage: str | None = None) -> tuple[list, dict]:
    """Every run of the experiment and its id (the directory under ``runs/``).

    ``storage``: the Optuna storage URL given to optimizers that take one;
    their studies are named ``<experiment>/<run id>``, so experiments sharing
    a storage never replace each other's studies.
    """
    from cosearch.pareto import archive_keys
    from cosearch.run import RunSpec

    keys = archive_keys(config.objective.keys)
    common = dict(objectives=config.objective.keys, constraints=constraints_of(config), archive_keys=keys)
    main = ConfigProblem.from_config(config)
    specs, ids = [], {}
    for opt in config.optimizers:
        for seed in config.seeds:
            run_id = f"{opt.name}-{seed}"
            options = {**storage_options(opt.name, f"{config.name}/{run_id}", storage), **opt.options}
            spec = RunSpec(problem=main, optimizer=opt.name, seed=seed, optimizer_options=options,
                           max_evaluations=config.budget.evaluations, max_seconds=config.budget.seconds, **common)
            specs.append(spec)
            ids[spec.label] = run_id
    baselines = config.baselines
    for baseline in baselines.spaces:
        problem = ConfigProblem.from_config(config, baseline)
        for seed in config.seeds[: baselines.seeds]:
            spec = RunSpec(problem=problem, optimizer=baselines.optimizer, seed=seed,
                           optimizer_options=dict(baselines.optimizer_options),
                           max_evaluations=baselines.evaluations, **common)
            specs.append(spec)
            suffix = f"-{seed}" if baselines.seeds > 1 else ""
            ids[spec.label] = f"baseline-{baseline.key}{suffix}"
    return specs, ids


def _better(result, other) -> bool:
    """Whether ``result`` found a better first objective than ``other`` (a run without one never is)."""
    if result.best_objectives is None:
        return False
    return other.best_objectives is None or result.best_objectives[0] < other.best_objectives[0]


def _overrides(args) -> dict:
    overrides = {}
    if args.budget is not None:  # with_budget gives the baselines the same (a fair comparison)
        overrides["budget.evaluations"] = args.budget
    if args.out is not None:
        overrides["output"] = args.out
    if args.address is not None:
        overrides["ray.address"], overrides["ray.enabled"] = args.address, True
    if args.workers is not None:
        overrides["ray.num_cpus"] = args.workers
    if args.no_ray:
        overrides["ray.enabled"] = False
    return overrides


def with_budget(config, evaluations: int | None):
    """``--budget``: the evaluations of every run, the baselines' included, so they compare fairly."""
    if evaluations is None:
        return config
    return config.model_copy(update={"baselines": config.baselines.model_copy(update={"evaluations": evaluations})})


def resume_command(args, root) -> str:
    """The command that continues this experiment, with every option it was started with."""
    words = ["cosearch", "run", str(args.config), "--resume", "--out", str(root)]
    for option, value in (("--budget", args.budget), ("--workers", args.workers), ("--address", args.address)):
        if value is not None:
            words += [option, str(value)]
    if args.no_ray:
        words.append("--no-ray")
    return shlex.join(words)


def _best(value: float, key: str) -> str:
    """``best <label> <value unit>`` of an objective a run minimised (maximised ones were negated)."""
    from cosearch.plots import si
    from cosearch.run import sign
    from objectives.metrics import METRICS

    entry = METRICS.get(key)
    label, unit, value = (entry.label, entry.unit, sign(key) * value) if entry else (key, "", value)
    if not math.isfinite(value):
        return f"best {label} —"
    return f"best {label} {si(value, unit, 4) if unit else f'{value:.4g}'}"


class Progress:
    """A rich progress bar on a terminal (best objective so far); one line per finished run otherwise."""

    def __init__(self, total: int | None, metric: str, ids: dict, out):
        self.metric, self.ids, self.out = metric, ids, out
        self.done = {}
        self.best = math.inf
        self.bar = None
        if sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeElapsedColumn

            from rich.console import Console

            self.bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TextColumn("evaluations"), TimeElapsedColumn(), transient=False,
                           console=Console(stderr=True, highlight=False))
            self.task = self.bar.add_task(self._description(), total=total)

    def _description(self) -> str:
        return _best(self.best, self.metric)

    def __enter__(self):
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()

    def event(self, event: dict) -> None:
        label = event["label"]
        if event["type"] == "progress":
            self.best = min(self.best, event["best"])
            if self.bar is not None:
                self.done[label] = event["evaluations"]
                self.bar.update(self.task, completed=sum(self.done.values()), description=self._description())
        elif event["type"] == "finished":
            result = event["result"]
            best = result.best_objectives[0] if result.best_objectives is not None else math.inf
            line = (f"run {self.ids[label]} finished: {result.evaluations} evaluations in {result.seconds:.1f} s, "
                    f"{_best(best, self.metric)}")
            (self.bar.console if self.bar is not None else self.out).print(line)
        elif event["type"] == "failed":
            console = self.bar.console if self.bar is not None else self.out
            console.print(f"run {self.ids[label]} failed: {event['line']} (the whole error: runs/{self.ids[label]}/error.txt)",
                          markup=False)
            from cosearch.cli import debugging

            if debugging():
                console.print(event["error"], markup=False)


def _restored(results: ResultsDir, run_id: str, spec):
    """A finished run read back from its files, shaped like ``run.RunResult``."""
    from cosearch.pareto import ParetoArchive
    from cosearch.run import RunResult

    record = results.read_run(run_id)
    s = record["summary"]
    return RunResult(
        label=spec.label, spec=spec, evaluations=s["evaluations"], seconds=s["seconds"], stopped_by=s["stopped_by"],
        best_x=None if s["best_x"] is None else np.asarray(s["best_x"]),
        best_objectives=None if s["best_objectives"] is None else np.asarray(s["best_objectives"]),
        best_metrics=s["best_metrics"], history=results.read_history(run_id),
        archive=ParetoArchive.from_dict(record["archive"]), feasible_evaluations=s["feasible_evaluations"])


def run_experiment(args, out) -> int:
    from cosearch.experiment import LocalExecutor

    config = with_budget(load_config(args.config, _overrides(args)), args.budget)
    build(config, args.config)
    if config.ray.enabled:  # a bad cluster address fails here, before the results directory is touched
        from cosearch import distributed

        executor = distributed.RayExecutor(  # on a cluster, num_cpus (--workers) caps the runs in flight
            address=config.ray.address, num_cpus=config.ray.num_cpus,
            max_in_flight=config.ray.num_cpus if config.ray.address else None)
        where = config.ray.address or f"local Ray ({config.ray.num_cpus or 'all'} CPUs)"
    else:
        executor, where = LocalExecutor(), "this process"
    results = ResultsDir(config.output_dir)
    results.check_target(resume=args.resume)  # refused before anything is created
    with results.locked():
        return _run_locked(args, config, results, executor, where, out)


def _run_locked(args, config, results, executor, where, out) -> int:
    from cosearch.experiment import Collector
    from cosearch.run import reference_point

    if not args.resume and results.config_path.exists():
        out.print(f"replacing the previous results in {results.root} (--resume continues them instead)")
    resolved = config.resolved()
    resolved["storage"] = redact_url(resolved.get("storage"))
    specs, ids = run_specs(config, config.storage)
    hashes = {spec.label: spec_hash(spec) for spec in specs}
    finished = results.prepare(resolved, resume=args.resume, compare_keys=RESULT_KEYS,
                               run_hashes={ids[label]: h for label, h in hashes.items()})
    if config.storage and any("storage" in s.optimizer_options for s in specs):
        create_storage(config.storage)
    problems, references = {}, {}
    for spec in specs:
        spec.validate()
        key = spec.problem.key
        if key not in problems:
            problems[key] = spec.problem.build()
            spec.validate(problems[key].metric_names)
            references[key] = reference_point(problems[key], spec.archive_keys, spec.constraints)
    specs = [dataclasses.replace(s, reference=references[s.problem.key]) for s in specs]
    todo = [s for s in specs if ids[s.label] not in finished]
    if finished:
        out.print(f"resuming {results.root}: {len(specs) - len(todo)} of {len(specs)} runs already finished")

    def on_event(event):
        if event["type"] == "failed":  # before the console line that points to it
            results.write_error(ids[event["label"]], redact_text(event["error"], config.storage))
            event = {**event, "line": redact_text(event["line"], config.storage)}
        progress.event(event)
        if event["type"] == "finished":
            result = event["result"]
            kind = "baseline" if ids[result.label].startswith("baseline-") else "search"
            results.write_run(ids[result.label], result.history, {
                "summary": {**result.summary(), "run_id": ids[result.label], "kind": kind},
                "spec_hash": hashes[result.label], "archive": result.archive.to_dict()})

    total = sum(s.max_evaluations or 0 for s in todo) if all(s.max_evaluations for s in todo) else None
    metric = config.objective.keys[0]
    out.print(f"{config.name}: {len(todo)} run{'s' if len(todo) != 1 else ''} on {where}; results in {results.root}")
    started = time.perf_counter()
    collector = Collector(todo, on_event)
    with Progress(total, metric, ids, out) as progress:
        interrupted = executor.execute(todo, collector, problems) if todo else False
    outcome = collector.result(interrupted)
    for spec in specs:
        if ids[spec.label] in finished:
            outcome.runs[spec.label] = _restored(results, ids[spec.label], spec)
    if interrupted or outcome.failures:
        done = len(finished) + len(collector.results)
        what = "interrupted" if interrupted else f"{len(outcome.failures)} run(s) failed"
        out.print(f"{what}: {done} of {len(specs)} runs finished and saved; "
                  f"continue with: {resume_command(args, results.root)}", markup=False)
        return 1
    try:
        return finish_experiment(config, results, specs, ids, outcome, problems,
                                 seconds=time.perf_counter() - started, out=out)
    except KeyboardInterrupt:  # summary.json is written last, so the directory still reads as unfinished
        out.print(f"interrupted while writing the results: every run is saved; "
                  f"finish with: {resume_command(args, results.root)}", markup=False)
        return 1


def redact_text(text: str, storage: str | None) -> str:
    """``text`` with the storage URL's credentials hidden (a driver's error may quote the URL)."""
    return text.replace(storage, redact_url(storage)) if storage else text


# -- after the runs: best design, baselines, front, designs, summary, plots -----


def _design_file(results, name, problem, X, config, origin, space_name) -> tuple[str, dict]:
    """Decode ``X`` (one point), score it alone with its schedule, write ``designs/<name>.json``."""
    from cosearch.report import design_payload
    from objectives import evaluate
    from objectives.evaluator import layer_mappings

    X = np.asarray(X, dtype=np.float64).reshape(1, -1)
    design = problem.space.designs(X)[0]
    batch = design.to_batch(problem.platform)
    metrics = evaluate(batch, problem.workload, problem.platform, with_schedule=True)
    mappings = (layer_mappings(batch, problem.workload, problem.platform, metrics.layer_core[0])
                if metrics.feasible[0] else None)
    payload = design_payload(design, metrics, problem.workload, workload_config=config.workload.model_dump(mode="json"),
                             platform_config=config.platform.model_dump(mode="json"), space=space_name, origin=origin,
                             layer_mappings=mappings)
    path = results.write_design(name, payload)
    return str(path.relative_to(results.root)), payload["metrics"]


def finish_experiment(config, results, specs, ids, outcome, problems, *, seconds: float, out) -> int:
    from cosearch.pareto import ParetoArchive
    from cosearch.report import plot_results

    main_key = ConfigProblem.from_config(config).key
    main = problems[main_key]
    first = next(s for s in specs if s.problem.key == main_key)
    archive = outcome.archives.get(main_key) or ParetoArchive(first.archive_keys, first.reference)
    for spec in specs:  # restored runs' fronts join the merged archive
        result = outcome.runs[spec.label]
        if spec.problem.key == main_key:
            archive.merge(result.archive)
    runs = [outcome.runs[s.label] for s in specs]
    search = [r for r in runs if r.spec.problem.key == main_key and r.best_x is not None]
    summary = {
        "experiment": config.name, "workload": main.workload.name, "platform": main.platform.name,
        "space": config.space.name,
        "genes": main.dim, "layers": main.workload.num_layers, "objective": list(config.objective.keys),
        "evaluations": int(sum(r.evaluations for r in runs)), "seconds": seconds,
        "best": None, "baselines": {}, "runs": [],
        "pareto": {"keys": list(archive.keys), "size": len(archive), "hypervolume": archive.hypervolume(),
                   "reference": archive.reference, "file": "pareto.csv"},
        "optuna_storage": redact_url(next((s.optimizer_options["storage"] for s in specs
                                            if "storage" in s.optimizer_options), None)),
    }  # fmt: skip
    names = {}
    if search:
        if len(config.objective.keys) == 1:
            best_run = min(search, key=lambda r: tuple(r.best_objectives))
            best_x, origin = best_run.best_x, {"run": ids[best_run.label], "evaluations": best_run.evaluations}
        else:  # several objectives: the front member with the lowest EDP
            k = {key: i for i, key in enumerate(archive.keys)}
            i = int(np.argmin(archive.values[:, k["latency_s"]] * archive.values[:, k["energy_j"]]))
            best_x = archive.X[i]
            origin = {"run": ids.get(archive.source[i], archive.source[i]), "evaluation": int(archive.evaluation[i])}
        file, metrics = _design_file(results, "best", main, best_x, config, origin, config.space.name)
        summary["best"] = {"design": file, "metrics": metrics, **origin}
    edp = archive.values[:, 0] * archive.values[:, 1] if len(archive) else np.zeros(0)
    for rank, i in enumerate(np.argsort(edp, kind="stable")[:FRONT_DESIGNS]):
        origin = {"run": ids.get(archive.source[i], str(archive.source[i])), "evaluation": int(archive.evaluation[i])}
        names[int(i)], _ = _design_file(results, f"pareto-{rank}", main, archive.X[i], config, origin,
                                        config.space.name)
    results.write_pareto(archive.keys, archive.values, [ids.get(s, s) for s in archive.source], archive.evaluation,
                         archive.X, [names.get(i, "") for i in range(len(archive))])
    best_baseline = {}  # label → its best run so far, over the baseline's seeds
    for spec, result in zip(specs, runs):
        run_id = ids[spec.label]
        record = {"run_id": run_id, "kind": "baseline" if run_id.startswith("baseline-") else "search",
                  "optimizer": spec.optimizer, "seed": spec.seed, "space": spec.problem.space,
                  "evaluations": result.evaluations, "seconds": result.seconds, "stopped_by": result.stopped_by,
                  "best_objectives": None if result.best_objectives is None else result.best_objectives.tolist()}
        summary["runs"].append(record)
        if record["kind"] == "baseline":
            label = spec.problem.key.partition(":")[0]
            previous = best_baseline.get(label)
            if previous is not None and not _better(result, previous):
                continue
            best_baseline[label] = result
            entry = {"run": run_id, "space": spec.problem.space, "design": None, "metrics": None}
            if result.best_x is not None:
                entry["design"], entry["metrics"] = _design_file(
                    results, f"baseline-{label}", problems[spec.problem.key], result.best_x, config,
                    {"run": run_id, "evaluations": result.evaluations}, spec.problem.space)
            summary["baselines"][label] = entry
    best_edp = summary["best"]["metrics"]["edp"] if summary["best"] else math.inf
    for entry in summary["baselines"].values():
        entry["edp_over_best"] = entry["metrics"]["edp"] / best_edp if entry["metrics"] and summary["best"] else None
    # summary.json last: its presence says every other file is complete
    plots = plot_results(results, fmt=config.plots.format, summary=summary) if config.plots.enabled else []
    if plots:
        summary["plots"] = [str(p.relative_to(results.root)) for p in plots]
    results.write_summary(summary)
    print_summary(summary, results, out)
    if summary["best"] is None:
        out.print("no feasible design was found: loosen the constraints or raise the budget")
        return 1
    return 0


def print_summary(summary: dict, results, out) -> None:
    from cosearch.cli import make_table
    from cosearch.plots import si
    from cosearch.results import read_design

    best = summary["best"]
    if best is not None:
        m = best["metrics"]
        out.print(f"\nbest design (run {best['run']}): EDP {si(m['edp'], 'J·s', 4)} — latency {si(m['latency_s'], 's', 4)}, "
                  f"energy {si(m['energy_j'], 'J', 4)}, resources {m['resource_fraction']:.0%} of the budget")
        cores = read_design(results.root / best["design"])["design"]["cores"]
        rows = [[c, core["size"] or "custom", core["pes"], core["dataflow"], f"{core['bw_share']:.0%}",
                 f"{core['buffer_share']:.0%}"] for c, core in enumerate(cores)]
        out.print(make_table("cores", ["core", "size", "PEs", "dataflow", "bandwidth", "buffer"], rows, right={2, 4, 5}))
    if summary["baselines"]:
        rows = []
        for name, entry in summary["baselines"].items():
            if entry["metrics"] is None:
                rows.append([name, "no feasible design", "", ""])
                continue
            ratio = entry["edp_over_best"]
            rows.append([name, si(entry["metrics"]["edp"], "J·s", 4), si(entry["metrics"]["latency_s"], "s", 4),
                         "—" if ratio is None else f"{ratio:.2f}×"])
        if best is not None:
            rows.insert(0, [f"best ({summary['space']})", si(best["metrics"]["edp"], "J·s", 4),
                            si(best["metrics"]["latency_s"], "s", 4), "1.00×"])
        out.print(make_table("EDP against the baselines", ["design", "EDP", "latency", "EDP vs best"], rows,
                         right={1, 2, 3}))
    out.print(f"results: {results.root}/ (summary.json, pareto.csv, designs/, runs/)")
    for plot in summary.get("plots", []):
        out.print(f"plot: {results.root / plot}")
