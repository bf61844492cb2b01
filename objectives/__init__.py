"""How a design is scored: workloads, cost model, scheduler and metrics.

Numpy throughout, but for the sequential scheduling loops, compiled by numba.

``evaluate(designs, workload, platform) -> Metrics`` is the one entry point.
"""

from objectives.evaluator import evaluate
from objectives.metrics import Metrics

__all__ = ["Metrics", "evaluate"]
