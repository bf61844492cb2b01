"""One contract every registered optimizer keeps, plus the registry's errors."""

import numpy as np
import pytest

from cosearch.optimizers import (
    OPTIMIZERS,
    Optimizer,
    available,
    check_optimizer,
    finite_objectives,
    gene_table,
    make_optimizer,
    register,
)
from spaces.genes import Gene

GENES = [
    Gene(name="dataflow", kind="categorical", choices=("ws_kc", "os_yx", "rs")),
    Gene(name="cores", kind="integer", low=1, high=4),
    Gene(name="bw_share", kind="continuous"),
    Gene(name="priority", kind="priority"),
]
OPTIONS = {"grid": {"levels": 3}}


def build(name, seed=0, n_obj=1, **extra):
    if not available(name):
        pytest.skip(f"{name} needs an optional dependency")
    return make_optimizer(name, dim=len(GENES), genes=GENES, seed=seed, n_obj=n_obj, **OPTIONS.get(name, {}), **extra)


def objective(X):
    return ((X - 0.3) ** 2).sum(axis=1, keepdims=True)


def drive(optimizer, rounds=3, poison=True):
    """Ask/tell a few batches; every third point infeasible, one NaN."""
    asked = []
    for r in range(rounds):
        if optimizer.done:
            break
        X = optimizer.ask(optimizer.batch_size)
        F = objective(X)
        if poison:
            F[::3] = np.inf
            F[-1] = np.nan
        optimizer.tell(X, F)
        asked.append(X)
    return np.concatenate(asked) if asked else np.zeros((0, len(GENES)))


@pytest.fixture(params=sorted(OPTIMIZERS))
def name(request):
    return request.param


def test_same_seed_same_points_within_bounds(name):
    first, second = drive(build(name, seed=3)), drive(build(name, seed=3))
    assert first.dtype == np.float64 and first.shape[1] == len(GENES) and len(first) > 0
    np.testing.assert_array_equal(first, second)
    assert ((first >= 0) & (first <= 1)).all()
    # discrete genes come back as cell centres (noise-free), for every optimizer that knows genes
    table = gene_table(GENES, len(GENES))
    np.testing.assert_array_equal(table.snap(first)[:, :2], first[:, :2])


def test_other_seed_other_points(name):
    if name == "grid":
        pytest.skip("the grid is deterministic by construction")
    assert not np.array_equal(drive(build(name, seed=1)), drive(build(name, seed=2)))


def test_state_round_trip_continues_identically(name):
    original = build(name, seed=5)
    drive(original, rounds=2)
    restored = build(name, seed=99)
    restored.load(original.state())
    np.testing.assert_array_equal(drive(restored, rounds=2), drive(original, rounds=2))


def test_all_infeasible_does_not_crash(name):
    optimizer = build(name, seed=0)
    for _ in range(4):
        if optimizer.done:
            break
        X = optimizer.ask(optimizer.batch_size)
        optimizer.tell(X, np.full((len(X), 1), np.inf))


def test_tell_checks_shapes(name):
    optimizer = build(name)
    X = optimizer.ask(4)
    with pytest.raises(ValueError, match=r"F must have shape \(4, 1\)"):
        optimizer.tell(X, np.zeros((3, 1)))


def test_seeded_points_come_first():
    seed_X = np.array([[0.5 / 3, 2.5 / 4, 0.3, 0.3]])
    for name in ("cmaes", "random", "tpe"):
        X = make_optimizer(name, dim=4, genes=GENES, seed=0, initial_X=seed_X).ask(4)
        assert any(np.allclose(row, seed_X[0]) for row in X), name


def test_cma_es_asks_a_seeded_point_exactly_as_given():
    """cma's own injection passes a point through its integer and boundary handling, which moved a
    128-level gene's top index one down in 7 of these 20 cases (the attribution chain's warm start
    then lost the design it started from: 1024 PEs came back as 1016)."""
    genes = [Gene(name="cores", kind="integer", low=1, high=2), Gene(name="size", kind="integer", low=0, high=127)]
    for index in (127, 126, 0, 64):
        seed_X = np.array([[0.25, (index + 0.5) / 128]])
        for seed in range(5):
            X = make_optimizer("cmaes", dim=2, genes=genes, seed=seed, initial_X=seed_X, popsize=16).ask(16)
            assert np.array_equal(X[0], seed_X[0]), (index, seed, X[0])


