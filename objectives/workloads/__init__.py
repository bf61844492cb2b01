"""Workloads: DNN layer tables, the model zoo and named multi-DNN mixes."""

from objectives.workloads._layers import DIMS, Model, ModelBuilder, Op, make_model, parse_op
from objectives.workloads._registry import MIXES, MODELS, get_model, get_workload, register_mix, register_model
from objectives.workloads._workload import ModelEntry, Workload
from objectives.workloads import zoo as _zoo  # noqa: F401  (registers the zoo)

__all__ = [
    "DIMS",
    "MIXES",
    "MODELS",
    "Model",
    "ModelBuilder",
    "ModelEntry",
    "Op",
    "Workload",
    "get_model",
    "get_workload",
    "make_model",
    "parse_op",
    "register_mix",
    "register_model",
]
