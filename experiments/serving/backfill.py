"""How the backfilling depth moves the serving metrics: random designs of each config's co-search space,
scored at the default depth and at others.

    python experiments/serving/backfill.py experiments/serving/planaria_a.yaml ... --depths 0,1,4,64 --designs 16

Prints the table of docs/serving.md "Backfilling depth": per config (its first case) and depth, the
median change against the default depth over the designs [min, max] of ``qps_at_sla`` (over designs
where it is non-zero at the default), of the SLA rate (absolute), of p99 latency and of energy per
query (at the config's load).  Every design is scored as a run scores it (every case, with the
bisection of ``qps_at_sla`` where the objective names it), under the config's own serving section.
"""

from __future__ import annotations

import argparse
import pathlib

import numpy as np

from cosearch.config_loader import build, config_problems, load_config
from objectives.serving import BACKFILL


def first_case(config_path: str, depth: int | None, designs: int) -> dict[str, np.ndarray]:
    """``(designs,)`` per metric of the co-search space's random designs, first case, at one depth."""
    config = load_config(config_path, {"serving.backfill": depth})
    problem = next(iter(config_problems(config, build(config, config_path)).values()))  # the co-search
    X = np.random.default_rng(0).random((designs, problem.dim))
    metrics = problem.evaluate(X)
    cases = [(problem.metrics_row(metrics, i).get("scenarios") or [{}])[0] for i in range(designs)]
    return {m: np.array([c.get(m, np.nan) for c in cases], dtype=float)
            for m in ("qps_at_sla", "sla_rate", "p99_latency_s", "energy_per_query_j")}


def relative(old: np.ndarray, new: np.ndarray) -> str:
    ok = np.isfinite(old) & np.isfinite(new) & (old > 0)
    if not ok.any():
        return "—"
    change = 100 * (new[ok] - old[ok]) / old[ok]
    return f"{np.median(change):+.1f} % [{change.min():+.0f}, {change.max():+.0f}]"


def absolute(old: np.ndarray, new: np.ndarray) -> str:
    ok = np.isfinite(old) & np.isfinite(new)
    change = new[ok] - old[ok]
    return f"{np.median(change):+.3f} [{change.min():+.2f}, {change.max():+.2f}]" if ok.any() else "—"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="+")
    parser.add_argument("--depths", default="0,1,4,8,64",
                        help="comma-separated depths to compare with the default (every interval): whole numbers")
    parser.add_argument("--designs", type=int, default=16)
    args = parser.parse_args()
    try:
        depths = [int(d) for d in args.depths.split(",")]
    except ValueError:
        parser.error(f"--depths: {args.depths!r} is not a comma-separated list of whole numbers")
    default = "every interval" if BACKFILL is None else f"depth {BACKFILL}"
    print(f"| experiment | depth | designs (qps_at_sla > 0 at {default}) | qps_at_sla | SLA rate | p99 latency | "
          "energy per query |\n|---|---:|---|---|---|---|---|")
    for path in args.configs:
        base = first_case(path, BACKFILL, args.designs)
        for depth in depths:
            new = first_case(path, depth, args.designs)
            print(f"| {pathlib.Path(path).stem} | {depth} | {args.designs} ({int((base['qps_at_sla'] > 0).sum())}) | "
                  f"{relative(base['qps_at_sla'], new['qps_at_sla'])} | {absolute(base['sla_rate'], new['sla_rate'])} | "
                  f"{relative(base['p99_latency_s'], new['p99_latency_s'])} | "
                  f"{relative(base['energy_per_query_j'], new['energy_per_query_j'])} |", flush=True)


if __name__ == "__main__":
    main()
