"""What the Optuna storage costs a run: nsga2, 300 evaluations of the quickstart problem.

    python benchmarks/optuna_storage.py [--evaluations 300] [--repeats 3] [--sampler nsga2] [--sqlite]

Times one run (``cosearch.run.run``) of the quickstart experiment's space with
the storage ``cosearch run`` gives it by default (the config's ``storage:``
left unset), and with the alternatives an experiment could keep its studies
in: in memory, Optuna's journal file and (``--sqlite``, minutes) a SQLite
file. Each figure is the median wall time over the repeats, taken in turns,
and its ratio to in-memory; the target for the default is at most 1.5x. Every variant finds the same best EDP (the same
seed asks the same points wherever the study lives), which is checked.
Timings on a shared machine are noisy; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import statistics
import tempfile
import time

from cosearch.config_loader import load_config, run_specs
from cosearch.run import run

QUICKSTART = pathlib.Path(__file__).resolve().parents[1] / "experiments" / "quickstart.yaml"


def default_spec(sampler: str, evaluations: int):
    """The run ``cosearch run`` would start for ``sampler`` on the quickstart problem, storage and all."""
    config = load_config(QUICKSTART, {"optimizers": [sampler], "seeds": [0], "baselines": [],
                                      "budget": {"evaluations": evaluations}, "ray": False})
    return run_specs(config, config.storage)[0]


def storages(directory: pathlib.Path) -> dict:
    """Name → a function giving a fresh storage option (or none) for one repeat."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    count = iter(range(1_000_000))
    return {
        "in memory": lambda: {},
        "journal file": lambda: {"storage": JournalStorage(JournalFileBackend(str(directory / f"{next(count)}.log"))),
                                 "study_name": "s"},
        "sqlite file": lambda: {"storage": f"sqlite:///{directory / f'{next(count)}.db'}", "study_name": "s"},
    }


def timed(spec, problem) -> tuple[float, float]:
    start = time.perf_counter()
    result = run(spec, problem=problem)
    return time.perf_counter() - start, float(result.best_objectives[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--evaluations", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sampler", default="nsga2")
    parser.add_argument("--sqlite", action="store_true", help="also time a SQLite file (about 50x slower)")
    args = parser.parse_args()

    spec = default_spec(args.sampler, args.evaluations)
    problem = spec.problem.build()
    timed(spec, problem)  # warm-up: numba compilation and imports are nobody's storage cost
    with tempfile.TemporaryDirectory() as tmp:
        variants = {"cosearch default": lambda: dict(spec.optimizer_options), **storages(pathlib.Path(tmp))}
        if not args.sqlite:
            del variants["sqlite file"]
        extra = {k: v for k, v in spec.optimizer_options.items() if k not in ("storage", "study_name")}
        seconds, best = {name: [] for name in variants}, set()
        for _ in range(args.repeats):  # in turns, so a slow spell of the machine hits every variant alike
            for name, options in variants.items():
                s, edp = timed(dataclasses.replace(spec, optimizer_options={**extra, **options()}), problem)
                seconds[name].append(s)
                best.add(edp)
        figures = {name: statistics.median(values) for name, values in seconds.items()}
    assert len(best) == 1, f"the storages found different best EDPs: {sorted(best)}"
    memory = figures["in memory"]
    default_storage = spec.optimizer_options.get("storage", "in memory")
    print(f"{args.sampler}, {args.evaluations} evaluations, quickstart problem, median of {args.repeats}; "
          f"cosearch's default storage: {default_storage}")
    for name, seconds in figures.items():
        print(f"  {name:17s} {seconds:7.2f} s   {seconds / memory:6.2f}x in memory")


if __name__ == "__main__":
    main()
