"""Cluster bootstrap intervals and paired tests, against independent oracles."""

import time
from math import comb

import numpy as np
import pytest
from conftest import scaled

from tomjerry.metrics.stats import bootstrap_ci, mcnemar_exact, paired_difference


def clustered(groups=60, per_group=8, seed=0, spread=0.35):
    """Per-frame 0/1 scores where frames of one group share a group-level success rate."""
    rng = np.random.default_rng(seed)
    rate = np.clip(0.8 + spread * rng.standard_normal(groups), 0, 1)
    ids = np.repeat(np.arange(groups), per_group)
    return (rng.random(len(ids)) < rate[ids]).astype(float), ids


def width(interval):
    return interval[1] - interval[0]


# ---- McNemar ------------------------------------------------------------------------------------


def hand_mcnemar(b, c):
    """Two-sided exact McNemar p-value by hand: twice the smaller binomial tail at one half."""
    n = b + c
    return min(1.0, 2 * sum(comb(n, k) for k in range(min(b, c) + 1)) / 2**n)


def pair_from_counts(both, a_only, b_only, neither):
    a = np.array([1] * both + [1] * a_only + [0] * b_only + [0] * neither)
    b = np.array([1] * both + [0] * a_only + [1] * b_only + [0] * neither)
    return a, b


def test_mcnemar_counts_and_hand_computed_p_value():
    a, b = pair_from_counts(both=40, a_only=2, b_only=8, neither=5)
    result = mcnemar_exact(a, b)
    assert (result.a_only, result.b_only) == (2, 8)
    assert result.p_value == pytest.approx(2 * (1 + 10 + 45) / 1024)  # 0.109375
    assert mcnemar_exact(b, a) == (8, 2, result.p_value)
    for a_only, b_only in ((0, 5), (3, 3), (1, 12), (17, 30)):
        got = mcnemar_exact(*pair_from_counts(10, a_only, b_only, 3)).p_value
        assert got == pytest.approx(hand_mcnemar(a_only, b_only), rel=1e-9)


def test_mcnemar_matches_statsmodels():
    statsmodels = pytest.importorskip("statsmodels.stats.contingency_tables")
    rng = np.random.default_rng(3)
    for _ in range(5):
        a, b = rng.random(300) < 0.8, rng.random(300) < 0.75
        table = [[int((a & b).sum()), int((a & ~b).sum())], [int((~a & b).sum()), int((~a & ~b).sum())]]
        assert mcnemar_exact(a, b).p_value == pytest.approx(statsmodels.mcnemar(table, exact=True).pvalue, rel=1e-9)


def test_mcnemar_without_discordant_frames_is_one():
    assert mcnemar_exact([1, 0, 1], [1, 0, 1]) == (0, 0, 1.0)


def test_mcnemar_rejects_bad_inputs():
    with pytest.raises(ValueError, match="lengths differ"):
        mcnemar_exact([1, 0, 1], [1, 0])
    with pytest.raises(ValueError, match="empty"):
        mcnemar_exact([], [])
    with pytest.raises(ValueError, match="0/1"):
        mcnemar_exact([1, 0.5], [1, 0])


# ---- the cluster bootstrap ------------------------------------------------------------------------


def test_interval_contains_the_point_estimate_and_grows_with_level():
    scores, groups = clustered(seed=1)
    low, high = bootstrap_ci(scores, groups)
    assert low < scores.mean() < high
    narrow = bootstrap_ci(scores, groups, level=0.5)
    assert low < narrow[0] < narrow[1] < high


def test_interval_shrinks_with_more_data():
    small = clustered(groups=40, seed=2)
    large = clustered(groups=640, seed=2)
    # 16x the groups: about a quarter of the width
    assert width(bootstrap_ci(*large)) < 0.4 * width(bootstrap_ci(*small))


