"""Check the core model against published per-layer figures (docs/validation.md).

    python benchmarks/validation.py                 # print the comparison tables (markdown)
    python benchmarks/validation.py --data F.yaml   # another reference file of the same form

The references, their sources and the hardware each ran on are data, in
benchmarks/validation_data.yaml.  For each reference the hardware becomes a
platform (``spaces.userdefs.load_platform``) with one core, the layers
become a model, and the model's figures are set beside the published ones:
per figure the ratio ours / published and Spearman's rank correlation over
the layers (or applications).

Each layer runs alone on a one-core design (``objectives.evaluate``), so it
pays its own input, weight and output traffic as the published per-layer
figures do; the per-layer mapper (``objectives.mapper``) gives what the
evaluator sums away: the chosen mapping's utilization, its buffer traffic
and its energy per level.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path

import numpy as np
import yaml
from scipy import stats

from objectives import evaluate, mapper
from objectives.workloads import Model, Op, Workload, make_model
from spaces import single_design
from spaces.hardware import Platform, get_dataflow
from spaces.userdefs import load_platform

REFERENCES = Path(__file__).with_name("validation_data.yaml")
MB = 1e6


@dataclasses.dataclass(frozen=True)
class LayerFigures:
    """The model's figures per layer, ``(L,)`` each: seconds, bytes, joules."""

    latency_s: np.ndarray
    utilization: np.ndarray
    dram_bytes: np.ndarray
    buffer_bytes: np.ndarray
    on_chip_j: np.ndarray
    static_j: np.ndarray

    @property
    def power_w(self) -> np.ndarray:
        """On-chip power while the layer runs (a chip's measured power excludes DRAM)."""
        return (self.on_chip_j + self.static_j) / self.latency_s


def load_references(path: str | Path = REFERENCES) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def reference_platform(reference: dict, name: str) -> Platform:
    return load_platform(reference["platform"], source=f"{name}.platform")


def conv_model(name: str, layers: list[dict], batch: int) -> Model:
    """Square conv layers from ``{name, G, K, C, Y, R, stride}`` rows (K and C per group)."""
    dims = [(batch, row["G"], row["K"], row["C"], row["Y"], row["Y"], row["R"], row["R"]) for row in layers]
    return make_model(
        name, [row["name"] for row in layers], [Op.CONV] * len(layers), dims,
        [row["stride"] for row in layers], [()] * len(layers),
    )


def fc_chain(name: str, *, fc_layers: int, weights: float, batch: int) -> Model:
    """``fc_layers`` equal square FC layers holding ``weights`` in total, each reading the last."""
    width = round(math.sqrt(weights / fc_layers))
    dims = [(1, 1, width, width, batch, 1, 1, 1)] * fc_layers
    return make_model(
        name, [f"fc{i}" for i in range(fc_layers)], [Op.GEMM] * fc_layers, dims, [1] * fc_layers,
        [()] + [(i,) for i in range(fc_layers - 1)],
    )


def _one_core(platform: Platform, core: dict, layers: int):
    size = platform.size_index(core["size"])
    return single_design(
        core_pes=[platform.core_sizes[size].pes], core_dataflow=[core["dataflow"]], layer_core=[0] * layers,
        core_size=[size],
    )


def _layer(model: Model, i: int) -> Model:
    return make_model(
        model.name, [model.layer_names[i]], model.op[i : i + 1], model.dims[i : i + 1], model.stride[i : i + 1],
        [()], dilation=model.dilation[i : i + 1],
    )


def chosen_mappings(model: Model, platform: Platform, core: dict) -> mapper.LayerCosts:
    """The mapper's choice per layer on the reference's core owning the whole buffer
    (rounded down to its capacity rung, as the evaluator does), ``(1, L)`` arrays."""
    size = platform.core_sizes[platform.size_index(core["size"])]
    capacity = mapper.rung_bytes(mapper.rung_of(np.array(float(platform.buffer_bytes))))
    return mapper.map_layers(
        mapper.core_for(platform, get_dataflow(core["dataflow"]), size.pes, size.unroll, size.clock_hz),
        mapper.Layers.from_workload(model), [capacity], platform.mapping_objective,
    )


def layer_figures(model: Model, platform: Platform, core: dict) -> LayerFigures:
    """Each layer of ``model`` run alone on the reference's one core."""
    runs = [evaluate(_one_core(platform, core, 1), Workload.from_models(model.name, [_layer(model, i)]), platform)
            for i in range(model.num_layers)]
    chosen = chosen_mappings(model, platform, core)
    energy = chosen.energy_pj[0] * 1e-12  # (L, levels) J
    on_chip = [mapper.LEVELS.index(level) for level in ("mac", "rf", "noc", "buffer")]
    return LayerFigures(
        latency_s=np.array([r.latency_s[0] for r in runs]),
        utilization=chosen.utilization[0],
        dram_bytes=np.array([r.dram_bytes[0] for r in runs]),
        buffer_bytes=chosen.buffer_bytes[0],
        on_chip_j=energy[:, on_chip].sum(axis=1),
        static_j=np.array([r.static_energy_j[0] for r in runs]),
    )


