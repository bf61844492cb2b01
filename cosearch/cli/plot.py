"""``cosearch plot``: (re)draw the figures of a results directory."""

from __future__ import annotations

from cosearch.cli.console import console


def add_parser(sub) -> None:
    plot = sub.add_parser("plot", help="(re)draw the plots of a results directory")
    plot.add_argument("results_dir", metavar="RESULTS_DIR")
    plot.add_argument("--format", choices=("png", "svg"), default="png")
    plot.set_defaults(func=command)


def command(args) -> int:
    from cosearch.report import plot_results
    from cosearch.results import ResultsDir

    paths = plot_results(ResultsDir(args.results_dir), fmt=args.format)
    out = console()
    for path in paths:
        out.print(f"wrote {path}")
    return 0
