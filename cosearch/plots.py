"""Every figure cosearch draws (all matplotlib lives here; Agg backend, no display needed).

Each function takes plain arrays or dicts, writes one image to ``path`` (the
suffix picks the format: ``.png`` or ``.svg``) and returns the path.

* ``pareto_front`` — latency vs energy of evaluated designs, the front, the
  best design and baselines, with EDP iso-lines;
* ``compare_fronts`` — several experiments' fronts on one pair of axes;
* ``convergence`` — best-so-far per optimizer: median and inter-quartile band
  over seeds, against evaluations and against seconds;
* ``design_diagram`` — the cores of one design: sizes, dataflows, bandwidth,
  buffer and work shares;
* ``gantt`` — a schedule, one row per core, bars coloured by DNN.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

from objectives.metrics import METRICS

# The latency–energy plane every front is drawn in, and the iso-EDP lines across it.
LATENCY, ENERGY, EDP = METRICS["latency_s"], METRICS["energy_j"], METRICS["edp"]

DPI = 130
MARKERS = ("s", "^", "D", "v", "P", "X", "*", "h")
_PREFIXES = ((1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, ""), (1e3, "k"), (1e6, "M"))


def si(value: float, unit: str, digits: int = 3) -> str:
    """``7.08e-06, "J·s"`` → ``"7.08 µJ·s"``: a number with an SI prefix (plain text, no matplotlib)."""
    if value != value or value in (float("inf"), float("-inf")):
        return f"{value} {unit}"
    if value == 0:
        return f"0 {unit}"
    value = round(value, digits - 1 - int(np.floor(np.log10(abs(value)))))  # significant digits
    scale, prefix = _PREFIXES[0]
    for s, p in _PREFIXES:
        if abs(value) >= s:
            scale, prefix = s, p
    x = value / scale
    return f"{x:.{max(digits, int(np.floor(np.log10(abs(x)))) + 1)}g} {prefix}{unit}"


def _si_axes(ax, x_unit: str, y_unit: str) -> None:
    """SI-prefixed tick labels on log axes; minor ticks labelled only when the axis spans under a decade."""
    from matplotlib.ticker import EngFormatter, NullFormatter

    for axis, unit, (lo, hi) in ((ax.xaxis, x_unit, ax.get_xlim()), (ax.yaxis, y_unit, ax.get_ylim())):
        axis.set_major_formatter(EngFormatter(unit=unit))
        axis.set_minor_formatter(EngFormatter(unit=unit) if hi / lo < 10 else NullFormatter())


def _figure(width: float, height: float, ncols: int = 1):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, ncols)
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


def _colors(n: int) -> list:
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _edp_isolines(ax, anchor_edp: float, lines: int = 6) -> None:
    """Dotted lines of constant EDP (energy = EDP / latency) through ``anchor_edp``, evenly spaced in log."""
    x_lo, x_hi = ax.get_xlim()
    y_lo, y_hi = ax.get_ylim()
    lowest, highest = x_lo * y_lo, x_hi * y_hi
    ratio = max((highest / lowest) ** (1.0 / lines), 1.05)
    k_lo = int(np.floor(np.log(lowest / anchor_edp) / np.log(ratio)))
    k_hi = int(np.ceil(np.log(highest / anchor_edp) / np.log(ratio)))
    xs = np.geomspace(x_lo, x_hi, 100)
    for k in range(k_lo, k_hi + 1):
        edp = anchor_edp * ratio**k
        ys = edp / xs
        inside = (ys >= y_lo) & (ys <= y_hi)
        if inside.sum() < 2:
            continue
        ax.plot(xs, ys, ":", color="0.65", lw=0.8, zorder=0)
        i = np.flatnonzero(inside)[-1]
        ax.annotate(si(edp, EDP.unit, 2), (xs[i], ys[i]), fontsize=7, color="0.45", ha="right", va="bottom")
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)


def _front_2d(latency: np.ndarray, energy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The latency–energy non-dominated points, by rising latency (for a step line)."""
    order = np.lexsort((energy, latency))
    lat, en = latency[order], energy[order]
    keep = en < np.minimum.accumulate(np.concatenate([[np.inf], en[:-1]]))
    return lat[keep], en[keep]


