"""plots.py from plain arrays: what each figure shows, asserted on the figure's artists (not pixels),
and that every figure renders headless to PNG or SVG, edge cases included."""

from __future__ import annotations

import dataclasses
import re

import matplotlib.image
import numpy as np
import pytest
from matplotlib.collections import PolyCollection, PathCollection

from cosearch import plots
from cosearch.plot_layout import renderer


def _png(path):
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and min(image.shape[:2]) > 100
    return image


def _box(artist, r):
    b = artist.get_window_extent(r)
    return np.array([b.x0, b.y0, b.x1, b.y1])


def _marker_box(collection):
    """Window box of a one-point scatter's marker: its path, scaled to its size, at its position."""
    from matplotlib.transforms import Affine2D

    fig = collection.figure
    size = Affine2D(collection.get_transforms()[0]).scale(fig.dpi / 72.0)
    extent = collection.get_paths()[0].get_extents(size)
    x, y = collection.axes.transData.transform(collection.get_offsets()[0])
    return np.array([x + extent.x0, y + extent.y0, x + extent.x1, y + extent.y1])


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _inside(a, outer, slack=0.5) -> bool:
    return a[0] >= outer[0] - slack and a[1] >= outer[1] - slack and a[2] <= outer[2] + slack and a[3] <= outer[3] + slack


def _tick_boxes(axis, r):
    """Window boxes of the tick labels drawn (visible, non-empty, within the view)."""
    lo, hi = sorted(axis.get_view_interval())
    boxes = []
    for tick in axis.get_major_ticks():
        if tick.label1.get_visible() and tick.label1.get_text() and lo <= tick.get_loc() <= hi:
            boxes.append(_box(tick.label1, r))
    return boxes


def _assert_apart(boxes):
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not _overlap(a, b), (a, b)


def _assert_texts_inside_and_apart(ax):
    """Texts written in the data (not the marks annotated above the axes) lie inside the axes, apart."""
    from matplotlib.text import Annotation

    r = renderer(ax.figure)
    frame = _box(ax, r)
    boxes = [_box(t, r) for t in ax.texts if t.get_visible() and not isinstance(t, Annotation)]
    for b in boxes:
        assert _inside(b, frame), (b, frame)
    _assert_apart(boxes)
    return boxes


def _front_case(rng):
    """Designs on a 3-D front (latency, energy, resources): many look dominated in latency–energy alone."""
    latency, energy = rng.lognormal(-6, 1, 300), rng.lognormal(-4, 0.3, 300)
    resources = rng.random(300)
    from cosearch.pareto import nondominated_mask

    front = nondominated_mask(np.column_stack([latency, energy, resources]))
    return latency, energy, front


def test_pareto_labels_carry_units_and_no_field_names():
    latency, energy, front = _front_case(np.random.default_rng(0))
    fig = plots.pareto_figure(latency_s=latency, energy_j=energy, front=front,
                              front_keys=("latency_s", "energy_j", "resource_fraction"),
                              best=(latency[front][0], energy[front][0]), baselines={"fda": (1e-3, 2e-2)})
    (ax,) = fig.axes
    assert ax.get_xlabel().startswith("latency") and re.search(r"\((m|µ)?s\)$", ax.get_xlabel())
    assert ax.get_ylabel().startswith("energy") and re.search(r"\((m|µ)?J\)$", ax.get_ylabel())
    legend = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    assert not re.search(r"latency_s|energy_j|resource_fraction", legend)
    assert "resources used" in legend and "J·s" in legend  # the third key by its label; EDPs with their unit


