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
    for i, column in enumerate(columns):
        table.add_column(column, justify="right" if i in right else "left")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    return table


def giga(n: float) -> str:
    return f"{n / 1e9:,.2f} G"


def mega(n: float) -> str:
    return f"{n / 1e6:,.2f} M"


def number(value: float, metric: str) -> str:
    """An objective's value as the console shows it: EDP with its SI prefix, anything else in 4 digits."""
    from cosearch.plots import si

    return si(value, "J·s", 4) if metric == "EDP" and math.isfinite(value) else f"{value:.4g}"