def pareto_front(
    path,
    *,
    latency_s: Sequence[float],
    energy_j: Sequence[float],
    front: Sequence[bool] | None = None,
    best: tuple[float, float] | None = None,
    baselines: Mapping[str, tuple[float, float]] | None = None,
    title: str = "",
    front_label: str = "Pareto front",
    cloud_label: str = "evaluated",
) -> pathlib.Path:
    """Scatter of designs (finite ones); ``front`` marks the Pareto set, whose 2-D
    non-dominated members are joined by a step line.

    ``best`` is (latency, energy) of the best design; ``baselines`` maps a
    name to its (latency, energy).  Axes are logarithmic; dotted lines are
    iso-EDP curves, labelled in J·s.
    """
    latency, energy = np.asarray(latency_s, float), np.asarray(energy_j, float)
    ok = np.isfinite(latency) & np.isfinite(energy) & (latency > 0) & (energy > 0)
    fig, ax = _figure(6.4, 5.6)
    mask = np.zeros_like(ok) if front is None else np.asarray(front, bool) & ok
    ax.scatter(latency[ok & ~mask], energy[ok & ~mask], s=6, color="0.7", alpha=0.6, lw=0,
               label=f"{cloud_label} ({(ok & ~mask).sum()})")
    if mask.any():
        ax.scatter(latency[mask], energy[mask], s=14, color="C0", label=f"{front_label} ({mask.sum()})", zorder=3)
        lat, en = _front_2d(latency[mask], energy[mask])
        ax.step(lat, en, where="post", color="C0", lw=1.2, label="latency–energy front")
    points = [(latency[ok], energy[ok])]
    for i, (name, (lat, en)) in enumerate((baselines or {}).items()):
        if np.isfinite(lat) and np.isfinite(en):
            ax.scatter([lat], [en], marker=MARKERS[i % len(MARKERS)], s=55, color=f"C{i + 2}", edgecolor="k",
                       lw=0.6, label=f"{name} ({EDP.label} {si(lat * en, EDP.unit)})", zorder=4)
            points.append((np.array([lat]), np.array([en])))
    if best is not None and np.isfinite(best).all():
        ax.scatter([best[0]], [best[1]], marker="*", s=180, color="C3", edgecolor="k", lw=0.6,
                   label=f"best ({EDP.label} {si(best[0] * best[1], EDP.unit)})", zorder=5)
        points.append((np.array([best[0]]), np.array([best[1]])))
    xs = np.concatenate([p[0] for p in points])
    ys = np.concatenate([p[1] for p in points])
    if xs.size:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(xs.min() / 1.3, xs.max() * 1.3)
        ax.set_ylim(ys.min() / 1.3, ys.max() * 1.3)
        anchor = best[0] * best[1] if best is not None and np.isfinite(best).all() else float((xs * ys).min())
        _edp_isolines(ax, anchor)
        _si_axes(ax, LATENCY.unit, ENERGY.unit)
    else:
        ax.text(0.5, 0.5, "no feasible design to show", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
    return _save_latency_energy(fig, ax, path, title or "Pareto front: latency vs energy")


def compare_fronts(
    path, fronts: Mapping[str, tuple[Sequence[float], Sequence[float]]], *, title: str = ""
) -> pathlib.Path:
    """One step line per experiment (name → (latency_s, energy_j) of its front); the best EDP starred."""
    fig, ax = _figure(6.4, 5.2 + 0.12 * len(fronts))
    colors = _colors(len(fronts))
    anchor = np.inf
    for color, (name, (lat, en)) in zip(colors, fronts.items()):
        lat, en = np.asarray(lat, float), np.asarray(en, float)
        ok = np.isfinite(lat) & np.isfinite(en) & (lat > 0) & (en > 0)
        lat, en = lat[ok], en[ok]
        if not lat.size:
            continue
        i = int(np.argmin(lat * en))
        anchor = min(anchor, lat[i] * en[i])
        ax.step(*_front_2d(lat, en), where="post", color=color, lw=1.4)
        ax.scatter(lat, en, s=8, color=color, alpha=0.45, lw=0, label=f"{name} (best {EDP.label} {si(lat[i] * en[i], EDP.unit)})")
        ax.scatter([lat[i]], [en[i]], marker="*", s=150, color=color, edgecolor="k", lw=0.6, zorder=4)
    if np.isfinite(anchor):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.margins(0.1)
        _edp_isolines(ax, anchor)
        _si_axes(ax, LATENCY.unit, ENERGY.unit)
    return _save_latency_energy(fig, ax, path, title or "Pareto fronts compared")


def _save_latency_energy(fig, ax, path, title: str) -> pathlib.Path:
    """Axis labels, title, grid and legend shared by the latency-energy plots, then save."""
    ax.set_xlabel(f"{LATENCY.label}: makespan of the mix")
    ax.set_ylabel(ENERGY.label)
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    fig.legend(fontsize=8, loc="outside lower center", ncol=2, frameon=False)
    return save_figure(fig, path)


def _quartiles(runs: Sequence[tuple[np.ndarray, np.ndarray]], grid: np.ndarray) -> np.ndarray:
    """``(3, G)`` 25th, 50th, 75th percentile over runs of best-so-far at each grid x (step-wise)."""
    values = np.full((len(runs), grid.size), np.nan)
    for r, (x, best) in enumerate(runs):
        x, best = np.asarray(x, float), np.asarray(best, float)
        idx = np.searchsorted(x, grid, side="right") - 1
        values[r] = np.where(idx >= 0, best[np.maximum(idx, 0)], np.nan)
    values[~np.isfinite(values)] = np.nan
    out = np.full((3, grid.size), np.nan)
    some = ~np.isnan(values).all(axis=0)
    if some.any():
        out[:, some] = np.nanpercentile(values[:, some], [25, 50, 75], axis=0)
    return out


def convergence(
    path,
    curves: Mapping[str, Sequence[Mapping[str, Sequence[float]]]],
    *,
    ylabel: str = "best EDP so far",
    unit: str = "J·s",
    title: str = "",
) -> pathlib.Path:
    """Best-so-far per optimizer (name → one dict per seed with ``evaluations``, ``seconds``, ``best``).

    Left: against evaluations; right: against wall-clock seconds.  Lines are
    the median over seeds, bands the inter-quartile range.
    """
    fig, (left, right) = _figure(10.5, 4.2, ncols=2)
    colors = _colors(len(curves))
    for color, (name, runs) in zip(colors, curves.items()):
        for ax, key in ((left, "evaluations"), (right, "seconds")):
            pairs = [(np.asarray(r[key], float), np.asarray(r["best"], float)) for r in runs if len(r[key])]
            if not pairs:
                continue
            lo = min(x[0] for x, _ in pairs)
            hi = max(x[-1] for x, _ in pairs)
            grid = np.unique(np.concatenate([np.linspace(lo, hi, 200), *[x for x, _ in pairs]]))
            q25, q50, q75 = _quartiles(pairs, grid)
            label = f"{name} ({len(pairs)} seed{'s' if len(pairs) != 1 else ''})"
            ax.step(grid, q50, where="post", color=color, lw=1.5, label=label)
            if len(pairs) > 1:
                ax.fill_between(grid, q25, q75, step="post", color=color, alpha=0.2, lw=0)
    from matplotlib.ticker import EngFormatter

    for ax, xlabel in ((left, "evaluations"), (right, "wall-clock time (s)")):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(EngFormatter(unit=unit))
        ax.yaxis.set_minor_formatter(EngFormatter(unit=unit))
        ax.grid(True, alpha=0.3)
    left.legend(fontsize=8, loc="best")
    fig.suptitle(title or "Convergence: median and inter-quartile range over seeds")
    return save_figure(fig, path)


def design_diagram(
    path,
    cores: Sequence[Mapping],
    *,
    compute: tuple[str, Sequence[float], Sequence[str]] | None = None,
    work_share: Sequence[float] | None = None,
    title: str = "",
    notes: Sequence[str] = (),
) -> pathlib.Path:
    """The cores of one design as stacked shares of the chip's budgets.

    ``cores``: dicts with ``size`` (name or None), ``pes``, ``dataflow``,
    ``bw_share``, ``buffer_share``.  ``compute``: the first row as (label,
    each core's fraction of the compute budget, text in each bar), e.g.
    ``("compute (DSP)", [0.05, 0.05], ["642 DSP", "642 DSP"])``; what the
    fractions leave is drawn as unused.  Default: shares of the cores' PEs.
    ``work_share``: each core's fraction of the workload's MACs.  ``notes``:
    lines printed above the bars.
    """
    pes = np.array([c["pes"] for c in cores], float)
    if compute is None:
        compute = ("compute (PEs)", pes / pes.sum(), [f"{int(p)} PEs" for p in pes])
    compute_label, compute_share, compute_text = compute
    rows = [(compute_label, np.asarray(compute_share, float)),
            ("off-chip bandwidth", np.array([c["bw_share"] for c in cores], float)),
            ("on-chip buffer", np.array([c["buffer_share"] for c in cores], float))]
    if work_share is not None:
        rows.append(("MACs mapped", np.asarray(work_share, float)))
    fig, ax = _figure(8.0, 1.9 + 0.6 * len(rows) + 0.2 * len(notes) + 0.2 * ((len(cores) + 1) // 2))
    colors = _colors(len(cores))
    for r, (label, shares) in enumerate(rows):
        left = 0.0
        for c, share in enumerate(shares):
            ax.barh(r, share, left=left, color=colors[c], edgecolor="white", height=0.7)
            if share > 0.07:
                text = compute_text[c] if r == 0 else f"{share:.0%}"
                ax.text(left + share / 2, r, text, ha="center", va="center", fontsize=8)
            left += share
        if r == 0 and left < 0.999:
            ax.barh(r, 1 - left, left=left, color="0.9", edgecolor="white", height=0.7, hatch="//")
            ax.text((1 + left) / 2, r, "unused", ha="center", va="center", fontsize=8, color="0.4")
    ax.set_yticks(range(len(rows)), [label for label, _ in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
    ax.set_xlabel("share of the chip's budget")
    from matplotlib.patches import Patch

    handles = [Patch(color=colors[c], label=f"core {c}: {core.get('size') or 'custom'}, {core['dataflow']}")
               for c, core in enumerate(cores)]
    fig.legend(handles=handles, fontsize=8, loc="outside lower center", ncol=min(len(cores), 2), frameon=False)
    if notes:
        ax.set_title("\n".join(notes), fontsize=8, loc="left")
    fig.suptitle(title or f"Best design: {len(cores)} core{'s' if len(cores) != 1 else ''}")
    return save_figure(fig, path)


def gantt(
    path,
    *,
    start_s: Sequence[float],
    finish_s: Sequence[float],
    core: Sequence[int],
    layer_model: Sequence[int],
    model_names: Sequence[str],
    core_labels: Sequence[str] | None = None,
    title: str = "",
) -> pathlib.Path:
    """A schedule of L layers: one row per core, a bar per layer from start to finish, coloured by DNN.

    ``layer_model`` ``(L,)`` indexes ``model_names``; times in seconds (drawn in ms).
    """
    start, finish = np.asarray(start_s, float) * 1e3, np.asarray(finish_s, float) * 1e3
    core, model = np.asarray(core, int), np.asarray(layer_model, int)
    cores = int(core.max()) + 1 if core.size else 1
    labels = list(core_labels) if core_labels is not None else [f"core {c}" for c in range(cores)]
    fig, ax = _figure(10.0, 2.0 + 0.55 * len(labels) + 0.2 * ((len(model_names) + 4) // 5))
    colors = _colors(len(model_names))
    for m, name in enumerate(model_names):
        for c in range(len(labels)):
            pick = (model == m) & (core == c)
            if pick.any():
                spans = list(zip(start[pick], finish[pick] - start[pick]))
                ax.broken_barh(spans, (c - 0.38, 0.76), facecolors=colors[m], lw=0)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, finish.max() * 1.01 if finish.size else 1)
    ax.set_xlabel("time (ms)")
    ax.grid(True, axis="x", alpha=0.3)
    from matplotlib.patches import Patch

    fig.legend(handles=[Patch(color=colors[m], label=n) for m, n in enumerate(model_names)], fontsize=8,
               loc="outside lower center", ncol=min(len(model_names), 5), frameon=False)
    ax.set_title(title or "Schedule per core, coloured by DNN")
    return save_figure(fig, path)


# -- serving (request streams; cosearch.scenarios) ----------------------------------------


def latency_cdf(
    path,
    latency_s: Mapping[str, Sequence[float]],
    *,
    qos_s: Mapping[str, float] | None = None,
    title: str = "",
) -> pathlib.Path:
    """Each tenant's request latencies as an empirical CDF (log time axis), its QoS bound dashed.

    ``latency_s``: tenant → its measured requests' latencies (s); ``qos_s``: tenant → its bound (s).
    """
    fig, ax = _figure(7.5, 4.4)
    colors = _colors(len(latency_s))
    for color, (name, values) in zip(colors, latency_s.items()):
        x = np.sort(np.asarray(values, float))
        x = x[np.isfinite(x)]
        if not x.size:
            continue
        ax.step(x, np.arange(1, x.size + 1) / x.size, where="post", color=color, lw=1.5, label=name)
        if qos_s and name in qos_s and np.isfinite(qos_s[name]):
            ax.axvline(qos_s[name], color=color, ls="--", lw=0.9, alpha=0.8)
    ax.axhline(0.99, color="0.5", ls=":", lw=0.8)
    ax.annotate("p99", (ax.get_xlim()[0], 0.99), fontsize=7, color="0.4", va="bottom")
    ax.set_xscale("log")
    from matplotlib.ticker import EngFormatter

    ax.xaxis.set_major_formatter(EngFormatter(unit="s"))
    ax.set_xlabel("request latency (dashed: the tenant's QoS bound)")
    ax.set_ylabel("share of requests")
    ax.set_ylim(0, 1.01)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title or "Latency CDF per tenant")
    return save_figure(fig, path)


def sla_vs_load(
    path,
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    target: float = 0.99,
    xlabel: str = "offered load (queries/s)",
    title: str = "",
) -> pathlib.Path:
    """SLA satisfaction against offered load, one line per design (name → (loads, rates)); the
    target rate dotted, so where each line crosses it is that design's throughput at SLA."""
    fig, ax = _figure(7.5, 4.4)
    for i, (color, (name, (loads, rates))) in enumerate(zip(_colors(len(curves)), curves.items())):
        ax.plot(np.asarray(loads, float), np.asarray(rates, float), marker=MARKERS[i % len(MARKERS)], ms=4,
                color=color, lw=1.4, label=name)
    ax.axhline(target, color="0.4", ls=":", lw=0.9)
    ax.set_xscale("log")
    from matplotlib.ticker import EngFormatter

    ax.xaxis.set_major_formatter(EngFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel("SLA satisfaction rate")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(title or "SLA satisfaction vs load")
    return save_figure(fig, path)


def grouped_bars(
    path,
    values: Mapping[str, Mapping[str, float]],
    *,
    ylabel: str,
    log: bool = True,
    title: str = "",
) -> pathlib.Path:
    """Bars grouped by the outer key (a scenario or experiment), one bar per inner key (a design),
    each labelled with its value relative to the group's first bar (``values[group][design]``)."""
    groups = list(values)
    designs = list(dict.fromkeys(d for g in groups for d in values[g]))
    fig, ax = _figure(min(14.0, max(6.0, 1.3 * len(groups) * max(len(designs), 2) / 3)), 4.4)
    width = 0.8 / max(len(designs), 1)
    colors = _colors(len(designs))
    zeros = []
    for d, (design, color) in enumerate(zip(designs, colors)):
        xs = [g + (d - (len(designs) - 1) / 2) * width for g in range(len(groups))]
        ys = [values[group].get(design, np.nan) for group in groups]
        ax.bar(xs, [y if np.isfinite(y) and y > 0 else np.nan for y in ys], width=width * 0.95, color=color,
               label=design)
        for x, y, group in zip(xs, ys, groups):
            first = next(iter(values[group].values()))
            if np.isfinite(y) and y > 0 and first > 0:
                ax.annotate(f"{y / first:.2g}×", (x, y), fontsize=6, ha="center", va="bottom", rotation=90)
            elif design in values[group]:  # measured as 0 (a design a group lacks gets no mark)
                zeros.append(x)
    if log:
        ax.set_yscale("log")
    for x in zeros:  # no bar: marked at the axis floor
        ax.annotate("0", (x, ax.get_ylim()[0]), fontsize=7, ha="center", va="bottom", color="0.4")
    ax.set_xticks(range(len(groups)), groups, rotation=20 if len(groups) > 6 else 0,
                  ha="right" if len(groups) > 6 else "center")
    ax.set_ylabel(ylabel)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(title)
    return save_figure(fig, path)


def core_mix(
    path,
    mixes: Mapping[str, Sequence[str]],
    *,
    title: str = "",
) -> pathlib.Path:
    """The cores of several designs (name → each core's label, e.g. ``B4096 ws_kc``), counted per
    label as one stacked bar each, so which sizes each design chose reads at a glance."""
    names = list(mixes)
    labels = sorted({core for cores in mixes.values() for core in cores})
    fig, ax = _figure(max(6.0, 0.9 * len(names) + 2), 4.4)
    colors = _colors(len(labels))
    bottom = np.zeros(len(names))
    for label, color in zip(labels, colors):
        counts = np.array([list(mixes[n]).count(label) for n in names], float)
        ax.bar(range(len(names)), counts, bottom=bottom, color=color, edgecolor="white", label=label)
        for i, count in enumerate(counts):
            if count:
                ax.text(i, bottom[i] + count / 2, f"{int(count)}", ha="center", va="center", fontsize=8)
        bottom += counts
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set_ylabel("cores")
    ax.legend(fontsize=8, loc="best")
    ax.set_title(title or "Core mix per design")
    return save_figure(fig, path)