def test_pareto_draws_the_2d_front_apart_from_the_projected_set():
    latency, energy, front = _front_case(np.random.default_rng(1))
    fig = plots.pareto_figure(latency_s=latency, energy_j=energy, front=front,
                              front_keys=("latency_s", "energy_j", "resource_fraction"))
    (ax,) = fig.axes
    lat, en = latency[front], energy[front]
    flat = np.array([not ((lat <= a) & (en <= b) & ((lat < a) | (en < b))).any() for a, b in zip(lat, en)])
    assert 0 < flat.sum() < len(flat)  # brute force: the case has both kinds
    by_label = {c.get_label(): c for c in ax.collections if isinstance(c, PathCollection)}
    filled = next(c for k, c in by_label.items() if k.startswith("latency–energy front"))
    hollow = next(c for k, c in by_label.items() if k.startswith("Pareto-optimal only counting resources used"))
    assert len(filled.get_offsets()) == flat.sum() and len(hollow.get_offsets()) == (~flat).sum()
    assert (hollow.get_facecolor()[:, 3] == 0).all()  # hollow: no face, unlike the front
    (step,) = [line for line in ax.lines if line.get_color() == "k"]
    assert sorted(step.get_xdata()) == sorted(lat[flat]) and step.get_zorder() > filled.get_zorder()


def test_every_baseline_stays_visible_over_the_best_star():
    latency, energy, front = _front_case(np.random.default_rng(2))
    best = (float(latency[front][0]), float(energy[front][0]))
    baselines = {"same_as_best": best, "also_same": best, "elsewhere": (2e-3, 3e-2)}
    fig = plots.pareto_figure(latency_s=latency, energy_j=energy, front=front, best=best, baselines=baselines)
    (ax,) = fig.axes
    renderer(fig)
    points = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets()) == 1]
    for name in baselines:
        (mine,) = [c for c in points if c.get_label().startswith(f"baseline {name} ")]
        above = [c for c in points if c is not mine and c.get_zorder() >= mine.get_zorder()]
        for other in above:  # nothing drawn later covers the whole marker
            assert not _inside(_marker_box(mine), _marker_box(other), slack=0.0), (name, other.get_label())
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert sum(t.startswith("baseline ") for t in legend) == 3
    # and the star stays visible under them: a marker on its point is hollow (herald_arvr_a's
    # homogeneous_multicore baseline, 749 against 750 mJ·s, hid it as a filled square)
    hollow = {c.get_label().split(" ")[1]: not (c.get_facecolor()[:, 3] > 0).any()
              for c in points if c.get_label().startswith("baseline")}
    assert hollow == {"same_as_best": True, "also_same": True, "elsewhere": False}


@pytest.mark.parametrize("decades", [0.12, 0.3, 0.9, 1.2, 1.5, 3.0, 6.0])
def test_tick_labels_never_collide(decades):
    latency = np.geomspace(2e-3, 2e-3 * 10**decades, 40)
    energy = np.geomspace(5e-2, 5e-2 * 10 ** (decades / 2), 40)[::-1]
    fig = plots.pareto_figure(latency_s=latency, energy_j=energy, front=np.ones(40, bool))
    (ax,) = fig.axes
    r = renderer(fig)
    for axis in (ax.xaxis, ax.yaxis):
        boxes = _tick_boxes(axis, r)
        assert len(boxes) >= 2
        _assert_apart(boxes)


@pytest.mark.parametrize("seed", range(4))
def test_isoline_labels_sit_inside_the_axes_apart_and_off_the_points(seed):
    latency, energy, front = _front_case(np.random.default_rng(seed))
    fig = plots.pareto_figure(latency_s=latency, energy_j=energy, front=front, best=(latency[0], energy[0]))
    (ax,) = fig.axes
    boxes = _assert_texts_inside_and_apart(ax)
    assert len(boxes) >= 3 and all("J·s" in t.get_text() for t in ax.texts)
    centres = ax.transData.transform(np.column_stack([latency, energy]))
    for b in boxes:
        inside = (centres[:, 0] > b[0]) & (centres[:, 0] < b[2]) & (centres[:, 1] > b[1]) & (centres[:, 1] < b[3])
        assert not inside.any()


