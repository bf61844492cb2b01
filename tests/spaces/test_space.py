"""The unified space and its named restrictions: round trips, budgets, restrictions."""

import numpy as np
import pytest

import objectives
from objectives.workloads import ModelEntry, Workload
from spaces import MAPPING_MODES, SPACES, Design, get_platform, make_space
from spaces import design as codes
from spaces.architecture import repair, size_menu
from spaces.workload import WorkloadShape
from cosearch.testing import tiny_problem, tiny_workload

PLATFORMS = ("edge", "zcu102", "u250")


@pytest.fixture(scope="module")
def workload():
    """Two models, one served twice: three DNN instances, 9 layers."""
    tiny = tiny_workload()
    cnn, mlp = tiny.models
    return Workload.from_models("tiny_batched", [ModelEntry(cnn, batch=2), ModelEntry(mlp)])


def test_a_workload_is_what_a_space_expects_of_one(workload):
    """spaces never imports objectives: its workload parameters are typed by a protocol Workload meets."""
    assert isinstance(workload, WorkloadShape)
    # Batch 2 of the 3-layer CNN, then the 3-layer MLP: each layer's progress through its model.
    assert workload.default_priority.tolist() == [1 / 3, 2 / 3, 1, 1 / 3, 2 / 3, 1, 1 / 3, 2 / 3, 1]
    assert not isinstance(object(), WorkloadShape)


def named_space(name, workload, platform, mapping):
    options = {"mapping": mapping}
    if name == "fixed_architecture":
        sizes = [s.name for s in platform.core_sizes if platform.fits(s)]
        cores = [
            {"size": sizes[0], "dataflow": platform.dataflows[0], "bw_share": 0.7, "buffer_share": 0.5},
            {"size": sizes[0], "dataflow": platform.dataflows[-1], "bw_share": 0.3, "buffer_share": 0.5},
        ]
        options["cores"] = cores
    return make_space(name, workload, platform, **options)


ALL_SPACES = [(n, p, m) for n in SPACES for p in PLATFORMS for m in MAPPING_MODES]


def assert_same_designs(got, want):
    for field in ("core_pes", "core_size", "core_dataflow", "layer_core"):
        np.testing.assert_array_equal(getattr(got, field), getattr(want, field), err_msg=field)
    for field in ("bw_share", "buffer_share", "layer_priority", "mapping_bias"):
        a, b = getattr(got, field), getattr(want, field)
        assert (a is None) == (b is None), field
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=field)


@pytest.mark.parametrize("name,platform_name,mapping", ALL_SPACES)
def test_decode_encode_round_trip_in_every_named_space(workload, name, platform_name, mapping):
    space = named_space(name, workload, get_platform(platform_name), mapping)
    designs = space.decode(space.sample(200, np.random.default_rng(3)))
    X = space.encode(designs)
    assert X.shape == (200, space.dim) and (X >= 0).all() and (X <= 1).all()
    assert_same_designs(space.decode(X), designs)
    views = space.designs(X[:5])
    assert_same_designs(space.decode(space.encode(views)), designs.take(slice(0, 5)))


@pytest.mark.parametrize("name,platform_name", [(n, p) for n in SPACES for p in PLATFORMS])
def test_ten_thousand_random_designs_are_within_budget(workload, name, platform_name):
    platform = get_platform(platform_name)
    space = named_space(name, workload, platform, "greedy")
    designs = space.decode(space.sample(10_000, np.random.default_rng(7)))
    assert (designs.decode_reason == 0).all()  # no named space leaves a design over budget
    active = designs.core_pes > 0
    assert active.any(axis=1).all()
    cost = np.array([[s.pes, s.dsp, s.lut, s.bram36] for s in platform.core_sizes])[designs.core_size]
    used = np.where(active[..., None], cost, 0).sum(axis=1)
    assert (used <= [platform.pes, platform.dsp, platform.lut, platform.bram36]).all()
    assert (designs.core_pes[active] == cost[..., 0][active]).all()
    np.testing.assert_allclose(designs.bw_share.sum(axis=1), 1.0, atol=2e-16)
    np.testing.assert_allclose(designs.buffer_share.sum(axis=1), 1.0, atol=2e-16)
    assert (designs.bw_share[~active] == 0).all() and (designs.bw_share[active] > 0).all()


def test_non_finite_points_are_flagged_not_raised(workload):
    space = make_space("cosearch", workload, get_platform("edge"), mapping="layer")
    X = space.sample(4, 0)
    X[1, 3] = np.nan
    X[2, 0] = np.inf
    designs = space.decode(X)
    assert designs.decode_reason.tolist() == [0, codes.NON_FINITE, codes.NON_FINITE, 0]


