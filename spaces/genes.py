"""Genes: one coordinate of a search point in [0, 1] and what it means.

Every optimizer works on the unit cube; a :class:`Gene` says how one unit
coordinate ``u`` becomes a value and back:

* ``categorical`` with k choices: index ``min(floor(u·k), k−1)``; a value
  encodes to the centre of its bin, ``(i + 0.5) / k``.
* ``integer`` from ``low`` to ``high``: a categorical over ``high − low + 1``
  consecutive integers.
* ``continuous`` and ``priority``: ``u`` itself (the space gives it meaning:
  a share weight, a priority offset, a mapping bias).

``Gene.from_value`` / ``Gene.to_value`` let another module (Optuna) declare
the same genes natively and translate its values back to unit coordinates.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

KINDS = ("categorical", "integer", "continuous", "priority")
Kind = Literal["categorical", "integer", "continuous", "priority"]


def bin_index(u: np.ndarray, k) -> np.ndarray:
    """``min(floor(u·k), k−1)`` as int64; ``k`` may be an int or an array broadcasting with ``u``."""
    k = np.asarray(k)
    return np.minimum(np.floor(u * k).astype(np.int64), k - 1)


def bin_centre(index, k) -> np.ndarray:
    """The unit coordinate that decodes to ``index`` among ``k`` bins."""
    return (np.asarray(index, dtype=np.float64) + 0.5) / np.asarray(k, dtype=np.float64)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Gene:
    """One search coordinate.

    ``choices`` names the options of a categorical gene (strings or ints);
    ``low``/``high`` bound an integer gene (inclusive) or a continuous one.
    """

    name: str
    kind: Kind
    choices: tuple = ()
    low: float = 0.0
    high: float = 1.0
    description: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"gene {self.name!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.kind == "categorical" and not self.choices:
            raise ValueError(f"gene {self.name!r}: a categorical gene needs at least one choice")
        if self.kind == "integer" and not (int(self.low) == self.low and int(self.high) == self.high <= 10**9):
            raise ValueError(f"gene {self.name!r}: integer bounds must be integers, got {self.low}, {self.high}")
        if self.high < self.low:
            raise ValueError(f"gene {self.name!r}: high {self.high} is below low {self.low}")

    @property
    def num_choices(self) -> int | None:
        """k for categorical and integer genes, None for continuous ones."""
        if self.kind == "categorical":
            return len(self.choices)
        if self.kind == "integer":
            return int(self.high) - int(self.low) + 1
        return None

    @property
    def is_discrete(self) -> bool:
        return self.num_choices is not None

    def to_value(self, u: float):
        """The gene's value at unit coordinate ``u``."""
        u = float(np.clip(u, 0.0, 1.0))
        if self.kind == "categorical":
            return self.choices[int(bin_index(u, len(self.choices)))]
        if self.kind == "integer":
            return int(self.low) + int(bin_index(u, self.num_choices))
        return self.low + u * (self.high - self.low)

    def from_value(self, value) -> float:
        """The unit coordinate of ``value`` (the centre of its bin when discrete).

        A value outside the gene's range is a ``ValueError`` naming the gene,
        the value and what is allowed.
        """
        if self.kind == "categorical":
            matches = [i for i, choice in enumerate(self.choices) if choice == value]
            if not matches:
                allowed = ", ".join(str(c) for c in self.choices)
                raise ValueError(f"gene {self.name!r}: value {value!r} is not a choice (allowed: {allowed})")
            return float(bin_centre(matches[0], len(self.choices)))
        if self.kind == "integer":
            if isinstance(value, bool) or int(value) != value or not self.low <= value <= self.high:
                raise ValueError(
                    f"gene {self.name!r}: value {value!r} is not an integer in [{int(self.low)}, {int(self.high)}]"
                )
            return float(bin_centre(int(value) - int(self.low), self.num_choices))
        if not (isinstance(value, (int, float, np.floating, np.integer)) and self.low <= value <= self.high):
            raise ValueError(f"gene {self.name!r}: value {value!r} is outside [{self.low}, {self.high}]")
        span = self.high - self.low
        return 0.5 if span == 0 else (float(value) - self.low) / span

    def grid(self, levels: int | None) -> np.ndarray:
        """Unit coordinates of every grid point of this gene.

        Discrete genes: the centre of each bin.  Continuous genes: the centres
        of ``levels`` equal bins (``levels=1`` gives 0.5, the neutral value).
        """
        if self.is_discrete:
            k = self.num_choices
        elif levels is None:
            raise ValueError(f"gene {self.name!r} is continuous: give grid levels for it, or fix it")
        else:
            k = int(levels)
        return bin_centre(np.arange(k), k)


def share_from_unit(u: np.ndarray, active: np.ndarray, ratio: float) -> np.ndarray:
    """``(P, C)`` shares of active cores that sum to 1; inactive cores get 0.

    Each core's weight is ``ratio ** (u − 0.5)``, so ``u = 0.5`` everywhere
    is an even split and one core can hold at most ``ratio`` times another's
    share.  The last active core takes ``1 − Σ others`` so rounding never
    leaves the sum off 1 by more than one ulp.
    """
    weight = np.where(active, np.power(ratio, u - 0.5), 0.0)
    share = weight / weight.sum(axis=1, keepdims=True).clip(min=np.finfo(float).tiny)
    last = np.maximum(active.sum(axis=1) - 1, 0)
    rows = np.arange(share.shape[0])
    others = share.sum(axis=1) - share[rows, last]
    share[rows, last] = np.where(active.any(axis=1), 1.0 - others, 0.0)
    return share


def share_to_unit(share: np.ndarray, active: np.ndarray, ratio: float) -> np.ndarray:
    """Inverse of :func:`share_from_unit`: log-weights centred on their mid-range.

    Every share vector the decoder can produce (largest over smallest at most
    ``ratio``) encodes back exactly; more unequal shares are clipped and will
    not decode back.  Inactive cores encode to 0.5.
    """
    log_share = np.log(np.where(active, np.maximum(share, np.finfo(float).tiny), 1.0))
    top = np.where(active, log_share, -np.inf).max(axis=1, keepdims=True)
    bottom = np.where(active, log_share, np.inf).min(axis=1, keepdims=True)
    mid = np.where(np.isfinite(top), (top + bottom) / 2, 0.0)
    return np.where(active, np.clip(0.5 + (log_share - mid) / np.log(ratio), 0.0, 1.0), 0.5)
