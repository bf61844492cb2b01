"""Where the co-search's gain comes from: free one design choice at a time, from the homogeneous baseline.

The chain starts at identical cores of one stock dataflow (the poster's
homogeneous multi-core), each core given an even share, layers placed by
Herald's greedy best fit in the default order, and each layer mapped on its
core in the dataflow's one loop order.  Each step frees one more choice and
searches again:

====================  ==================================================
step                  what it frees
====================  ==================================================
``homogeneous``       (the start: core count and the one size searched)
``intra_core``        each layer's mapping on its core (the mapper's search
                      instead of the stationary loop order)
``dataflow``          each core's dataflow (from a menu: by default the
                      platform's; ``benchmarks/attribution.py`` passes
                      the experiment space's)
``granularity``       each core's size
``partition``         each core's bandwidth and buffer share
``layer_mapping``     the layer → core mapping (per-layer core genes, the
                      greedy mapper still reachable)
``schedule``          the layer order (per-layer priorities), plus Herald's
                      post-processing when ``lookahead`` ≥ 3
====================  ==================================================

Each step's space contains the previous one, and its search starts from the
previous step's best design, so per seed the best EDP does not rise along the
chain beyond rounding; a step's gain is the previous best over its own.  The
rounding can matter: a design's shares pass through the next space's
encoding, and on designs of many equal cores a last-bit change of a share can
flip a tie of the greedy layer mapper (measured: a 56-core U250 design moved
1.7 % in EDP), so a step's gain can read slightly below 1.  (In the
2026-12-02 runs of the twelve paper experiments none did, once CMA-ES asked
the start exactly as given: the sub-1 readings seen before were ``cma``'s
injection moving the start, not this rounding.)  The attribution
depends on the order the choices are freed in (freeing the dataflow first
gives it credit that granularity might also have earned).  The default
order frees the intra-core mapping first, so that its row is the
experiments' ``homogeneous_multicore`` baseline (which maps every layer
with the mapper's search) and the rows after it split the gain over that
baseline; ``order`` takes any other order of the freeable choices.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from cosearch.optimizers import make_optimizer
from objectives import evaluate
from objectives.workloads import Workload
from spaces.hardware import Platform
from spaces.space import Space

STEPS = ("homogeneous", "intra_core", "dataflow", "granularity", "partition", "layer_mapping", "schedule")
"""The default chain; every order of ``STEPS[1:]`` is allowed."""


def check_order(order) -> tuple[str, ...]:
    order = tuple(order)
    for step in order:
        if step not in STEPS[1:]:
            raise ValueError(f"unknown attribution step {step!r} (allowed: {', '.join(STEPS[1:])})")
    if len(set(order)) != len(order):
        raise ValueError(f"attribution order {list(order)} frees a choice twice")
    return order


def step_problem(freed, workload: Workload, platform: Platform, stock: str, *, max_cores: int | None = None,
                 lookahead: int = 0, dataflows=None) -> tuple[Space, Platform]:
    """The space and platform with the choices in ``freed`` (names of ``STEPS[1:]``) free, the rest as at the start.

    ``dataflows`` is the menu the dataflow step chooses from (default the
    platform's): the experiment's space may offer fewer than its platform
    defines, and the chain must not credit the dataflow step with a
    dataflow that space cannot pick.  ``stock`` stays available outside
    the menu, since the start is built from it."""
    freed = set(check_order(freed))
    step = "_".join(sorted(freed)) or "homogeneous"
    platform = platform.replace(
        intra_core_mapping="search" if "intra_core" in freed else "stationary",
        schedule_lookahead=lookahead if "schedule" in freed else 0,
    )
    dataflows = chain_dataflows(platform, stock, dataflows)
    mapping = "layer" if "layer_mapping" in freed else "greedy"
    space = Space(workload, platform, max_cores=max_cores, dataflows=dataflows, mapping=mapping,
                  name=f"attribution_{step}")
    fixed, tied = {}, {}
    for c in range(space.max_cores):
        if "dataflow" not in freed:
            if c:
                tied[f"core{c}.dataflow"] = "core0.dataflow"
            else:
                fixed["core0.dataflow"] = stock
        if "granularity" not in freed and c:
            tied[f"core{c}.size"] = "core0.size"
        if "partition" not in freed:
            fixed[f"core{c}.bw_share"] = fixed[f"core{c}.buffer_share"] = 0.5
    if mapping == "layer" and "schedule" not in freed:
        fixed.update({f"layer{l}.priority": 0.5 for l in range(workload.num_layers)})
    return space.restrict(fixed=fixed, tied=tied), platform


def chain_dataflows(platform: Platform, stock: str, dataflows=None) -> tuple[str, ...]:
    """The dataflows every step's space lists: the stock one first, then the menu (default the platform's)."""
    if isinstance(dataflows, str) or (dataflows is not None and not len(dataflows)):
        raise ValueError(f"attribution dataflows: expected a non-empty list of dataflow names, got {dataflows!r}")
    return tuple(dict.fromkeys([stock, *(platform.dataflows if dataflows is None else dataflows)]))


@dataclasses.dataclass(frozen=True)
class StepResult:
    step: str
    seed: int
    edp: float
    cores: str
    """The best design's active cores, ``PEs:dataflow`` each."""