def test_compare_fronts_keeps_labels_and_legend_inside_the_figure(tmp_path):
    fronts = {"homogeneous_multicore_on_a_long_experiment_name": ([1e-3, 2e-3, 5e-3], [2.0, 1.0, 0.8]),
              "two": ([1.5e-3, 4e-3], [1.5, 0.9]), "none": ([], [])}
    fig = plots.compare_figure(fronts)
    (ax,) = fig.axes
    _assert_texts_inside_and_apart(ax)
    r = renderer(fig)
    page = np.array([0, 0, fig.bbox.width, fig.bbox.height])
    for text in fig.legends[0].get_texts():
        assert _inside(_box(text, r), page)
    assert "homogeneous_multicore_on_a_long_experiment_name" in fig.legends[0].get_texts()[0].get_text()
    path = plots.compare_fronts(tmp_path / "x.svg", fronts)
    assert path.read_text().lstrip().startswith("<?xml")


def test_median_curves_start_where_every_seed_reported_and_map_to_median_time():
    runs = [{"evaluations": [10, 20, 30], "seconds": [1.0, 2.0, 3.0], "best": [5.0, 3.0, 1.0]},
            {"evaluations": [20, 30], "seconds": [4.0, 8.0], "best": [np.inf, 2.0]}]
    evaluations, seconds, (q25, q50, q75) = plots.median_curves(runs)
    assert evaluations.tolist() == [20, 30]
    assert seconds.tolist() == [3.0, 5.5]  # medians of (2, 4) and (3, 8)
    assert np.isnan(q50[0]) and q50[1] == 1.5 and q25[1] == 1.25 and q75[1] == 1.75  # inf: nothing yet


def test_hypervolume_curves_never_decrease_and_both_panels_agree():
    """The issue's case: a seed reporting late and lower made the median drop (30.4 → 29.7)."""
    runs = [{"evaluations": [16, 32, 48, 64], "seconds": [0.1, 0.2, 0.3, 0.4], "best": [0.300, 0.304, 0.31, 0.33]},
            {"evaluations": [16, 32, 48, 64], "seconds": [0.5, 0.6, 0.7, 0.8], "best": [0.250, 0.297, 0.30, 0.30]},
            {"evaluations": [32, 64], "seconds": [0.9, 1.9], "best": [0.20, 0.35]}]
    fig = plots.convergence_figure({"nsga2": runs, "random": runs[:1]}, label="hypervolume of the front so far",
                                   unit="% of the reference box", scale=100.0, log=False)
    left, right = fig.axes
    assert left.get_ylabel() == "hypervolume of the front so far (% of the reference box)"
    assert re.search(r"\((m)?s\)$", right.get_xlabel())
    for a, b in zip(left.lines, right.lines):
        assert np.diff(a.get_ydata()).min() >= 0  # the median of never-decreasing curves never decreases
        assert np.array_equal(a.get_ydata(), b.get_ydata())  # the same values, against time
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["nsga2 (3 seeds)", "random (1 seed)"]


def test_a_long_convergence_label_stays_inside_the_figure():
    """A serving run's value label ran past the figure's top and bottom on one line."""
    runs = [{"evaluations": [12, 24, 36], "seconds": [50.0, 100.0, 150.0], "best": [2.6, 3.0, 4.5]}]
    fig = plots.convergence_figure({"cmaes": runs}, label="best throughput at SLA per watt so far, higher is better",
                                   unit="queries/s/W")
    left = fig.axes[0]
    r = renderer(fig)
    box = left.yaxis.label.get_window_extent(r)
    assert 0 <= box.y0 and box.y1 <= fig.bbox.height and box.x0 >= 0
    assert " ".join(left.get_ylabel().split()) == "best throughput at SLA per watt so far, higher is better (queries/s/W)"


def test_convergence_edp_ticks_carry_the_unit_in_the_label(tmp_path):
    runs = [{"evaluations": [16, 32, 48], "seconds": [0.1, 0.2, 0.3], "best": [35e-6, 30e-6, 29e-6]},
            {"evaluations": [16, 32, 48], "seconds": [0.1, 0.3, 0.4], "best": [40e-6, np.inf, 31e-6]}]
    fig = plots.convergence_figure({"cmaes": runs})
    left = fig.axes[0]
    assert left.get_ylabel() == "best EDP so far (µJ·s)"
    r = renderer(fig)
    labels = [t.get_text() for t in left.yaxis.get_majorticklabels() if t.get_text()]
    assert labels and all(re.fullmatch(r"[0-9.]+", t) for t in labels)  # "35", not "35 µ"
    _assert_apart(_tick_boxes(left.yaxis, r))
    _png(plots.convergence(tmp_path / "c.png", {"cmaes": runs, "random": runs[:1]}))


