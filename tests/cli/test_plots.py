"""plots.py from plain arrays: every figure renders headless, to PNG or SVG, edge cases included."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest

from cosearch import plots


def _png(path):
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and min(image.shape[:2]) > 100
    return image


def test_pareto_front_with_baselines_and_infeasible_points(tmp_path):
    rng = np.random.default_rng(0)
    latency, energy = rng.lognormal(-6, 1, 200), rng.lognormal(-4, 0.3, 200)
    latency[:5] = np.inf  # infeasible designs are skipped, not plotted at infinity
    front = np.zeros(200, bool)
    front[::7] = True
    path = plots.pareto_front(tmp_path / "p.png", latency_s=latency, energy_j=energy, front=front,
                              best=(latency[7], energy[7]), baselines={"fda": (1e-3, 2e-2), "none": (np.inf, 1.0)})
    _png(path)


def test_pareto_front_of_nothing_feasible_still_renders(tmp_path):
    _png(plots.pareto_front(tmp_path / "p.png", latency_s=[np.inf], energy_j=[np.inf]))


def test_convergence_median_and_band(tmp_path):
    runs = [{"evaluations": [16, 32, 48], "seconds": [0.1, 0.2, 0.3], "best": [3.0, 2.0, 1.0]},
            {"evaluations": [16, 32, 48], "seconds": [0.1, 0.3, 0.4], "best": [4.0, np.inf, 2.0]}]
    _png(plots.convergence(tmp_path / "c.png", {"cmaes": runs, "random": runs[:1]}))


def test_quartiles_are_stepwise_best_so_far():
    runs = [(np.array([10, 20]), np.array([5.0, 3.0])), (np.array([10, 20]), np.array([7.0, 1.0]))]
    q25, q50, q75 = plots._quartiles(runs, np.array([5, 10, 15, 20]))
    assert np.isnan(q50[0]) and q50[1] == 6.0 and q50[2] == 6.0 and q50[3] == 2.0
    assert q25[3] == 1.5 and q75[3] == 2.5


def test_design_diagram_and_gantt(tmp_path):
    cores = [{"size": "PE512", "pes": 512, "dataflow": "ws_kc", "bw_share": 0.7, "buffer_share": 0.4},
             {"size": None, "pes": 256, "dataflow": "os_yx", "bw_share": 0.3, "buffer_share": 0.6}]
    _png(plots.design_diagram(tmp_path / "d.png", cores, compute=("compute (DSP)", [0.5, 0.1], ["642", "98"]), work_share=[0.8, 0.2], notes=["EDP 1 J·s"]))
    start = np.arange(10) * 1e-3
    _png(plots.gantt(tmp_path / "g.png", start_s=start, finish_s=start + 8e-4, core=np.arange(10) % 2,
                     layer_model=np.arange(10) // 5, model_names=["a", "b"]))


def test_compare_fronts_and_svg(tmp_path):
    path = plots.compare_fronts(tmp_path / "x.svg", {"one": ([1e-3, 2e-3], [2.0, 1.0]), "two": ([], [])})
    assert path.read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize(("value", "text"), [(7.081e-6, "7.08 µJ·s"), (2.1e-4, "210 µJ·s"), (0.5207, "521 mJ·s"),
                                             (1234.5, "1.23 kJ·s"), (0.0, "0 J·s")])
def test_si_prefixes(value, text):
    assert plots.si(value, "J·s") == text