def search_step(space: Space, workload: Workload, platform: Platform, *, seed: int, evaluations: int,
                optimizer: str = "cmaes", options: dict | None = None, start=None) -> tuple[float, np.ndarray]:
    """The best EDP within budget found in ``space`` (``inf`` if nothing feasible) and its unit point.

    ``start`` (a ``DesignBatch`` of one) is evaluated first, so the search is
    never worse than it."""
    def score(X):
        metrics = evaluate(space.decode(X), workload, platform)
        return np.where(metrics.feasible & (metrics.resource_fraction <= 1.0), metrics.edp, np.inf)

    initial = None if start is None else space.encode(start)  # each step's space contains the one before
    if space.dim == 0:
        X = np.zeros((1, 0))
        return float(score(X)[0]), X[0]
    opt = make_optimizer(optimizer, dim=space.dim, seed=seed, genes=space.genes, initial_X=initial,
                         **(options or {}))
    best, best_x, used = np.inf, None, 0
    while used < evaluations and not opt.done:
        X = opt.ask(min(opt.batch_size, evaluations - used))
        if len(X) == 0:
            break
        F = score(X)
        opt.tell(X, F[:, None])
        used += len(X)
        i = int(np.argmin(F))
        if F[i] < best:
            best, best_x = float(F[i]), X[i].copy()
    return best, best_x


def attribute(workload: Workload, platform: Platform, stock: str, *, seeds=(0,), evaluations: int = 1000,
              optimizer: str = "cmaes", options: dict | None = None, max_cores: int | None = None,
              lookahead: int = 0, order=STEPS[1:], dataflows=None) -> list[StepResult]:
    """The chain (the start, then the choices of ``order`` freed one by one) for every seed,
    each step warm-started from the previous step's best; ``dataflows`` as in ``step_problem``."""
    order = check_order(order)
    results = []
    for seed in seeds:
        previous = None
        for k, step in enumerate(("homogeneous", *order)):
            space, step_platform = step_problem(order[:k], workload, platform, stock, max_cores=max_cores,
                                                lookahead=lookahead, dataflows=dataflows)
            edp, x = search_step(space, workload, step_platform, seed=seed, evaluations=evaluations,
                                 optimizer=optimizer, options=options, start=previous)
            designs = space.decode(x[None]) if x is not None else None
            if designs is not None:
                previous = designs
            results.append(StepResult(step=step, seed=seed, edp=edp, cores=core_mix(designs)))
    return results


def core_mix(designs) -> str:
    """``"2048:ws_kc + 512:os_yx"``: the first design's active cores."""
    if designs is None:
        return "-"
    return " + ".join(f"{int(pes)}:{designs.dataflows[int(df)].name}"
                      for pes, df in zip(designs.core_pes[0], designs.core_dataflow[0]) if pes > 0)


def gains(results: list[StepResult]) -> dict[str, tuple[float, float, float]]:
    """Per step (and ``total``): the previous step's best EDP over its own, mean, min and max over seeds."""
    by_seed: dict[int, list[StepResult]] = {}
    for r in results:
        by_seed.setdefault(r.seed, []).append(r)
    ratios: dict[str, list[float]] = {}
    for chain in by_seed.values():
        for before, after in zip(chain, chain[1:]):
            ratios.setdefault(after.step, []).append(before.edp / after.edp)
        ratios.setdefault("total", []).append(chain[0].edp / chain[-1].edp)
    return {step: (float(np.mean(v)), float(np.min(v)), float(np.max(v))) for step, v in ratios.items()}
