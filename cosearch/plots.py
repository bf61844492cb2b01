"""Every figure cosearch draws (all matplotlib lives here and in ``plot_layout``; Agg backend, no display).

Each ``*_figure`` function takes plain arrays or dicts and returns the
matplotlib ``Figure`` (tests inspect it); the function of the same name
without ``_figure`` writes it to ``path`` (the suffix picks the format:
``.png`` or ``.svg``) and returns the path.

* ``pareto_front`` — latency vs energy: the latency–energy front, the rest
  of a higher-dimensional front drawn apart, the best design and the
  baselines, with labelled EDP iso-lines;
* ``compare_fronts`` — several experiments' fronts on one pair of axes;
* ``convergence`` — best-so-far (or the hypervolume of the front so far)
  per optimizer: median and inter-quartile band over seeds, against
  evaluations and against wall-clock time, the same values in both panels;
* ``design_diagram`` — the cores of one design: absolute PEs and array
  shape, dataflow, GB/s, MiB, their shares of the chip, and each DNN's MACs
  on each core;
* ``gantt`` — a schedule, one row per core, one bar per layer coloured by
  DNN, with each DNN's finish and deadline;
* serving (``cosearch.scenarios``): ``latency_cdf`` — each tenant's request
  latencies as a CDF with its QoS bound; ``sla_vs_load`` — SLA rate against
  offered load per design; ``grouped_bars`` — one metric per design, grouped
  by scenario or experiment, relative to the group's first; ``core_mix`` —
  the cores of several designs counted by size and dataflow.

Axis labels name the quantity and its unit from the metrics table
(``objectives.metrics``); ticks are plain numbers in that unit.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

from cosearch.plot_layout import place_labels, prefix_for, renderer, text_width, unit_axis
from objectives.metrics import METRICS

# The latency–energy plane every front is drawn in, and the iso-EDP lines across it.
LATENCY, ENERGY, EDP = METRICS["latency_s"], METRICS["energy_j"], METRICS["edp"]
LATENCY_AXIS = f"{LATENCY.label}: makespan of the mix"
ENERGY_AXIS = f"{ENERGY.label} of one pass of the mix"

DPI = 130
MARKERS = ("s", "^", "D", "v", "P", "X", "h", "p")
# Baselines take colours apart from the front's (C0) and the best design's (C3).
BASELINE_COLORS = ("C2", "C1", "C4", "C6", "C8", "C9", "C5", "C7")


def si(value: float, unit: str, digits: int = 3) -> str:
    """``7.08e-06, "J·s"`` → ``"7.08 µJ·s"``: a number with an SI prefix (plain text, no matplotlib)."""
    if value != value or value in (float("inf"), float("-inf")):
        return f"{value} {unit}"
    if value == 0:
        return f"0 {unit}"
    value = round(value, digits - 1 - int(np.floor(np.log10(abs(value)))))  # significant digits
    scale, prefix = prefix_for(value)
    x = value / scale
    return f"{x:.{max(digits, int(np.floor(np.log10(abs(x)))) + 1)}g} {prefix}{unit}"


def _figure(width: float, height: float, ncols: int = 1, **subplots):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained", dpi=DPI)
    FigureCanvasAgg(fig)  # a renderer to measure text with before saving
    axes = fig.subplots(subplots.pop("nrows", 1), ncols, **subplots)
    return fig, axes


def save_figure(fig, path) -> pathlib.Path:
    """Write ``fig`` to ``path`` (format from the suffix) through a temporary file, so no half-written image."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fig.savefig(tmp, dpi=DPI, format=path.suffix.lstrip(".") or "png")
        tmp.replace(path)
    except BaseException:  # no temporary file outlives a failed or interrupted write
        tmp.unlink(missing_ok=True)
        raise
    return path


def _colors(n: int, palette: str | None = None) -> list:
    import matplotlib

    cmap = matplotlib.colormaps[palette or ("tab10" if n <= 10 else "tab20")]
    return [cmap(i % cmap.N) for i in range(n)]


def _edp_isolines(ax, anchor_edp: float, avoid: np.ndarray, lines: int = 6) -> None:
    """Dotted lines of constant EDP (energy = EDP / latency) through ``anchor_edp``, evenly spaced in log,
    each labelled where it is farthest from the points ``avoid`` ``(N, 2)``, inside the axes."""
    x_lo, x_hi = ax.get_xlim()
    y_lo, y_hi = ax.get_ylim()
    lowest, highest = x_lo * y_lo, x_hi * y_hi
    ratio = max((highest / lowest) ** (1.0 / lines), 1.05)
    k_lo = int(np.floor(np.log(lowest / anchor_edp) / np.log(ratio)))
    k_hi = int(np.ceil(np.log(highest / anchor_edp) / np.log(ratio)))
    xs = np.geomspace(x_lo, x_hi, 200)
    curves = []
    for k in range(k_lo, k_hi + 1):
        edp = anchor_edp * ratio**k
        ys = edp / xs
        inside = (ys >= y_lo) & (ys <= y_hi)
        if inside.sum() < 2:
            continue
        ax.plot(xs, ys, ":", color="0.6", lw=0.8, zorder=0)
        curves.append((si(edp, EDP.unit, 2), xs[inside], ys[inside]))
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    place_labels(ax, curves, avoid, fontsize=7, color="0.35", zorder=0.5,
                 bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})


