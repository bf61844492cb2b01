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
from spaces.design_view import Core, Design
from spaces.genes import Gene
from spaces.mapping import MAPPING_MODES
from spaces.named import SPACES, make_space, register_space
from spaces.space import Space

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
    "Core",
    "Design",
    "Gene",
    "MAPPING_MODES",
    "SPACES",
    "Space",
    "make_space",
    "register_space",
]
