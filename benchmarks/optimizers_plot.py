"""The convergence figure of benchmarks/optimizers.py (matplotlib, Agg backend; imported lazily).

``convergence(path, curves, best_edp=…)``: one line per optimizer, the median
over seeds of the best EDP found after each evaluation, with the
inter-quartile range as a band; log y, with the "within 1 % of the best" line
the benchmark's table counts evaluations to.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping

import numpy as np

from cosearch.plots import save_figure

LINESTYLES = ("-", "--", "-.", ":")


def quartiles(curves: np.ndarray) -> np.ndarray:
    """``(3, E)`` 25th/50th/75th percentile over seeds of ``(S, E)`` best-so-far values; NaN while any seed has none.

    A seed with no feasible design yet (inf) counts as worse than every value, so
    the median is finite only once half the seeds have one; NaN is not drawn.
    """
    curves = np.asarray(curves, dtype=float)
    with np.errstate(invalid="ignore"):  # inf − inf between two seeds without a design: NaN, not drawn
        out = np.percentile(curves, [25, 50, 75], axis=0)
    out[~np.isfinite(out)] = np.nan
    return out


NICE = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)  # mantissas of tick values, then finer ones
FINER = (NICE, tuple(np.round(np.arange(1.0, 10.0, 0.1), 1)), tuple(np.round(np.arange(1.0, 10.0, 0.01), 2)))


def log_ticks(low: float, high: float, count: int = 8) -> np.ndarray:
    """Round tick values in (``low``, ``high``), at least a ``count``-th of the log range apart:
    mantissas 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, or 0.1 / 0.01 steps when that gives under four."""
    decades = range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)
    gap = 0.8 * np.log(high / low) / count
    for mantissas in FINER:
        ticks = []
        for value in sorted(m * 10.0**k for k in decades for m in mantissas if low < m * 10.0**k < high):
            if not ticks or np.log(value / ticks[-1]) >= gap:
                ticks.append(value)
        if len(ticks) >= 4:
            break
    return np.array(ticks)


def convergence(path, curves: Mapping[str, np.ndarray], *, best_edp: float, within: float = 0.01,
                title: str = "") -> pathlib.Path:  # fmt: skip
    """Write the figure to ``path`` (``.png``/``.svg``).

    ``curves``: optimizer → ``(seeds, evaluations)`` best-so-far EDP in J·s.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter, FixedLocator, NullFormatter, NullLocator

    fig = Figure(figsize=(9.0, 5.0), layout="constrained")
    ax = fig.subplots()
    cmap = matplotlib.colormaps["tab10"]
    early = []  # each median after 5 % of the budget: the y range shows where the lines separate, not first guesses
    medians = []
    for i, (name, runs) in enumerate(curves.items()):
        q25, q50, q75 = quartiles(runs)
        medians.append(q50)
        x = np.arange(1, q50.size + 1)
        color, style = cmap(i % 10), LINESTYLES[(i // 10 + i) % len(LINESTYLES)]
        ax.plot(x, q50, color=color, ls=style, lw=1.6, label=f"{name} ({len(runs)} seeds)", drawstyle="steps-post")
        if len(runs) > 1:
            ax.fill_between(x, q25, q75, color=color, alpha=0.12, lw=0, step="post")
        if np.isfinite(q50[q50.size // 20]):
            early.append(q50[q50.size // 20])
    ax.axhline(best_edp * (1 + within), color="black", lw=0.8, ls=(0, (1, 2)),
               label=f"within {within:.0%} of the best run ({best_edp * (1 + within):.4g} J·s)")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xscale("log")
    top = min(max(early, default=4 * best_edp), 4 * best_edp)
    low, high = best_edp * 0.985, max(top, best_edp * 1.1) * 1.02
    ax.set_ylim(low, high)
    entries = [np.flatnonzero(m < high)[0] + 1 for m in medians if (m < high).any()]  # NaN compares False
    ax.set_xlim(max(0.8 * min(entries, default=1), 1), max(r.shape[1] for r in curves.values()))
    ax.yaxis.set_major_locator(FixedLocator(log_ticks(low, high)))
    ax.yaxis.set_major_formatter(EngFormatter(unit="J·s"))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("evaluations (log)")
    ax.set_ylabel("best EDP so far: median over seeds, band = IQR")
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)
    fig.legend(loc="outside right upper", fontsize=8, frameon=False)
    ax.set_title(title or "Convergence: median best EDP and inter-quartile range over seeds", fontsize=11)
    return save_figure(fig, path)
