"""Equal-budget comparison of every registered optimizer on three zoo mixes (writes docs/optimizers.md).

    python benchmarks/optimizers.py                 # full run: docs/optimizers.md, docs/img/optimizers-*.png
    python benchmarks/optimizers.py --quick         # ~1-minute smoke version, written to a temporary directory
    python benchmarks/optimizers.py --evaluations 1000 --seeds 3 --mixes planaria_c@cloud \\
        --optimizers cmaes tpe random --workers 2 --out /tmp/optimizers

Every optimizer runs with its default options in the default ``cosearch``
space of each mix (``workload@platform``), minimising EDP under
``resource_fraction <= 1`` — the CLI's default constraint: SLA misses are
reported, not made infeasible, as in ``experiments/*.yaml`` (on
``planaria_c@cloud`` and ``mixed@u250`` no sampled design meets every MLPerf
bound, so requiring them would leave nothing feasible). Each run gets the
same number of evaluations and seeds ``0 … n−1`` (runs are deterministic),
executed in this process or, with ``--workers N > 1``, on a private local
Ray instance with N CPUs (same results).

Per mix and optimizer the benchmark reports the median and inter-quartile
range over seeds of the best EDP found; the median final hypervolume of the
run's evaluated designs over latency × energy × resource fraction, against
one reference point per mix (``run.reference_point``: 1.1 × the worst of a
fixed uniform sample) shared by every optimizer; and the evaluations a run
needs to come within 1 % of the best EDP any run found on that mix (median
over seeds, "never" when most seeds do not get there). The best-so-far EDP is
exact per evaluation: runs stream the points that enter their Pareto front,
and the lowest-EDP design (EDP = latency × energy) always does.

Skipped, and said so: ``gp`` without torch; ``grid`` when the space's grid
(continuous genes at one level) has more points than the budget; ``optuna``
unless asked for by name, since its default sampler is TPE and it repeats the
``tpe`` runs exactly.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import inspect
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from cosearch.experiment import ExperimentSpec, SpaceProblem, run_experiment
from cosearch.optimizers import OPTIMIZERS, available, gene_table
from cosearch.optimizers.optuna_samplers import OptunaOptimizer
from cosearch.pareto import DEFAULT_KEYS

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MIXES = ("planaria_c@cloud", "herald_arvr_b@cloud", "mixed@u250")
CONSTRAINTS = ("resource_fraction <= 1",)
WITHIN = 0.01  # "within 1 % of the best": best EDP <= (1 + WITHIN) × the mix's best
FULL = {"evaluations": 2000, "seeds": 5}
QUICK = {"evaluations": 300, "seeds": 2}
TRIVIAL_PROBE = 300  # evaluations after which random search is checked against the mix's best

MIX_CHOICE = """\
Why these mixes: the optimum must not be trivial. A probe (random search,
3 seeds × 320 evaluations, against the best of CMA-ES, NSGA-II and random
search at 2000) found Herald's AR/VR mixes trivial on the `mobile` and `edge`
budgets: every random seed hits the optimum, one monolithic `ws_kc` core,
within 100 evaluations. So `herald_arvr_b` runs on `cloud`, where random
search was still 14–33 % above the best after 320 evaluations and some
CMA-ES and NSGA-II seeds stayed 20 % above it at 2000; `planaria_c@cloud`
(random 7–21 % above the best after 320) and `mixed@u250` (FPGA, 8 cores,
16–29 %) are the other two. The line "random search after 300 evaluations"
under each table repeats the check on the measured runs."""


@dataclasses.dataclass(frozen=True)
class OptimizerRow:
    """One optimizer on one mix; EDP in J·s, hypervolume in s·J (× resource fraction), medians over seeds."""

    optimizer: str
    seeds: int
    best_edp: tuple[float, float, float]  # 25th, 50th, 75th percentile
    hypervolume: float
    to_within: float  # evaluations to within WITHIN of the mix's best; inf = never
    reached: int  # seeds that got within WITHIN
    seconds: float  # wall time per run


@dataclasses.dataclass
class MixResult:
    """``curves``: optimizer → ``(seeds, evaluations)`` best-so-far EDP (inf before the first feasible design)."""

    key: str
    dim: int
    reference: tuple[float, ...] | None
    best_edp: float
    rows: list[OptimizerRow]
    curves: dict[str, np.ndarray]
    skipped: dict[str, str]
    failures: dict[str, str]
    categorical: int = 0  # genes of kind categorical

    def random_gap(self, evaluations: int = TRIVIAL_PROBE) -> float | None:
        """How far above the best random search's median best is after ``evaluations`` (0.05 = 5 %)."""
        curves = self.curves.get("random")
        if curves is None or curves.shape[1] < evaluations:
            return None
        return float(np.median(curves[:, evaluations - 1]) / self.best_edp - 1.0)


