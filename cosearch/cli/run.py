"""``cosearch run``: a config file → runs on Ray or in process → the results directory.

The experiment itself is ``experiment.run_experiment`` (prepare → execute →
collect → write) with a ``results_writer.ResultsWriter``; this module turns
the arguments into a config, a results directory and an executor, shows
progress, and prints what was found and how to continue a stopped run.
"""

from __future__ import annotations

import math
import shlex
import sys
import time

from cosearch.cli.console import best_text, console, debugging, make_table


def add_parser(sub) -> None:
    run = sub.add_parser("run", help="run an experiment from a config file")
    run.add_argument("config", metavar="CONFIG", help="experiment YAML file")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--address", help="Ray cluster address (auto, ray://host:10001); default: local Ray")
    where.add_argument("--no-ray", action="store_true", help="run in this process, without Ray")
    run.add_argument("--workers", type=positive_int, metavar="N",
                     help="CPUs of the local Ray instance; on a cluster, runs in flight at once")
    run.add_argument("--budget", type=positive_int, metavar="N", help="evaluations per run (overrides the config)")
    run.add_argument("--out", metavar="DIR", help="results directory (overrides output:)")
    run.add_argument("--resume", action="store_true", help="continue a stopped experiment; finished runs are kept")
    run.set_defaults(func=command)


def positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def overrides(args) -> dict:
    """The config keys the options set."""
    changes = {}
    if args.budget is not None:  # with_budget gives the baselines the same (a fair comparison)
        changes["budget.evaluations"] = args.budget
    if args.out is not None:
        changes["output"] = args.out
    if args.address is not None:
        changes["ray.address"], changes["ray.enabled"] = args.address, True
    if args.workers is not None:
        changes["ray.num_cpus"] = args.workers
    if args.no_ray:
        changes["ray.enabled"] = False
    return changes


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


def command(args) -> int:
    from cosearch.config_loader import build, config_problems, load_config, run_specs
    from cosearch.experiment import make_executor, run_experiment
    from cosearch.results import ResultsDir, redact_url
    from cosearch.results_writer import ResultsWriter

    out = console()
    config = with_budget(load_config(args.config, overrides(args)), args.budget)
    built = build(config, args.config)
    ray = config.ray  # a bad cluster address fails here, before the results directory is touched
    executor = make_executor("ray" if ray.enabled else "local", address=ray.address, num_cpus=ray.num_cpus,
                             max_in_flight=ray.num_cpus if ray.address else None)  # on a cluster, --workers caps it
    where = (ray.address or f"local Ray ({ray.num_cpus or 'all'} CPUs)") if ray.enabled else "this process"
    results = ResultsDir(config.output_dir, elsewhere="give another --out" if args.out else
                         "pass --out DIR to write elsewhere")
    results.check_target(resume=args.resume)  # refused before anything is created
    resolved = config.resolved()
    resolved["storage"] = redact_url(resolved.get("storage"))
    storage = config.storage
    writer = ResultsWriter(results, resolved, resume=args.resume,
                           plots=config.plots.format if config.plots.enabled else None,
                           redact=lambda text: text.replace(storage, redact_url(storage)) if storage else text)
    specs = run_specs(config, storage)
    with results.locked():
        if not args.resume and results.config_path.exists():
            out.print(f"replacing the previous results in {results.root} (--resume continues them instead)")
        progress = Progress(config, where, results, out, ray=ray.enabled)
        with progress:
            outcome = run_experiment(specs, executor=executor, writer=writer, on_event=progress.event,
                                     problems=config_problems(config, built), name=config.name)
    finished = len(outcome.runs)
    if outcome.interrupted and finished == len(specs):  # summary.json is written last: the directory reads unfinished
        out.print(f"interrupted while writing the results: every run is saved; "
                  f"finish with: {resume_command(args, results.root)}", markup=False)
        return 1
    if outcome.interrupted or outcome.failures:
        what = "interrupted" if outcome.interrupted else f"{len(outcome.failures)} run(s) failed"
        out.print(f"{what}: {finished} of {len(specs)} runs finished and saved; "
                  f"continue with: {resume_command(args, results.root)}", markup=False)
        return 1
    print_summary(outcome.summary, results, out)
    if outcome.summary["best"] is None:
        out.print("no feasible design was found: loosen the constraints or raise the budget")
        return 1
    return 0


class Progress:
    """What the console shows while runs go: the plan, then a rich progress bar on a terminal
    (best objective so far) or one line per finished run.

    Before the first batch and after the last run the bar says what is
    happening instead (preparing the runs and starting Ray, starting the
    runs, writing the results), with a spinner, so it never sits at 0 saying
    nothing; without a terminal, starting Ray, the first run going and
    writing the results are a line each.
    """

    def __init__(self, config, where: str, results, out, *, ray: bool = False):
        self.name, self.where, self.results, self.out, self.ray = config.name, where, results, out, ray
        self.metric = config.objective.keys[0]
        self.ids: dict[str, str] = {}
        self.done: dict[str, int] = {}
        self.best = math.inf
        self.bar = None
        self.phase: str | None = None  # what happens while no run reports progress
        self.todo = 0
        self.finished = 0
        self.clock = time.perf_counter()

    def _description(self) -> str:
        return f"{self.phase}…" if self.phase else best_text(self.best, self.metric)

    def _set_phase(self, phase: str | None, line: bool = False) -> None:
        """Show ``phase`` on the bar; without one, print it as a line when ``line``."""
        self.phase = phase
        if self.bar is not None:
            self.bar.update(self.task, description=self._description())
        elif line and phase:
            self.out.print(f"{phase}…")

    def __enter__(self):
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar, SpinnerColumn, TextColumn,
                                       TimeElapsedColumn)  # fmt: skip

            self.bar = Bar(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TextColumn("evaluations"), TimeElapsedColumn(), transient=False,
                           console=Console(stderr=True, highlight=False))
            self.task = self.bar.add_task("", total=None)
            self.bar.start()
        # Ray starts while the runs are prepared (experiment.prepare), so both are said at once.
        self._set_phase(f"preparing the runs and starting {self.where}" if self.ray else "preparing the runs",
                        line=self.ray)
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()

    def _start(self, specs, todo) -> None:
        self.ids = {s.label: s.run_id for s in specs}
        self.todo = len(todo)
        console = self.bar.console if self.bar is not None else self.out
        if len(todo) < len(specs):
            console.print(f"resuming {self.results.root}: {len(specs) - len(todo)} of {len(specs)} runs already finished")
        console.print(f"{self.name}: {len(todo)} run{'s' if len(todo) != 1 else ''} on {self.where}; "
                      f"results in {self.results.root}")
        total = sum(s.max_evaluations or 0 for s in todo) if all(s.max_evaluations for s in todo) else None
        if self.bar is not None:
            self.bar.update(self.task, total=total, completed=0)
        self._set_phase(f"starting the runs on {self.where}" if self.ray and todo else None)

    def event(self, event: dict) -> None:
        label = event["label"]
        console = self.bar.console if self.bar is not None else self.out
        if event["type"] == "planned":
            self._start(event["runs"], event["todo"])
        elif event["type"] == "started" and self.phase and self.phase.startswith("starting"):
            if self.bar is None:
                console.print(f"{self.where} up, the first run going {time.perf_counter() - self.clock:.1f} s "
                              "after the start")
            self._set_phase(None)
        elif event["type"] == "progress":
            self.best = min(self.best, event["best"])
            self.phase = None if self.finished < self.todo else self.phase
            if self.bar is not None:
                self.done[label] = event["evaluations"]
                self.bar.update(self.task, completed=sum(self.done.values()), description=self._description())
        elif event["type"] == "finished":
            result = event["result"]
            best = result.best_objectives[0] if result.best_objectives is not None else math.inf
            console.print(f"run {self.ids[label]} finished: {result.evaluations} evaluations in "
                          f"{result.seconds:.1f} s, {best_text(best, self.metric)}")
            self.finished += 1
            if self.finished == self.todo:
                self._set_phase("writing the designs, the front and the plots", line=True)
        elif event["type"] == "failed":
            console.print(f"run {self.ids[label]} failed: {event['line']} "
                          f"(the whole error: runs/{self.ids[label]}/error.txt)", markup=False)
            if debugging():
                console.print(event["error"], markup=False)