def test_evaluator_accepts_a_partly_flagged_batch(workload):
    space = make_space("cosearch", workload, get_platform("edge"))
    X = space.sample(3, 0)
    X[1, 0] = np.nan
    metrics = objectives.evaluate(space.decode(X), workload, get_platform("edge"))
    assert metrics.reason.tolist() == [0, codes.NON_FINITE, 0]


@pytest.mark.parametrize("platform_name", PLATFORMS)
@pytest.mark.parametrize("mapping", MAPPING_MODES)
def test_homogeneous_designs_never_mix_sizes_or_dataflows(workload, platform_name, mapping):
    space = make_space("homogeneous_multicore", workload, get_platform(platform_name), mapping=mapping)
    designs = space.decode(space.sample(3000, 11))
    active = designs.core_pes > 0
    for field in ("core_size", "core_dataflow", "bw_share", "buffer_share"):
        values = getattr(designs, field)
        same = np.isclose(values, values[:, :1], rtol=1e-12, atol=0)  # even shares: equal to rounding over C cores
        assert (np.where(active, same, True)).all(), field
    assert (designs.core_size[:, 0] != designs.core_size[0, 0]).any()  # the size itself is searched


def test_homogeneous_with_a_fixed_count_keeps_it_and_restricts_choices(workload):
    space = make_space("homogeneous_multicore", workload, get_platform("edge"), cores=3, dataflow="rs")
    designs = space.decode(space.sample(2000, 5))
    assert ((designs.core_pes > 0).sum(axis=1) == 3).all()
    assert {space.dataflow_names[i] for i in np.unique(designs.core_dataflow[:, :3])} == {"rs"}
    assert designs.core_pes[:, :3].sum(axis=1).max() <= 1024
    assert [g.name for g in space.genes][:1] == ["core0.size"]


def test_hda_has_one_core_per_dataflow_on_a_fixed_split(workload):
    platform = get_platform("mobile")
    space = make_space("hda_fixed_granularity", workload, platform, dataflows=["ws_kc", "os_yx"], split=[3, 1])
    designs = space.decode(space.sample(500, 2))
    assert (designs.core_pes == [2048, 1024]).all()
    assert [space.dataflow_names[i] for i in designs.core_dataflow[0]] == ["ws_kc", "os_yx"]
    assert {g.name.split(".")[-1] for g in space.genes} >= {"bw_share", "buffer_share"}
    named = make_space("hda_fixed_granularity", workload, platform, dataflows=["ws_kc", "os_yx"],
                       split=["PE1024", "PE2048"])
    assert (named.decode(named.sample(3, 0)).core_pes == [1024, 2048]).all()


@pytest.mark.parametrize("platform_name", PLATFORMS)
def test_fda_is_one_monolithic_core(workload, platform_name):
    platform = get_platform(platform_name)
    space = make_space("fda", workload, platform)
    designs = space.decode(space.sample(100, 0))
    largest = max((s for s in platform.core_sizes if platform.fits(s)), key=lambda s: s.pes)
    assert designs.num_cores == 1 and (designs.core_pes[:, 0] == largest.pes).all()
    assert [g.name for g in space.genes] == ["core0.dataflow"]


def test_fixed_architecture_searches_only_the_mapping(workload):
    platform = get_platform("edge")
    space = named_space("fixed_architecture", workload, platform, "layer")
    assert all(g.name.startswith(("layer", "mapping")) for g in space.genes)
    designs = space.decode(space.sample(100, 0))
    assert (designs.core_pes == 64).all()
    np.testing.assert_allclose(designs.bw_share, [[0.7, 0.3]] * 100)
    seed = Design.from_batch(designs, platform, 0)
    again = make_space("fixed_architecture", workload, platform, design=seed.to_json(), mapping="greedy")
    np.testing.assert_allclose(again.decode(again.sample(2, 0)).bw_share, [[0.7, 0.3]] * 2)


@pytest.mark.parametrize("mapping", ["layer", "model", "greedy", "biased"])
def test_the_greedy_mapping_is_reachable_in_every_mode(workload, mapping):
    platform = get_platform("edge")
    space = make_space("cosearch", workload, platform, mapping=mapping)
    explicit = space.decode(space.sample(8, 1))
    greedy = Design.from_batch(explicit, platform, 0)
    greedy = Design(cores=greedy.cores, layer_core=(-1,) * workload.num_layers)
    decoded = space.decode(space.encode(greedy))
    assert (decoded.layer_core == -1).all()
    if decoded.mapping_bias is not None:
        assert (decoded.mapping_bias == 0).all()
    if decoded.layer_priority is not None:
        np.testing.assert_allclose(decoded.layer_priority[0], space.mapping.default_priority)


