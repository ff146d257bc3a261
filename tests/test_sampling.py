"""Alias tables and the negative sampler: exact reconstruction, chi-square on draws, and rejection of wrong samplers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chisquare

from graphrec.embed import _kernels
from graphrec.graph.sampling import AliasTable, negative_sampler, noise_distribution, weighted_degrees

WEIGHTS = np.array([5.0, 1.0, 0.5, 3.0, 0.0, 10.0, 2.5, 0.25])
DRAWS = 200_000


def implied_probabilities(table: AliasTable) -> np.ndarray:
    """What the (prob, alias) pair actually samples: slot k keeps itself w.p. prob[k], else gives alias[k]."""
    n = table.size
    p = table.prob / n
    np.add.at(p, table.alias, (1.0 - table.prob) / n)
    return p


def chi2_p(counts: np.ndarray, expected_probs: np.ndarray) -> float:
    support = expected_probs > 0
    assert counts[~support].sum() == 0, "drew an index whose probability is 0"
    expected = expected_probs[support] / expected_probs[support].sum() * counts.sum()
    return float(chisquare(counts[support], expected).pvalue)


def test_alias_table_encodes_exactly_the_weights():
    rng = np.random.default_rng(3)
    weights = rng.pareto(1.5, size=50_000)  # heavy-tailed, like edge weights times degrees
    table = AliasTable(weights)
    np.testing.assert_allclose(implied_probabilities(table), weights / weights.sum(), rtol=1e-9, atol=1e-15)
    assert table.prob.dtype == np.float64 and table.alias.dtype == np.int32


def test_numpy_draws_reproduce_the_weights():
    counts = np.bincount(AliasTable(WEIGHTS).sample(DRAWS, np.random.default_rng(0)), minlength=WEIGHTS.size)
    assert chi2_p(counts, WEIGHTS) > 0.001


def test_kernel_draws_reproduce_the_weights():
    # The compiled draw rule and generator are the ones LINE training uses.
    table = AliasTable(WEIGHTS)
    counts = np.bincount(_kernels.draw_alias(table.prob, table.alias, DRAWS, 0), minlength=WEIGHTS.size)
    assert chi2_p(counts, WEIGHTS) > 0.001


def test_chi_square_rejects_a_wrong_distribution_and_a_broken_sampler():
    table = AliasTable(WEIGHTS)
    counts = np.bincount(table.sample(DRAWS, np.random.default_rng(0)), minlength=WEIGHTS.size)
    nearly = WEIGHTS.copy()
    nearly[1] *= 1.1  # one weight off by 10%
    assert chi2_p(counts, nearly) < 1e-6
    # A sampler that forgets the alias step draws slots uniformly.
    rng = np.random.default_rng(0)
    broken = np.bincount(rng.integers(0, WEIGHTS.size, DRAWS), minlength=WEIGHTS.size)
    with pytest.raises(AssertionError):  # it even draws the zero-weight item
        chi2_p(broken, WEIGHTS)
    positive = WEIGHTS > 0
    assert chisquare(broken[positive], WEIGHTS[positive] / WEIGHTS[positive].sum() * broken[positive].sum()).pvalue < 1e-6


def test_sample_is_seeded_and_int64():
    table = AliasTable(WEIGHTS)
    a, b = table.sample(1000, 42), table.sample(1000, 42)
    assert a.dtype == np.int64 and a.shape == (1000,)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, table.sample(1000, 43))
    assert table.sample(0, 1).shape == (0,)


def test_noise_distribution_is_degree_to_the_three_quarters():
    degrees = np.array([1.0, 16.0, 81.0, 0.0, 256.0])
    expected = np.array([1.0, 8.0, 27.0, 0.0, 64.0]) / 100.0
    np.testing.assert_allclose(noise_distribution(degrees), expected, rtol=1e-12)
    sampler = negative_sampler(degrees)
    counts = np.bincount(_kernels.draw_alias(sampler.prob, sampler.alias, DRAWS, 5), minlength=degrees.size)
    assert chi2_p(counts, expected) > 0.001
    assert chi2_p(counts, degrees / degrees.sum()) < 1e-6  # plain degree is a different distribution


def test_weighted_degrees_sum_outgoing_weights():
    src = np.array([0, 1, 1, 2, 0])
    weight = np.array([0.5, 1.0, 2.0, 0.25, 1.5])
    np.testing.assert_allclose(weighted_degrees(src, weight, 4), [2.0, 3.0, 0.25, 0.0])


@pytest.mark.parametrize(
    ("weights", "fragment"),
    [
        ([1.0, -0.5], ">= 0"),
        ([1.0, np.nan], "finite"),
        ([0.0, 0.0], "positive sum"),
        ([], "non-empty"),
        ([[1.0, 2.0]], "1-D"),
    ],
)
def test_bad_weights_raise(weights, fragment):
    with pytest.raises(ValueError, match=fragment):
        AliasTable(np.array(weights, dtype=float))


def test_bad_degrees_raise():
    with pytest.raises(ValueError, match="every degree is 0"):
        noise_distribution(np.zeros(3))
    with pytest.raises(ValueError, match="negative or NaN"):
        noise_distribution(np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="power"):
        noise_distribution(np.ones(3), power=0.0)
