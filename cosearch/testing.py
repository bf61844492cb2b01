"""Test problems for the search: a tiny co-design problem whose every design can be enumerated and evaluated.

It is not a product feature: tests, the optimizer checks and the ``tiny``
experiment problem (``cosearch.experiment.TinyProblem``, which Ray workers
must be able to import) use it to compare a search against brute force.

Two DNNs of three layers each (a shallow-channel CNN chain that favours
``os_yx`` and a GEMM chain that favours ``ws_kc``), a 384-PE ASIC with sizes PE64 / PE128 / PE256, dataflows
``ws_kc`` / ``os_yx``, at most two cores, even shares, the default layer
order, and a per-layer core gene (``mapping="layer"``).  Its grid has 9,216
points (2 core counts × (3 sizes × 2 dataflows)² × 2⁶ mappings × the greedy
switch); two PE256 cores exceed the budget and are repaired.  The optimum
(EDP ≈ 6.42e-10 J·s under the v2 core model) is heterogeneous: PE128
``os_yx`` for the CNN and PE256 ``ws_kc`` for the GEMMs.  Optimizer tests check that each finds it.

It lives in ``cosearch`` because it needs both a workload (``objectives``)
and a space (``spaces``), and ``spaces`` never imports ``objectives``.
"""

from __future__ import annotations

import dataclasses

from objectives.workloads import ModelBuilder, Workload
from spaces.hardware import Platform, get_platform, power_of_two_cores
from spaces.space import Space


@dataclasses.dataclass(frozen=True)
class TinySetup:
    workload: Workload
    platform: Platform
    space: Space


def tiny_workload() -> Workload:
    cnn = ModelBuilder("tiny_cnn")  # shallow channels, large maps: favours os_yx
    cnn.conv("c1", k=8, c=3, y=32, r=3)
    cnn.conv("c2", k=8, c=8, y=32, r=3)
    cnn.conv("c3", k=8, c=8, y=32, r=3)
    mlp = ModelBuilder("tiny_mlp")  # deep channels, one column: favours ws_kc
    mlp.gemm("fc1", k=256, c=256, y=16)
    mlp.gemm("fc2", k=256, c=256, y=16)
    mlp.gemm("fc3", k=128, c=256, y=16)
    return Workload.from_models("tiny", [cnn.build(), mlp.build()])


def tiny_platform() -> Platform:
    return get_platform("edge").replace(
        name="tiny", pes=384, bw_gbps=16.0, noc_gbps=128.0, buffer_bytes=256 << 10,
        core_sizes=power_of_two_cores(64, 256), dataflows=("ws_kc", "os_yx"), max_cores=2, bw_partition="dram",
    )


def tiny_problem() -> TinySetup:
    """Workload, platform and the exhaustively enumerable space (no continuous free genes)."""
    workload, platform = tiny_workload(), tiny_platform()
    space = Space(workload, platform, mapping="layer", name="tiny")
    fixed = {f"core{c}.{share}": 0.5 for c in range(2) for share in ("bw_share", "buffer_share")}
    fixed.update({f"layer{l}.priority": 0.5 for l in range(workload.num_layers)})
    return TinySetup(workload, platform, space.restrict(fixed=fixed))