def test_multi_objective_optimizers_take_two_objectives():
    for name, entry in OPTIMIZERS.items():
        if entry.multi_objective and available(name):
            optimizer = build(name, n_obj=2)
            X = optimizer.ask(optimizer.batch_size)
            optimizer.tell(X, np.hstack([objective(X), -objective(X)]))


def test_grid_enumerates_every_cell_once():
    grid = make_optimizer("grid", dim=4, genes=GENES, levels=2, batch_size=7)
    points = []
    while not grid.done:
        points.append(grid.ask(grid.batch_size))
    points = np.concatenate(points)
    assert len(points) == 3 * 4 * 2 * 2 == len(np.unique(points, axis=0))
    assert grid.ask(5).shape == (0, 4)


def test_cmaes_restarts_grow_the_population():
    cma = make_optimizer("cmaes", dim=2, seed=0, popsize=6, restarts=2, sigma0=0.5)
    sizes = set()
    for _ in range(400):
        if cma.done:
            break
        X = cma.ask(cma.batch_size)
        sizes.add(len(X))
        cma.tell(X, np.zeros((len(X), 1)))  # flat fitness: cma stops at once
    assert cma.done and {6, 12, 24} <= sizes


def test_cmaes_bipop_and_odd_batches():
    cma = make_optimizer("cmaes", dim=3, seed=1, restart_strategy="bipop", popsize=5)
    for n in (2, 4, 7, 1, 9, 3):
        X = cma.ask(n)
        cma.tell(X, objective(X))
    with pytest.raises(ValueError, match="X returned by the preceding ask"):
        cma.tell(X[::-1], objective(X))


def test_finite_objectives_penalises_inf_and_nan():
    F = finite_objectives(np.array([[1.0, np.inf], [np.nan, -np.inf], [2e31, 3.0]]))
    assert np.isfinite(F).all() and F[0, 1] == F[1, 0] == pytest.approx(2e32)


@pytest.mark.parametrize(
    ("name", "n_obj", "options", "message"),
    [
        ("simulated_annealing", 1, {}, "unknown optimizer 'simulated_annealing' (allowed: cmaes, gp, grid,"),
        ("cmaes", 1, {"popsiz": 8}, "optimizer 'cmaes' does not take option(s) popsiz; it takes: popsize, sigma0,"),
        ("cmaes", 2, {}, "optimizer 'cmaes' is single-objective but 2 objectives were given; multi-objective"),
        ("optuna_cmaes", 3, {}, "'optuna_cmaes' is single-objective but 3 objectives"),
        ("optuna", 1, {"sampler": "annealing"}, "unknown Optuna sampler 'annealing'; valid samplers: tpe, nsga2,"),
        ("optuna", 2, {"sampler": "cmaes"}, "Optuna sampler 'cmaes' is single-objective"),
        ("tpe", 1, {"sampler": "nsga2"}, "optimizer 'tpe' does not take option(s) sampler"),
        ("tpe", 1, {"population_size": 10}, "Optuna sampler 'tpe' does not take population_size; samplers that do"),
    ],
)
def test_bad_requests_are_clear(name, n_obj, options, message):
    with pytest.raises(ValueError) as error:
        check_optimizer(name, n_obj, options)
    assert message in str(error.value)
    with pytest.raises(ValueError):
        make_optimizer(name, dim=2, n_obj=n_obj, **options)


def test_option_values_are_checked():
    with pytest.raises(ValueError, match="restart_strategy 'lbfgs' is not one of none, ipop, bipop"):
        make_optimizer("cmaes", dim=2, restart_strategy="lbfgs")
    with pytest.raises(ValueError, match="grid: genes x0, x1 are continuous; give levels=N"):
        make_optimizer("grid", dim=2)
    with pytest.raises(ValueError, match="exceed max_points"):
        make_optimizer("grid", dim=30, levels=4)
    with pytest.raises(ValueError, match=r"initial_X must have shape \(n, 2\)"):
        make_optimizer("random", dim=2, initial_X=np.zeros((1, 3)))


def test_registry_refuses_duplicates():
    with pytest.raises(ValueError, match="optimizer 'random' is already registered"):
        register("random", Optimizer)


def test_gp_without_torch_is_a_clear_error():
    if available("gp"):
        pytest.skip("torch is installed")
    with pytest.raises(ValueError, match="needs torch"):
        make_optimizer("gp", dim=2)


