"""What a design is judged by: the ``Metrics`` record and the multi-DNN metrics.

Multi-tenant metrics follow "Multi-DNN Accelerators for Next-Generation AI
Systems" (Venieris, Bouganis, Lane; §2.2) and PREMA.  They are taken per
model *instance*: a model served ``batch`` times is ``batch`` DNN executions,
each slowed down by co-location on its own:

* ``T_alone[i]``: instance i's layers scheduled exactly as in the shared
  schedule (same cores, order and transfers) with nothing else on the chip;
* ``T_shared[i]``: when instance i's last layer finishes in the shared
  schedule (every instance arrives at time 0);
* normalised progress ``NP = T_alone / T_shared``, in (0, 1]: removing the
  other instances' layers from a fixed per-core order can only make each
  layer start earlier; ``STP = Σ NP`` (at most the number of instances);
  ``ANTT = mean(1 / NP)``; PREMA fairness ``min_i PP_i / max_j PP_j`` with
  priority-weighted progress ``PP_i = NP_i / (priority_i / Σ priority)``,
  an instance carrying its model's priority;
* SLA violations: models with a latency target that their last instance's
  ``T_shared`` exceeds.

(Summing a model's instances into one ``T_alone`` while ``T_shared`` is its
last instance's finish counted overlapped instances several times: progress
3.86 and an STP of 4 with three models.)
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Metrics:
    """Scores of P designs; ``(P,)`` arrays unless noted, SI units in names.

    Infeasible designs carry ``inf`` in every cost and their ``reason`` code
    (see ``spaces.design.REASONS``); nothing here is ever NaN.
    """

    latency_s: np.ndarray
    energy_j: np.ndarray
    edp: np.ndarray
    dynamic_energy_j: np.ndarray
    static_energy_j: np.ndarray
    dram_bytes: np.ndarray
    area_mm2: np.ndarray
    resource_fraction: np.ndarray
    pes_used: np.ndarray
    dsp_used: np.ndarray
    lut_used: np.ndarray
    bram36_used: np.ndarray
    average_power_w: np.ndarray
    utilization: np.ndarray
    throughput_ips: np.ndarray
    model_latency_s: np.ndarray  # (P, M)
    progress: np.ndarray  # (P, I) normalised progress of each model instance, in (0, 1]
    stp: np.ndarray
    antt: np.ndarray
    fairness: np.ndarray
    sla_violations: np.ndarray
    feasible: np.ndarray
    reason: np.ndarray
    layer_core: np.ndarray  # (P, L) the mapping evaluated (greedy resolved)
    schedule: dict | None = None

    @property
    def num_designs(self) -> int:
        return self.latency_s.shape[0]

    @classmethod
    def concatenate(cls, parts: "list[Metrics]") -> "Metrics":
        """The metrics of consecutive blocks of designs as one batch's."""
        joined = {}
        for field in dataclasses.fields(cls):
            values = [getattr(part, field.name) for part in parts]
            if isinstance(values[0], dict):
                joined[field.name] = {key: np.concatenate([v[key] for v in values]) for key in values[0]}
            elif values[0] is not None:
                joined[field.name] = np.concatenate(values)
        return dataclasses.replace(parts[0], **joined)

    def row(self, p: int) -> dict:
        """Design p's scalar metrics as plain Python numbers."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray) and value.ndim == 1:
                out[field.name] = value[p].item()
        out["model_latency_s"] = self.model_latency_s[p].tolist()
        return out


def row_total(values: np.ndarray) -> np.ndarray:
    """``(P, L)`` → ``(P,)`` sums added left to right, whatever P is.

    ``ndarray.sum(axis=1)`` picks its summation order from the array's shape,
    so a design scored alone could differ in the last bit from the same
    design scored in a batch.  Reducing the outer axis of the transposed
    array adds one column at a time for every P ≥ 2; a batch of one is
    doubled so it takes the same path.
    """
    if values.shape[0] == 1:
        return row_total(np.concatenate([values, values]))[:1]
    return np.add.reduce(np.ascontiguousarray(values.T), axis=0)


def per_model_max(values: np.ndarray, model: np.ndarray, num_models: int) -> np.ndarray:
    """``(P, L)`` → ``(P, M)`` maxima over each model's layers (0 for a model without layers)."""
    return np.stack([values[:, model == m].max(axis=1, initial=0.0) for m in range(num_models)], axis=1)


def per_block_max(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``(P, L)`` → ``(P, B)`` maxima over contiguous blocks of layers starting at ``starts``."""
    return np.maximum.reduceat(values, starts, axis=1)


def normalized_progress(alone_s: np.ndarray, shared_s: np.ndarray) -> np.ndarray:
    return alone_s / shared_s


def system_throughput(progress: np.ndarray) -> np.ndarray:
    return progress.sum(axis=-1)


def average_normalized_turnaround(progress: np.ndarray) -> np.ndarray:
    return (1.0 / progress).mean(axis=-1)


def prema_fairness(progress: np.ndarray, priority: np.ndarray) -> np.ndarray:
    weighted = progress / (priority / priority.sum())
    return weighted.min(axis=-1) / weighted.max(axis=-1)


def sla_violations(model_latency_s: np.ndarray, latency_target_s: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        missed = model_latency_s > latency_target_s  # NaN targets compare False
    return missed.sum(axis=-1)
