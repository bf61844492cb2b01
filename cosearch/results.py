"""The results directory of an experiment, written atomically and read back.

::

    results/<experiment>/
      .cosearch-results                 marks a cosearch results directory (and its format version)
      .cosearch.lock                    the PID of the run writing here; locked while it runs
      config.yaml                       the resolved config (every default filled in)
      summary.json                      best design, baselines, runs, where everything is
      pareto.csv                        the global front: metrics (unit in each name), run, evaluation, design
                                        file, the decoded design (core0_pes, core0_bw_gbps…), the genes (x.core0.size…)
      runs/<optimizer>-<seed>/history.csv   best-so-far and hypervolume vs evaluations and seconds
      runs/<optimizer>-<seed>/run.json  the run's summary, front and spec hash (written last: the run is done)
      runs/<optimizer>-<seed>/error.txt the whole traceback of a run that failed
      designs/*.json                    decoded designs with metrics and schedule
      plots/*.png                       figures (``cosearch plot`` redraws them)

Every file is written to a temporary name and moved into place with
``os.replace``, so a reader (or a resumed experiment) never sees half a file.
One run at a time writes a directory (``ResultsDir.locked``), and a fresh run
replaces only files cosearch writes, in a directory its marker identifies.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import math
import os
import pathlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import yaml

DESIGN_FORMAT = "cosearch.design/1"
RESULTS_FORMAT = "cosearch.results/1"
MARKER, LOCK = ".cosearch-results", ".cosearch.lock"
HISTORY_COLUMNS = ("evaluations", "seconds", "best", "hypervolume")  # a run's history in memory (run.RunResult)
# What a fresh run replaces: the files cosearch writes (optuna.db from older versions), and
# temporary files an interrupted write left. Nothing else in the directory is touched.
OWNED = ("config.yaml", "summary.json", "pareto.csv", "optuna.db", "runs/*/history.csv", "runs/*/run.json",
         "runs/*/error.txt", "designs/best.json", "designs/baseline-*.json", "designs/pareto-*.json",
         *(f"plots/{name}.{fmt}" for name in ("pareto", "convergence", "design", "schedule", "latency_cdf", "sla_load",
                                             "qps", "core_mix") for fmt in ("png", "svg")))
TEMPORARY = (".*.tmp", "*/.*.tmp", "*/*/.*.tmp")
OWNED_DIRS = ("runs/*", "runs", "designs", "plots")  # removed when nothing else is left in them
SECRET_PARAMETERS = re.compile(r"pass(word|wd)?|pwd|secret|token|key", re.IGNORECASE)


class ResultsError(ValueError):
    """A results directory that is missing, incomplete or from another experiment."""


def atomic_write_text(path: str | os.PathLike, text: str) -> pathlib.Path:
    """Write ``text`` to ``path`` via a temporary file in the same directory and ``os.replace``."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # a failed or interrupted write leaves the old file, and no temporary one
        tmp.unlink(missing_ok=True)
        raise
    return path


def redact_url(url: str | None) -> str | None:
    """``url`` with its password (and query parameters named like secrets) as ``***``:
    what may be written to a file or printed of a storage URL."""
    if not url or "://" not in url:
        return url
    parts = urlsplit(url)
    shown = url
    if parts.password is not None:
        user, _, host = parts.netloc.rpartition("@")
        shown = shown.replace(parts.netloc, f"{user.partition(':')[0]}:***@{host}", 1)
    if parts.query:
        pairs = [pair.partition("=") for pair in parts.query.split("&")]
        query = "&".join(f"{k}{eq}{'***' if eq and SECRET_PARAMETERS.search(k) else v}" for k, eq, v in pairs)
        shown = shown.replace(f"?{parts.query}", f"?{query}", 1)
    return shown


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


def metric_column(key: str) -> str:
    """A metric's column name in results files, its unit in it (``edp`` → ``edp_j_s``; see ``Metric.column``)."""
    from objectives.metrics import METRICS

    return METRICS[key].column if key in METRICS else key


def _metric_of_column(column: str):
    from objectives.metrics import METRICS

    return next((m for m in METRICS.values() if m.column == column), None)


def history_header(objective: str, keys: Sequence[str]) -> list[str]:
    """``history.csv``'s columns: ``best_<first objective's column>`` (its value, maximised ones
    not negated) and ``hypervolume_<key>_x_<key>…``, the volume the run's front dominates over
    those keys, up to the reference point its ``run.json`` records (``archive.reference``)."""
    return ["evaluations", "seconds", f"best_{metric_column(objective)}",
            "hypervolume_" + "_x_".join(metric_column(k) for k in keys)]


