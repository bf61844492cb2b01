"""``cosearch spaces``: the named search spaces, their options and dimension."""

from __future__ import annotations

from cosearch.cli.console import UsageError, console, make_table

SPACE_NOTES = {
    "cosearch": "everything free: core count, sizes, dataflows, shares, mapping",
    "homogeneous_multicore": "identical cores: one size and dataflow, even shares (the poster's: dataflow dpu_pck)",
    "hda_fixed_granularity": "heterogeneous dataflow at one core size: the dataflow per core searched, sizes equal",
    "hda_one_core_per_dataflow": "v1's fixed-granularity baseline: one core per dataflow, sizes on a fixed split",
    "hda": "Herald/Maelstrom-like: one core per dataflow (default ws_kc + os_yx); PE, bandwidth and buffer "
           "partition searched",
    "fda": "one monolithic core",
    "fixed_architecture": "cores given; only the mapping is searched",
}


def add_parser(sub) -> None:
    spaces = sub.add_parser("spaces", help="named search spaces and their options")
    spaces.add_argument("--workload", default="herald_arvr_a", help="workload for the gene counts")
    spaces.add_argument("--platform", default="edge", help="platform for the gene counts")
    spaces.set_defaults(func=command)


def command(args) -> int:
    """Named search spaces, their options and dimension on a workload and platform."""
    import inspect

    from objectives.workloads import get_workload
    from spaces import SPACES, get_platform, make_space

    try:
        workload, platform = get_workload(args.workload), get_platform(args.platform)
    except ValueError as e:
        raise UsageError(str(e)) from None
    rows = []
    for name, builder in SPACES.items():
        options = [p for p in inspect.signature(builder).parameters if p not in ("workload", "platform")]
        try:
            dim = make_space(name, workload, platform).dim
        except ValueError:
            dim = "needs options"
        note = SPACE_NOTES.get(name) or (builder.__doc__ or "").strip().split("\n")[0]
        rows.append([name, dim, note, ", ".join(options)])
    console().print(make_table(f"spaces (dimension on {args.workload} / {args.platform})",
                           ["name", "genes", "restriction", "options"], rows, right={1}))
    return 0
