"""What a space sees of a workload: the ``WorkloadShape`` protocol.

Imports between the rooms flow one way: ``objectives`` (which scores
designs) imports ``spaces`` for the vocabulary a design is written in —
``Platform``, ``Dataflow``, ``LOOP_DIMS``, ``DesignBatch`` and its reason
codes — and ``spaces`` never imports ``objectives``.  A space still needs a
few facts about the workload it maps (how many layers, which DNN instance
each belongs to, their default priority, their MACs); this protocol names
exactly those, so every ``workload`` parameter in ``spaces`` is typed and
``objectives.workloads.Workload`` satisfies it as it is
(``tests/spaces/test_space.py`` checks).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class WorkloadShape(Protocol):
    """The layers of a multi-DNN workload, as far as a search space needs them."""

    name: str
    model: np.ndarray
    """``(L,)`` int: the model (row of the workload's model table) of each layer."""
    instance: np.ndarray
    """``(L,)`` int: the batch repetition of each layer's model."""

    @property
    def num_layers(self) -> int: ...

    @property
    def macs(self) -> np.ndarray:
        """``(L,)`` multiply-accumulates (scales the biased mapping genes)."""
        ...

    @property
    def default_priority(self) -> np.ndarray:
        """``(L,)`` the default priority key: each layer's progress through its model."""
        ...