def history_from_columns(columns: dict[str, list]) -> dict[str, list]:
    """A ``history.csv`` read back as the in-memory history (``HISTORY_COLUMNS``), whichever
    cosearch wrote it: ``best``/``hypervolume`` as such (before units were named), or
    ``best_<column>`` (maximised metrics negated back, as runs minimise) and ``hypervolume_…``."""
    history = {"evaluations": columns.get("evaluations", []), "seconds": columns.get("seconds", [])}
    for name, values in columns.items():
        if name == "best" or name.startswith("best_"):
            metric = _metric_of_column(name[len("best_"):])
            history["best"] = [metric.sign * v for v in values] if metric else values
        elif name.startswith("hypervolume"):
            history["hypervolume"] = values
    missing = [c for c in HISTORY_COLUMNS if c not in history]
    if missing:
        raise ResultsError(f"history.csv has no {', '.join(missing)} column (columns: {', '.join(columns)})")
    return history


class ResultsDir:
    """Paths of one experiment's results, and the reads and writes of its files.

    ``elsewhere``: how a refused writer is told to write somewhere else (the
    CLI says "pass --out …", or "choose another --out" when one was given).
    """

    def __init__(self, root: str | os.PathLike, *, elsewhere: str = "pass --out to write elsewhere"):
        self.root = pathlib.Path(root)
        self.elsewhere = elsewhere

    def check_readable(self) -> None:
        """Refuse a results directory that is not there, before reading any file of it."""
        if not self.root.exists():
            raise ResultsError(f"{self.root}: does not exist (a results directory: `cosearch run CONFIG` writes one)")
        if not self.root.is_dir():
            raise ResultsError(f"{self.root}: is not a directory (a results directory: `cosearch run CONFIG` "
                               "writes one)")

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

    @property
    def marker_path(self) -> pathlib.Path:
        return self.root / MARKER

    @property
    def lock_path(self) -> pathlib.Path:
        return self.root / LOCK

    # -- the experiment as a whole ------------------------------------------

    def is_results_dir(self) -> bool:
        """Whether cosearch made this directory (its marker names a format this version reads)."""
        try:
            return json.loads(self.marker_path.read_text(encoding="utf-8")).get("format") == RESULTS_FORMAT
        except (OSError, ValueError, AttributeError):
            return False

    def check_target(self, *, resume: bool) -> None:
        """Refuse, before anything is created or deleted, a directory a run must not write.

        A fresh run writes into a missing or empty directory, or one with
        cosearch's marker; resuming needs the marker.
        """
        if self.root.exists() and not self.root.is_dir():
            raise ResultsError(f"{self.root}: exists and is not a directory; {self.elsewhere}")
        if self.is_results_dir():
            return
        if resume:
            raise ResultsError(f"{self.root}: nothing to resume (not a cosearch results directory: "
                               f"no {MARKER}); run without --resume")
        if self.root.is_dir() and any(p.name != LOCK for p in self.root.iterdir()):
            raise ResultsError(f"{self.root}: is not empty and is not a cosearch results directory (no {MARKER}); "
                               f"nothing was changed; {self.elsewhere}")

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the directory for this process: a second writer gets a ``ResultsError`` naming our PID.

        An advisory ``flock`` on ``.cosearch.lock``, which the kernel drops
        when the holder dies however it dies, so a lock left by a killed run
        never blocks the next one; the file keeps the last holder's PID.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise ResultsError(f"{self.root}: another cosearch run (PID {holder}) is writing here; "
                               f"wait for it to finish, or {self.elsewhere}") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # releases the lock; the file stays (removing it would let two runs lock two files)

    def prepare(self, resolved_config: dict, *, resume: bool, compare_keys: Sequence[str] = (),
                run_hashes: Mapping[str, str] | None = None) -> set[str]:  # fmt: skip
        """Make the directory ready (hold ``locked()``); returns the ids of runs already finished.

        Resuming needs ``config.yaml`` to agree with ``resolved_config`` on
        ``compare_keys`` (what decides the runs' results) and every finished
        run's recorded spec hash to equal ``run_hashes[run id]``; a fresh
        start removes the files a previous experiment wrote here, and only those.
        """
        self.check_target(resume=resume)
        if resume:
            if not self.config_path.exists():
                raise ResultsError(f"{self.root}: nothing to resume (no config.yaml); run without --resume")
            previous = yaml.safe_load(self.config_path.read_text(encoding="utf-8")) or {}
            changed = [k for k in compare_keys if previous.get(k) != resolved_config.get(k)]
            if changed:
                raise ResultsError(
                    f"{self.root}: holds an experiment whose {', '.join(changed)} differ from this config; "
                    f"resume with the same config, or {self.elsewhere}")
            finished = self.finished_runs()
            if run_hashes is not None:
                self._check_hashes(finished, run_hashes)
            self._remove(TEMPORARY)  # temporary files of writes an interruption cut short
        else:
            self._remove(OWNED + TEMPORARY)
            for pattern in OWNED_DIRS:
                for directory in sorted(self.root.glob(pattern)):
                    if directory.is_dir() and not any(directory.iterdir()):
                        directory.rmdir()
            finished = set()
        atomic_write_json(self.marker_path, {"format": RESULTS_FORMAT})
        self.write_config(resolved_config)
        return finished

    def _check_hashes(self, finished: set[str], run_hashes: Mapping[str, str]) -> None:
        stale = sorted(run_id for run_id in finished
                       if self.read_run(run_id).get("spec_hash") != run_hashes.get(run_id))
        if stale:
            raise ResultsError(
                f"{self.root}: finished runs {', '.join(stale)} were made by a different run spec than this config "
                "gives them; resume with the config that made them, or run without --resume to start over")

    def _remove(self, patterns: Iterable[str]) -> None:
        for pattern in patterns:
            for path in self.root.glob(pattern):
                if path.is_file() or path.is_symlink():
                    path.unlink()

    def write_config(self, resolved_config: dict) -> pathlib.Path:
        return atomic_write_text(self.config_path, yaml.safe_dump(to_plain(resolved_config), sort_keys=False))

    def read_config(self) -> dict:
        if not self.config_path.exists():
            raise ResultsError(f"{self.root}: not a results directory (no config.yaml)")
        return yaml.safe_load(self.config_path.read_text(encoding="utf-8"))

    def write_summary(self, summary: dict) -> pathlib.Path:
        return atomic_write_json(self.summary_path, summary)

    def read_summary(self) -> dict:
        self.check_readable()
        if not self.summary_path.exists() and not (self.is_results_dir() or self.config_path.exists()):
            raise ResultsError(f"{self.root}: not a cosearch results directory (no summary.json, no {MARKER})")
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
        """``history.csv`` first, then ``run.json`` — whose presence marks the run finished.

        The columns are named from the run's first objective and archive keys
        (``record["summary"]["objectives"]``, ``record["archive"]["keys"]``; see
        ``history_header``), plain ``best`` and ``hypervolume`` for a record without them.
        """
        objectives = record.get("summary", {}).get("objectives")
        keys = record.get("archive", {}).get("keys")
        header, sign = list(HISTORY_COLUMNS), 1.0
        if objectives and keys:
            header = history_header(objectives[0], keys)
            metric = _metric_of_column(metric_column(objectives[0]))
            sign = metric.sign if metric is not None else 1.0
        best = [sign * v for v in history["best"]]  # the metric's own value: a maximised one is not shown negated
        rows = zip(history["evaluations"], history["seconds"], best, history["hypervolume"])
        atomic_write_csv(self.run_dir(run_id) / "history.csv", header, rows)
        atomic_write_json(self.run_dir(run_id) / "run.json", record)
        (self.run_dir(run_id) / "error.txt").unlink(missing_ok=True)  # of an earlier attempt

    def write_error(self, run_id: str, text: str) -> pathlib.Path:
        """``runs/<id>/error.txt``: the whole traceback of a failed run (its causes included)."""
        return atomic_write_text(self.run_dir(run_id) / "error.txt", text.rstrip() + "\n")

    def read_run(self, run_id: str) -> dict:
        return read_json(self.run_dir(run_id) / "run.json")

    def read_history(self, run_id: str) -> dict[str, list[float]]:
        """The run's history as ``run.RunResult`` holds it (``HISTORY_COLUMNS``), from either file format."""
        return history_from_columns(read_csv(self.run_dir(run_id) / "history.csv"))

    # -- front and designs --------------------------------------------------

    def write_pareto(self, keys: Sequence[str], values, source, evaluation, X, designs: Sequence[str] = (), *,
                     gene_names: Sequence[str] | None = None, design_columns: Mapping[str, Sequence] | None = None
                     ) -> None:  # fmt: skip
        """One row per front member: its metrics over ``keys`` (and EDP), each column named with its
        unit; the run and evaluation that found it; its design file (empty where none was written);
        ``design_columns`` (the decoded design, readable); and its point, one ``x.<gene>`` column
        per gene (``gene_names``; ``x.0``, ``x.1``… when not given), which the space decodes back
        to the design."""
        values = [list(map(float, row)) for row in values]
        dim = len(X[0]) if len(X) else len(gene_names or ())
        gene_names = list(gene_names) if gene_names is not None else [str(i) for i in range(dim)]
        extra = [] if "edp" in keys else ["edp"]
        design_columns = dict(design_columns or {})
        header = [*(metric_column(k) for k in (*keys, *extra)), "run", "evaluation", "design", *design_columns,
                  *(f"x.{name}" for name in gene_names)]
        k = {key: i for i, key in enumerate(keys)}
        rows = []
        for i, row in enumerate(values):
            edp = row[k["latency_s"]] * row[k["energy_j"]] if {"latency_s", "energy_j"} <= set(k) else float("nan")
            name = designs[i] if i < len(designs) else ""
            rows.append([*row, *([edp] if extra else []), str(source[i]), int(evaluation[i]), name,
                         *(column[i] for column in design_columns.values()), *map(float, X[i])])
        atomic_write_csv(self.pareto_path, header, rows)

    def read_pareto(self) -> dict[str, list]:
        """``pareto.csv``'s columns by name (an older file's ``edp`` read as ``edp_j_s``)."""
        if not self.pareto_path.exists():
            raise ResultsError(f"{self.root}: no pareto.csv")
        columns = read_csv(self.pareto_path)
        return {metric_column(name) if name == "edp" else name: values for name, values in columns.items()}

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
