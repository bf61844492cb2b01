"""The attribution chain on the tiny problem: each step's restrictions, brute force at the start, monotone gains."""

import itertools
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cosearch.attribution import STEPS, attribute, gains, step_problem
from cosearch.testing import tiny_problem
from objectives import evaluate

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny():
    return tiny_problem()


def test_the_homogeneous_step_is_identical_stock_cores_and_each_step_frees_one_more_choice(tiny):
    spaces = {step: step_problem(STEPS[1 : k + 1], tiny.workload, tiny.platform, "ws_kc")
              for k, step in enumerate(STEPS)}
    names = {step: {g.name.split(".")[-1] if "." in g.name else g.name for g in space.genes}
             for step, (space, _) in spaces.items()}
    assert names["homogeneous"] == {"cores", "size"}
    assert names["dataflow"] == {"cores", "size", "dataflow"}
    assert names["partition"] == {"cores", "size", "dataflow", "bw_share", "buffer_share"}
    assert "priority" not in names["layer_mapping"] and "priority" in names["schedule"]
    assert [p.intra_core_mapping for _, p in spaces.values()] == ["stationary"] + ["search"] * 6
    space, _ = spaces["homogeneous"]
    designs = space.decode(space.sample(200, 0))
    active = designs.core_pes > 0
    assert {designs.dataflows[i].name for i in designs.core_dataflow[active]} == {"ws_kc"}
    assert (np.where(active, designs.core_pes == designs.core_pes[:, :1], True)).all()
    assert (designs.layer_core == -1).all()  # greedy best fit
    space, _ = spaces["dataflow"]
    designs = space.decode(space.sample(200, 1))
    assert len({tuple(row) for row in designs.core_dataflow[(designs.core_pes > 0).all(axis=1)].tolist()}) > 1


def test_the_chain_starts_at_the_brute_force_baseline_and_never_rises(tiny):
    results = attribute(tiny.workload, tiny.platform, "ws_kc", seeds=(0, 1), evaluations=150, optimizer="random")
    assert [r.step for r in results] == list(STEPS) * 2
    # Brute force over the homogeneous step: 2 core counts x 3 sizes, at the centre of each bin.
    space, platform = step_problem((), tiny.workload, tiny.platform, "ws_kc")
    grid = np.array([[(i + 0.5) / 2, (j + 0.5) / 3] for i, j in itertools.product(range(2), range(3))])
    brute = evaluate(space.decode(grid), tiny.workload, platform).edp.min()
    for seed in (0, 1):
        chain = [r.edp for r in results if r.seed == seed]
        assert chain[0] == pytest.approx(brute, rel=1e-12)
        assert all(b <= a * (1 + 1e-12) for a, b in zip(chain, chain[1:]))
        # Everything freed reaches at least the tiny space's optimum (PE128 os_yx + PE256 ws_kc, even shares).
        assert chain[-1] <= 6.43e-10
    summary = gains(results)
    assert set(summary) == {*STEPS[1:], "total"}
    for mean, low, high in summary.values():
        assert 1.0 - 1e-12 <= low <= mean <= high
    steps_product = math.prod(summary[s][0] for s in STEPS[1:])
    same_every_seed = all(low == high for low, high in ((v[1], v[2]) for v in summary.values()))
    if same_every_seed:
        assert steps_product == pytest.approx(summary["total"][0], rel=1e-9)
    assert summary["dataflow"][0] > 1.2  # the CNN wants os_yx, the GEMMs ws_kc


def test_an_unknown_or_repeated_step_is_refused(tiny):
    with pytest.raises(ValueError, match="unknown attribution step 'dram'"):
        step_problem(["dram"], tiny.workload, tiny.platform, "ws_kc")
    with pytest.raises(ValueError, match="frees a choice twice"):
        attribute(tiny.workload, tiny.platform, "ws_kc", order=["dataflow", "dataflow"])


def test_another_order_frees_the_same_choices_and_ends_at_the_same_space(tiny):
    """Granularity before dataflow: the same start and the same fully free space, credited differently."""
    order = ("granularity", "dataflow", "partition", "layer_mapping", "intra_core", "schedule")
    results = attribute(tiny.workload, tiny.platform, "ws_kc", seeds=(0,), evaluations=150, optimizer="random",
                        order=order)
    assert [r.step for r in results] == ["homogeneous", *order]
    chain = [r.edp for r in results]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(chain, chain[1:]))
    assert chain[-1] <= 6.43e-10


