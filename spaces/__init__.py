"""What is searched: hardware templates, design batches and the search-space encoding."""

from spaces.design import REASONS, DesignBatch, single_design
from spaces.hardware import (
    DATAFLOWS,
    DPU_CORES,
    LOOP_DIMS,
    PLATFORMS,
    CoreSize,
    Dataflow,
    Platform,
    get_dataflow,
    get_platform,
)

__all__ = [
    "DATAFLOWS",
    "DPU_CORES",
    "LOOP_DIMS",
    "PLATFORMS",
    "REASONS",
    "CoreSize",
    "Dataflow",
    "DesignBatch",
    "Platform",
    "get_dataflow",
    "get_platform",
    "single_design",
]