def test_convergence_time_axis_turns_log_when_one_optimizer_is_far_slower(tmp_path):
    """TPE 50 times slower than CMA-ES squeezed CMA-ES into a vertical line at 0 s."""
    fast = [{"evaluations": [16, 32, 48], "seconds": [0.1, 0.2, 0.4], "best": [3.0, 2.5, 2.4]}]
    slow = [{"evaluations": [16, 32, 48], "seconds": [5.0, 12.0, 20.0], "best": [3.1, 2.8, 2.6]}]
    right = plots.convergence_figure({"cmaes": fast, "tpe": slow}).axes[1]
    assert right.get_xscale() == "log" and right.get_xlim()[0] < 0.1 and "log scale" in right.get_xlabel()
    alike = plots.convergence_figure({"cmaes": fast, "random": [{**fast[0], "seconds": [0.2, 0.3, 0.5]}]}).axes[1]
    assert alike.get_xscale() == "linear"
    _png(plots.convergence(tmp_path / "c.png", {"cmaes": fast, "tpe": slow}))


def test_a_run_of_one_batch_is_a_visible_point():
    """A serving run with a budget of one population had a single value per seed: an empty figure."""
    one = [{"evaluations": [12], "seconds": [7.5], "best": [250.0]}, {"evaluations": [12], "seconds": [8.0],
                                                                     "best": [260.0]}]
    for ax in plots.convergence_figure({"cmaes": one}, log=False).axes:
        (line,) = ax.lines
        assert line.get_marker() == "o" and len(line.get_xdata()) == 1


def test_tick_labels_say_where_their_ticks_are():
    """A narrow log range ticked every 0.025: ``1.075`` must not read ``1.07``."""
    runs = [{"evaluations": [16, 32, 64, 100], "seconds": [4.5, 8.2, 12.8, 15.7], "best": [1.134, 1.129, 1.116, 1.116]}]
    fig = plots.convergence_figure({"cmaes": runs})
    left = fig.axes[0]
    renderer(fig)
    shown = [(tick, label.get_text()) for tick, label in zip(left.get_yticks(), left.get_yticklabels())
             if label.get_text()]
    assert len(shown) >= 3
    for tick, text in shown:
        assert float(text) == pytest.approx(tick, rel=1e-9), (tick, text)


CORES = [{"size": "PE512", "pes": 512, "dataflow": "ws_kc", "bw_share": 0.7, "buffer_share": 0.4,
          "array": "K16 × C32", "bw_gbps": 22.4, "buffer_mib": 0.8},
         {"size": None, "pes": 256, "dataflow": "os_yx", "bw_share": 0.3, "buffer_share": 0.6,
          "array": "Y16 × X16", "bw_gbps": 9.6, "buffer_mib": 1.2}]


