"""Pareto filter and hypervolume against brute force."""

import itertools

import numpy as np
import pytest

from cosearch.pareto import ParetoArchive, dominates, hypervolume, nondominated_mask


def brute_nondominated(F):
    keep = []
    for i, a in enumerate(F):
        dominated = any(dominates(b, a) for j, b in enumerate(F) if j != i)
        duplicate_before = any(np.array_equal(F[j], a) for j in range(i))
        keep.append(not dominated and not duplicate_before)
    return np.array(keep)


def brute_hypervolume(F, reference):
    """Union of boxes by coordinate compression: every grid cell is in or out."""
    F = np.asarray(F, float)
    reference = np.asarray(reference, float)
    F = F[(F < reference).all(axis=1)]
    if len(F) == 0:
        return 0.0
    axes = [np.unique(np.append(F[:, j], reference[j])) for j in range(F.shape[1])]
    total = 0.0
    for cell in itertools.product(*[range(len(a) - 1) for a in axes]):
        lower = np.array([axes[j][c] for j, c in enumerate(cell)])
        upper = np.array([axes[j][c + 1] for j, c in enumerate(cell)])
        if (F <= lower).all(axis=1).any():
            total += np.prod(upper - lower)
    return total


@pytest.mark.parametrize("k", [2, 3])
def test_nondominated_mask_matches_brute_force(k):
    rng = np.random.default_rng(k)
    for _ in range(20):
        F = rng.integers(0, 5, size=(rng.integers(1, 25), k)).astype(float)
        np.testing.assert_array_equal(nondominated_mask(F), brute_nondominated(F))


def test_nondominated_mask_chunks_and_nan():
    rng = np.random.default_rng(0)
    F = rng.random((300, 3))
    F[5] = np.nan
    np.testing.assert_array_equal(nondominated_mask(F, chunk=7), nondominated_mask(F))
    assert not nondominated_mask(F)[5]


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_hypervolume_matches_brute_force(k):
    rng = np.random.default_rng(10 + k)
    for _ in range(15):
        n = int(rng.integers(1, 12 if k < 4 else 7))
        F = np.round(rng.random((n, k)) * 4, 1)
        reference = np.full(k, 3.5)
        assert hypervolume(F, reference) == pytest.approx(brute_hypervolume(F, reference), rel=1e-12, abs=1e-12)


def test_hypervolume_hand_computed():
    # Two boxes [1,3]x[2,3] and [2,3]x[1,3]: 2 + 2 - 1 overlap.
    assert hypervolume([[1, 2], [2, 1]], [3, 3]) == pytest.approx(3.0)
    assert hypervolume([[1, 1, 1]], [2, 3, 4]) == pytest.approx(6.0)
    assert hypervolume([[5, 5]], [3, 3]) == 0.0
    assert hypervolume(np.zeros((0, 2)), [1, 1]) == 0.0
    with pytest.raises(ValueError, match="reference"):
        hypervolume([[1, 2]], [1, 2, 3])


def test_archive_merge_is_order_independent():
    rng = np.random.default_rng(3)
    values = np.round(rng.random((60, 3)), 1)
    values[7] = np.inf
    X = rng.random((60, 4))
    halves = [(values[:30], X[:30], "a", np.arange(30)), (values[30:], X[30:], "b", np.arange(30))]
    forward, backward = ParetoArchive(reference=(2, 2, 2)), ParetoArchive(reference=(2, 2, 2))
    for part in halves:
        forward.add(*part)
    for part in reversed(halves):
        backward.add(*part)
    assert forward.same_front(backward)
    assert len(forward) == nondominated_mask(values[np.isfinite(values).all(1)]).sum()
    merged = ParetoArchive(reference=(2, 2, 2))
    merged.merge(ParetoArchive.from_dict(backward.to_dict()))
    assert merged.same_front(forward)
    assert forward.hypervolume() == pytest.approx(hypervolume(values[np.isfinite(values).all(1)], (2, 2, 2)))


def test_archive_add_reports_kept_rows():
    archive = ParetoArchive(keys=("a", "b"))
    kept = archive.add([[1, 1], [2, 2], [0, 3], [np.inf, 0]], np.zeros((4, 1)), "r", np.arange(4))
    assert kept.tolist() == [True, False, True, False]
    assert np.isnan(archive.hypervolume())
    with pytest.raises(ValueError, match="reference has 1 values for 2 keys"):
        ParetoArchive(keys=("a", "b"), reference=(1,))
