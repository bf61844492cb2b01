"""``cosearch cost``: the per-layer table of one model on one core, its CSV, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from cosearch.layer_costs import COLUMNS, layer_costs
from cosearch.results import read_csv
from objectives import evaluate
from objectives.workloads import ModelBuilder, Workload
from spaces import get_platform, single_design
from spaces.hardware import DATAFLOWS
from tests.cli.conftest import cosearch


def test_cost_prints_every_layer_and_writes_the_csv(tmp_path):
    out = tmp_path / "layers.csv"
    result = cosearch("cost", "mobilenet_v2", "--platform", "edge", "--core", "PE1024:ws_kc", "--csv", out)
    assert result.returncode == 0, result.stderr
    assert "mobilenet_v2 on PE1024:ws_kc (32 K x 32 C)" in result.stdout
    table = read_csv(out)
    assert list(table) == list(COLUMNS)
    assert len(table["layer"]) == 53 and table["layer"][0] == "conv0"
    # depthwise layers run one channel at a time on the K x C array
    depthwise = [u for layer, u in zip(table["layer"], table["utilization"]) if layer.endswith(".dw")]
    assert max(depthwise) == pytest.approx(1 / 1024)
    assert set(table["bound"]) <= {"compute", "dram", "buffer"}


def test_cost_latency_and_energy_match_a_one_core_design():
    """The command's per-layer cycles and energy are what the evaluator charges a one-core design."""
    model = ModelBuilder("pair")
    model.conv("c1", k=64, c=32, y=28, r=3)
    model.conv("c2", k=64, c=64, y=28, r=3, after=())  # no predecessor: input from DRAM
    model = model.build()
    edge = get_platform("edge")
    _, rows = layer_costs(model, edge, edge.core_sizes[edge.size_index("PE1024")], DATAFLOWS["os_yx"])
    design = single_design(core_pes=[1024], core_dataflow=["os_yx"], layer_core=[0, 0])
    metrics = evaluate(design, Workload.from_models("pair", [model]), edge)
    cycles = sum(r["cycles"] for r in rows)
    assert metrics.latency_s[0] == pytest.approx(cycles / edge.clock_hz)  # two independent layers, one core
    energy_uj = sum(r[c] for r in rows for c in COLUMNS if c.endswith("_uj"))
    assert metrics.dynamic_energy_j[0] == pytest.approx(energy_uj * 1e-6)
    assert all(np.isclose(r["cycles"], r["compute_cycles"] + r["stall_cycles"]) for r in rows)


@pytest.mark.parametrize(
    "args, message",
    [
        (("nope", "--platform", "edge"), "unknown model 'nope' (allowed:"),
        (("absent.csv", "--platform", "edge"), "model file 'absent.csv' does not exist"),
        (("resnet50", "--platform", "moon"), "unknown platform 'moon' (allowed:"),
        (("resnet50", "--platform", "edge", "--core", "PE1024"), "--core 'PE1024' is not SIZE:DATAFLOW"),
        (("resnet50", "--platform", "edge", "--core", "PE3:ws_kc"), "unknown core size 'PE3'"),
        (("resnet50", "--platform", "edge", "--core", "PE1024:wsx"), "unknown dataflow 'wsx' (allowed:"),
    ],
)
def test_cost_bad_input_exits_2_with_a_message(args, message):
    result = cosearch("cost", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