def test_with_cma_es_no_step_ends_above_the_design_it_started_from(tiny):
    """CMA-ES injects the start into its first generation, so each step scores it (to share rounding)."""
    results = attribute(tiny.workload, tiny.platform, "ws_kc", seeds=(0, 1, 2), evaluations=24, optimizer="cmaes",
                        options={"popsize": 8})
    for seed in (0, 1, 2):
        chain = [r.edp for r in results if r.seed == seed]
        assert all(b <= a * (1 + 1e-9) for a, b in zip(chain, chain[1:])), chain


def test_the_dataflow_step_chooses_only_from_the_menu_given(tiny):
    """A menu narrower than the platform's: the stock dataflow and the menu, nothing else, in every step."""
    freed = ("intra_core", "dataflow")
    default, _ = step_problem(freed, tiny.workload, tiny.platform, "ws_kc")
    assert default.dataflow_names == ("ws_kc", "os_yx")  # the platform's, as before
    only_stock, _ = step_problem(freed, tiny.workload, tiny.platform, "ws_kc", dataflows=["ws_kc"])
    assert only_stock.dataflow_names == ("ws_kc",)
    designs = only_stock.decode(only_stock.sample(200, 0))
    assert {designs.dataflows[i].name for i in designs.core_dataflow[designs.core_pes > 0]} == {"ws_kc"}
    # The stock dataflow stays first even when the menu leaves it out: the start is built from it.
    space, _ = step_problem(freed, tiny.workload, tiny.platform, "ws_kc", dataflows=["os_yx"])
    assert space.dataflow_names == ("ws_kc", "os_yx")
    # With ws_kc alone the chain cannot reach the tiny space's optimum, which needs an os_yx core for the CNN.
    results = attribute(tiny.workload, tiny.platform, "ws_kc", seeds=(0,), evaluations=150, optimizer="random",
                        dataflows=["ws_kc"])
    assert {core.split(":")[1] for r in results for core in r.cores.split(" + ")} == {"ws_kc"}
    assert min(r.edp for r in results) > 6.43e-10
    for bad in ("ws_kc", []):
        with pytest.raises(ValueError, match="attribution dataflows: expected a non-empty list"):
            step_problem(freed, tiny.workload, tiny.platform, "ws_kc", dataflows=bad)


MENU_CONFIG = """\
name: menu_{second}
workload: {{models: [{{file: {csv}}}]}}
platform: {{preset: edge}}
space: {{name: cosearch, options: {{max_cores: 2, dataflows: [ws_kc, {second}]}}}}
objective: edp
optimizers: [{{name: random}}]
seeds: 1
budget: {{evaluations: 16}}
ray: {{enabled: false}}
"""


def test_the_script_frees_the_dataflows_of_each_experiments_space_not_of_its_platform(tmp_path):
    """Two experiments on one platform (edge: ws_kc, os_yx, rs, systolic) that differ only in their space's
    dataflow menu get different chains, each within its menu (the ShiDianNao ablations' case: before, both
    chains freed the platform's four dataflows and came out identical)."""
    csv = REPO / "experiments" / "custom" / "tiny_cnn.csv"
    paths = []
    for second in ("os_yx", "systolic"):
        paths.append(tmp_path / f"menu_{second}.yaml")
        paths[-1].write_text(MENU_CONFIG.format(second=second, csv=csv))
    out = tmp_path / "chains.json"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "attribution.py"), *map(str, paths), "--seeds", "1",
                    "--optimizer", "random", "--evaluations", "16", "--stock", "ws_kc", "--json", str(out)],
                   check=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL)
    chains = json.loads(out.read_text())
    used = {second: {core.split(":")[1] for step in chains[f"menu_{second}"]["steps"]
                     for core in step["cores"].split(" + ")} for second in ("os_yx", "systolic")}
    # The small CNN runs far better on an output-stationary array than on ws_kc, and the chain finds it ...
    assert used["os_yx"] == {"ws_kc", "os_yx"}
    # ... where the other experiment's space cannot.
    assert "os_yx" not in used["systolic"] and used["systolic"] <= {"ws_kc", "systolic"}
    for second in ("os_yx", "systolic"):
        assert chains[f"menu_{second}"]["settings"]["dataflows"] == ["ws_kc", second]
