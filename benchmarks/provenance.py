"""Where a benchmark's figures come from: the commit the code ran at, and when.

Recorded beside every result that is committed (the paper digests, the
attribution JSONs), so a figure can be traced to the model that produced it
after the run directories are gone.
"""

from __future__ import annotations

import datetime
import pathlib
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[1]


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()


def checkout() -> dict:
    """The commit the code runs at, and whether the model, search or experiment files differ from it."""
    dirty = git("status", "--porcelain", "--", "cosearch", "objectives", "spaces", "experiments")
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(dirty)}


def now_utc() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def written_utc(path: str | pathlib.Path) -> str:
    """When ``path`` was last written, in ``now_utc``'s form (a results directory's ``summary.json``, written
    last: when its experiment finished)."""
    return datetime.datetime.fromtimestamp(pathlib.Path(path).stat().st_mtime,
                                           datetime.timezone.utc).isoformat(timespec="seconds")