def test_model_mode_keeps_each_instance_on_one_core(workload):
    space = make_space("cosearch", workload, get_platform("edge"), mapping="model", greedy_switch=False)
    designs = space.decode(space.sample(300, 4))
    instance = space.mapping.instance
    assert space.mapping.num_instances == 3
    for i in range(3):
        cores = designs.layer_core[:, instance == i]
        assert (cores == cores[:, :1]).all()
    assert (designs.layer_core >= 0).all() and designs.layer_priority is None


def test_layer_cores_always_land_on_active_cores(workload):
    space = make_space("cosearch", workload, get_platform("u250"), mapping="layer", greedy_switch=False)
    designs = space.decode(space.sample(3000, 9))
    count = (designs.core_pes > 0).sum(axis=1)
    assert (designs.layer_core >= 0).all() and (designs.layer_core < count[:, None]).all()
    assert set(range(1, 9)) <= set(np.unique(count)) and count.max() <= space.max_cores


def test_repair_shrinks_tied_largest_cores_then_drops_the_last():
    menu = size_menu(get_platform("edge"))  # PE64 … PE1024, budget 1024
    rank = np.array([[4, 4, 3], [4, 3, 0], [0, 0, 0], [2, 2, 2]])
    active = np.array([[True, True, True], [True, True, False], [True, True, True], [True, True, True]])
    new_rank, new_active, reason = repair(rank, active, menu, shrinkable=np.ones(3, bool),
                                          can_drop_cores=True, fpga=False)
    pes = np.where(new_active, menu.pes[new_rank], 0)
    assert pes.tolist() == [[256, 256, 256], [512, 512, 0], [64, 64, 64], [256, 256, 256]]
    assert reason.tolist() == [0, 0, 0, 0]
    stuck_rank, _, stuck = repair(np.array([[4, 4]]), np.ones((1, 2), bool), menu,
                                  shrinkable=np.zeros(2, bool), can_drop_cores=False, fpga=False)
    assert stuck.tolist() == [codes.OVER_COMPUTE_BUDGET] and stuck_rank.tolist() == [[4, 4]]


def test_design_json_and_batch_round_trip():
    tiny = tiny_problem()
    designs = tiny.space.designs(tiny.space.sample(6, 0))
    for design in designs:
        assert Design.from_json(design.to_json()) == design
        assert Design.from_batch(design.to_batch(tiny.platform, num_cores=3), tiny.platform) == design
    with pytest.raises(ValueError, match="not a design"):
        Design.from_json('{"cores": []}')


def test_encode_refuses_designs_the_space_cannot_express(workload):
    platform = get_platform("edge")
    free = make_space("cosearch", workload, platform, mapping="layer", greedy_switch=False)
    design = free.designs(free.sample(40, 0))
    mixed = next(d for d in design if len({c.size for c in d.cores}) > 1)
    homogeneous = make_space("homogeneous_multicore", workload, platform, mapping="layer")
    with pytest.raises(ValueError, match="cannot express design 0: its core sizes differ"):
        homogeneous.encode(mixed)
    greedy = make_space("cosearch", workload, platform, mapping="greedy")
    with pytest.raises(ValueError, match="its layer mapping differ"):
        greedy.encode(design[0])
    custom = Design(cores=(design[0].cores[0].__class__(size=None, pes=100, dataflow="ws_kc", bw_share=1.0,
                                                        buffer_share=1.0),), layer_core=(-1,) * 9)
    with pytest.raises(ValueError, match=r"\(100 PEs\) is not a menu size \(allowed: PE64, PE128"):
        greedy.encode(custom)


def test_decode_validates_the_shape():
    tiny = tiny_problem()
    with pytest.raises(ValueError, match=r"X has shape \(3, 5\), expected \(P, 12\)"):
        tiny.space.decode(np.zeros((3, 5)))
    assert tiny.space.decode(np.full(12, 0.5)).num_designs == 1


def test_encode_checks_the_layer_count(workload):
    space = make_space("cosearch", workload, get_platform("edge"))
    design = space.designs(space.sample(1, 0))[0]
    short = Design(cores=design.cores, layer_core=design.layer_core[:-1])
    with pytest.raises(ValueError, match="designs map 8 layers, the workload has 9"):
        space.encode(short)