def test_optuna_studies_persist_in_a_storage_url(tmp_path):
    import optuna

    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    for _attempt in range(2):  # a retried run replaces its study instead of adding to it
        opt = make_optimizer("tpe", dim=3, seed=0, storage=url, study_name="edge/tpe-0")
        X = opt.ask(4)
        opt.tell(X, (X**2).sum(axis=1, keepdims=True))
    summaries = optuna.get_all_study_summaries(url)
    assert [(s.study_name, s.n_trials) for s in summaries] == [("edge/tpe-0", 4)]


def test_cmaes_searches_a_one_gene_space():
    # cma itself needs two dimensions; the optimizer pads a dummy one.
    opt = make_optimizer("cmaes", dim=1, seed=0, popsize=6)
    best = np.inf
    for _ in range(10):
        X = opt.ask(opt.batch_size)
        assert X.shape == (6, 1) and ((0 <= X) & (X <= 1)).all()
        F = (X - 0.3) ** 2
        opt.tell(X, F)
        best = min(best, F.min())
    assert best < 1e-3


def test_gene_table_reads_the_spaces_gene_and_its_bin_rule():
    table = gene_table(GENES, len(GENES))
    assert table.cardinality.tolist() == [3, 4, 0, 0] and table.low.tolist() == [0, 1, 0, 0]
    # u = 1 falls in the last bin, not one past it; index 2 of 3 is centred at 5/6
    X = np.array([[1.0, 0.49, 0.3, 0.7]])
    assert table.to_index(X).tolist() == [[2, 1, 0, 0]]
    np.testing.assert_allclose(table.snap(X), [[5 / 6, 1.5 / 4, 0.3, 0.7]])
    for gene, u in zip(GENES[:2], table.snap(X)[0]):  # the table and the gene decode alike
        assert gene.from_value(gene.to_value(u)) == u


def test_gene_table_refuses_other_gene_records():
    Stand_in = type("Stand_in", (), {"name": "x", "kind": "continuous"})
    with pytest.raises(TypeError, match="not a spaces.genes.Gene"):
        gene_table([Stand_in()], 1)


@pytest.mark.parametrize("name", ["tpe", "nsga2", "optuna_random", "qmc", "optuna_cmaes"])
def test_optuna_studies_show_choices_by_label_and_search_as_with_indices(name):
    """optuna-dashboard reads ``dataflow = rs``, not ``2``; the labels change no asked point for a seed
    (Optuna samples a categorical parameter by its choice's index)."""
    by_index = [Gene(name="dataflow", kind="categorical", choices=(0, 1, 2)), *GENES[1:]]
    labelled = make_optimizer(name, dim=len(GENES), genes=GENES, seed=5)
    indexed = make_optimizer(name, dim=len(GENES), genes=by_index, seed=5)
    for _ in range(3):
        X = labelled.ask(4)
        assert np.array_equal(X, indexed.ask(4))
        labelled.tell(X, objective(X))
        indexed.tell(X, objective(X))
    for trial in labelled._study.trials:
        shown = trial.user_attrs["dataflow"] if name == "optuna_cmaes" else trial.params["dataflow"]
        assert shown in ("ws_kc", "os_yx", "rs")
        assert isinstance(trial.params["cores"], int) and 1 <= trial.params["cores"] <= 4


def test_optuna_told_points_it_did_not_ask_are_stored_by_label():
    optimizer = make_optimizer("tpe", dim=len(GENES), genes=GENES, seed=0)
    X = np.array([[GENES[0].from_value("rs"), GENES[1].from_value(3), 0.25, 0.75]])
    optimizer.tell(X, objective(X))  # a baseline's point: added as a finished trial
    trial = optimizer._study.trials[-1]
    assert trial.params == {"dataflow": "rs", "cores": 3, "bw_share": 0.25, "priority": 0.75}


def test_cma_loads_without_its_plotting_imports_which_stay_importable():
    """In a fresh interpreter (a Ray worker's situation): cma's optional plotting and statistics
    imports are skipped while it loads, and a later import of them works."""
    import subprocess
    import sys

    script = ("import sys; from cosearch.optimizers.cma_es import import_cma; cma = import_cma(); "
              "skipped = [m for m in ('matplotlib', 'matplotlib.pyplot', 'scipy.stats') if m in sys.modules]; "
              "import matplotlib.pyplot; cma.CMAEvolutionStrategy([0.5, 0.5], 0.2, {'verbose': -9}).ask(); "
              "print(skipped, matplotlib.pyplot.__name__)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "matplotlib.pyplot"]
