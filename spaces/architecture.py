"""Architecture genes: core sizes from a menu, and the rule that repairs a design over budget.

Repair rule (applied to every over-budget row of a batch at once, and the
identity on designs within budget, so every feasible design stays reachable):

1. Among the active cores whose size the space leaves free, every core tied
   at the largest size moves one step down the menu (smallest first, ordered
   by PEs); repeat while the design is over budget.  Shrinking all tied
   cores together keeps a homogeneous design homogeneous.
2. When no free core can shrink any more (all at the smallest size), the last
   active core is switched off — unless the space fixes the core count.
3. If neither applies the design keeps its cores and carries the reason code
   ``OVER_COMPUTE_BUDGET`` (ASIC) or ``OVER_FPGA_RESOURCES`` (FPGA).  Spaces
   check at construction that their smallest design fits, so in practice
   this only guards hand-made restrictions.

The budget is ``platform.pes`` and, on FPGAs, ``dsp``, ``lut``, ``bram36``
and ``uram``, summed over active cores as ``objectives.chip.fpga_resources`` sums them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from spaces import design as codes
from spaces.hardware import FPGA_RESOURCES, Platform


@dataclasses.dataclass(frozen=True, eq=False)
class SizeMenu:
    """The core sizes a space may pick, smallest first; arrays are ``(S,)``.

    ``platform_index`` maps a menu rank to ``platform.core_sizes``;
    ``cost`` is ``(S, 5)``: PEs, DSP, LUT, BRAM36, UltraRAM per core.
    """

    names: tuple[str, ...]
    platform_index: np.ndarray
    cost: np.ndarray
    budget: np.ndarray  # (5,) PEs, DSP, LUT, BRAM36, UltraRAM

    @property
    def pes(self) -> np.ndarray:
        return self.cost[:, 0].astype(np.int64)

    def __len__(self) -> int:
        return len(self.names)

    def rank(self, name: str, option: str = "sizes") -> int:
        if name not in self.names:
            raise ValueError(f"option {option}: unknown core size {name!r} (allowed: {', '.join(self.names)})")
        return self.names.index(name)

    def fits(self, ranks: Sequence[int]) -> bool:
        return bool((self.cost[list(ranks)].sum(axis=0) <= self.budget).all())


def size_menu(platform: Platform, sizes: Sequence[str] | None = None) -> SizeMenu:
    """The platform's sizes that fit its budget alone (or the named ones), smallest first.

    Unknown names, and names of sizes that cannot fit even alone, are a
    ``ValueError`` naming the option, the value and the allowed sizes.
    """
    fitting = [i for i, size in enumerate(platform.core_sizes) if platform.fits(size)]
    allowed = ", ".join(platform.core_sizes[i].name for i in fitting)
    if sizes is None:
        chosen = fitting
    else:
        if isinstance(sizes, str) or not len(sizes):
            raise ValueError(f"option sizes: expected a non-empty list of core sizes, got {sizes!r} (allowed: {allowed})")
        chosen = []
        for name in sizes:
            index = next((i for i, s in enumerate(platform.core_sizes) if s.name == name), None)
            if index is None:
                raise ValueError(f"option sizes: unknown core size {name!r} (allowed: {allowed})")
            if index not in fitting:
                raise ValueError(
                    f"option sizes: core size {name!r} does not fit platform {platform.name!r} (allowed: {allowed})"
                )
            if index not in chosen:
                chosen.append(index)
    if not chosen:
        raise ValueError(f"option sizes: no core size fits platform {platform.name!r}")
    cost = np.array([[s.pes, *(getattr(s, r) for r in FPGA_RESOURCES)] for s in (platform.core_sizes[i] for i in chosen)],
                    dtype=float)
    order = np.lexsort(cost.T[::-1])  # by PEs, then DSP, LUT, BRAM, UltraRAM
    chosen = [chosen[i] for i in order]
    return SizeMenu(
        names=tuple(platform.core_sizes[i].name for i in chosen),
        platform_index=np.array(chosen, dtype=np.int64),
        cost=cost[order],
        budget=np.array([platform.pes, *(getattr(platform, r) for r in FPGA_RESOURCES)], dtype=float),
    )


def over_budget(rank: np.ndarray, active: np.ndarray, menu: SizeMenu) -> np.ndarray:
    """``(P,)`` bool: the active cores' summed cost exceeds any budget."""
    used = np.where(active[..., None], menu.cost[rank], 0.0).sum(axis=1)  # (P, 5)
    return (used > menu.budget).any(axis=1)


def repair(
    rank: np.ndarray,
    active: np.ndarray,
    menu: SizeMenu,
    *,
    shrinkable: np.ndarray,
    can_drop_cores: bool,
    fpga: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply the module's repair rule; returns new ``rank``, ``active`` and ``(P,)`` int8 reasons.

    ``rank`` and ``active`` are ``(P, C)``; ``shrinkable`` ``(C,)`` says which
    slots' sizes the space leaves free.  Loops over repair steps (at most
    ``C·S``), each vectorized over the designs still over budget.
    """
    rank, active = rank.copy(), active.copy()
    reason = np.zeros(rank.shape[0], dtype=np.int8)
    rows = np.flatnonzero(over_budget(rank, active, menu))
    C = rank.shape[1]
    for _ in range(C * (len(menu) + 1)):
        if rows.size == 0:
            break
        r, a = rank[rows], active[rows]
        candidate = np.where(a & shrinkable & (r > 0), r, -1)
        top = candidate.max(axis=1)
        can_shrink = top >= 0
        r = r - (can_shrink[:, None] & (candidate == top[:, None]))
        count = a.sum(axis=1)
        drop = ~can_shrink & can_drop_cores & (count > 1)
        a[drop, count[drop] - 1] = False
        rank[rows], active[rows] = r, a
        stuck = ~can_shrink & ~drop
        reason[rows[stuck]] = codes.OVER_FPGA_RESOURCES if fpga else codes.OVER_COMPUTE_BUDGET
        rows = rows[~stuck]
        rows = rows[over_budget(rank[rows], active[rows], menu)]
    return rank, active, reason
