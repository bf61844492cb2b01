"""Serving simulation throughput: designs scored per second on a request stream, per policy.

    python benchmarks/serving.py [--designs 64] [--cores 4] [--requests 1000] [--load 0.5]
        [--platform cloud] [--repeats 3] [--qps] [--policies shared,pinned] [--backfill 8,0]

The issue's case: three tenants (ResNet-50, MobileNet-v2, GoogLeNet: 54, 53
and 58 layers) × 1,000 Poisson requests each, on random 4-core designs of
the platform's menu.  Rates are set so the median design's cores would be
busy ``--load`` of the time with each tenant on its fastest core; QoS bounds
are 10 × the median design's best isolated latency.  Target: >= 200
designs/s for the ``shared`` policy on one core: reached here at depth 0
(205–233 designs/s on the last runs of 2026-12-03, docs/serving.md "Depth 0
in lockstep"), not at the default depth (about 35).  ``shared`` and ``pinned``
are timed at each backfilling depth of ``--backfill`` (idle intervals each
core keeps open; default the engine's, docs/serving.md "Backfilling depth").

Figures are CPU seconds of this process (best of ``--repeats``): other
processes on a shared machine stretch wall time, not the work done here,
though they still slow it through shared caches.  So the run also times a
compiled floor on the same tables: one pass over the stream's
request-layers in a compiled loop, each layer's cost read on every core and
the fastest kept, with no schedule state — the least work of any scorer
that, as the policies' kernels do, takes the stream one request-layer at a
time — and prints each policy as a fraction of it, a figure that travels
between machines better than designs/s does.  (Up to 3984b54 this was a
numpy "ceiling": the same reduction as one gather of an (R, J, C) array per
design.  That was no bound: its time is numpy building and reducing
temporaries of 3000 × 58 × 4 floats per design gathered from a table of
3 × 58 × 4, and policies ran faster than it — depth 0 at 1.7×,
``whole_request`` at 48×.)  The cost tables (the
evaluator's per-layer roofline on every core) are timed apart: they are
built once per batch and reused across loads and policies.  ``--qps`` also
times ``qps_at_sla`` (about 18 simulations per design).
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from evaluator import random_batch  # this directory is on sys.path when run as a script
from objectives import serving as sv
from objectives.workloads import Workload, get_model
from spaces import get_platform

MODELS = ("resnet50", "mobilenet_v2", "googlenet")
WARMUP = 50
"""Each tenant's first requests, left out of the statistics (so ``--requests`` must be more)."""


