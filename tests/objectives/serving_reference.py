"""The shared serving policy in plain Python, written from its description rather than from the kernel.

Requests in arrival order; each layer, in topological order, on the allowed
core where it would finish first, at the earliest time at or after its inputs
are ready when that core is idle for its whole run (cores keep every busy
interval, so any idle time can be filled); an input from another core arrives
after its transfer; a layer whose single predecessor ran on the same core
costs its chained latency.  Ties go to the lower core.
"""

import numpy as np


def _earliest_fit(busy, ready, latency):
    """The earliest start ≥ ready at which [start, start + latency) meets no busy interval."""
    start = ready
    for begin, end in sorted(busy):
        if start + latency <= begin:
            return start
        start = max(start, end)
    return start


def reference_shared(tables, layers, stream, allowed, load=1.0):
    """``(P, R)`` finish times of open-loop requests (arrivals ``stream.arrival_s / load``)."""
    P, L, C = tables.latency_s.shape
    T, J, D = layers.preds.shape
    arrival = stream.arrival_s / load
    order = sorted(range(stream.num_requests), key=lambda r: (arrival[r], stream.tenant[r]))
    finish = np.full((P, stream.num_requests), np.nan)
    for p in range(P):
        busy = [[] for _ in range(C)]
        for r in order:
            t, release = stream.tenant[r], arrival[r]
            done, where = {}, {}
            for j in range(J):
                g = layers.layer[t, j]
                if g < 0:
                    break
                preds = [(q, layers.transfer_s[t, j, d]) for d, q in enumerate(layers.preds[t, j]) if q >= 0]
                options = []
                for c in range(C):
                    if not allowed[p, t, c]:
                        continue
                    ready = max([release] + [done[q] + (0.0 if where[q] == c else x) for q, x in preds])
                    chained = len(preds) == 1 and where[preds[0][0]] == c
                    latency = (tables.chained_latency_s if chained else tables.latency_s)[p, g, c]
                    start = _earliest_fit(busy[c], ready, latency)
                    options.append((start + latency, c, start))
                end, c, start = min(options)
                busy[c].append((start, end))
                done[j], where[j] = end, c
            finish[p, r] = max(done.values())
    return finish