def parse_mix(text: str) -> SpaceProblem:
    """``workload@platform`` → the default ``cosearch`` space of that mix (``ValueError`` naming the options)."""
    from objectives.workloads import MIXES
    from spaces import PLATFORMS

    workload, at, platform_name = text.partition("@")
    if not at or workload not in MIXES or platform_name not in PLATFORMS:
        raise ValueError(
            f"mix {text!r} is not workload@platform (workloads: {', '.join(MIXES)}; platforms: {', '.join(PLATFORMS)})"
        )
    return SpaceProblem(workload, platform_name)


def alias_of(name: str) -> str | None:
    """The registered name that runs exactly what ``name`` runs by default (``optuna`` → ``tpe``), if any."""
    entry = OPTIMIZERS[name]
    if entry.cls is not OptunaOptimizer or "sampler" in entry.fixed:
        return None
    default = inspect.signature(OptunaOptimizer.__init__).parameters["sampler"].default
    same = (n for n, e in OPTIMIZERS.items() if e.cls is OptunaOptimizer and e.fixed.get("sampler") == default)
    return next(same, None)


def choose_optimizers(
    names: Sequence[str] | None, genes, evaluations: int
) -> tuple[list[tuple[str, dict]], dict[str, str]]:
    """``(name, options)`` to run on a space with ``genes``, and optimizer → why it is skipped.

    ``names`` None means every registered optimizer (aliases skipped); named ones are run if they can be.
    """
    explicit = names is not None
    chosen, skipped = [], {}
    for name in (names if explicit else list(OPTIMIZERS)):
        OPTIMIZERS.check(name)
        alias = alias_of(name)
        if not available(name):
            skipped[name] = "needs torch, which is not installed (pip install 'cosearch[gp]')"
        elif name == "grid":
            table = gene_table(genes, len(genes))
            points = math.prod(int(k) or 1 for k in table.cardinality)
            if points > evaluations:
                skipped[name] = (
                    f"the space's grid has {points:,} points (continuous genes at one level), "
                    f"more than the budget of {evaluations:,} evaluations"
                )
            else:
                chosen.append((name, {"levels": 1}))
        elif alias is not None and not explicit:
            skipped[name] = f"its default sampler is {alias}'s, so it repeats the {alias} runs exactly"
        else:
            chosen.append((name, {}))
    return chosen, skipped


class EdpTrace:
    """Best-so-far EDP after every evaluation of every run, from the front points runs stream.

    The lowest-EDP design of a run always enters its front (a point dominating
    it in latency and energy would have a lower EDP), so the running minimum
    of latency × energy over streamed front points is the exact best-so-far.
    """

    def __init__(self, keys: Sequence[str] = DEFAULT_KEYS):
        self.latency, self.energy = keys.index("latency_s"), keys.index("energy_j")
        self.points: dict[str, list] = defaultdict(list)

    def __call__(self, event: dict) -> None:
        if event["type"] == "progress" and len(event["front_values"]):
            values = np.asarray(event["front_values"])
            edp = values[:, self.latency] * values[:, self.energy]
            self.points[event["label"]].append((np.asarray(event["front_evaluation"]), edp))

    def curve(self, label: str, evaluations: int) -> np.ndarray:
        """``(evaluations,)`` best EDP after each evaluation; inf before the first feasible one."""
        best = np.full(evaluations, np.inf)
        for index, edp in self.points[label]:
            np.minimum.at(best, index, edp)
        return np.minimum.accumulate(best)


def _evaluations_to(curve: np.ndarray, bound: float) -> float:
    hits = np.flatnonzero(curve <= bound)
    return float(hits[0] + 1) if len(hits) else math.inf


