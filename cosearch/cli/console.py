"""What every command prints with: a rich console, tables, number formats, the one-line error types."""

from __future__ import annotations

import math
import os
import sys

USAGE_ERROR = 2
FAILURE = 1


class UsageError(ValueError):
    """A command-line mistake: printed as one line, exit code 2."""


def debugging() -> bool:
    """``COSEARCH_DEBUG=1``: tracebacks instead of one-line messages."""
    return os.environ.get("COSEARCH_DEBUG", "") not in ("", "0")


def console(stderr: bool = False):
    from rich.console import Console

    width = None if (sys.stderr if stderr else sys.stdout).isatty() else 160
    return Console(stderr=stderr, width=width, highlight=False, soft_wrap=True)


def make_table(title: str, columns: list[str], rows: list[list], right: set[int] = frozenset()):
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    for i, column in enumerate(columns):  # a narrow console wraps headers between words and folds cells: nothing is cut
        table.add_column(column, justify="right" if i in right else "left", overflow="fold",
                         min_width=max(map(len, column.split()), default=0))
    for row in rows:
        table.add_row(*(str(v) for v in row))
    return table


def giga(n: float) -> str:
    return f"{n / 1e9:,.2f} G"


def mega(n: float) -> str:
    return f"{n / 1e6:,.2f} M"


def best_text(value: float, key: str) -> str:
    """``best <label> <value unit>`` of an objective a run minimised (maximised ones were negated),
    labelled and scaled from the metrics table."""
    from cosearch.plots import si
    from cosearch.run import sign
    from objectives.metrics import METRICS

    entry = METRICS.get(key)
    label, unit, value = (entry.label, entry.unit, sign(key) * value) if entry else (key, "", value)
    if not math.isfinite(value):
        return f"best {label} —"
    return f"best {label} {si(value, unit, 4) if unit else f'{value:.4g}'}"