def cpu_seconds(call, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        call()
        best = min(best, time.process_time() - start)
    return best


@numba.njit(cache=True)
def compiled_floor(latency_s: np.ndarray, layer: np.ndarray, tenant: np.ndarray) -> float:
    """Seconds of every request-layer of the stream on its fastest core, summed over the
    designs: one visit per request-layer reading its ``(C,)`` costs, and nothing else."""
    P, L, C = latency_s.shape
    total = 0.0
    for p in range(P):
        for r in range(tenant.shape[0]):
            t = tenant[r]
            for j in range(layer.shape[1]):
                g = layer[t, j]
                if g < 0:
                    break
                fastest = latency_s[p, g, 0]
                for c in range(1, C):
                    fastest = min(fastest, latency_s[p, g, c])
                total += fastest
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--designs", type=int, default=64)
    parser.add_argument("--cores", type=int, default=4)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--load", type=float, default=0.5)
    parser.add_argument("--platform", default="cloud")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--qps", action="store_true", help="also time qps_at_sla")
    parser.add_argument("--policies", default=",".join(sv.POLICIES),
                        help="comma-separated policies to time (default: all of them)")
    parser.add_argument("--backfill", default="all",
                        help="comma-separated backfilling depths for shared and pinned, each a whole number of "
                             "idle intervals or 'all' (every one, the default)")
    args = parser.parse_args()
    if args.requests <= WARMUP:
        parser.error(f"--requests: {args.requests} leaves no request to measure (allowed: more than the "
                     f"{WARMUP} warm-up requests)")
    policies = args.policies.split(",")
    unknown = [p for p in policies if p not in sv.POLICIES]
    if unknown:
        parser.error(f"--policies: unknown {', '.join(unknown)} (allowed: {', '.join(sv.POLICIES)})")
    try:
        depths = [None if d.strip() == "all" else int(d) for d in args.backfill.split(",")]
    except ValueError:
        parser.error(f"--backfill: {args.backfill!r} is not a comma-separated list of whole numbers or 'all'")
    if any(d is not None and d < 0 for d in depths):
        parser.error(f"--backfill: {args.backfill!r} has a negative depth (allowed: 0 or more idle intervals, "
                     f"or 'all')")

    workload = Workload.from_models("serving-bench", [get_model(m) for m in MODELS])
    platform = get_platform(args.platform)
    designs = random_batch(np.random.default_rng(0), workload, platform, args.designs, num_cores=args.cores,
                           greedy=True)
    probe = sv.Scenario(tuple(sv.Tenant(m, m, sv.Poisson(1.0), 1.0, requests=args.requests) for m in MODELS))
    sv.prepare(designs, workload, platform, probe)  # maps the layers on the batch's cores (cold, not timed)
    tables_s = cpu_seconds(lambda: sv.prepare(designs, workload, platform, probe), args.repeats)
    tables = sv.prepare(designs, workload, platform, probe)
    best = np.median(tables.work_s.min(axis=2), axis=0)  # (T,) the median design's fastest core
    rate = args.load * np.median(tables.active.sum(axis=1)) / best.sum()  # each tenant, requests/s
    tenants = tuple(sv.Tenant(m, m, sv.Poisson(float(rate)), float(10 * b), requests=args.requests)
                    for m, b in zip(MODELS, best))
    layers = sum(int((sv.tenant_layers(workload, probe, platform).layer >= 0).sum(axis=1)[t]) for t in range(3))
    print(f"{len(MODELS)} tenants x {args.requests} requests, {layers / 3:.0f} layers a request on average; "
          f"{args.designs} random {args.cores}-core designs on {args.platform}; load {args.load} "
          f"({rate:.1f} requests/s a tenant)")
    print(f"cost tables: {args.designs / tables_s:8.1f} designs/s (once per batch)")
    stream_layers, stream_tenants = sv.tenant_layers(workload, probe, platform), sv.request_stream(probe).tenant
    floor_args = (tables.latency_s, stream_layers.layer, np.ascontiguousarray(stream_tenants, dtype=np.int64))
    compiled_floor(*floor_args)  # compile / load it
    floor = args.designs / cpu_seconds(lambda: compiled_floor(*floor_args), args.repeats)
    print(f"{'compiled floor':22s} {floor:8.1f} designs/s  (one visit per request-layer: its fastest core, no state)")
    backfills = ("shared", "pinned")  # the others keep no idle intervals: timed once, at the (unused) default
    runs = [(policy, depth) for policy in policies for depth in (depths if policy in backfills else [sv.BACKFILL])]
    for policy, depth in runs:
        scenario = sv.Scenario(tenants, policy=policy, warmup=WARMUP, backfill=depth)
        sv.simulate(designs, workload, platform, scenario, tables=tables)  # compile / load the kernels
        seconds = cpu_seconds(lambda: sv.simulate(designs, workload, platform, scenario, tables=tables),
                              args.repeats)
        steps = args.designs * args.requests * layers
        name = f"{policy} (backfill {'all' if depth is None else depth})" if policy in backfills else policy
        print(f"{name:22s} {args.designs / seconds:8.1f} designs/s  {steps / seconds / 1e6:6.2f} M request-layers/s"
              f"  {args.designs / seconds / floor:6.3f} of the compiled floor")
    if args.qps:
        scenario = sv.Scenario(tenants, warmup=WARMUP)
        seconds = cpu_seconds(lambda: sv.qps_at_sla(designs, workload, platform, scenario, tables=tables), 1)
        print(f"{'qps_at_sla':22s} {args.designs / seconds:8.1f} designs/s (shared, backfill all)")


if __name__ == "__main__":
    main()