def test_design_diagram_gives_absolute_numbers_per_core_and_the_work_of_each_dnn(tmp_path):
    work = np.array([[3e9, 1e9], [0.0, 2e9]])
    fig = plots.design_figure(CORES, work=work, model_names=["resnet50", "unet"], notes=["EDP 1 J·s"])
    top, bottom = fig.axes
    ticks = [t.get_text() for t in bottom.get_yticklabels()]
    assert ticks[0] == "core 0: PE512, ws_kc\n512 PEs (K16 × C32)\n22.4 GB/s · 0.8 MiB"
    assert ticks[1] == "core 1: os_yx\n256 PEs (Y16 × X16)\n9.6 GB/s · 1.2 MiB"
    in_bars = {t.get_text() for t in top.texts}
    assert {"512 PEs", "22.4 GB/s", "1.2 MiB"} <= in_bars
    assert re.search(r"\(GMAC\)$", bottom.get_xlabel())
    # rows name their unit: a segment too narrow for "0.96 GB/s" shows "0.96"
    assert [t.get_text() for t in top.get_yticklabels()][1:] == ["off-chip bandwidth (GB/s)", "on-chip buffer (MiB)"]
    noc = plots.design_figure(CORES, bandwidth="global NoC bandwidth")
    assert [t.get_text() for t in noc.axes[0].get_yticklabels()][1] == "global NoC bandwidth (GB/s)"
    shares_only = [{k: v for k, v in c.items() if k not in ("bw_gbps", "buffer_mib")} for c in CORES]
    assert [t.get_text() for t in plots.design_figure(shares_only).axes[0].get_yticklabels()][1:] == [
        "off-chip bandwidth", "on-chip buffer"]  # percentages, no unit to name
    dnn = [c for c in bottom.containers]  # one bar per core for each DNN, its MACs
    assert [list(map(lambda p: p.get_width(), c)) for c in dnn] == [[3e9, 0.0], [1e9, 2e9]]
    assert [t.get_text() for t in bottom.texts] == [" 67% of the MACs", " 33% of the MACs"]  # 4 and 2 of 6 GMAC
    _assert_texts_inside_and_apart(top)
    tiny = plots.design_figure(CORES, work=np.array([[1e12, 0.0], [1e9, 0.0]]), model_names=["a", "b"])
    assert [t.get_text() for t in tiny.axes[1].texts] == [" 100% of the MACs", " <1% of the MACs"]
    _png(plots.design_diagram(tmp_path / "d.png", CORES, compute=("compute (DSP)", [0.5, 0.1], ["642", "98"])))


def test_gantt_bars_per_layer_names_where_they_fit_and_deadlines(tmp_path):
    start = np.array([0.0, 1.0, 1.5, 4.0, 0.0, 2.0]) * 1e-3
    finish = np.array([1.0, 1.5, 4.0, 4.05, 2.0, 3.0]) * 1e-3
    names = ["a#0/conv1", "a#0/conv2", "a#0/a_long_layer_name", "a#0/fc", "b#0/stem", "b#0/head"]
    fig = plots.gantt_figure(start_s=start, finish_s=finish, core=[0, 0, 0, 0, 1, 1], layer_model=[0, 0, 0, 0, 1, 1],
                             model_names=["a", "b"], layer_names=names, model_finish_s=[4.05e-3, 3e-3],
                             deadline_s=[5e-3, 1.0])
    (ax,) = fig.axes
    bars = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert sum(len(c.get_paths()) for c in bars) == 6  # one bar per layer, not one per DNN
    assert all((c.get_edgecolor()[:, :3] == 1).all() for c in bars)  # white edges: the layer boundaries
    written = {t.get_text() for t in ax.texts}
    assert "fc" not in written and {"conv1", "a_long_layer_name", "stem", "5 ms"} <= written  # 5 ms: the deadline
    _assert_texts_inside_and_apart(ax)
    assert [x for line in ax.lines if line.get_linestyle() == "--" for x in line.get_xdata()][:1] == [5e-3]
    assert ax.get_xlim()[1] > 5e-3  # the drawn deadline is inside the axis; 1 s would squash the schedule
    assert re.search(r"\(ms\)$", ax.get_xlabel())
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:2] == ["a: done at 4.05 ms, deadline 5 ms (met)", "b: done at 3 ms, deadline 1 s (met)"]
    assert "a DNN done (triangle in its colour)" in legend  # the markers above the bars are named
    _png(plots.gantt(tmp_path / "g.png", start_s=start, finish_s=finish, core=[0, 0, 0, 0, 1, 1],
                     layer_model=[0, 0, 0, 0, 1, 1], model_names=["a", "b"]))


