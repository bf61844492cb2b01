"""Named spaces: the baselines as restrictions (fixed or tied genes) of the unified space.

``make_space(name, workload, platform, **options)`` builds one; the options
are plain values so a YAML config can declare them.  Every space accepts the
common options ``mapping``, ``greedy_switch`` and ``bias_scale``; the others
are listed per space below.  An unknown option, size, dataflow or mode is a
``ValueError`` naming the option, the value and what is allowed.

============================  ================================================
name                          restriction
============================  ================================================
``cosearch``                  none (options: max_cores, sizes, dataflows)
``homogeneous_multicore``     every core one size and dataflow, even shares
                              (options: cores, size, dataflow, max_cores, sizes,
                              dataflows)
``hda_fixed_granularity``     one core per dataflow, sizes from a fixed split
                              of the budget; shares and mapping searched
                              (options: dataflows, split)
``hda``                       Herald-style: one core per dataflow; the PE,
                              bandwidth and buffer partition and the mapping
                              searched (options: dataflows — default
                              ws_kc + os_yx, Herald's Maelstrom)
``fda``                       one monolithic core (options: size — default
                              the largest that fits —, dataflow)
``fixed_architecture``        cores given, only the mapping searched
                              (options: cores — a list of {size, dataflow,
                              bw_share, buffer_share} — or design)
============================  ================================================
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

import numpy as np

from spaces.architecture import size_menu
from spaces.design_view import Design
from spaces.genes import share_to_unit
from spaces.hardware import DATAFLOWS, Platform
from spaces.registry import Registry
from spaces.space import DEFAULT_MAPPING, SHARE_RATIO, Space
from spaces.workload import WorkloadShape

SPACES: Registry[Callable[..., Space]] = Registry("space")
register_space = SPACES.register


def make_space(name: str, workload: WorkloadShape, platform: Platform, **options) -> Space:
    """The named space over ``workload`` and ``platform``; see the module table."""
    builder = SPACES[name]
    allowed = [p for p in inspect.signature(builder).parameters if p not in ("workload", "platform")]
    for option in options:
        if option not in allowed:
            raise ValueError(f"space {name!r}: unknown option {option!r} (allowed: {', '.join(allowed)})")
    return builder(workload, platform, **options)


def _choice(option: str, what: str, value, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"option {option}: unknown {what} {value!r} (allowed: {', '.join(allowed)})")
    return value


def _count(option: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ValueError(f"option {option}: must be an integer in [{low}, {high}], got {value!r}")
    return int(value)


@register_space("cosearch")
def cosearch(workload: WorkloadShape, platform: Platform, *, max_cores=None, sizes=None, dataflows=None,
             mapping=DEFAULT_MAPPING, greedy_switch=True, bias_scale=2.0) -> Space:
    return Space(workload, platform, max_cores=max_cores, sizes=sizes, dataflows=dataflows, mapping=mapping,
                 greedy_switch=greedy_switch, bias_scale=bias_scale, name="cosearch")


@register_space("homogeneous_multicore")
def homogeneous_multicore(workload: WorkloadShape, platform: Platform, *, cores=None, size=None, dataflow=None,
                          max_cores=None, sizes=None, dataflows=None, mapping=DEFAULT_MAPPING, greedy_switch=True,
                          bias_scale=2.0) -> Space:
    if cores is not None:
        cores = _count("cores", cores, 1, max_cores or platform.max_cores)
        max_cores = cores
    # Stock cores run what the board offers (a DPU its own dataflow): the platform's stock menu by default.
    dataflows = platform.baseline_dataflows if dataflows is None else dataflows
    space = Space(workload, platform, max_cores=max_cores, sizes=sizes, dataflows=dataflows, mapping=mapping,
                  greedy_switch=greedy_switch, bias_scale=bias_scale, name="homogeneous_multicore")
    fixed, tied = {}, {}
    for c in range(space.max_cores):
        fixed[f"core{c}.bw_share"] = fixed[f"core{c}.buffer_share"] = 0.5
        if c:
            tied[f"core{c}.size"], tied[f"core{c}.dataflow"] = "core0.size", "core0.dataflow"
    if cores is not None:
        fixed["cores"] = cores
    if size is not None:
        fixed["core0.size"] = _choice("size", "core size", size, space.menu.names)
    if dataflow is not None:
        fixed["core0.dataflow"] = _choice("dataflow", "dataflow", dataflow, space.dataflow_names)
    return space.restrict(fixed=fixed, tied=tied)


def _one_core_per_dataflow(workload: WorkloadShape, platform: Platform, dataflows, name: str,
                           **space_options) -> tuple[Space, dict]:
    """A space of ``len(dataflows)`` cores, core c fixed to ``dataflows[c]``, each dataflow once;
    returns it unrestricted with the fixed genes so far."""
    if isinstance(dataflows, str) or not len(dataflows):
        raise ValueError(f"option dataflows: expected a non-empty list of dataflow names, got {dataflows!r}")
    dataflows = list(dataflows)
    space = Space(workload, platform, max_cores=len(dataflows), dataflows=dataflows, name=name, **space_options)
    if len(space.dataflow_names) != len(dataflows):
        raise ValueError(f"option dataflows: each dataflow once, got {dataflows}")
    fixed = {"cores": len(dataflows), **{f"core{c}.dataflow": df for c, df in enumerate(dataflows)}}
    return space, fixed


@register_space("hda_fixed_granularity")
def hda_fixed_granularity(workload: WorkloadShape, platform: Platform, *, dataflows=None, split=None,
                          mapping=DEFAULT_MAPPING, greedy_switch=True, bias_scale=2.0) -> Space:
    """One core per dataflow; core c gets the largest size within ``split[c]`` of every budget.

    ``split`` is a list of weights (normalised; default even) or of size names.
    """
    space, fixed = _one_core_per_dataflow(
        workload, platform, platform.dataflows if dataflows is None else dataflows, "hda_fixed_granularity",
        mapping=mapping, greedy_switch=greedy_switch, bias_scale=bias_scale)
    sizes = _split_sizes(space, platform, [1.0] * space.max_cores if split is None else split)
    fixed.update({f"core{c}.size": size for c, size in enumerate(sizes)})
    return space.restrict(fixed=fixed)


@register_space("hda")
def hda(workload: WorkloadShape, platform: Platform, *, dataflows=("ws_kc", "os_yx"), mapping=DEFAULT_MAPPING,
        greedy_switch=True, bias_scale=2.0) -> Space:
    """One core per dataflow, each dataflow once; sizes and shares free (the repair rule keeps the budget)."""
    space, fixed = _one_core_per_dataflow(workload, platform, dataflows, "hda", mapping=mapping,
                                          greedy_switch=greedy_switch, bias_scale=bias_scale)
    return space.restrict(fixed=fixed)


def _split_sizes(space: Space, platform: Platform, split) -> list[str]:
    menu = space.menu
    if isinstance(split, str) or len(split) != space.max_cores:
        raise ValueError(f"option split: expected {space.max_cores} entries (one per dataflow), got {split!r}")
    if all(isinstance(s, str) for s in split):
        for s in split:
            _choice("split", "core size", s, menu.names)
        if not menu.fits([menu.names.index(s) for s in split]):
            raise ValueError(f"option split: sizes {list(split)} exceed the budget of platform {platform.name!r}")
        return list(split)
    weights = np.asarray(split, dtype=float)
    if not (np.isfinite(weights).all() and (weights > 0).all()):
        raise ValueError(f"option split: weights must be positive numbers or size names, got {list(split)}")
    weights = weights / weights.sum()
    names = []
    for w in weights:
        fitting = np.flatnonzero((menu.cost <= w * menu.budget).all(axis=1))
        if not fitting.size:
            raise ValueError(f"option split: a {w:.3g} share of platform {platform.name!r} fits no core size "
                             f"(smallest is {menu.names[0]})")
        names.append(menu.names[fitting[-1]])
    return names


@register_space("fda")
def fda(workload: WorkloadShape, platform: Platform, *, size=None, dataflow=None, mapping="greedy", greedy_switch=True,
        bias_scale=2.0) -> Space:
    space = Space(workload, platform, max_cores=1, mapping=mapping, greedy_switch=greedy_switch,
                  bias_scale=bias_scale, name="fda")
    fixed = {"cores": 1, "core0.bw_share": 0.5, "core0.buffer_share": 0.5,
             "core0.size": space.menu.names[-1] if size is None else _choice("size", "core size", size,
                                                                               space.menu.names)}
    if dataflow is not None:
        fixed["core0.dataflow"] = _choice("dataflow", "dataflow", dataflow, space.dataflow_names)
    return space.restrict(fixed=fixed)


@register_space("fixed_architecture")
def fixed_architecture(workload: WorkloadShape, platform: Platform, *, cores=None, design=None, mapping=DEFAULT_MAPPING,
                       greedy_switch=True, bias_scale=2.0) -> Space:
    """``cores``: a list of {size, dataflow, bw_share?, buffer_share?}; or ``design`` (a Design, dict or JSON)."""
    if (cores is None) == (design is None):
        raise ValueError("space 'fixed_architecture': give exactly one of the options cores, design")
    if design is not None:
        design = Design.from_json(design) if isinstance(design, str) else design
        design = Design.from_dict(design) if isinstance(design, dict) else design
        cores = [{"size": c.size, "dataflow": c.dataflow, "bw_share": c.bw_share, "buffer_share": c.buffer_share}
                 for c in design.cores]
    if not cores:
        raise ValueError("option cores: expected a non-empty list of cores")
    menu = size_menu(platform)
    dataflows = list(dict.fromkeys([*platform.dataflows, *(c.get("dataflow") for c in cores)]))
    fixed = {"cores": len(cores)}
    for c, core in enumerate(cores):
        extra = set(core) - {"size", "dataflow", "bw_share", "buffer_share"}
        if extra:
            raise ValueError(f"option cores[{c}]: unknown key(s) {sorted(extra)} "
                             "(allowed: size, dataflow, bw_share, buffer_share)")
        fixed[f"core{c}.size"] = _choice(f"cores[{c}].size", "core size", core.get("size"), menu.names)
        fixed[f"core{c}.dataflow"] = _choice(f"cores[{c}].dataflow", "dataflow", core.get("dataflow"),
                                             tuple(DATAFLOWS))
    space = Space(workload, platform, max_cores=len(cores), dataflows=dataflows, mapping=mapping,
                  greedy_switch=greedy_switch, bias_scale=bias_scale, name="fixed_architecture")
    if not menu.fits([menu.names.index(fixed[f"core{c}.size"]) for c in range(len(cores))]):
        raise ValueError(f"option cores: sizes {[c.get('size') for c in cores]} exceed the budget of platform "
                         f"{platform.name!r}")
    for field in ("bw_share", "buffer_share"):
        shares = np.array([core.get(field, 1.0 / len(cores)) for core in cores], dtype=float)
        if not (np.isfinite(shares).all() and (shares > 0).all()):
            raise ValueError(f"option cores: every {field} must be positive, got {shares.tolist()}")
        shares = shares / shares.sum()
        if shares.max() / shares.min() > SHARE_RATIO * (1 + 1e-9):
            raise ValueError(f"option cores: {field} values {shares.tolist()} differ by more than {SHARE_RATIO:g}x")
        units = share_to_unit(shares[None], np.ones((1, len(cores)), dtype=bool), SHARE_RATIO)[0]
        for c, u in enumerate(units):
            fixed[f"core{c}.{field}"] = float(u)
    return space.restrict(fixed=fixed)
