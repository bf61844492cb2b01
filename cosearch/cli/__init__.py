"""``cosearch`` — run experiments from config files, and inspect what they found.

Commands: run · evaluate · cost · plot · compare · workloads · platforms · spaces · validate,
one module each in this package (``add_parser`` declares its arguments,
``command`` runs it); ``console`` holds what they print with.
Exit codes: 0 success, 2 usage or config error, 1 failure (SIGINT and SIGTERM
included).  A user mistake prints one message and no traceback;
``COSEARCH_DEBUG=1`` shows tracebacks.

Heavy modules (numpy, pydantic, Ray, Optuna, matplotlib) are imported inside
the commands so ``cosearch --help`` starts at once.
"""

from __future__ import annotations

import argparse
import gc
import signal
import sys

from cosearch.cli import compare, cost, evaluate, platforms, plot, run, spaces, validate, workloads
from cosearch.cli.console import FAILURE, USAGE_ERROR, UsageError, debugging

COMMANDS = (run, evaluate, cost, plot, compare, workloads, platforms, spaces, validate)  # in --help's order


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cosearch",
        description="Co-design multi-DNN accelerators: search cores, dataflows, shares and mapping together.",
        epilog="Start with: cosearch run experiments/quickstart.yaml   (COSEARCH_DEBUG=1 shows tracebacks)",
    )
    parser.add_argument("--version", action="version", version=f"cosearch {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def version() -> str:
    """The installed distribution's version (pyproject.toml), or where this checkout was imported from."""
    from importlib import metadata

    try:
        return metadata.version("cosearch")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def _terminated(signum, frame):
    """SIGTERM (a scheduler's or a service manager's stop) is handled as Ctrl-C: finished runs are kept."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    debug = debugging()
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("cosearch: interrupted", file=sys.stderr)
        return FAILURE
    except Exception as e:  # one place turns errors into messages and exit codes
        from cosearch.config import ConfigError
        from cosearch.results import ResultsError

        if debug:
            raise
        if isinstance(e, (ConfigError, ResultsError, UsageError)):
            print(e if isinstance(e, ConfigError) else f"cosearch {args.command}: {e}", file=sys.stderr)
            return USAGE_ERROR
        from cosearch.run import failure_line

        print(f"cosearch {args.command}: error: {failure_line(e)}", file=sys.stderr)
        print("(set COSEARCH_DEBUG=1 for the traceback)", file=sys.stderr)
        return FAILURE
    finally:
        signal.signal(signal.SIGTERM, previous)
        if argv is None:  # the program itself (tests pass their arguments), about to exit
            _spare_final_collection()


def _spare_final_collection() -> None:
    """Exclude every live object from the collection the interpreter runs while it shuts down:
    a run leaves millions of them (Ray's, matplotlib's, the mapper's tables) and traversing
    them took 1-3 s after the last line was printed; the operating system reclaims the memory
    at once. Files are already closed and every result written (atomically) by then."""
    gc.freeze()


__all__ = ["UsageError", "build_parser", "main"]
