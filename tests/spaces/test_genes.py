"""Unit-coordinate rules of single genes and of the share transform."""

import numpy as np
import pytest

from spaces.genes import Gene, bin_centre, bin_index, share_from_unit, share_to_unit


def test_categorical_bins_follow_floor_rule_and_centres_decode_back():
    u = np.array([0.0, 0.2499, 0.25, 0.74, 0.75, 0.999, 1.0])
    assert bin_index(u, 4).tolist() == [0, 0, 1, 2, 3, 3, 3]
    k = np.arange(1, 9)
    for kk in k:
        assert bin_index(bin_centre(np.arange(kk), kk), kk).tolist() == list(range(kk))


def test_bin_index_takes_a_per_row_count():
    u = np.array([[0.9], [0.9], [0.9]])
    assert bin_index(u, np.array([[1], [2], [4]])).ravel().tolist() == [0, 1, 3]


def test_gene_values_round_trip():
    size = Gene(name="core0.size", kind="categorical", choices=("PE64", "PE128"))
    cores = Gene(name="cores", kind="integer", low=1, high=4)
    share = Gene(name="core0.bw_share", kind="continuous")
    assert size.num_choices == 2 and cores.num_choices == 4 and share.num_choices is None
    assert size.to_value(size.from_value("PE128")) == "PE128"
    assert cores.from_value(3) == 0.625 and cores.to_value(0.625) == 3
    assert share.to_value(share.from_value(0.3)) == pytest.approx(0.3)


def test_gene_rejects_values_outside_its_range_with_the_allowed_ones():
    size = Gene(name="core0.size", kind="categorical", choices=("PE64", "PE128"))
    with pytest.raises(ValueError, match=r"gene 'core0.size': value 'PE99' is not a choice \(allowed: PE64, PE128\)"):
        size.from_value("PE99")
    with pytest.raises(ValueError, match=r"gene 'cores': value 5 is not an integer in \[1, 4\]"):
        Gene(name="cores", kind="integer", low=1, high=4).from_value(5)
    with pytest.raises(ValueError, match=r"gene 's': value 1.5 is outside \[0.0, 1.0\]"):
        Gene(name="s", kind="continuous").from_value(1.5)
    with pytest.raises(ValueError, match="kind 'real' is not one of"):
        Gene(name="x", kind="real")


def test_continuous_grid_needs_levels():
    gene = Gene(name="core0.bw_share", kind="continuous")
    assert gene.grid(1).tolist() == [0.5]
    with pytest.raises(ValueError, match="is continuous: give grid levels"):
        gene.grid(None)


def test_shares_sum_to_one_over_active_cores_and_encode_back():
    rng = np.random.default_rng(1)
    u = rng.random((500, 4))
    active = np.arange(4) < rng.integers(1, 5, 500)[:, None]
    share = share_from_unit(u, active, 16.0)
    assert np.all(share[~active] == 0) and np.all(share[active] > 0)
    assert np.abs(share.sum(axis=1) - 1.0).max() <= 2e-16
    assert (share.max(axis=1) / np.where(active, share, 1).min(axis=1) <= 16 * (1 + 1e-12)).all()
    again = share_from_unit(share_to_unit(share, active, 16.0), active, 16.0)
    np.testing.assert_allclose(again, share, rtol=1e-12, atol=1e-15)
    even = share_from_unit(np.full((1, 3), 0.5), np.ones((1, 3), bool), 16.0)
    np.testing.assert_allclose(even, 1 / 3)