def print_summary(summary: dict, results, out) -> None:
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
    if best is not None and "scenarios" in best["metrics"]:
        print_serving(summary, out)
    out.print(f"results: {results.root}/ (summary.json, pareto.csv, designs/, runs/)")
    for plot in summary.get("plots", []):
        out.print(f"plot: {results.root / plot}")


def print_serving(summary: dict, out) -> None:
    """The serving metrics of the best design and each baseline (aggregated over the cases), then the
    best design's per-scenario table."""
    from cosearch.cli.evaluate import SERVING_COLUMNS, scenario_table
    from objectives.metrics import METRICS

    designs = {f"best ({summary['space']})": summary["best"]["metrics"]}
    designs.update({name: e["metrics"] for name, e in summary["baselines"].items() if e["metrics"]})
    serving = summary.get("serving") or {}
    how = serving.get("aggregate", "mean")
    rows = [[name, *(f"{m[k] * METRICS[k].display_scale:.4g}" if k in m else "—" for k in SERVING_COLUMNS)]
            for name, m in designs.items()]
    headers = ["design", *(f"{METRICS[k].label} ({METRICS[k].shown_unit})" if METRICS[k].shown_unit
                           else METRICS[k].label for k in SERVING_COLUMNS)]
    out.print(make_table(f"serving ({how} over {len(serving.get('cases', [])) or 1} case(s))", headers, rows,
                         right=set(range(1, len(headers)))))
    if len(summary["best"]["metrics"]["scenarios"]) > 1:
        out.print(scenario_table(summary["best"]["metrics"]["scenarios"]))