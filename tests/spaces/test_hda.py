"""The Herald-style `hda` space and fine PE-partition menus."""

import numpy as np
import pytest

from spaces import get_platform, make_space
from spaces.hardware import pe_multiple_cores
from cosearch.testing import tiny_workload


def test_hda_keeps_one_core_per_dataflow_and_searches_the_partition():
    cloud = get_platform("cloud").replace(core_sizes=pe_multiple_cores(512, 16384))
    space = make_space("hda", tiny_workload(), cloud)
    batch = space.decode(space.sample(500, np.random.default_rng(0)))
    names = [df.name for df in batch.dataflows]
    assert (batch.core_pes > 0).all()  # both cores always active
    assert all([names[i] for i in row] == ["ws_kc", "os_yx"] for row in batch.core_dataflow)
    assert (batch.core_pes.sum(axis=1) <= 16384).all()
    assert len({tuple(row) for row in batch.core_pes}) > 20  # the split really varies
    assert not any(g.name.endswith(".dataflow") or g.name == "cores" for g in space.genes)


def test_hda_refuses_repeated_dataflows():
    with pytest.raises(ValueError, match="option dataflows: each dataflow once, got \\['ws_kc', 'ws_kc'\\]"):
        make_space("hda", tiny_workload(), get_platform("edge"), dataflows=["ws_kc", "ws_kc"])


def test_pe_multiple_menu():
    assert [c.pes for c in pe_multiple_cores(256, 1024)] == [256, 512, 768, 1024]
    with pytest.raises(ValueError, match="pe_step 2048 exceeds the PE budget 1024"):
        pe_multiple_cores(2048, 1024)