def compare_mix(
    problem,
    names: Sequence[str] | None,
    *,
    seeds: int,
    evaluations: int,
    executor: str = "local",
    num_cpus: int | None = None,
    on_event: Callable[[dict], None] | None = None,
) -> MixResult:
    """Run every chosen optimizer ``seeds`` times for ``evaluations`` on ``problem`` and summarise."""
    built = problem.build()
    chosen, skipped = choose_optimizers(names, built.genes, evaluations)
    if not chosen:
        raise ValueError(f"{problem.key}: no optimizer left to run (skipped: {skipped})")
    spec = ExperimentSpec(
        problems=(problem,), optimizers=tuple(chosen), seeds=tuple(range(seeds)), constraints=CONSTRAINTS,
        max_evaluations=evaluations, name=f"optimizers-{problem.key}",
    )  # fmt: skip
    trace = EdpTrace(spec.archive_keys)

    def forward(event: dict) -> None:
        trace(event)
        if on_event is not None:
            on_event(event)

    result = run_experiment(spec, executor=executor, num_cpus=num_cpus, on_event=forward)
    if result.interrupted:
        raise KeyboardInterrupt
    runs = defaultdict(list)
    for label, r in result.runs.items():
        curve = trace.curve(label, evaluations)
        final = float(r.best_objectives[0]) if r.best_objectives is not None else math.inf
        if not math.isclose(curve[-1], final, rel_tol=1e-12) and not (math.isinf(final) and math.isinf(curve[-1])):
            raise RuntimeError(f"{label}: streamed best EDP {curve[-1]!r} differs from the run's {final!r}")
        runs[r.spec.optimizer].append((curve, r.history["hypervolume"][-1], r.seconds))
    curves = {name: np.stack([c for c, _, _ in runs[name]]) for name, _ in chosen if runs[name]}
    best = min(float(c[:, -1].min()) for c in curves.values())
    rows = []
    for name, c in curves.items():
        to_within = [_evaluations_to(curve, best * (1 + WITHIN)) for curve in c]
        rows.append(OptimizerRow(
            optimizer=name, seeds=len(c), best_edp=tuple(np.percentile(c[:, -1], [25, 50, 75]).tolist()),
            hypervolume=float(np.median([hv for _, hv, _ in runs[name]])),
            to_within=float(np.median(to_within)), reached=sum(math.isfinite(t) for t in to_within),
            seconds=float(np.median([s for _, _, s in runs[name]])),
        ))  # fmt: skip
    reference = next(iter(result.runs.values())).spec.reference
    categorical = sum(getattr(g, "kind", "") == "categorical" for g in built.genes)
    return MixResult(problem.key, built.dim, reference, best, rows, curves, skipped, dict(result.failures), categorical)


def compare(
    mixes: Sequence, names: Sequence[str] | None = None, *, seeds: int, evaluations: int, workers: int = 1,
    on_event: Callable[[dict], None] | None = None,
) -> list[MixResult]:  # fmt: skip
    """The benchmark's core: ``compare_mix`` for every mix (``workload@platform`` or a problem spec).

    ``workers`` > 1 runs on one private local Ray instance with that many CPUs, kept for every mix.
    """
    problems = [parse_mix(m) if isinstance(m, str) else m for m in mixes]
    if workers <= 1:
        return [compare_mix(p, names, seeds=seeds, evaluations=evaluations, on_event=on_event) for p in problems]
    from cosearch import distributed

    with distributed.session(None, num_cpus=workers):
        return [
            compare_mix(p, names, seeds=seeds, evaluations=evaluations, executor="ray", on_event=on_event)
            for p in problems
        ]


# --- reporting ----------------------------------------------------------------------

COLUMNS = ("optimizer", "best EDP (J·s)", "IQR (J·s)", "hypervolume (s·J)", "evals to ≤1 % of best", "s/run")


def _cells(row: OptimizerRow) -> list[str]:
    q25, q50, q75 = row.best_edp
    within = "never" if math.isinf(row.to_within) else f"{row.to_within:,.0f}"
    return [
        row.optimizer, f"{q50:.4g}", f"{q25:.4g} – {q75:.4g}", f"{row.hypervolume:.5g}",
        f"{within} ({row.reached}/{row.seeds})", f"{row.seconds:.1f}",
    ]  # fmt: skip


def _winners(mix: MixResult) -> dict[int, set[str]]:
    """Column → optimizers best in it, as printed (ties share): lowest median EDP, highest hypervolume,
    fewest evaluations to 1 %."""
    def argbest(values, lowest=True, digits=4):
        values = np.array([float(f"{v:.{digits}g}") for v in values])  # the precision the tables show
        target = values.min() if lowest else values.max()
        return {r.optimizer for r, v in zip(mix.rows, values) if v == target and math.isfinite(v)}

    return {
        1: argbest([r.best_edp[1] for r in mix.rows]),
        3: argbest([r.hypervolume for r in mix.rows], lowest=False, digits=5),
        4: argbest([r.to_within for r in mix.rows], digits=12),
    }


