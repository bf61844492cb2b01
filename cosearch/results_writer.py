"""What an experiment writes into its results directory, and when.

``ResultsWriter`` is the one writer of ``cosearch.results.ResultsDir``'s
content for an experiment that ``experiment.run_experiment`` drives:

* ``open(specs)`` — before any run: the directory made ready (a fresh start
  clears what a previous experiment wrote; resuming checks that config and
  spec hashes agree) and the runs already finished read back;
* ``record(event)`` — while runs go: each finished run's ``history.csv`` and
  ``run.json`` the moment it finishes, each failed run's ``error.txt``;
* ``finish(...)`` — once every run is done: the best design, the front's
  designs, the baselines' designs, ``pareto.csv``, the plots, and
  ``summary.json`` last (its presence says every other file is complete).

``results.py`` owns the layout and the atomic reads and writes; this module
owns what goes into the files. Nothing here prints.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from cosearch.results import ResultsDir, redact_url, to_plain

# What decides the runs' results: resuming needs config.yaml to agree on these.
RESULT_KEYS = ("workload", "platform", "space", "objective", "optimizers", "seeds", "budget", "baselines", "serving")
FRONT_DESIGNS = 10  # front members written to designs/pareto-<k>.json, lowest EDP first
STORAGE_OPTIONS = ("storage", "study_name")  # where a run keeps its study, not what it finds


def spec_hash(spec) -> str:
    """A digest of what decides a run's result, stored with the run; resuming compares it.

    Left out: where the run keeps its Optuna study, the hypervolume reference
    point (derived from the problem), and the run's kind and name (where it
    sits in the experiment, not what it computes; leaving them out also lets
    results written before runs carried them resume).
    """
    problem = spec.problem
    problem = problem._asdict() if hasattr(problem, "_asdict") else (
        dataclasses.asdict(problem) if dataclasses.is_dataclass(problem) else repr(problem))
    fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)
              if f.name not in ("reference", "kind", "name")}
    fields.update(problem=problem, constraints=[str(c) for c in spec.constraints],
                  optimizer_options={k: v for k, v in spec.optimizer_options.items() if k not in STORAGE_OPTIONS})
    text = json.dumps(to_plain(fields), sort_keys=True, default=repr)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


MIB = 2**20


def platform_numbers(platform) -> dict:
    """The platform a design was scored on, as numbers with their units in their names (a
    config's ``platform:`` section names a preset and what it changes; this says what that is)."""
    numbers = {
        "name": platform.name, "kind": platform.kind, "pes": int(platform.pes), "bw_gbps": platform.bw_gbps,
        "buffer_bytes": int(platform.buffer_bytes), "buffer_mib": platform.buffer_bytes / MIB,
        "clock_mhz": platform.clock_hz / 1e6, "noc_gbps": platform.noc_gbps, "max_cores": platform.max_cores,
        "bw_partition": platform.bw_partition,  # which bandwidth the designs' shares split: dram or noc
        "word_bytes": platform.word_bytes, "dataflows": list(platform.dataflows),
        "core_sizes": [size.name for size in platform.core_sizes], "mapping_objective": platform.mapping_objective,
    }  # fmt: skip
    if platform.kind == "fpga":
        from spaces.hardware import FPGA_RESOURCES

        numbers.update({name: getattr(platform, name) for name in FPGA_RESOURCES})
    return numbers


def core_numbers(batch, platform, layer_core=None, workload=None) -> list[dict]:
    """Each active core of the first design of ``batch`` in absolute terms: PEs and the array
    shape the mapper gives them, dataflow, GB/s (of the partitioned bandwidth) and MiB; with ``layer_core`` (each layer's core as
    evaluated), its layers and the models they belong to."""
    from objectives.chip import partitioned_gbps
    from objectives.evaluator import config_core

    cores = []
    for c in np.flatnonzero(batch.core_pes[0] > 0).tolist():
        size = int(batch.core_size[0, c])
        own_clock = platform.core_sizes[size].clock_hz if size >= 0 else None
        array = config_core((batch.core_dataflow[0, c], batch.core_pes[0, c], size), batch.dataflows, platform)
        entry = {
            "core": len(cores), "size": platform.core_sizes[size].name if size >= 0 else None,
            "pes": int(batch.core_pes[0, c]),
            "array": " × ".join(f"{axis.extent} ({'·'.join(axis.dims)})" for axis in array.axes),
            "dataflow": batch.dataflows[batch.core_dataflow[0, c]].name,
            "clock_mhz": (own_clock or platform.clock_hz) / 1e6,  # a core size may run at its own clock
            "bw_gbps": float(batch.bw_share[0, c] * partitioned_gbps(platform)),
            "buffer_mib": float(batch.buffer_share[0, c] * platform.buffer_bytes / MIB),
        }  # fmt: skip
        if layer_core is not None and workload is not None:
            mine = np.asarray(layer_core) == len(cores)
            entry["layers"] = int(mine.sum())
            entry["models"] = sorted({workload.model_names[m] for m in np.asarray(workload.model)[mine].tolist()})
        cores.append(entry)
    return cores


def design_columns(designs, platform) -> dict[str, list]:
    """``pareto.csv``'s readable design columns, one list per column over ``designs``: the core
    count, the mapping mode, and per core slot its size, PEs, dataflow, GB/s and MiB (empty where
    a design has fewer cores)."""
    from objectives.chip import partitioned_gbps

    gbps = partitioned_gbps(platform)  # what the bandwidth shares split: DRAM's, or Herald's global NoC
    width = max((len(d.cores) for d in designs), default=0)
    columns: dict[str, list] = {"cores": [len(d.cores) for d in designs],
                                "mapping": ["greedy" if d.is_greedy else "searched" for d in designs]}
    for k in range(width):
        present = [d.cores[k] if k < len(d.cores) else None for d in designs]
        columns[f"core{k}_size"] = [("" if c is None else c.size or "custom") for c in present]
        columns[f"core{k}_pes"] = [("" if c is None else c.pes) for c in present]
        columns[f"core{k}_dataflow"] = [("" if c is None else c.dataflow) for c in present]
        columns[f"core{k}_bw_gbps"] = [("" if c is None else c.bw_share * gbps) for c in present]
        columns[f"core{k}_buffer_mib"] = [("" if c is None else c.buffer_share * platform.buffer_bytes / MIB)
                                          for c in present]
    return columns


def _given(section: dict) -> dict:
    """A config section without the keys left at None (what the user did not set)."""
    return {k: v for k, v in section.items() if v is not None} if isinstance(section, dict) else section


def design_payload(design, metrics, workload, *, workload_config: dict, platform_config: dict, space: str,
                   origin: dict, layer_mappings: list[dict] | None = None, batch=None, platform=None) -> dict:  # fmt: skip
    """A design file's content: the ``Design``, its metrics (batch of one, with schedule), each
    layer's chosen mapping on its core, and how to rebuild it.

    ``workload``/``platform`` are the config sections that rebuild the problem
    (``cosearch evaluate``); ``chip`` and ``cores`` say in numbers what they
    resolved to (with ``batch`` and ``platform``); ``layer_core`` is each
    layer's core as evaluated — the design's own ``layer_core`` is −1 for
    every layer when it asks for greedy mapping, which is decided per
    evaluation; ``mapping`` says which.
    """
    row = metrics.row(0)
    schedule = metrics.schedule
    feasible = bool(metrics.feasible[0])
    resolved = metrics.layer_core[0].tolist() if feasible else None
    payload = {
        "origin": origin,
        "workload": _given(workload_config),
        "platform": _given(platform_config),
        "space": space,
        "design": design.to_dict(),
        "mapping": "greedy" if design.is_greedy else "searched",
        "layer_core": resolved,
    }
    if batch is not None and platform is not None:
        payload["chip"] = platform_numbers(platform)
        payload["cores"] = core_numbers(batch, platform, resolved, workload)
    payload.update({
        "metrics": row,
        "model_names": list(workload.model_names),
        "schedule": None if schedule is None else {
            "start_s": schedule["start_s"][0].tolist(),
            "finish_s": schedule["finish_s"][0].tolist(),
            "core": schedule["core"][0].tolist(),
            "layer_model": workload.model.tolist(),
            "layer_names": list(workload.layer_names),
        },
        "layer_mappings": layer_mappings,
    })
    return payload


def _better(result, other) -> bool:
    """Whether ``result`` found a better first objective than ``other`` (a run without one never is)."""
    if result.best_objectives is None:
        return False
    return other.best_objectives is None or result.best_objectives[0] < other.best_objectives[0]


class ResultsWriter:
    """Writes one experiment's results directory; see the module docstring.

    ``resolved_config``: the config with every default filled in, as written
    to ``config.yaml`` (secrets already hidden); ``plots``: the figure format,
    or None for none; ``redact``: what may be written of an error's text.
    The caller holds ``results.locked()`` around everything.
    """

    def __init__(self, results: ResultsDir, resolved_config: dict, *, resume: bool = False,
                 plots: str | None = "png", redact: Callable[[str], str] = lambda text: text):  # fmt: skip
        self.results, self.resolved_config, self.resume = results, resolved_config, resume
        self.plots, self.redact = plots, redact
        self.hashes: dict[str, str] = {}
        self.ids: dict[str, str] = {}

    # -- before the runs ----------------------------------------------------

    def open(self, specs: Sequence) -> dict:
        """Make the directory ready; returns the runs already finished (resuming), by label."""
        self.ids = {s.label: s.run_id for s in specs}
        self.hashes = {s.label: spec_hash(s) for s in specs}
        finished = self.results.prepare(self.resolved_config, resume=self.resume, compare_keys=RESULT_KEYS,
                                        run_hashes={self.ids[k]: h for k, h in self.hashes.items()})
        return {s.label: self.restored(s) for s in specs if s.run_id in finished}

    def restored(self, spec):
        """A finished run read back from its files, shaped like ``run.RunResult``."""
        from cosearch.pareto import ParetoArchive
        from cosearch.run import RunResult

        results = self.results
        record = results.read_run(spec.run_id)
        s = record["summary"]
        return RunResult(
            label=spec.label, spec=spec, evaluations=s["evaluations"], seconds=s["seconds"],
            stopped_by=s["stopped_by"], best_x=None if s["best_x"] is None else np.asarray(s["best_x"]),
            best_objectives=None if s["best_objectives"] is None else np.asarray(s["best_objectives"]),
            best_metrics=s["best_metrics"], history=results.read_history(spec.run_id),
            archive=ParetoArchive.from_dict(record["archive"]), feasible_evaluations=s["feasible_evaluations"])

    # -- while the runs go --------------------------------------------------

    def record(self, event: dict) -> None:
        """Write what ``event`` (see ``experiment.Collector``) concludes: a run's files or its error."""
        if event["type"] == "failed":
            self.results.write_error(self.ids[event["label"]], self.redact(event["error"]))
        elif event["type"] == "finished":
            result = event["result"]
            run_id = self.ids[result.label]
            self.results.write_run(run_id, result.history, {
                "summary": {**result.summary(), "run_id": run_id, "kind": result.spec.kind},
                "spec_hash": self.hashes[result.label], "archive": result.archive.to_dict()})

    # -- after the runs -----------------------------------------------------

    def _design_file(self, name, problem, X, origin, space_name, workload_config, platform_config) -> tuple[str, dict]:
        """Decode ``X`` (one point), score it alone with its schedule, write ``designs/<name>.json``."""
        from objectives import evaluate
        from objectives.evaluator import layer_mappings

        X = np.asarray(X, dtype=np.float64).reshape(1, -1)
        design = problem.space.designs(X)[0]
        batch = design.to_batch(problem.platform)
        if hasattr(problem, "score"):  # scored on request streams too (cosearch.scenarios.ServingProblem)
            metrics = problem.score(batch, with_schedule=True)
        else:
            metrics = evaluate(batch, problem.workload, problem.platform, with_schedule=True)
        mappings = (layer_mappings(batch, problem.workload, problem.platform, metrics.layer_core[0])
                    if metrics.feasible[0] else None)
        payload = design_payload(design, metrics, problem.workload, workload_config=workload_config,
                                 platform_config=platform_config, space=space_name, origin=origin,
                                 layer_mappings=mappings, batch=batch, platform=problem.platform)
        if hasattr(problem, "serving"):  # so `cosearch evaluate` scores it on the same request streams
            payload["serving"] = problem.serving.model_dump(mode="json")
        path = self.results.write_design(name, payload)
        return str(path.relative_to(self.results.root)), payload["metrics"]

    @staticmethod
    def _serving(main, best_x, best_baseline: dict, problems: Mapping, space_name: str) -> dict:
        """``summary.json``'s ``serving`` entry (``cosearch.serving_results``) for the best design and
        each baseline's, each served by the problem that scored it."""
        from cosearch.serving_results import serving_summary

        def design(problem, x):
            return problem.space.designs(np.asarray(x, dtype=np.float64).reshape(1, -1))[0]

        entries = {f"best ({space_name})": (main, design(main, best_x))}
        for label, result in best_baseline.items():
            if result.best_x is not None:
                problem = problems[result.spec.problem.key]
                entries[label] = (problem, design(problem, result.best_x))
        return serving_summary(entries)

    def finish(self, name: str, specs: Sequence, outcome, problems: Mapping, *, seconds: float) -> dict:
        """Write the front, the designs, the plots and ``summary.json`` (last); returns the summary.

        The experiment's own problem is that of its first search run; its
        ``workload``/``platform`` sections (plain data) are recorded in every
        design file so ``cosearch evaluate`` can rebuild them.
        """
        from cosearch import report
        from cosearch.pareto import ParetoArchive

        results, ids = self.results, self.ids
        first = next(s for s in specs if s.kind == "search")
        main_key = first.problem.key
        main = problems[main_key]
        sections = dict(workload_config=first.problem.workload, platform_config=first.problem.platform)
        space_name = first.problem.space
        archive = outcome.archives.get(main_key) or ParetoArchive(first.archive_keys, first.reference)
        for spec in specs:  # restored runs' fronts join the merged archive
            result = outcome.runs[spec.label]
            if spec.problem.key == main_key:
                archive.merge(result.archive)
        runs = [outcome.runs[s.label] for s in specs]
        search = [r for r in runs if r.spec.problem.key == main_key and r.best_x is not None]
        summary = {
            "experiment": name, "workload": main.workload.name, "platform": main.platform.name,
            "space": space_name,
            "genes": main.dim, "layers": main.workload.num_layers, "objective": list(first.objectives),
            "evaluations": int(sum(r.evaluations for r in runs)), "seconds": seconds,
            "best": None, "baselines": {}, "runs": [],
            "pareto": {"keys": list(archive.keys), "size": len(archive), "hypervolume": archive.hypervolume(),
                       "reference": archive.reference, "file": "pareto.csv"},
            "optuna_storage": redact_url(next((s.optimizer_options["storage"] for s in specs
                                                if "storage" in s.optimizer_options), None)),
        }  # fmt: skip
        names = {}
        if search:
            if len(first.objectives) == 1:
                best_run = min(search, key=lambda r: tuple(r.best_objectives))
                best_x, origin = best_run.best_x, {"run": ids[best_run.label], "evaluations": best_run.evaluations}
            else:  # several objectives: the front member with the lowest EDP
                k = {key: i for i, key in enumerate(archive.keys)}
                i = int(np.argmin(archive.values[:, k["latency_s"]] * archive.values[:, k["energy_j"]]))
                best_x = archive.X[i]
                origin = {"run": ids.get(archive.source[i], archive.source[i]), "evaluation": int(archive.evaluation[i])}
            file, metrics = self._design_file("best", main, best_x, origin, space_name, **sections)
            summary["best"] = {"design": file, "metrics": metrics, **origin}
        edp = archive.values[:, 0] * archive.values[:, 1] if len(archive) else np.zeros(0)
        for rank, i in enumerate(np.argsort(edp, kind="stable")[:FRONT_DESIGNS]):
            origin = {"run": ids.get(archive.source[i], str(archive.source[i])), "evaluation": int(archive.evaluation[i])}
            names[int(i)], _ = self._design_file(f"pareto-{rank}", main, archive.X[i], origin, space_name, **sections)
        results.write_pareto(archive.keys, archive.values, [ids.get(s, s) for s in archive.source],
                             archive.evaluation, archive.X, [names.get(i, "") for i in range(len(archive))],
                             gene_names=[gene.name for gene in main.genes],
                             design_columns=design_columns(main.space.designs(archive.X), main.platform)
                             if len(archive) else None)
        best_baseline = {}  # label → its best run so far, over the baseline's seeds
        for spec, result in zip(specs, runs):
            run_id = ids[spec.label]
            record = {"run_id": run_id, "kind": spec.kind,
                      "optimizer": spec.optimizer, "seed": spec.seed, "space": spec.problem.space,
                      "evaluations": result.evaluations, "seconds": result.seconds, "stopped_by": result.stopped_by,
                      "best_objectives": None if result.best_objectives is None else result.best_objectives.tolist()}
            summary["runs"].append(record)
            if spec.kind == "baseline":
                label = spec.problem.key.partition(":")[0]
                previous = best_baseline.get(label)
                if previous is not None and not _better(result, previous):
                    continue
                best_baseline[label] = result
                entry = {"run": run_id, "space": spec.problem.space, "design": None, "metrics": None}
                if result.best_x is not None:
                    entry["design"], entry["metrics"] = self._design_file(
                        f"baseline-{label}", problems[spec.problem.key], result.best_x,
                        {"run": run_id, "evaluations": result.evaluations}, spec.problem.space, **sections)
                summary["baselines"][label] = entry
        if summary["best"] and hasattr(main, "judge"):  # served on request streams: the serving figures' data
            summary["serving"] = self._serving(main, best_x, best_baseline, problems, space_name)
        best_edp = summary["best"]["metrics"]["edp"] if summary["best"] else math.inf
        for entry in summary["baselines"].values():
            entry["edp_over_best"] = entry["metrics"]["edp"] / best_edp if entry["metrics"] and summary["best"] else None
        # summary.json last: its presence says every other file is complete
        plots = report.plot_results(results, fmt=self.plots, summary=summary) if self.plots else []
        if plots:
            summary["plots"] = [str(p.relative_to(results.root)) for p in plots]
        results.write_summary(summary)
        return summary
