"""Bad options are ValueErrors naming the option, the value and what is allowed."""

import re

import pytest

from spaces import Space, get_platform, make_space
from cosearch.testing import tiny_workload

EDGE_SIZES = "PE64, PE128, PE256, PE512, PE1024"


@pytest.fixture(scope="module")
def workload():
    return tiny_workload()


@pytest.mark.parametrize(
    "name,options,message",
    [
        ("cosearch", {"sizes": ["PE99"]}, f"option sizes: unknown core size 'PE99' (allowed: {EDGE_SIZES})"),
        ("cosearch", {"sizes": "PE64"}, "option sizes: expected a non-empty list of core sizes, got 'PE64'"),
        ("cosearch", {"dataflows": ["nvdla"]}, "option dataflows: unknown dataflow 'nvdla' (allowed: dpu_pck, os_yx, "
                                               "rs, systolic, ws_kc)"),
        ("cosearch", {"mapping": "random"}, "option mapping: unknown mapping mode 'random' (allowed: layer, model, "
                                            "greedy, biased)"),
        ("cosearch", {"max_cores": 0}, "option max_cores: must be an integer >= 1, got 0"),
        ("cosearch", {"max_cores": 2.5}, "option max_cores: must be an integer >= 1, got 2.5"),
        ("homogeneous_multicore", {"size": "PE2048"}, f"option size: unknown core size 'PE2048' (allowed: {EDGE_SIZES})"),
        ("homogeneous_multicore", {"dataflow": "dpu_pck"}, "option dataflow: unknown dataflow 'dpu_pck' (allowed: "
                                                           "ws_kc, os_yx, rs, systolic)"),
        ("homogeneous_multicore", {"cores": 9}, "option cores: must be an integer in [1, 4], got 9"),
        ("homogeneous_multicore", {"cores": 4, "size": "PE512"},
         "space 'homogeneous_multicore': the smallest design (PE512, PE512, PE512, PE512) does not fit platform "
         "'edge'"),
        ("hda_one_core_per_dataflow", {"split": [100, 1, 1, 1]},
         "option split: a 0.00971 share of platform 'edge' fits no core size (smallest is PE64)"),
        ("hda_one_core_per_dataflow", {"split": [1, 1]}, "option split: expected 4 entries (one per dataflow), got [1, 1]"),
        ("hda_one_core_per_dataflow", {"dataflows": ["ws_kc", "ws_kc"]}, "option dataflows: each dataflow once"),
        ("hda_one_core_per_dataflow", {"split": ["PE1024", "PE64", "PE64", "PE64"]},
         "option split: sizes ['PE1024', 'PE64', 'PE64', 'PE64'] exceed the budget of platform 'edge'"),
        ("fda", {"size": "B4096"}, f"option size: unknown core size 'B4096' (allowed: {EDGE_SIZES})"),
        ("fda", {"cores": 2}, "space 'fda': unknown option 'cores' (allowed: size, dataflow, mapping, greedy_switch, "
                              "bias_scale)"),
        ("fixed_architecture", {}, "space 'fixed_architecture': give exactly one of the options cores, design"),
        ("fixed_architecture", {"cores": [{"size": "PE1024", "dataflow": "ws_kc"}, {"size": "PE64",
                                                                                   "dataflow": "rs"}]},
         "option cores: sizes ['PE1024', 'PE64'] exceed the budget of platform 'edge'"),
        ("fixed_architecture", {"cores": [{"size": "PE64", "dataflow": "tpu"}]},
         "option cores[0].dataflow: unknown dataflow 'tpu' (allowed: ws_kc, os_yx, rs, dpu_pck, systolic)"),
        ("fixed_architecture", {"cores": [{"size": "PE64", "dataflow": "rs", "bw": 1}]},
         "option cores[0]: unknown key(s) ['bw'] (allowed: size, dataflow, bw_share, buffer_share)"),
        ("fixed_architecture", {"cores": [{"size": "PE64", "dataflow": "rs", "bw_share": 0.01},
                                          {"size": "PE64", "dataflow": "rs", "bw_share": 0.99}]},
         "option cores: bw_share values [0.01, 0.99] differ by more than 16x"),
        ("systolic_only", {}, "unknown space 'systolic_only' (allowed: cosearch, fda, fixed_architecture, hda, "
                              "hda_fixed_granularity, hda_one_core_per_dataflow, homogeneous_multicore)"),
    ],
)
def test_bad_options_name_option_value_and_allowed(workload, name, options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make_space(name, workload, get_platform("edge"), **options)


def test_a_size_that_cannot_fit_the_budget_is_refused(workload):
    small = get_platform("edge").replace(pes=256)
    with pytest.raises(ValueError, match=re.escape("option sizes: core size 'PE512' does not fit platform 'edge' "
                                                   "(allowed: PE64, PE128, PE256)")):
        Space(workload, small, sizes=["PE512"])


def test_fixed_genes_outside_their_range_are_refused(workload):
    space = Space(workload, get_platform("edge"))
    with pytest.raises(ValueError, match=re.escape("option fixed: gene 'cores': value 5 is not an integer in [1, 4]")):
        space.restrict(fixed={"cores": 5})
    with pytest.raises(ValueError, match=re.escape("option fixed: gene 'core0.dataflow': value 'dpu_pck' is not a "
                                                   "choice (allowed: ws_kc, os_yx, rs, systolic)")):
        space.restrict(fixed={"core0.dataflow": "dpu_pck"})
    with pytest.raises(ValueError, match=re.escape("option fixed: gene 'core1.bw_share': value -0.1 is outside")):
        space.restrict(fixed={"core1.bw_share": -0.1})
    with pytest.raises(ValueError, match="option fixed: unknown gene 'core9.size'"):
        space.restrict(fixed={"core9.size": "PE64"})
    with pytest.raises(ValueError, match="option tied: gene 'core0.size' cannot follow 'core0.dataflow'"):
        space.restrict(tied={"core0.size": "core0.dataflow"})