def _notes(mix: MixResult) -> list[str]:
    ref = "none (no feasible design in the sample)" if mix.reference is None else (
        "(" + ", ".join(f"{v:.4g}" for v in mix.reference) + ")"
    )
    notes = [
        f"best EDP of any run: {mix.best_edp:.6g} J·s; within 1 % means ≤ {mix.best_edp * (1 + WITHIN):.6g} J·s",
        f"hypervolume reference (latency s, energy J, resource fraction): {ref}",
    ]
    gap = mix.random_gap()
    if gap is not None:
        verdict = "not trivial" if gap > WITHIN else "TRIVIAL: random search is already within 1 %"
        notes.append(
            f"random search after {TRIVIAL_PROBE} evaluations: median {100 * gap:.1f} % above the best ({verdict})"
        )
    if "optuna_cmaes" in mix.curves and mix.categorical:
        notes.append(
            f"optuna_cmaes: Optuna's CmaEsSampler cannot model categorical parameters, so the {mix.categorical} "
            f"categorical genes of {mix.dim} (core sizes and dataflows) are declared to it as integers over their "
            f"choice index"
        )
    notes += [f"skipped {name}: {why}" for name, why in mix.skipped.items()]
    notes += [f"FAILED {label}: {error.strip().splitlines()[-1]}" for label, error in mix.failures.items()]
    return notes


def _title(mix: MixResult) -> str:
    workload, _, platform_name = mix.key.partition("@")
    return f"{workload} on {platform_name} ({mix.dim} genes)"


def text_table(results: Sequence[MixResult]) -> str:
    out = []
    for mix in results:
        rows = [list(COLUMNS)] + [_cells(r) for r in mix.rows]
        widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
        out.append(f"\n{_title(mix)}")
        for k, row in enumerate(rows):
            out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
            if k == 0:
                out.append("  ".join("-" * w for w in widths))
        out += [f"  {note}" for note in _notes(mix)]
    return "\n".join(out)


def markdown(results: Sequence[MixResult], *, command: str, machine: str, seconds: float, evaluations: int,
             seeds: int, images: dict[str, str], workers: int = 1, load: str = "") -> str:  # fmt: skip
    lines = [
        "# Optimizers compared at an equal budget",
        "",
        "Generated by `benchmarks/optimizers.py` (see its docstring for the method); do not edit by hand.",
        "",
        f"    {command}",
        "",
        f"Machine: {machine}. Wall time: {seconds / 60:.1f} min, "
        + ("in one process" if workers <= 1 else f"{workers} Ray workers")
        + (f" (load average {load})" if load else "") + ".",
        "",
        f"Every registered optimizer with its default options, {seeds} seeds (0…{seeds - 1}) × "
        f"{evaluations:,} evaluations per run, in the default `cosearch` space of each mix, minimising EDP "
        "under `resource_fraction <= 1` (SLA misses are reported, not made infeasible, as in "
        "`experiments/*.yaml`). Columns: median best EDP over seeds and its inter-quartile range; median "
        "final hypervolume of each run's evaluated designs over latency (s) × energy (J) × resource fraction, "
        "against one reference point per mix shared by every optimizer (higher is better); evaluations until "
        "the run's best EDP is within 1 % of the best any run found on the mix (median over seeds, with how "
        "many seeds got there; \"never\" when the median run does not); median wall time per run (optimizer "
        "overhead included; on Ray one task per run, its batches split over idle workers once fewer runs than "
        "workers are left). Best per column in bold.",
        "",
    ]
    if [m.key for m in results] == list(DEFAULT_MIXES):
        lines += [MIX_CHOICE, ""]
    for mix in results:
        winners = _winners(mix)
        lines += [f"## {_title(mix)}", "", "| " + " | ".join(COLUMNS) + " |",
                  "|" + "|".join(["---"] + ["---:"] * (len(COLUMNS) - 1)) + "|"]  # fmt: skip
        for row in mix.rows:
            cells = _cells(row)
            cells = [f"**{c}**" if row.optimizer in winners.get(i, ()) else c for i, c in enumerate(cells)]
            lines.append("| " + " | ".join(cells) + " |")
        lines += [""] + [f"- {note}" for note in _notes(mix)]
        if mix.key in images:
            lines += ["", f"![convergence on {mix.key}]({images[mix.key]})"]
        lines.append("")
    lines += ["## Winners", ""]
    for mix in results:
        w = _winners(mix)
        lines.append(
            f"- {mix.key}: lowest median EDP {', '.join(sorted(w[1])) or '—'}; highest hypervolume "
            f"{', '.join(sorted(w[3])) or '—'}; fewest evaluations to 1 % "
            f"{', '.join(sorted(w[4])) or '— (no median run got there)'}"
        )
    return "\n".join(lines) + "\n"


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    import cma
    import optuna

    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, numpy {np.__version__}, optuna {optuna.__version__}, "
            f"cma {cma.__version__}; commit {commit}; {date}")  # fmt: skip