def test_one_frame_per_group_is_the_ordinary_bootstrap():
    rng = np.random.default_rng(4)
    scores = (rng.random(300) < 0.7).astype(float)
    draws = np.random.default_rng(11).integers(0, 300, size=(500, 300))
    oracle = np.quantile(scores[draws].mean(axis=1), [0.025, 0.975])
    np.testing.assert_allclose(bootstrap_ci(scores, np.arange(300), n_boot=500, seed=11), oracle, atol=1e-12)


def test_cluster_bootstrap_matches_a_loop_over_resampled_groups():
    scores, groups = clustered(groups=30, per_group=5, seed=5)
    groups = np.where(groups % 3 == 0, groups, groups + 1000)  # unequal group sizes, unsorted ids
    labels = np.unique(groups)
    draws = np.random.default_rng(7).integers(0, len(labels), size=(300, len(labels)))
    means = [np.concatenate([scores[groups == labels[g]] for g in row]).mean() for row in draws]
    oracle = np.quantile(means, [0.05, 0.95])
    np.testing.assert_allclose(bootstrap_ci(scores, groups, n_boot=300, seed=7, level=0.9), oracle, atol=1e-12)


def test_correlated_frames_widen_the_interval():
    scores, groups = clustered(groups=50, per_group=10, seed=6, spread=1.0)  # shots mostly all right or all wrong
    per_frame = bootstrap_ci(scores, np.arange(len(scores)))
    per_shot = bootstrap_ci(scores, groups)
    assert width(per_shot) > 2 * width(per_frame)


def test_binary_accuracy_is_the_mean_of_the_two_labels():
    rng = np.random.default_rng(8)
    labels = (rng.random((200, 2)) < 0.85).astype(int)
    groups = np.repeat(np.arange(40), 5)
    assert bootstrap_ci(labels, groups, seed=2) == bootstrap_ci(labels.mean(axis=1), groups, seed=2)
    assert bootstrap_ci(labels, groups, seed=2) != bootstrap_ci(labels[:, 0], groups, seed=2)


def test_a_constant_score_has_a_zero_width_interval():
    assert bootstrap_ci(np.ones(20), np.repeat(np.arange(5), 4)) == (1.0, 1.0)


def test_bootstrap_rejects_bad_inputs():
    with pytest.raises(ValueError, match="lengths differ"):
        bootstrap_ci([1, 0, 1], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        bootstrap_ci([], [])
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci([1, 0], [0, 1], level=95)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_ci([1, 0], [0, 1], n_boot=0)


def test_two_thousand_resamples_of_a_test_set_are_fast():
    scores, groups = clustered(groups=90, per_group=6, seed=9)  # 540 frames, like the test split
    started = time.perf_counter()
    bootstrap_ci(scores, groups, n_boot=2000)
    assert time.perf_counter() - started < scaled(0.5)


# ---- paired differences -----------------------------------------------------------------------------


def test_paired_difference_of_two_runs_on_the_same_frames():
    a, groups = clustered(groups=80, seed=10)
    b = a.copy()
    flip = np.flatnonzero(a == 1)[::6]  # run b misses every sixth frame run a gets right
    b[flip] = 0
    result = paired_difference(a, b, groups)
    assert result.difference == pytest.approx(len(flip) / len(a))
    assert 0 < result.low < result.difference < result.high
    # pairing: the interval of the difference is narrower than either run's own interval
    assert result.high - result.low < width(bootstrap_ci(a, groups))
    assert paired_difference(b, a, groups) == pytest.approx((-result.difference, -result.high, -result.low))
    assert paired_difference(a, a, groups) == (0.0, 0.0, 0.0)


def test_paired_difference_rejects_different_lengths():
    with pytest.raises(ValueError, match="lengths differ"):
        paired_difference([1, 0, 1], [1, 0], [0, 1, 2])
    with pytest.raises(ValueError, match="lengths differ"):
        paired_difference([1, 0, 1], [1, 0, 0], [0, 1])