def test_pareto_front_with_infeasible_points_and_nothing_feasible_renders(tmp_path):
    rng = np.random.default_rng(0)
    latency, energy = rng.lognormal(-6, 1, 200), rng.lognormal(-4, 0.3, 200)
    latency[:5] = np.inf  # infeasible designs are skipped, not plotted at infinity
    _png(plots.pareto_front(tmp_path / "p.png", latency_s=latency, energy_j=energy, front=np.arange(200) % 7 == 0,
                            baselines={"fda": (1e-3, 2e-2), "none": (np.inf, 1.0)}))
    _png(plots.pareto_front(tmp_path / "q.png", latency_s=[np.inf], energy_j=[np.inf]))


@pytest.mark.parametrize(("value", "text"), [(7.081e-6, "7.08 µJ·s"), (2.1e-4, "210 µJ·s"), (0.5207, "521 mJ·s"),
                                             (1234.5, "1.23 kJ·s"), (0.0, "0 J·s")])
def test_si_prefixes(value, text):
    assert plots.si(value, "J·s") == text


def test_report_gives_each_core_absolute_numbers_and_each_dnns_macs():
    """From a design file: GB/s and MiB from the shares and the platform, the array the mapper builds
    (extents multiplying to the PEs), or the file's own numbers when it records them; MACs per core and DNN."""
    from cosearch.report import core_facts, core_work
    from objectives.workloads import get_workload
    from spaces.hardware import MiB, PLATFORMS

    edge = PLATFORMS["edge"]
    cores = [{"size": "PE512", "pes": 512, "dataflow": "ws_kc", "bw_share": 0.25, "buffer_share": 0.5},
             {"size": "PE256", "pes": 256, "dataflow": "os_yx", "bw_share": 0.75, "buffer_share": 0.5}]
    data = {"design": {"cores": cores}}
    facts = core_facts(data, edge)
    assert [f["bw_gbps"] for f in facts] == [0.25 * edge.bw_gbps, 0.75 * edge.bw_gbps]
    assert [f["buffer_mib"] for f in facts] == [0.5 * edge.buffer_bytes / MiB] * 2
    shapes = [re.fullmatch(r"([A-Z])(\d+) × ([A-Z])(\d+)", f["array"]).groups() for f in facts]
    assert [(a, c) for a, _, c, _ in shapes] == [("K", "C"), ("Y", "X")]
    assert [int(b) * int(d) for _, b, _, d in shapes] == [512, 256]
    # A platform whose NoC the shares split (Herald's classes): the GB/s are the NoC's, not DRAM's.
    noc = dataclasses.replace(edge, bw_gbps=4.0, noc_gbps=64.0, bw_partition="noc")
    assert [f["bw_gbps"] for f in core_facts(data, noc)] == [16.0, 48.0]
    assert [f["bw_gbps"] for f in core_facts(data, dataclasses.replace(noc, bw_partition="dram"))] == [1.0, 3.0]
    recorded = {**data, "cores": [{"array": "as recorded", "bw_gbps": 1.0, "buffer_mib": 2.0}, {"bw_gbps": 3.0}]}
    assert [(f.get("array"), f["bw_gbps"]) for f in core_facts(recorded, None)] == [("as recorded", 1.0), (None, 3.0)]

    workload = get_workload("planaria_b")
    model = np.asarray(workload.model)
    on = np.where(model == 0, 1, 0)  # the first DNN alone on core 1
    work = np.array(core_work({"design": {"cores": cores}, "schedule": {"core": on.tolist()}}, workload))
    macs = np.asarray(workload.macs, float)
    assert work[1].tolist() == [macs[model == 0].sum(), 0.0, 0.0, 0.0]
    assert work[0, 0] == 0 and work.sum() == macs.sum()


# -- serving figures -------------------------------------------------------------------


