"""How the figures put numbers and words on the page: unit-scaled ticks and labels placed clear of the data.

* ``prefix_for(value)`` — the SI prefix that writes ``value`` with one to
  three digits before the point;
* ``unit_axis(axis, label, unit, lo, hi)`` — an axis whose label carries
  the prefixed unit (``latency (ms)``) and whose ticks are plain numbers,
  few enough never to run into each other;
* ``place_labels(ax, curves, avoid)`` — each label put at the point of its
  curve farthest from the data and from the labels placed before it, the
  whole text inside the axes (a label that fits nowhere is left out, never
  clipped);
* ``text_width(renderer, text, fontsize)`` — how wide a text is drawn, to write it only where it fits.

The placement measures text with the figure's renderer after the layout is
fixed, so it is exact for the image written at the figure's dpi.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_PREFIXES = ((1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, ""), (1e3, "k"), (1e6, "M"), (1e9, "G"))


def prefix_for(value: float) -> tuple[float, str]:
    """``(scale, prefix)`` with ``1 <= |value| / scale < 1000`` where the table allows (``3e-4`` → ``(1e-6, "µ")``)."""
    scale, prefix = _PREFIXES[0]
    for s, p in _PREFIXES:
        if abs(value) >= s:
            scale, prefix = s, p
    return scale, prefix


def plain(value: float) -> str:
    """A tick number without exponent or trailing zeros: ``0.0002``, ``15``, ``2.5``, ``1.075``.

    Four significant digits: ticks a step of 2.5 apart in the third digit
    (``1.075``, ``1.125``) would read ``1.07``, ``1.12`` with three."""
    return np.format_float_positional(float(value), precision=4, unique=True, fractional=False, trim="-")


def unit_axis(axis, label: str, unit: str, lo: float, hi: float, *, log: bool = False, scale: float | None = None):
    """Label ``axis`` ``label (prefix·unit)`` and tick it in that unit, the prefix fitting ``hi``.

    Log axes get ticks at 1, 1.5, 2, 3, 5, 7, at 1, 2, 5 or at 1 per decade
    by the decades shown, or at most seven evenly spaced ones within a
    decade: never the nine labelled minor ticks that run into each other
    (``9 ms10 ms``).  ``scale``: a fixed
    scale instead of the prefix (``100`` with unit ``%`` for fractions).
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter, NullLocator

    if scale is None:
        factor, prefix = prefix_for(hi) if unit else (1.0, "")
        shown = f"{prefix}{unit}"
    else:
        factor, shown = 1.0 / scale, unit
    axis.set_label_text(f"{label} ({shown})" if shown else label)
    axis.set_major_formatter(FuncFormatter(lambda v, _: plain(v / factor)))
    axis.set_minor_formatter(NullFormatter())
    if not log:
        axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        return
    decades = np.log10(hi / lo) if lo > 0 and hi > lo else 0.0
    if decades > 0.8:
        subs = (1.0,) if decades > 2.6 else (1.0, 2.0, 5.0) if decades > 1.4 else (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
        axis.set_major_locator(LogLocator(base=10.0, subs=subs, numticks=12))
        axis.set_minor_locator(LogLocator(base=10.0, subs=np.arange(2, 10), numticks=12))
    else:
        axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        axis.set_minor_locator(NullLocator())


def renderer(fig):
    """The renderer of ``fig`` with its layout fixed (constrained layout run once)."""
    fig.draw_without_rendering()
    return fig.canvas.get_renderer()


def _gap(boxes: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``(B,)`` distance from each box ``(B, 4)`` (x0, y0, x1, y1) to the nearest of ``points`` ``(N, 2)``."""
    if not len(points):
        return np.full(len(boxes), np.inf)
    dx = np.maximum(np.maximum(boxes[:, None, 0] - points[None, :, 0], points[None, :, 0] - boxes[:, None, 2]), 0)
    dy = np.maximum(np.maximum(boxes[:, None, 1] - points[None, :, 1], points[None, :, 1] - boxes[:, None, 3]), 0)
    return np.hypot(dx, dy).min(axis=1)


def _overlaps(boxes: np.ndarray, taken: Sequence[np.ndarray]) -> np.ndarray:
    """``(B,)`` whether each box overlaps any of ``taken`` (boxes as x0, y0, x1, y1)."""
    hit = np.zeros(len(boxes), bool)
    for t in taken:
        hit |= (boxes[:, 0] < t[2]) & (boxes[:, 2] > t[0]) & (boxes[:, 1] < t[3]) & (boxes[:, 3] > t[1])
    return hit


def place_labels(ax, curves: Sequence[tuple[str, np.ndarray, np.ndarray]], avoid: np.ndarray, **style) -> list:
    """Write each ``(text, xs, ys)`` on its curve where it is farthest from ``avoid`` and earlier labels.

    ``avoid`` ``(N, 2)``: data points in data coordinates.  Every label lies
    wholly inside the axes, clear of the others; one that cannot is left
    out.  Call last, once the figure holds everything else: the layout it
    measures must be final.  Returns the texts placed.
    """
    fig = ax.figure
    r = renderer(fig)
    inside = ax.get_window_extent(r)
    pad = 3.0
    points = ax.transData.transform(np.asarray(avoid, float).reshape(-1, 2)) if len(avoid) else np.zeros((0, 2))
    points = points[np.isfinite(points).all(axis=1)]
    taken, placed = [], []
    for text, xs, ys in curves:
        label = ax.text(0, 0, text, ha="center", va="center", in_layout=False, **style)
        extent = label.get_window_extent(r)
        w, h = extent.width / 2 + pad, extent.height / 2 + pad
        at = ax.transData.transform(np.column_stack([xs, ys]))
        at = at[np.isfinite(at).all(axis=1)]
        boxes = np.column_stack([at[:, 0] - w, at[:, 1] - h, at[:, 0] + w, at[:, 1] + h])
        ok = ((boxes[:, 0] >= inside.x0) & (boxes[:, 2] <= inside.x1)
              & (boxes[:, 1] >= inside.y0) & (boxes[:, 3] <= inside.y1) & ~_overlaps(boxes, taken))
        if not ok.any():
            label.remove()
            continue
        score = np.where(ok, _gap(boxes, points), -np.inf)
        best = int(np.argmax(score))
        label.set_position(ax.transData.inverted().transform(at[best]))
        taken.append(boxes[best])
        placed.append(label)
    return placed


def text_width(r, text: str, fontsize: float) -> float:
    """The width of ``text`` at ``fontsize`` in display pixels, as renderer ``r`` draws it."""
    from matplotlib.font_manager import FontProperties

    return r.get_text_width_height_descent(text, FontProperties(size=fontsize), ismath=False)[0]
