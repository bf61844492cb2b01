"""The results directory of an experiment (DESIGN §9), written atomically and read back.

::

    results/<experiment>/
      config.yaml                       the resolved config (every default filled in)
      summary.json                      best design, baselines, runs, where everything is
      pareto.csv                        the global front: objective values, run, evaluation, x0…
      runs/<optimizer>-<seed>/history.csv   best-so-far vs evaluations and seconds
      runs/<optimizer>-<seed>/run.json  the run's summary and front (written last: the run is done)
      designs/*.json                    decoded designs with metrics and schedule
      optuna.db                         Optuna storage (when an Optuna optimizer runs)
      plots/*.png                       figures (``cosearch plot`` redraws them)

Every file is written to a temporary name and moved into place with
``os.replace``, so a reader (or a resumed experiment) never sees half a file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import pathlib
import shutil
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

DESIGN_FORMAT = "cosearch.design/1"
HISTORY_COLUMNS = ("evaluations", "seconds", "best", "hypervolume")
OWNED = ("config.yaml", "summary.json", "pareto.csv", "runs", "designs", "plots", "optuna.db")


class ResultsError(ValueError):
    """A results directory that is missing, incomplete or from another experiment."""


def atomic_write_text(path: str | os.PathLike, text: str) -> pathlib.Path:
    """Write ``text`` to ``path`` via a temporary file in the same directory and ``os.replace``."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def to_plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars and arrays to Python, non-finite floats to strings JSON can hold."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def from_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: from_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_plain(v) for v in value]
    if value in ("nan", "inf", "-inf"):
        return float(value)
    return value


def atomic_write_json(path, data: Any) -> pathlib.Path:
    return atomic_write_text(path, json.dumps(to_plain(data), indent=1) + "\n")


def read_json(path) -> Any:
    return from_plain(json.loads(pathlib.Path(path).read_text(encoding="utf-8")))


