"""``cosearch platforms``: the platform presets and their budgets."""

from __future__ import annotations

from cosearch.cli.console import console, make_table


def add_parser(sub) -> None:
    platforms = sub.add_parser("platforms", help="platform presets and their budgets")
    platforms.set_defaults(func=command)


def command(args) -> int:
    """Platform presets and their budgets."""
    from spaces.hardware import PLATFORMS

    rows = []
    for p in PLATFORMS.values():
        budget = f"{p.pes} PEs" if p.kind == "asic" else (f"{p.dsp:,.0f} DSP, {p.lut:,.0f} LUT, {p.bram36:,.0f} BRAM36, "
                                                          f"{p.uram:,.0f} URAM")
        sizes = [s.name for s in p.core_sizes]
        rows.append([p.name, p.kind, budget, f"{p.bw_gbps:g}", f"{p.buffer_bytes / 2**20:g}",
                     f"{p.clock_hz / 1e6:g}", p.max_cores, ", ".join(p.dataflows),
                     f"{sizes[0]} … {sizes[-1]}" if len(sizes) > 2 else ", ".join(sizes)])
    console().print(make_table("platforms (override any field under platform: in a config)",
                           ["name", "kind", "compute budget", "GB/s", "buffer MiB", "MHz", "max cores",
                            "dataflows", "core sizes"], rows, right={3, 4, 5, 6}))
    return 0