def image_name(key: str) -> str:
    return f"optimizers-{key.replace('@', '-')}.png"


# --- command line -----------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke version: {QUICK['evaluations']} evaluations × {QUICK['seeds']} seeds, "
                             "output to a temporary directory unless --out")  # fmt: skip
    parser.add_argument("--evaluations", type=int, help=f"evaluations per run (default {FULL['evaluations']})")
    parser.add_argument("--seeds", type=int, help=f"seeds 0…n−1 per optimizer (default {FULL['seeds']})")
    parser.add_argument("--mixes", nargs="+", default=list(DEFAULT_MIXES), help="workload@platform pairs")
    parser.add_argument("--optimizers", nargs="+", help="registered names (default: every one)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="1: in-process; N > 1: a private local Ray instance with N CPUs (default: every CPU; "
                             "results do not depend on it)")  # fmt: skip
    parser.add_argument("--out", type=Path, help="where optimizers.md and img/ go (default: docs/)")
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else FULL
    evaluations = args.evaluations if args.evaluations is not None else preset["evaluations"]
    seeds = args.seeds if args.seeds is not None else preset["seeds"]
    if evaluations < 1 or seeds < 1 or args.workers < 1:
        parser.error("--evaluations, --seeds and --workers must be positive integers")
    try:
        mixes = [parse_mix(m) for m in args.mixes]
        for name in args.optimizers or ():
            OPTIMIZERS.check(name)
    except ValueError as e:
        parser.error(str(e))
    out = args.out or (Path(tempfile.gettempdir()) / "cosearch-optimizers-quick" if args.quick else REPO / "docs")

    def progress(event: dict) -> None:
        if event["type"] == "finished":
            r = event["result"]
            best = "none" if r.best_objectives is None else f"{r.best_objectives[0]:.4g}"
            print(f"  {event['label']}: best EDP {best} J·s in {r.seconds:.1f} s", file=sys.stderr, flush=True)
        elif event["type"] == "failed":
            print(f"  {event['label']} FAILED:\n{event['error']}", file=sys.stderr, flush=True)

    load = f"{os.getloadavg()[0]:.1f} at the start"
    start = time.perf_counter()
    results = compare(mixes, args.optimizers, seeds=seeds, evaluations=evaluations, workers=args.workers,
                      on_event=progress)  # fmt: skip
    seconds = time.perf_counter() - start
    load += f", {os.getloadavg()[0]:.1f} at the end"
    command = shlex.join(["python", "benchmarks/optimizers.py", *(sys.argv[1:] if argv is None else argv)])
    print(f"{evaluations:,} evaluations × {seeds} seeds per optimizer; {seconds / 60:.1f} min "
          f"with {args.workers} worker(s); load average {load}")  # fmt: skip
    print(text_table(results))

    from optimizers_plot import convergence  # this directory is on sys.path when run as a script

    images = {}
    for mix in results:
        path = convergence(out / "img" / image_name(mix.key), mix.curves, best_edp=mix.best_edp,
                           title=f"{_title(mix)}: {seeds} seeds × {evaluations:,} evaluations")  # fmt: skip
        images[mix.key] = f"img/{path.name}"
    doc = markdown(results, command=command, machine=machine_description(), seconds=seconds,
                   evaluations=evaluations, seeds=seeds, images=images, workers=args.workers, load=load)  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".optimizers.md.tmp"
    tmp.write_text(doc)
    os.replace(tmp, out / "optimizers.md")
    print(f"\nwrote {out / 'optimizers.md'} and {len(images)} plots in {out / 'img'}")
    return 1 if any(mix.failures for mix in results) else 0


if __name__ == "__main__":
    sys.exit(main())