def atomic_write_csv(path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> pathlib.Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        row = [v.item() if hasattr(v, "item") else v for v in row]  # numpy scalars as Python numbers
        writer.writerow([repr(v) if isinstance(v, float) else v for v in row])
    return atomic_write_text(path, buffer.getvalue())


def read_csv(path) -> dict[str, list]:
    """Columns by name; numbers parsed as float where every value is one."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    columns = {name: [row[i] for row in rows[1:]] for i, name in enumerate(rows[0])}
    for name, values in columns.items():
        try:
            columns[name] = [float(v) for v in values]
        except ValueError:
            pass
    return columns


class ResultsDir:
    """Paths of one experiment's results, and the reads and writes of its files."""

    def __init__(self, root: str | os.PathLike):
        self.root = pathlib.Path(root)

    # -- paths --------------------------------------------------------------

    @property
    def config_path(self) -> pathlib.Path:
        return self.root / "config.yaml"

    @property
    def summary_path(self) -> pathlib.Path:
        return self.root / "summary.json"

    @property
    def pareto_path(self) -> pathlib.Path:
        return self.root / "pareto.csv"

    @property
    def plots_dir(self) -> pathlib.Path:
        return self.root / "plots"

    @property
    def designs_dir(self) -> pathlib.Path:
        return self.root / "designs"

    def run_dir(self, run_id: str) -> pathlib.Path:
        return self.root / "runs" / run_id

    def design_path(self, name: str) -> pathlib.Path:
        return self.designs_dir / f"{name}.json"

    def default_storage(self) -> str:
        """SQLite URL of the Optuna storage inside this directory (absolute, so any process can open it)."""
        return f"sqlite:///{(self.root / 'optuna.db').resolve()}"

    # -- the experiment as a whole ------------------------------------------

    def prepare(self, resolved_config: dict, *, resume: bool, compare_keys: Sequence[str] = ()) -> set[str]:
        """Make the directory ready; returns the ids of runs already finished (only when resuming).

        Resuming needs ``config.yaml`` to agree with ``resolved_config`` on
        ``compare_keys`` (what decides the runs' results); a fresh start
        removes what a previous experiment left here (only cosearch's own files).
        """
        if resume:
            if not self.config_path.exists():
                raise ResultsError(f"{self.root}: nothing to resume (no config.yaml); run without --resume")
            previous = yaml.safe_load(self.config_path.read_text(encoding="utf-8")) or {}
            changed = [k for k in compare_keys if previous.get(k) != resolved_config.get(k)]
            if changed:
                raise ResultsError(
                    f"{self.root}: holds an experiment whose {', '.join(changed)} differ from this config; "
                    "resume with the same config, or pass --out to start elsewhere")
            finished = self.finished_runs()
        else:
            if self.root.is_dir() and any(self.root.iterdir()) and not self.config_path.exists():
                raise ResultsError(f"{self.root}: exists and is not a cosearch results directory; "
                                   "pass --out to write elsewhere")
            for name in OWNED:
                target = self.root / name
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
            finished = set()
        self.write_config(resolved_config)
        return finished

    def write_config(self, resolved_config: dict) -> pathlib.Path:
        return atomic_write_text(self.config_path, yaml.safe_dump(to_plain(resolved_config), sort_keys=False))

    def read_config(self) -> dict:
        if not self.config_path.exists():
            raise ResultsError(f"{self.root}: not a results directory (no config.yaml)")
        return yaml.safe_load(self.config_path.read_text(encoding="utf-8"))

    def write_summary(self, summary: dict) -> pathlib.Path:
        return atomic_write_json(self.summary_path, summary)

    def read_summary(self) -> dict:
        if not self.summary_path.exists():
            raise ResultsError(f"{self.root}: no summary.json (the experiment has not finished; "
                               "`cosearch run CONFIG --resume` completes it)")
        return read_json(self.summary_path)

    # -- runs ---------------------------------------------------------------

    def finished_runs(self) -> set[str]:
        runs = self.root / "runs"
        if not runs.is_dir():
            return set()
        return {d.name for d in runs.iterdir() if (d / "run.json").is_file()}

    def write_run(self, run_id: str, history: Mapping[str, Sequence[float]], record: dict) -> None:
        """``history.csv`` first, then ``run.json`` — whose presence marks the run finished."""
        rows = zip(*(history[c] for c in HISTORY_COLUMNS))
        atomic_write_csv(self.run_dir(run_id) / "history.csv", HISTORY_COLUMNS, rows)
        atomic_write_json(self.run_dir(run_id) / "run.json", record)

    def read_run(self, run_id: str) -> dict:
        return read_json(self.run_dir(run_id) / "run.json")

    def read_history(self, run_id: str) -> dict[str, list[float]]:
        return read_csv(self.run_dir(run_id) / "history.csv")

    # -- front and designs --------------------------------------------------

    def write_pareto(self, keys: Sequence[str], values, source, evaluation, X, designs: Sequence[str] = ()) -> None:
        """One row per front member: objective values over ``keys``, EDP, origin, design file, x0…"""
        values = [list(map(float, row)) for row in values]
        dim = len(X[0]) if len(X) else 0
        extra = [] if "edp" in keys else ["edp"]
        header = [*keys, *extra, "run", "evaluation", "design", *(f"x{i}" for i in range(dim))]
        k = {key: i for i, key in enumerate(keys)}
        rows = []
        for i, row in enumerate(values):
            edp = row[k["latency_s"]] * row[k["energy_j"]] if {"latency_s", "energy_j"} <= set(k) else float("nan")
            name = designs[i] if i < len(designs) else ""
            rows.append([*row, *([edp] if extra else []), str(source[i]), int(evaluation[i]), name, *map(float, X[i])])
        atomic_write_csv(self.pareto_path, header, rows)

    def read_pareto(self) -> dict[str, list]:
        if not self.pareto_path.exists():
            raise ResultsError(f"{self.root}: no pareto.csv")
        return read_csv(self.pareto_path)

    def write_design(self, name: str, payload: dict) -> pathlib.Path:
        return atomic_write_json(self.design_path(name), {"format": DESIGN_FORMAT, **payload})


DESIGN_MAX_BYTES = 64 << 20
"""A design file of 10,000 layers with its schedule is a few MiB."""


def read_design(path) -> dict:
    """A design file written by ``ResultsDir.write_design``, or a bare ``Design`` dict (cores, layer_core)."""
    from spaces import userfiles

    path = pathlib.Path(path)
    try:
        data = json.loads(userfiles.read_text(path, max_bytes=DESIGN_MAX_BYTES))
    except userfiles.InputFileError as e:
        raise ResultsError(f"{path}: {e}") from None
    except (json.JSONDecodeError, RecursionError) as e:  # the decoder recurses once per nesting level
        raise ResultsError(f"{path}: not JSON: {str(e)[:200]}") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: expected a JSON object, got {type(data).__name__}")
    if "format" not in data and "cores" in data:
        data = {"format": DESIGN_FORMAT, "design": data}
    if data.get("format") != DESIGN_FORMAT or "design" not in data:
        raise ResultsError(f"{path}: not a cosearch design (expected format {DESIGN_FORMAT!r} or cores/layer_core)")
    return data