def effective_utilization(model: Model, platform: Platform, core: dict) -> float:
    """MACs over (latency x PEs x clock) for the whole model on the reference's core."""
    result = evaluate(_one_core(platform, core, model.num_layers), Workload.from_models(model.name, [model]), platform)
    pes = platform.core_sizes[platform.size_index(core["size"])].pes
    return float(model.macs.sum() / (result.latency_s[0] * pes * platform.clock_hz))


@dataclasses.dataclass(frozen=True)
class Comparison:
    figure: str
    unit: str
    ours: np.ndarray
    published: np.ndarray

    @property
    def ratio(self) -> np.ndarray:
        return self.ours / self.published

    @property
    def spearman(self) -> float:
        """Rank correlation over the rows the source gives (not NaN); NaN when
        either side is then constant."""
        given = ~np.isnan(self.published)
        ours, published = self.ours[given], self.published[given]
        if np.ptp(ours) == 0 or np.ptp(published) == 0:
            return float("nan")
        return float(stats.spearmanr(ours, published).statistic)


def published_figures(reference: dict) -> dict[str, np.ndarray]:
    """Each published column as float64, a cell the source does not give (null) as NaN."""
    return {k: np.array([np.nan if x is None else x for x in v], dtype=np.float64)
            for k, v in reference["published"].items()}


def conv_comparisons(reference: dict, name: str) -> tuple[list[str], list[Comparison]]:
    """Per-layer figures of a conv network on an Eyeriss-like core (Table V / VI columns)."""
    platform = reference_platform(reference, name)
    model = conv_model(name, reference["layers"], reference["batch"])
    ours = layer_figures(model, platform, reference["core"])
    published = published_figures(reference)
    pes = platform.core_sizes[platform.size_index(reference["core"]["size"])].pes
    rows = [
        Comparison("processing latency", "ms", ours.latency_s * 1e3, published["processing_latency_ms"]),
        Comparison("PE utilization", "%", ours.utilization * 100, published["active_pes"] / pes * 100),
        Comparison("buffer accesses", "MB", ours.buffer_bytes / MB, published["buffer_accesses_mb"]),
        Comparison("DRAM accesses", "MB", ours.dram_bytes / MB, published["dram_accesses_mb"]),
        Comparison("power (on chip)", "mW", ours.power_w * 1e3, published["power_mw"]),
        Comparison("MACs", "G", model.macs / 1e9, published["macs_g"]),
    ]
    return list(model.layer_names), rows


def app_comparisons(reference: dict, name: str) -> tuple[list[str], list[Comparison]]:
    """Per-application utilization of FC chains on a TPU-like core (Table 3 rows 2 and 9)."""
    platform = reference_platform(reference, name)
    apps = reference["apps"]
    ours = [
        effective_utilization(
            fc_chain(app["name"], fc_layers=app["fc_layers"], weights=app["weights"], batch=app["batch"]),
            platform, reference["core"],
        )
        for app in apps
    ]
    published = published_figures(reference)
    pes = platform.core_sizes[platform.size_index(reference["core"]["size"])].pes
    peak_tera_ops = 2 * pes * platform.clock_hz / 1e12  # two ops per MAC, as the paper's 92 TOPS
    rows = [
        Comparison("useful MACs, counters", "% of peak", np.array(ours) * 100, published["useful_macs_pct"]),
        Comparison("throughput, production code", "TOPS", np.array(ours) * peak_tera_ops, published["tera_ops"]),
    ]
    return [app["name"] for app in apps], rows


def _cells(values: np.ndarray, spec: str) -> str:
    return " | ".join("—" if np.isnan(v) else format(v, spec) for v in values)


def markdown(columns: list[str], rows: list[Comparison]) -> str:
    """One block of three lines (ours, published, ratio) per figure; — where the source gives no value."""
    head = "| figure | | " + " | ".join(columns) + " | Spearman |"
    lines = [head, "|---|---|" + "---:|" * (len(columns) + 1)]
    for row in rows:
        label = f"{row.figure} ({row.unit})"
        lines.append(f"| {label} | ours | {_cells(row.ours, '.3g')} | {row.spearman:.2f} |")
        lines.append(f"| | published | {_cells(row.published, '.3g')} | |")
        lines.append(f"| | ratio | {_cells(row.ratio, '.2f')} | |")
    return "\n".join(lines)


def comparisons(reference: dict, name: str) -> tuple[list[str], list[Comparison]]:
    """A reference's columns and figures: per layer (``layers``) or per application (``apps``)."""
    return (conv_comparisons if "layers" in reference else app_comparisons)(reference, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REFERENCES), help="reference file (default: %(default)s)")
    args = parser.parse_args(argv)
    references = load_references(args.data)
    for name, reference in references.items():
        columns, rows = comparisons(reference, name)
        print(f"### {reference['title']}\n")
        print(markdown(columns, rows))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