def front_2d(latency: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """``(n,)`` bool: the points no other point beats in both latency and energy (ties: the first)."""
    order = np.lexsort((energy, latency))
    en = energy[order]
    keep = np.zeros(len(order), bool)
    keep[order] = en < np.minimum.accumulate(np.concatenate([[np.inf], en[:-1]]))
    return keep


def _step(ax, lat, en, **style) -> None:
    """The 2-D front as a staircase, by rising latency."""
    order = np.argsort(lat)
    ax.step(lat[order], en[order], where="post", **style)


def _latency_energy_axes(ax, xs: np.ndarray, ys: np.ndarray, margin: float = 1.35) -> None:
    """Log axes around the points with a margin, labelled from the metrics table, ticks in prefixed units."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    x_lo, x_hi, y_lo, y_hi = xs.min() / margin, xs.max() * margin, ys.min() / margin, ys.max() * margin
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    unit_axis(ax.xaxis, LATENCY_AXIS, LATENCY.unit, x_lo, x_hi, log=True)
    unit_axis(ax.yaxis, ENERGY_AXIS, ENERGY.unit, y_lo, y_hi, log=True)
    ax.grid(True, which="major", alpha=0.3)


def _finish(fig, ax, title: str, ncol: int) -> None:
    ax.set_title(title)
    fig.legend(fontsize=8, loc="outside lower center", ncol=ncol, frameon=False)


def _far(latency, energy, cloud, front, marked: np.ndarray) -> np.ndarray:
    """Points of the single runs' fronts so far off that showing them would squash the front into a corner:
    beyond the front's, best's and baselines' range and beyond the cloud's 95th percentile on some axis."""
    far = np.zeros_like(cloud)
    if not cloud.any():
        return far
    for values, mine in ((latency, marked[:, 0]), (energy, marked[:, 1])):
        kept = np.concatenate([values[front], mine])
        limit = max(np.percentile(values[cloud], 95), kept.max() if kept.size else -np.inf)
        far |= cloud & (values > limit)
    return far


def _covers(point: tuple[float, float], others: Sequence[tuple[float, float]], decades: float = 0.03) -> bool:
    """Whether a marker at ``point`` would hide one of ``others`` on log-log axes: within ``decades``
    on both (0.03 of a decade: a few pixels on a front spanning two decades)."""
    return any(abs(np.log10(point[0] / x)) < decades and abs(np.log10(point[1] / y)) < decades for x, y in others)


def pareto_figure(
    *,
    latency_s: Sequence[float],
    energy_j: Sequence[float],
    front: Sequence[bool] | None = None,
    front_keys: Sequence[str] = ("latency_s", "energy_j"),
    best: tuple[float, float] | None = None,
    baselines: Mapping[str, tuple[float, float]] | None = None,
    title: str = "",
    cloud_label: str = "found by single runs",
    best_label: str = "best design",
):
    """Designs in the latency–energy plane (finite ones).

    ``front`` marks the experiment's Pareto set over ``front_keys``.  Its
    members that no other member beats in latency and energy alone are the
    latency–energy front: filled, joined by a black staircase.  The others
    are optimal only through a further key (resources, area…): drawn hollow,
    so they do not read as dominated front points.  ``best`` is (latency,
    energy) of the best design (a star); ``baselines`` maps a name to its
    (latency, energy), drawn above the star, each a little smaller than the
    one before, so none hides another.  Dotted lines are iso-EDP curves.
    """
    latency, energy = np.asarray(latency_s, float), np.asarray(energy_j, float)
    ok = np.isfinite(latency) & np.isfinite(energy) & (latency > 0) & (energy > 0)
    fig, ax = _figure(6.6, 6.2)
    on_front = np.zeros_like(ok) if front is None else np.asarray(front, bool) & ok
    cloud = ok & ~on_front
    marked = [(b[0], b[1]) for b in [best, *(baselines or {}).values()] if b is not None and np.isfinite(b).all()]
    far = _far(latency, energy, cloud, on_front, np.array(marked).reshape(-1, 2))
    ok &= ~far
    cloud &= ~far
    ax.scatter(latency[cloud], energy[cloud], s=6, color="0.72", lw=0, zorder=1,
               label=f"{cloud_label} ({cloud.sum()}" + (f"; {far.sum()} far off, not shown)" if far.any() else ")"))
    if on_front.any():
        lat, en = latency[on_front], energy[on_front]
        flat = front_2d(lat, en)
        if (~flat).any():
            others = [METRICS[k].label if k in METRICS else k for k in front_keys if k not in ("latency_s", "energy_j")]
            ax.scatter(lat[~flat], en[~flat], s=20, facecolor="none", edgecolor="C0", lw=0.8, alpha=0.8, zorder=2,
                       label=f"Pareto-optimal only counting {' and '.join(others) or 'ties'} ({(~flat).sum()})")
        ax.scatter(lat[flat], en[flat], s=24, color="C0", edgecolor="white", lw=0.4, zorder=3,
                   label=f"latency–energy front ({flat.sum()})")
        _step(ax, lat[flat], en[flat], color="k", lw=1.2, zorder=3.5)
    points = [(latency[ok], energy[ok])]
    if best is not None and np.isfinite(best).all():
        ax.scatter([best[0]], [best[1]], marker="*", s=300, color="C3", edgecolor="k", lw=0.6, zorder=5,
                   label=f"{best_label} ({EDP.label} {si(best[0] * best[1], EDP.unit)})")
        points.append((np.array([best[0]]), np.array([best[1]])))
    markers = [(p[0][0], p[1][0]) for p in points[1:]]  # the star's point, then each baseline's
    for i, (name, (lat, en)) in enumerate((baselines or {}).items()):
        if np.isfinite(lat) and np.isfinite(en) and lat > 0 and en > 0:
            color = BASELINE_COLORS[i % len(BASELINE_COLORS)]
            # on (nearly) the same point as a marker drawn before: hollow, so that one shows through
            style = ({"facecolor": "none", "edgecolor": color, "lw": 2.0} if _covers((lat, en), markers)
                     else {"color": color, "edgecolor": "k", "lw": 0.8})
            ax.scatter([lat], [en], marker=MARKERS[i % len(MARKERS)], s=max(120 - 14 * i, 40), zorder=6 + i,
                       label=f"baseline {name} ({EDP.label} {si(lat * en, EDP.unit)})", **style)
            points.append((np.array([lat]), np.array([en])))
            markers.append((lat, en))
    xs = np.concatenate([p[0] for p in points])
    ys = np.concatenate([p[1] for p in points])
    _finish(fig, ax, title or "Pareto front: latency vs energy", ncol=1)
    if xs.size:
        _latency_energy_axes(ax, xs, ys)
        anchor = best[0] * best[1] if best is not None and np.isfinite(best).all() else float((xs * ys).min())
        _edp_isolines(ax, anchor, np.column_stack([xs, ys]))
    else:
        ax.text(0.5, 0.5, "no feasible design to show", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def pareto_front(path, **kwargs) -> pathlib.Path:
    """``pareto_figure(**kwargs)`` written to ``path``."""
    return save_figure(pareto_figure(**kwargs), path)


def compare_figure(fronts: Mapping[str, tuple[Sequence[float], Sequence[float]]], *, title: str = ""):
    """One staircase per experiment (name → (latency_s, energy_j) of its front); each one's best EDP starred."""
    fig, ax = _figure(6.6, 5.4 + 0.16 * len(fronts))
    colors = _colors(len(fronts))
    xs, ys, anchor = [], [], np.inf
    for color, (name, (lat, en)) in zip(colors, fronts.items()):
        lat, en = np.asarray(lat, float), np.asarray(en, float)
        ok = np.isfinite(lat) & np.isfinite(en) & (lat > 0) & (en > 0)
        lat, en = lat[ok], en[ok]
        if not lat.size:
            continue
        i = int(np.argmin(lat * en))
        anchor = min(anchor, lat[i] * en[i])
        flat = front_2d(lat, en)
        _step(ax, lat[flat], en[flat], color=color, lw=1.4, zorder=3)
        ax.scatter(lat, en, s=10, color=color, alpha=0.5, lw=0, zorder=2,
                   label=f"{name} (best {EDP.label} {si(lat[i] * en[i], EDP.unit)})")
        ax.scatter([lat[i]], [en[i]], marker="*", s=160, color=color, edgecolor="k", lw=0.6, zorder=4)
        xs.append(lat)
        ys.append(en)
    long_names = max((len(n) for n in fronts), default=0) > 24
    _finish(fig, ax, title or "Pareto fronts compared", ncol=1 if long_names else 2)
    if np.isfinite(anchor):
        xs, ys = np.concatenate(xs), np.concatenate(ys)
        _latency_energy_axes(ax, xs, ys, margin=1.25)
        _edp_isolines(ax, anchor, np.column_stack([xs, ys]))
    return fig


def compare_fronts(path, fronts, *, title: str = "") -> pathlib.Path:
    """``compare_figure`` written to ``path``."""
    return save_figure(compare_figure(fronts, title=title), path)


def median_curves(runs: Sequence[Mapping[str, Sequence[float]]]):
    """``(evaluations (G,), seconds (G,), quartiles (3, G))`` of one optimizer's seeds.

    The grid is every evaluation count a seed reported, from the first count
    every seed has reached: each column then holds every seed, so the
    median never jumps as a late seed joins.  A seed that stopped early
    keeps its last value.  ``seconds`` is the median over seeds of when they
    had that value: the wall-clock panel draws the same quartiles against
    it, so the two panels agree point for point.  ``inf`` (no feasible
    design yet) stays ``inf`` through the percentiles and comes out NaN
    (not drawn).  Percentiles of step functions that never decrease (or
    never increase) keep that property.
    """
    runs = [r for r in runs if len(r["evaluations"])]
    if not runs:
        return np.zeros(0), np.zeros(0), np.zeros((3, 0))
    evals = [np.asarray(r["evaluations"], float) for r in runs]
    grid = np.unique(np.concatenate(evals))
    grid = grid[grid >= max(x[0] for x in evals)]
    values, seconds = np.empty((len(runs), grid.size)), np.empty((len(runs), grid.size))
    for r, (x, run) in enumerate(zip(evals, runs)):
        at = np.searchsorted(x, grid, side="right") - 1  # the last batch at or before each count
        values[r] = np.asarray(run["best"], float)[at]
        seconds[r] = np.asarray(run["seconds"], float)[at]
    # inf − inf is NaN inside the percentile's interpolation; a huge finite stand-in is not, and any
    # quantile it takes part in stays far above every real value.
    huge = 1e300
    q = np.percentile(np.clip(values, -huge, huge), [25, 50, 75], axis=0)
    q[np.abs(q) >= huge * 1e-20] = np.nan
    return grid, np.median(seconds, axis=0), q


CONVERGENCE_LABEL_IN = 4.4
"""How tall the convergence figure's value label may run, in inches: the figure's height."""

TIME_SPREAD_FOR_LOG = 20.0
"""The convergence figure's time axis turns logarithmic when the slowest optimizer's run lasts this
many times the fastest's."""


def convergence_figure(
    curves: Mapping[str, Sequence[Mapping[str, Sequence[float]]]],
    *,
    label: str = f"best {EDP.label} so far",
    unit: str = EDP.unit,
    log: bool = True,
    scale: float | None = None,
    title: str = "",
):
    """Best-so-far per optimizer (name → one dict per seed with ``evaluations``, ``seconds``, ``best``).

    Left: against evaluations; right: the same values against wall-clock
    time (``median_curves``).  Lines are the median over seeds, bands the
    inter-quartile range.  ``label``/``unit`` name the value (the axis shows
    it with an SI prefix; ``scale`` fixes the factor instead, e.g. 100 for
    ``%``); ``log``: a log scale.
    """
    fig, (left, right) = _figure(10.5, 4.4, ncols=2, sharey=True)
    colors = _colors(len(curves))
    shown, t_max, t_ends, t_firsts = [], 0.0, [], []
    for color, (name, runs) in zip(colors, curves.items()):
        evaluations, seconds, (q25, q50, q75) = median_curves(runs)
        if not evaluations.size:
            continue
        seeds = sum(1 for r in runs if len(r["evaluations"]))
        for ax, x in ((left, evaluations), (right, seconds)):
            ax.step(x, q50, where="post", color=color, lw=1.5, label=f"{name} ({seeds} seed{'s' * (seeds != 1)})",
                    marker="o" if len(x) == 1 else None)  # one batch alone: a point, not an invisible step
            if seeds > 1:
                ax.fill_between(x, q25, q75, step="post", color=color, alpha=0.2, lw=0)
        shown.extend(q[np.isfinite(q)] for q in (q25, q75))
        t_max = max(t_max, float(seconds.max()))
        t_ends.append(float(seconds.max()))
        t_firsts.extend(seconds[seconds > 0][:1])
    values = np.concatenate(shown) if shown else np.zeros(0)
    values = values[values > 0] if log else values
    if values.size:
        lo, hi = float(values.min()), float(values.max())
        pad = (hi / lo) ** 0.05 if log and hi > lo else 1.0
        if log:
            left.set_yscale("log")
            left.set_ylim(lo / max(pad, 1.05), hi * max(pad, 1.05))
        else:
            span = (hi - lo) or abs(hi) or 1.0
            left.set_ylim(lo - 0.05 * span, hi + 0.05 * span)
        y_lo, y_hi = left.get_ylim()
        unit_axis(left.yaxis, label, unit, y_lo, max(abs(y_lo), abs(y_hi)), log=log, scale=scale)
        # a long metric name (a serving run's "best throughput at SLA per watt so far, higher is
        # better (…)") ran past the figure's top and bottom on one line
        left.set_ylabel(_wrapped(left.get_ylabel(), CONVERGENCE_LABEL_IN))
    left.set_xlabel("evaluations (designs scored)")
    if t_firsts and min(t_ends) > 0 and t_max / min(t_ends) > TIME_SPREAD_FOR_LOG:
        # one optimizer far slower than another (TPE against CMA-ES): on a linear axis the fast
        # ones are a vertical line at 0; a log axis shows each over its own span
        t_lo = min(t_firsts)
        right.set_xscale("log")
        right.set_xlim(t_lo / 1.2, t_max * 1.2)
        unit_axis(right.xaxis, "wall-clock time, median over seeds, log scale", "s", t_lo, t_max, log=True)
    else:
        unit_axis(right.xaxis, "wall-clock time, median over seeds", "s", 0.0, t_max or 1.0)
    right.set_ylabel("")
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
    if curves:
        left.legend(fontsize=8, loc="best")
    fig.suptitle(title or "Convergence: median and inter-quartile range over seeds")
    return fig


def convergence(path, curves, **kwargs) -> pathlib.Path:
    """``convergence_figure(curves, **kwargs)`` written to ``path``."""
    return save_figure(convergence_figure(curves, **kwargs), path)


def _in_segments(ax, r, rows: Sequence[tuple[float, float, float, Sequence[str]]], fontsize: float = 8) -> None:
    """Write in each ``(y, left, width, texts)`` bar segment the first of ``texts`` that fits, centred."""
    to_px = ax.transData.transform
    for y, left, width, texts in rows:
        px = to_px((left + width, y))[0] - to_px((left, y))[0]
        text = next((t for t in texts if t and text_width(r, t, fontsize) + 6 < px), None)
        if text:
            ax.text(left + width / 2, y, text, ha="center", va="center", fontsize=fontsize, in_layout=False)


def _amount(value: float | None, unit: str) -> str:
    return "" if value is None else f"{value:.3g} {unit}"


def _with_unit(name: str, unit: str, texts: Sequence[str]) -> str:
    """A share row's name with the unit of its amounts: a narrow segment shows its number alone."""
    return f"{name} ({unit})" if any(texts) else name


def design_figure(
    cores: Sequence[Mapping],
    *,
    compute: tuple[str, Sequence[float], Sequence[str]] | None = None,
    work: np.ndarray | None = None,
    model_names: Sequence[str] = (),
    title: str = "",
    notes: Sequence[str] = (),
    bandwidth: str = "off-chip bandwidth",
):
    """The cores of one design: what each has in absolute numbers, its shares of the chip, the work on it.

    ``cores``: dicts with ``pes``, ``dataflow``, ``bw_share``,
    ``buffer_share`` and, where known, ``size``, ``array`` (the PE array's
    shape, ``K128 × C64``), ``bw_gbps`` and ``buffer_mib``.  ``compute``:
    the first share row as (label, each core's fraction of the compute
    budget, text in each bar), e.g. ``("compute (DSP)", [0.05], ["642 DSP"])``;
    what the fractions leave is drawn as unused.  Default: shares of the
    cores' PEs.  ``work`` ``(C, M)``: each DNN's MACs on each core, named by
    ``model_names``.  ``notes``: lines above the bars.  ``bandwidth``: what
    the bandwidth shares split (``global NoC bandwidth`` where the platform
    partitions its NoC, as Herald's classes do).
    """
    n = len(cores)
    pes = np.array([c["pes"] for c in cores], float)
    label, share, texts = compute or ("compute (PEs)", pes / pes.sum(), [f"{int(p):,} PEs" for p in pes])
    bw_texts = [_amount(c.get("bw_gbps"), "GB/s") for c in cores]
    buffer_texts = [_amount(c.get("buffer_mib"), "MiB") for c in cores]
    rows = [(label, np.asarray(share, float), list(texts)),
            (_with_unit(bandwidth, "GB/s", bw_texts), np.array([c["bw_share"] for c in cores], float), bw_texts),
            (_with_unit("on-chip buffer", "MiB", buffer_texts), np.array([c["buffer_share"] for c in cores], float),
             buffer_texts)]
    has_work = work is not None and np.asarray(work).size and np.asarray(work).sum() > 0
    height = 2.2 + 0.45 * len(rows) + 0.2 * len(notes) + (0.8 * n + 0.6 if has_work else 0.3 * n)
    fig, axes = _figure(9.0, height, nrows=2 if has_work else 1, squeeze=False,
                        height_ratios=[len(rows), 1.35 * n] if has_work else None)
    top = axes[0][0]
    colors = _colors(n, "Set2" if n <= 8 else None)
    segments = []
    for r, (_, shares, texts) in enumerate(rows):
        left = 0.0
        for c, s in enumerate(shares):
            top.barh(r, s, left=left, color=colors[c], edgecolor="white", height=0.7)
            # the amount, or its number alone where the unit does not fit (the row names the resource)
            segments.append((r, left, s, (texts[c], texts[c].split(" ")[-2] if " " in texts[c] else "")
                             if texts[c] else (f"{s:.0%}",)))
            left += s
        if r == 0 and left < 0.999:
            top.barh(r, 1 - left, left=left, color="0.92", edgecolor="white", height=0.7, hatch="//")
            segments.append((r, left, 1 - left, ("unused",)))
    top.set_yticks(range(len(rows)), [row[0] for row in rows])
    top.invert_yaxis()
    top.set_xlim(0, 1)
    top.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
    top.set_xlabel("share of the chip's budget")
    if notes:
        top.set_title("\n".join(notes), fontsize=8, loc="left")
    from matplotlib.patches import Patch

    describe = ["\n".join(filter(None, [
        f"core {c}: " + ", ".join(filter(None, [k.get("size"), k["dataflow"]])),
        f"{int(k['pes']):,} PEs" + (f" ({k['array']})" if k.get("array") else ""),
        " · ".join(filter(None, [_amount(k.get("bw_gbps"), "GB/s"), _amount(k.get("buffer_mib"), "MiB")]))]))
        for c, k in enumerate(cores)]
    if not has_work:  # no work panel to name the cores on: a legend does
        handles = [Patch(color=colors[c], label=text.replace("\n", ", ")) for c, text in enumerate(describe)]
        fig.legend(handles=handles, fontsize=8, loc="outside lower center", ncol=1, frameon=False)
    if has_work:
        bottom = axes[1][0]
        work = np.asarray(work, float)
        dnn_colors = _colors(len(model_names))
        left = np.zeros(n)
        for m, name in enumerate(model_names):
            bottom.barh(range(n), work[:, m], left=left, color=dnn_colors[m], edgecolor="white", lw=0.5,
                        height=0.6, label=name)
            left += work[:, m]
        total = max(work.sum(), 1.0)
        bottom.set_yticks(range(n), describe, fontsize=8)
        for tick, color in zip(bottom.get_yticklabels(), colors):  # the core's colour in the share bars above
            tick.set_bbox({"fc": color, "ec": "none", "boxstyle": "round,pad=0.3"})
        bottom.invert_yaxis()
        bottom.set_xlim(0, left.max() * 1.22)
        unit_axis(bottom.xaxis, "work on each core: MACs per pass of the mix", "MAC", 0.0, left.max())
        bottom.grid(True, axis="x", alpha=0.3)
        bottom.set_axisbelow(True)  # grid lines behind the bars, not across them
        fig.legend(*bottom.get_legend_handles_labels(), fontsize=8, loc="outside lower center",
                   ncol=min(len(model_names), 4), frameon=False, title="DNN", title_fontsize=8)
    fig.suptitle(title or f"Best design: {n} core{'s' * (n != 1)}")
    r = renderer(fig)
    _in_segments(top, r, segments)
    if has_work:
        for c in range(n):
            share = left[c] / total
            shown = "<1%" if 0 < share < 0.005 else f"{share:.0%}"  # a core with some work never reads 0%
            bottom.text(left[c], c, f" {shown} of the MACs", va="center", fontsize=8, in_layout=False)
    return fig


def design_diagram(path, cores, **kwargs) -> pathlib.Path:
    """``design_figure(cores, **kwargs)`` written to ``path``."""
    return save_figure(design_figure(cores, **kwargs), path)


def _short(layer: str) -> str:
    """``resnet50#1/layer1.0.conv1`` → ``layer1.0.conv1``: the model is the bar's colour."""
    return layer.rsplit("/", 1)[-1]


def gantt_figure(
    *,
    start_s: Sequence[float],
    finish_s: Sequence[float],
    core: Sequence[int],
    layer_model: Sequence[int],
    model_names: Sequence[str],
    core_labels: Sequence[str] | None = None,
    layer_names: Sequence[str] | None = None,
    model_finish_s: Sequence[float] | None = None,
    deadline_s: Sequence[float] | None = None,
    title: str = "",
):
    """A schedule of L layers: one row per core, one bar per layer from start to finish, coloured by DNN.

    White edges mark where one layer ends and the next begins; a layer's
    name is written in its bar where it fits.  ``layer_model`` ``(L,)``
    indexes ``model_names``.  ``model_finish_s`` ``(M,)``: when each DNN's
    last layer ends (a triangle above the rows); ``deadline_s`` ``(M,)``:
    each DNN's latency target (NaN: none), a dashed line where it falls
    inside the shown time (a deadline far past the schedule would squash
    it: the legend gives every one).
    """
    start, finish = np.asarray(start_s, float), np.asarray(finish_s, float)
    core, model = np.asarray(core, int), np.asarray(layer_model, int)
    cores = int(core.max()) + 1 if core.size else 1
    labels = list(core_labels) if core_labels is not None else [f"core {c}" for c in range(cores)]
    M = len(model_names)
    deadline = np.full(M, np.nan) if deadline_s is None else np.asarray(deadline_s, float)
    done = np.full(M, np.nan) if model_finish_s is None else np.asarray(model_finish_s, float)
    makespan = float(finish.max()) if finish.size else 1.0
    drawn = np.isfinite(deadline) & (deadline <= 1.6 * makespan)
    x_hi = max([makespan, *deadline[drawn]]) * 1.03
    fig, ax = _figure(11.0, 2.2 + 0.8 * len(labels) + 0.22 * ((M + 1) // 2))
    colors = _colors(M)
    for m in range(M):
        for c in range(len(labels)):
            pick = (model == m) & (core == c)
            if pick.any():
                ax.broken_barh(list(zip(start[pick], finish[pick] - start[pick])), (c - 0.38, 0.76),
                               facecolors=colors[m], edgecolors="white", lw=0.6)
    for m in range(M):
        text = model_names[m]
        if np.isfinite(done[m]):
            text += f": done at {si(done[m], 's')}"
            ax.plot([done[m]], [-0.5], marker="v", ms=8, color=colors[m], mec="k", mew=0.5, clip_on=False, zorder=5)
        if np.isfinite(deadline[m]):
            met = "met" if not np.isfinite(done[m]) or done[m] <= deadline[m] else "MISSED"
            text += f", deadline {si(deadline[m], 's')} ({met})"
            if drawn[m]:
                shared = (deadline == deadline[m]).sum() > 1
                ax.axvline(deadline[m], color="0.3" if shared else colors[m], ls="--", lw=1.4, zorder=4)
                if deadline[m] not in deadline[:m]:  # its value above the axes, once per value
                    ax.annotate(si(deadline[m], "s"), (deadline[m], 1.0), xycoords=("data", "axes fraction"),
                                xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=7)
        ax.plot([], [], color=colors[m], lw=6, label=text)
    if np.isfinite(done).any():  # the triangles above the bars, otherwise unexplained
        ax.plot([], [], marker="v", ms=8, ls="none", color="0.6", mec="k", mew=0.5,
                label="a DNN done (triangle in its colour)")
    if drawn.any():
        ax.plot([], [], color="0.3", ls="--", lw=1.4, label="deadline (dashed: the DNN's colour, grey if shared)")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlim(0, x_hi)
    unit_axis(ax.xaxis, "time since the DNNs arrive", "s", 0.0, x_hi)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    fig.legend(fontsize=8, loc="outside lower center", ncol=min(M + drawn.any(), 2), frameon=False)
    ax.set_title(title or "Schedule per core, coloured by DNN", pad=16)  # room for the finish and deadline marks
    if layer_names is not None and len(layer_names):
        _layer_names(ax, start, finish, core, [_short(n) for n in layer_names], [colors[m] for m in model])
    return fig


def _layer_names(ax, start, finish, row, names: Sequence[str], colors: Sequence, fontsize: float = 6.5) -> None:
    """Write each layer's name in its bar: across it where it fits, else along it (rotated) where that fits."""
    r = renderer(ax.figure)
    to_px = ax.transData.transform
    px_per_s = to_px((1.0, 0))[0] - to_px((0.0, 0))[0]
    bar_px = abs(to_px((0, 0.38))[1] - to_px((0, -0.38))[1])
    line_px = fontsize * ax.figure.dpi / 72 * 1.3
    for i in np.flatnonzero((finish - start) * px_per_s > line_px):  # measure text only where it could fit
        width_px, text_px = (finish[i] - start[i]) * px_per_s, text_width(r, names[i], fontsize) + 4
        rotation = 0 if text_px < width_px else 90 if text_px < bar_px else None
        if rotation is not None:
            dark = np.asarray(colors[i][:3]) @ (0.299, 0.587, 0.114) < 0.55
            ax.text((start[i] + finish[i]) / 2, row[i], names[i], ha="center", va="center", fontsize=fontsize,
                    rotation=rotation, color="white" if dark else "black", in_layout=False)


def gantt(path, **kwargs) -> pathlib.Path:
    """``gantt_figure(**kwargs)`` written to ``path``."""
    return save_figure(gantt_figure(**kwargs), path)


# -- serving (request streams; cosearch.scenarios) ----------------------------------------


def _legend_below(fig, ax) -> None:
    """The legend under the axes, where it covers no data however many entries it has (and, unlike
    one at the side, never runs into a long title)."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, fontsize=8, loc="outside lower center", ncol=min(len(handles), 3),
                   frameon=False)


def _fraction_finish(fig, ax, label: str, title: str):
    """A share of requests on the y axis, in %, a grid, the legend under the axes, the title: ``fig``."""
    unit_axis(ax.yaxis, label, "%", 0.0, 1.0, scale=100.0)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    _legend_below(fig, ax)
    fig.suptitle(title, fontsize=10)
    return fig


def latency_cdf_figure(
    latency_s: Mapping[str, Sequence[float]],
    *,
    qos_s: Mapping[str, float] | None = None,
    title: str = "",
):
    """Each tenant's request latencies as an empirical CDF (log time axis), its QoS bound dashed in
    its colour, the 99th percentile dotted across.

    ``latency_s``: tenant → its measured requests' latencies (s); ``qos_s``: tenant → its bound (s).
    """
    fig, ax = _figure(7.5, 5.0)
    shown = []
    for color, (name, values) in zip(_colors(len(latency_s)), latency_s.items()):
        x = np.sort(np.asarray(values, float))
        x = x[np.isfinite(x) & (x > 0)]
        if not x.size:
            continue
        ax.step(x, np.arange(1, x.size + 1) / x.size, where="post", color=color, lw=1.5, label=name)
        shown.append(x)
        bound = (qos_s or {}).get(name, np.nan)
        if np.isfinite(bound) and bound > 0:
            ax.axvline(bound, color=color, ls="--", lw=0.9, alpha=0.8)
            shown.append([bound])
    ax.axhline(0.99, color="0.5", ls=":", lw=0.8, label="99th percentile")
    if any(np.isfinite((qos_s or {}).get(n, np.nan)) for n in latency_s):
        ax.plot([], [], color="0.3", ls="--", lw=0.9, label="QoS bound (tenant's colour)")
    ax.set_xscale("log")
    if shown:
        every = np.concatenate([np.asarray(v, float) for v in shown])
        lo, hi = every.min() / 1.3, every.max() * 1.3
        ax.set_xlim(lo, hi)
        unit_axis(ax.xaxis, "request latency", "s", lo, hi, log=True)
    else:
        ax.set_xlabel("request latency (no request measured)")
    return _fraction_finish(fig, ax, "requests served within the latency", title or "Latency CDF per tenant")


def latency_cdf(path, latency_s, **kwargs) -> pathlib.Path:
    """``latency_cdf_figure(latency_s, **kwargs)`` written to ``path``."""
    return save_figure(latency_cdf_figure(latency_s, **kwargs), path)


def sla_vs_load_figure(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    target: float = 0.99,
    load: str = "offered load",
    title: str = "",
):
    """SLA satisfaction against offered load, one line per design (name → (loads in queries/s, rates));
    the target rate dotted, so where each line crosses it is that design's throughput at SLA."""
    rate, qps = METRICS["sla_rate"], METRICS["qps_at_sla"]
    fig, ax = _figure(7.5, 5.0)
    loads = []
    for i, (color, (name, (x, rates))) in enumerate(zip(_colors(len(curves)), curves.items())):
        ax.plot(np.asarray(x, float), np.asarray(rates, float), marker=MARKERS[i % len(MARKERS)], ms=4,
                color=color, lw=1.4, label=name)
        loads.extend(np.asarray(x, float))
    ax.axhline(target, color="0.4", ls=":", lw=0.9, label=f"target: {target:.0%} of requests in time")
    ax.set_xscale("log")
    loads = np.asarray(loads)
    loads = loads[np.isfinite(loads) & (loads > 0)]
    if loads.size:
        lo, hi = loads.min() / 1.15, loads.max() * 1.15
        ax.set_xlim(lo, hi)
        unit_axis(ax.xaxis, load, qps.unit, lo, hi, log=True)
    return _fraction_finish(fig, ax, rate.label, title or "SLA satisfaction vs load")


def sla_vs_load(path, curves, **kwargs) -> pathlib.Path:
    """``sla_vs_load_figure(curves, **kwargs)`` written to ``path``."""
    return save_figure(sla_vs_load_figure(curves, **kwargs), path)


def grouped_bars_figure(
    values: Mapping[str, Mapping[str, float]],
    *,
    metric: str = "qps_at_sla",
    log: bool = True,
    title: str = "",
    spread: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
    ratios: bool = True,
):
    """Bars grouped by the outer key (a scenario or experiment), one bar per inner key (a design),
    each labelled with its value relative to the group's first bar (``values[group][design]``, in
    the unit of ``metric`` in the metrics table; ``ratios=False``: no labels). A value of 0 has
    no bar: it is written at the floor. Room is left above the tallest bar for its label.
    ``spread[group][design]``: ``(min, max)`` drawn as a whisker (over seeds, say); a bar of 0
    whose max is not 0 gets a mark at its max."""
    groups = list(values)
    designs = list(dict.fromkeys(d for g in groups for d in values[g]))
    fig, ax = _figure(min(14.0, max(6.5, 1.3 * len(groups) * max(len(designs), 2) / 3)), 5.0)
    width = 0.8 / max(len(designs), 1)
    heights, zeros = [], []
    for d, (design, color) in enumerate(zip(designs, _colors(len(designs)))):
        xs = [g + (d - (len(designs) - 1) / 2) * width for g in range(len(groups))]
        ys = np.array([values[group].get(design, np.nan) for group in groups], float)
        drawn = np.isfinite(ys) & (ys > 0)
        ax.bar(xs, np.where(drawn, ys, np.nan), width=width * 0.95, color=color, label=design)
        heights.extend(ys[drawn])
        for x, y, group, ok in zip(xs, ys, groups, drawn):
            first = next(iter(values[group].values()))
            lo, hi = (spread or {}).get(group, {}).get(design, (np.nan, np.nan))
            if ok and hi > lo:
                ax.errorbar(x, y, yerr=[[y - lo], [hi - y]], fmt="none", ecolor="0.2", capsize=2, lw=0.8)
            elif not ok and hi > 0:  # 0 at the median, not on every seed: the best seed's mark
                ax.errorbar(x, hi, fmt="_", color="0.2", ms=6)
                heights.append(hi)
            if ok and first > 0 and ratios:
                ax.annotate(f"{y / first:.2g}×", (x, y), xytext=(0, 2), textcoords="offset points", fontsize=6,
                            ha="center", va="bottom", rotation=90)
            elif design in values[group] and not ok:  # measured as 0 (a design a group lacks gets no mark)
                zeros.append(x)
    metric_ = METRICS.get(metric)
    label, unit = (metric_.label, metric_.unit) if metric_ else (metric, "")
    if heights:
        lo, hi = min(heights), max(heights)
        if log:
            ax.set_yscale("log")
            ax.set_ylim(lo / 2, hi * 2.5)  # headroom for the rotated ratio labels
        else:
            ax.set_ylim(0, hi * 1.25)
        unit_axis(ax.yaxis, label, unit, lo, hi, log=log)  # the prefix fits the bars, not the headroom
    else:
        ax.set_ylabel(f"{label} ({unit})" if unit else label)
    for x in zeros:  # no bar: marked at the axis floor
        ax.annotate("0", (x, ax.get_ylim()[0]), fontsize=7, ha="center", va="bottom", color="0.4")
    ax.set_xlim(-0.5, len(groups) - 0.5)  # every design's slot, drawn or 0, and each name under its group
    width_in = fig.get_figwidth()
    # tilted where the names would run into each other (about 0.075 in a character at 10 pt)
    tilt = len(groups) > 6 or max(map(len, groups), default=0) * CHAR_IN > 0.9 * (width_in - 1.2) / max(len(groups), 1)
    ax.set_xticks(range(len(groups)), groups, rotation=20 if tilt else 0, ha="right" if tilt else "center")
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    _legend_below(fig, ax)
    fig.suptitle(_wrapped(title, width_in), fontsize=10)
    return fig


CHAR_IN = 0.075
"""About how wide a character of a 10-point label is, in inches (DejaVu Sans), to decide before drawing."""


def _wrapped(text: str, width_in: float) -> str:
    """``text`` broken into lines that fit a figure ``width_in`` inches wide (a title is not clipped)."""
    import textwrap

    return "\n".join(textwrap.wrap(text, max(int(width_in / CHAR_IN), 20))) if text else text


def grouped_bars(path, values, **kwargs) -> pathlib.Path:
    """``grouped_bars_figure(values, **kwargs)`` written to ``path``."""
    return save_figure(grouped_bars_figure(values, **kwargs), path)


MIN_LABELLED_SHARE = 0.045
"""A core-mix segment is labelled with its count when it is at least this share of the tallest bar
(about the height of an 8-point digit on the figure's axes)."""


def core_mix_figure(mixes: Mapping[str, Sequence[str]], *, title: str = ""):
    """The cores of several designs (name → each core's label, e.g. ``B4096 ws_kc``), counted per
    label as one stacked bar each, so which sizes each design chose reads at a glance."""
    from matplotlib.ticker import MaxNLocator

    names = list(mixes)
    labels = sorted({core for cores in mixes.values() for core in cores})
    fig, ax = _figure(max(6.5, 0.9 * len(names) + 2), 5.0)
    bottom = np.zeros(len(names))
    tallest = max((len(cores) for cores in mixes.values()), default=1)
    for i, (label, color) in enumerate(zip(labels, _colors(len(labels)))):
        counts = np.array([list(mixes[n]).count(label) for n in names], float)
        # past the palette's 20 colours a label repeats one: hatched, so the two stay apart
        ax.bar(range(len(names)), counts, bottom=bottom, color=color, edgecolor="white", label=label,
               hatch="//" if i >= 20 else None)
        for x, count in enumerate(counts):
            if count >= MIN_LABELLED_SHARE * tallest:  # a count only where its segment holds the digits
                ax.text(x, bottom[x] + count / 2, f"{int(count)}", ha="center", va="center", fontsize=8)
        bottom += counts
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set_ylabel("cores (count)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _legend_below(fig, ax)
    fig.suptitle(title or "Core mix per design", fontsize=10)
    return fig


def core_mix(path, mixes, **kwargs) -> pathlib.Path:
    """``core_mix_figure(mixes, **kwargs)`` written to ``path``."""
    return save_figure(core_mix_figure(mixes, **kwargs), path)