def test_latency_cdf_per_tenant_with_units_bounds_and_the_legend_off_the_data(tmp_path):
    latency = {"resnet": np.array([2e-3, 1e-3, 4e-3, 3e-3]), "bert": np.array([20e-3, 10e-3, np.inf]),
               "idle": np.array([])}
    fig = plots.latency_cdf_figure(latency, qos_s={"resnet": 5e-3, "bert": 15e-3, "idle": 1.0})
    (ax,) = fig.axes
    steps = [line for line in ax.lines if line.get_label() in latency]
    assert [line.get_label() for line in steps] == ["resnet", "bert"]  # a tenant with no request has no curve
    assert list(steps[0].get_xdata()) == [1e-3, 2e-3, 3e-3, 4e-3] and list(steps[0].get_ydata()) == [0.25, 0.5, 0.75, 1.0]
    assert list(steps[1].get_xdata()) == [10e-3, 20e-3]  # the unfinished request is left out, not drawn at inf
    bounds = sorted(line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--" and len(line.get_xdata()))
    assert bounds == [5e-3, 15e-3]  # only the drawn tenants' bounds
    assert ax.get_xlabel() == "request latency (ms)" and ax.get_ylabel() == "requests served within the latency (%)"
    r = renderer(fig)
    _assert_apart(_tick_boxes(ax.xaxis, r))
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["resnet", "bert", "99th percentile", "QoS bound (tenant's colour)"]
    assert not _overlap(_box(fig.legends[0], r), _box(ax, r))  # beside the axes, covering no curve
    _png(plots.latency_cdf(tmp_path / "cdf.png", latency))


def test_sla_vs_load_reads_rates_in_percent_and_load_in_queries_per_second(tmp_path):
    curves = {"best": ([100, 200, 400], [1.0, 0.995, 0.5]), "whole": ([100, 200, 400], [0.9, 0.3, 0.0])}
    fig = plots.sla_vs_load_figure(curves, load="offered load")
    (ax,) = fig.axes
    assert ax.get_xlabel() == "offered load (queries/s)" and ax.get_ylabel() == "SLA rate (%)"
    r = renderer(fig)
    assert {t.get_text() for t in ax.yaxis.get_majorticklabels() if t.get_text()} >= {"0", "100"}
    drawn = {line.get_label(): list(line.get_ydata()) for line in ax.lines}
    assert drawn["best"] == [1.0, 0.995, 0.5] and list(drawn["target: 99% of requests in time"]) == [0.99, 0.99]
    _assert_apart(_tick_boxes(ax.xaxis, r))
    assert not _overlap(_box(fig.legends[0], r), _box(ax, r))
    _png(plots.sla_vs_load(tmp_path / "sla.png", curves))


def test_grouped_bars_label_each_bar_relative_to_its_group_inside_the_axes(tmp_path):
    values = {"light": {"best": 400.0, "whole": 200.0, "fda": 0.0}, "heavy": {"best": 100.0, "whole": 150.0}}
    fig = plots.grouped_bars_figure(values, metric="qps_at_sla", title="throughput")
    (ax,) = fig.axes
    heights = [[p.get_height() for p in c] for c in ax.containers]
    assert heights[0] == [400.0, 100.0] and heights[1] == [200.0, 150.0]
    assert all(np.isnan(h) for h in heights[2])  # fda measured 0 in light and absent in heavy: no bar
    assert [t.get_text() for t in ax.texts] == ["1×", "1×", "0.5×", "1.5×", "0"]  # the 0 written at the floor
    assert ax.get_ylabel() == "throughput at SLA (queries/s)"
    r = renderer(fig)
    frame = _box(ax, r)
    for text in ax.texts:  # the rotated ratios fit under the top of the axes
        assert _inside(_box(text, r), frame), text.get_text()
    _png(plots.grouped_bars(tmp_path / "bars.png", values, metric="qps_at_sla", log=False))


def test_grouped_bars_keep_a_long_title_and_long_group_names_inside_the_figure(tmp_path):
    """The serving overview's case: three groups named like 'planaria_b QoS-H' and a long title."""
    values = {f"planaria_b QoS-{q}": {"co-search": 600.0, "prema": 0.0, "planaria": 80.0} for q in "SMH"}
    title = "Throughput at SLA per design: median over seeds, whiskers min–max (0: no seed meets the SLA)"
    fig = plots.grouped_bars_figure(values, title=title, ratios=False)
    r = renderer(fig)
    page = fig.bbox.extents
    for text in [fig._suptitle, *fig.axes[0].get_xticklabels()]:
        assert _inside(text.get_window_extent(r).extents, page), text.get_text()


def test_one_group_with_zero_designs_keeps_every_slot_and_its_name_centred():
    """serving/vision: five designs, three measured 0; the axis ended at the last drawn bar, hiding two
    of the 0 marks and putting the group's name under its third bar."""
    fig = plots.grouped_bars_figure({"serving": {"best": 800.0, "homog": 0.0, "hda": 600.0, "fda": 0.0, "wr": 0.0}})
    (ax,) = fig.axes
    lo, hi = ax.get_xlim()
    zeros = [t.get_position()[0] for t in ax.texts if t.get_text() == "0"]
    assert len(zeros) == 3 and all(lo < x < hi for x in zeros)
    assert (lo, hi) == (-0.5, 0.5) and ax.get_xticks().tolist() == [0.0]


def test_core_mix_labels_only_segments_that_hold_a_digit_and_hatches_repeated_colours():
    mixes = {"many": [f"B{s} {d}" for s in range(100, 2300, 100) for d in ("ws_kc",)] * 1 + ["B512 dpu_pck"] * 40,
             "one": ["B4096 ws_kc"]}
    fig = plots.core_mix_figure(mixes)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.texts] == ["40"]  # 22 one-core slivers and the single core unlabelled
    hatched = [c for c in ax.containers if c.patches[0].get_hatch()]
    assert len(hatched) == len({*mixes["many"], *mixes["one"]}) - 20


def test_grouped_bars_with_spread_whiskers_and_a_zero_median_marked_at_its_best_seed():
    """The serving overview's figure: median bars, min-max whiskers, no ratio labels; a design 0 on
    most seeds but not all is written 0 at the floor with a mark at its best seed."""
    values = {"a": {"co": 40.0, "fixed": 0.0}}
    fig = plots.grouped_bars_figure(values, spread={"a": {"co": (30.0, 55.0), "fixed": (0.0, 8.0)}}, ratios=False)
    (ax,) = fig.axes
    whiskers = [c for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]
    (segment,) = whiskers[0].lines[2][0].get_segments()
    assert segment[:, 1].tolist() == [30.0, 55.0]  # from the worst seed to the best
    assert whiskers[1].lines[0].get_ydata().tolist() == [8.0]  # the best seed of a median 0
    assert [t.get_text() for t in ax.texts] == ["0"]  # no ratio labels; the 0 at the floor
    assert ax.get_ylim()[1] > 55.0


def test_core_mix_stacks_each_designs_cores_by_size_and_dataflow(tmp_path):
    mixes = {"best": ["B4096 ws_kc", "B4096 ws_kc", "B1024 os_yx"], "homogeneous": ["B2048 ws_kc"] * 4}
    fig = plots.core_mix_figure(mixes)
    (ax,) = fig.axes
    stacks = {c.get_label(): [p.get_height() for p in c] for c in ax.containers}
    assert stacks == {"B1024 os_yx": [1.0, 0.0], "B2048 ws_kc": [0.0, 4.0], "B4096 ws_kc": [2.0, 0.0]}
    assert sorted(t.get_text() for t in ax.texts) == ["1", "2", "4"]
    assert ax.get_ylabel() == "cores (count)"
    assert all(float(t).is_integer() for t in ax.get_yticks())
    r = renderer(fig)
    assert not _overlap(_box(fig.legends[0], r), _box(ax, r))
    _png(plots.core_mix(tmp_path / "mix.png", mixes))


def test_the_star_names_the_searched_space_as_baselines_are_named():
    """A baseline searching a larger space may beat the searched space's best: the legend says whose best."""
    from cosearch.report import _best_label

    assert _best_label(["edp"], "hda") == "best hda design"
    assert _best_label(["edp"]) == "best design"
    assert _best_label(["latency_s", "energy_j"], "cosearch").startswith("best cosearch design (least ")
