"""How sure a test score is: cluster bootstrap intervals over shots, and paired comparisons of two
runs on the same test frames.

Frames of one shot are near-copies, so they are not independent draws: an interval that resamples
single frames is too narrow. Resampling whole shots (groups) with replacement keeps each shot's
frames together, as a new draw of footage would.

Per-frame scores: exact match is 0 or 1 per frame; binary accuracy is the mean of the two labels'
correctness per frame (0, 0.5 or 1). Pass either a (N,) score or a (N, K) correctness matrix (its
row mean is used).
"""

from typing import NamedTuple

import numpy as np


class PairedDifference(NamedTuple):
    difference: float  # mean score of run a minus that of run b, on the same frames
    low: float
    high: float


class McNemar(NamedTuple):
    a_only: int  # frames run a gets right and run b wrong
    b_only: int  # frames run b gets right and run a wrong
    p_value: float  # two-sided exact binomial test of a_only against a_only + b_only at one half


def frame_scores(correct) -> np.ndarray:
    """(N,) float per-frame scores from (N,) scores or a (N, K) per-label correctness matrix."""
    scores = np.asarray(correct, dtype=float)
    if scores.ndim == 2:
        scores = scores.mean(axis=1)
    if scores.ndim != 1:
        raise ValueError(f"per-frame scores must be (N,) or (N, labels), not of shape {scores.shape}")
    if len(scores) == 0:
        raise ValueError("no frames to score: the scores are empty")
    if np.isnan(scores).any():
        raise ValueError("the per-frame scores contain NaN")
    return scores


def _same_length(*arrays):
    lengths = {len(a) for a in arrays}
    if len(lengths) > 1:
        raise ValueError(f"the inputs must describe the same frames, but their lengths differ: {sorted(lengths)}")


def bootstrap_ci(correct, groups, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Cluster (group) bootstrap percentile interval (low, high) of the mean per-frame score.

    correct: (N,) per-frame scores or (N, K) per-label correctness; groups: (N,) group ids (shots);
    each of `n_boot` resamples draws as many groups as there are, with replacement, and takes the
    mean score over all their frames. With one frame per group this is the ordinary bootstrap."""
    scores = frame_scores(correct)
    groups = np.asarray(groups)
    _same_length(scores, groups)
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, not {n_boot}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level}")
    _, index = np.unique(groups, return_inverse=True)
    sums = np.bincount(index, weights=scores)
    sizes = np.bincount(index).astype(float)
    # One (n_boot, groups) draw: 2,000 x 550 is 9 MB of indices and takes milliseconds.
    draws = np.random.default_rng(seed).integers(0, len(sums), size=(n_boot, len(sums)))
    means = sums[draws].sum(axis=1) / sizes[draws].sum(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def paired_difference(
    correct_a, correct_b, groups, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> PairedDifference:
    """Mean score of run a minus run b on the same (N,) frames, with a cluster-bootstrap interval.

    Both runs are resampled with the same groups in every resample (the difference is bootstrapped
    frame by frame), so what the two runs share, the difficulty of each shot, cancels out."""
    a, b = frame_scores(correct_a), frame_scores(correct_b)
    _same_length(a, b, np.asarray(groups))
    low, high = bootstrap_ci(a - b, groups, n_boot, seed, level)
    return PairedDifference(float(a.mean() - b.mean()), low, high)


def mcnemar_exact(correct_a, correct_b) -> McNemar:
    """Exact McNemar test of two runs' (N,) per-frame 0/1 correctness (e.g. exact match) on the same
    frames: a two-sided binomial test of the discordant frames (one run right, the other wrong) at
    one half. It treats frames as independent; with near-copies in a shot, read it as optimistic."""
    from scipy.stats import binomtest  # here, not at import: scipy.stats costs Home 1.4 s

    a, b = np.asarray(correct_a), np.asarray(correct_b)
    _same_length(a, b)
    if len(a) == 0:
        raise ValueError("no frames to compare: the inputs are empty")
    for name, values in (("correct_a", a), ("correct_b", b)):
        if values.ndim != 1 or not np.isin(values, (0, 1)).all():
            raise ValueError(f"{name} must be one 0/1 (or True/False) value per frame for McNemar's test")
    a, b = a.astype(bool), b.astype(bool)
    a_only, b_only = int((a & ~b).sum()), int((b & ~a).sum())
    p_value = 1.0 if a_only + b_only == 0 else float(binomtest(a_only, a_only + b_only, 0.5).pvalue)
    return McNemar(a_only, b_only, p_value)


# ---- shot-aware statistics: the unit is the linked shot group --------------------------------------
#
# A shots split keeps every linked shot group (shots joined by near-identical frames,
# tomjerry.data.shots.shot_groups; the `shot` column of predictions.csv) on one side. Frames of a
# group are near-copies, so the group, not the frame, is the independent unit of a test set: the
# tests and intervals below resample or flip whole groups. Several split seeds are pooled as
# (seed, group) clusters, the seeds as strata.

INTERVAL_METHODS = ("studentized", "bca", "percentile")
EXACT_SIGN_FLIP_GROUPS = 16  # up to 2**16 = 65,536 sign patterns are enumerated; more get Monte Carlo
SIGN_FLIP_DRAWS = 20_000


class GroupTest(NamedTuple):
    difference: float  # mean per-frame score of run a minus run b over all frames
    a_only: int  # frames run a gets right and run b wrong (0/1 scores), or their score sum otherwise
    b_only: int
    groups: int  # clusters (linked shot groups, or (seed, group) pairs) the test treats as independent
    discordant_groups: int  # groups where the two runs' totals differ: the ones that carry information
    p_value: float
    method: str


class Interval(NamedTuple):
    estimate: float  # frame-pooled mean score (or difference) over all groups
    low: float
    high: float
    groups: int  # the number of clusters resampled
    method: str  # 'studentized', 'bca' or 'percentile'
    level: float


def cluster_ids(groups, strata=None) -> tuple[np.ndarray, np.ndarray]:
    """(cluster, stratum): (N,) int cluster index of every frame (a group within its stratum, e.g.
    (split seed, shot group)) and (C,) int stratum index of every cluster. Without strata one stratum."""
    groups = np.asarray(groups)
    strata = np.zeros(len(groups), int) if strata is None else np.asarray(strata)
    _same_length(groups, strata)
    _, stratum = np.unique(strata, return_inverse=True)
    _, group = np.unique(groups, return_inverse=True)
    pairs = stratum.astype(np.int64) * (group.max() + 1 if len(group) else 1) + group
    keys, cluster = np.unique(pairs, return_inverse=True)
    return cluster, (keys // (group.max() + 1 if len(group) else 1)).astype(int)


def _totals(scores: np.ndarray, cluster: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    count = cluster.max() + 1
    return np.bincount(cluster, weights=scores, minlength=count), np.bincount(cluster, minlength=count).astype(float)


def _draw_clusters(cluster_stratum: np.ndarray, n_boot: int, rng) -> np.ndarray:
    """(n_boot, C) indices of clusters drawn with replacement within each stratum (as many as it holds)."""
    parts = []
    for s in np.unique(cluster_stratum):
        members = np.flatnonzero(cluster_stratum == s)
        parts.append(members[rng.integers(0, len(members), size=(n_boot, len(members)))])
    return np.concatenate(parts, axis=1)


def _ratio_se(y, n, cluster_stratum) -> np.ndarray:
    """Jackknife standard error of the frame-pooled mean sum(y) / sum(n), leaving out one cluster at
    a time within its stratum (Efron & Tibshirani 1993, ch. 11; stratified: Wolter 2007, Introduction
    to Variance Estimation, ch. 4): y (..., C) cluster totals, n (..., C) cluster sizes. For a ratio it
    is a little wider than the linearised one where one cluster is large (a 130-frame shot group),
    which is where the linearised one under-covers."""
    total_y, total_n = y.sum(axis=-1, keepdims=True), n.sum(axis=-1, keepdims=True)
    left_out = (total_y - y) / np.maximum(total_n - n, 1e-12)
    variance = np.zeros(y.shape[:-1])
    for s in np.unique(cluster_stratum):
        part = left_out[..., cluster_stratum == s]
        g = part.shape[-1]
        if g > 1:
            variance = variance + (g - 1) / g * ((part - part.mean(axis=-1, keepdims=True)) ** 2).sum(axis=-1)
    return np.sqrt(variance)


def _bca(y, n, ratios, estimate, n_boot: int, tail: float) -> tuple:
    """BCa (Efron 1987; Efron & Tibshirani 1993, ch. 14.3): bias from the share of resamples below
    the estimate, acceleration from the leave-one-cluster-out jackknife."""
    if np.ptp(ratios) == 0:
        return estimate, estimate
    from scipy.special import ndtr, ndtri  # here, not at import: scipy costs Home start-up time

    below = (ratios < estimate).mean() + 0.5 * (ratios == estimate).mean()
    z0 = ndtri(np.clip(below, 1 / (2 * n_boot), 1 - 1 / (2 * n_boot)))
    jack = (y.sum() - y) / np.maximum(n.sum() - n, 1e-12)
    spread = jack.mean() - jack
    denominator = 6 * (spread**2).sum() ** 1.5
    accel = (spread**3).sum() / denominator if denominator > 0 else 0.0
    z = ndtri(np.array([tail, 1 - tail]))
    adjusted = ndtr(z0 + (z0 + z) / (1 - accel * (z0 + z)))
    return tuple(np.quantile(ratios, adjusted))


def _bootstrap_intervals(y, n, cluster_stratum, n_boot, seed, level, methods=INTERVAL_METHODS) -> dict:
    """The intervals named in `methods` (percentile always) from one set of cluster resamples."""
    estimate = y.sum() / n.sum()
    draws = _draw_clusters(cluster_stratum, n_boot, np.random.default_rng(seed))
    y_star, n_star = y[draws], n[draws]
    ratios = y_star.sum(axis=1) / n_star.sum(axis=1)
    tail = (1 - level) / 2
    out = {"percentile": tuple(np.quantile(ratios, [tail, 1 - tail]))}

    if "bca" in methods:
        out["bca"] = _bca(y, n, ratios, estimate, n_boot, tail)

    # Studentized (bootstrap-t; Davison & Hinkley 1997, Bootstrap Methods, 5.2.1; Field & Welsh 2007
    # for clusters): each resample's t = (ratio* - estimate) / se*, se the cluster jackknife's.
    if "studentized" not in methods:
        return out
    se = _ratio_se(y, n, cluster_stratum)
    if se == 0:
        out["studentized"] = (estimate, estimate)
    else:
        se_star = _ratio_se(y_star, n_star, cluster_stratum)
        diff = ratios - estimate
        # A resample with no spread (all its clusters alike, e.g. a few groups all right) has no
        # standard error and so no t: it is left out (nan). With none left, the percentile interval.
        t = np.full(len(ratios), np.nan)
        np.divide(diff, se_star, out=t, where=se_star > 0)
        t[(se_star == 0) & (diff == 0)] = 0.0
        if np.isnan(t).all():
            out["studentized"] = out["percentile"]
            return out
        t_low, t_high = np.nanquantile(t, [tail, 1 - tail])
        out["studentized"] = (estimate - t_high * se, estimate - t_low * se)
    return out


def cluster_interval(
    correct,
    groups,
    strata=None,
    method: str = "studentized",
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> Interval:
    """A bootstrap interval of the frame-pooled mean per-frame score that resamples whole clusters.

    correct: (N,) per-frame scores (or (N, K) per-label correctness, row means used; or a paired
    difference a - b); groups: (N,) linked shot group ids; strata: (N,) optional, e.g. the split seed
    of each frame when runs on several seeds are pooled: clusters are then (stratum, group) pairs,
    resampled within their stratum. method:
    - 'studentized' (default): bootstrap-t with the cluster jackknife standard error of the ratio
      estimator (Davison & Hinkley 1997, sec. 5.2; Field & Welsh 2007, JRSS B 69, on bootstrapping
      clustered data). Second-order accurate; the one that held its coverage in our simulation with the real
      group sizes (tests/test_cluster_stats.py), so the pages use it.
    - 'bca': bias-corrected and accelerated percentile (Efron 1987, JASA 82), jackknife over clusters.
    - 'percentile': the plain percentile interval (bootstrap_ci), which under-covers with ~50 groups.
    Returns an Interval whose `groups` says how many clusters the interval rests on."""
    if method not in INTERVAL_METHODS:
        raise ValueError(f"method must be one of {', '.join(INTERVAL_METHODS)}, not {method!r}")
    scores = frame_scores(correct)
    groups = np.asarray(groups)
    _same_length(scores, groups)
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, not {n_boot}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level}")
    cluster, cluster_stratum = cluster_ids(groups, strata)
    y, n = _totals(scores, cluster)
    low, high = _bootstrap_intervals(y, n, cluster_stratum, n_boot, seed, level, (method,))[method]
    # A bootstrap-t interval is not range-respecting (96.9 % [95.4, 100.9] on 32 demo frames); the
    # mean of the scores cannot leave their observed range, so the interval is clipped to it.
    low, high = np.clip([low, high], scores.min(), scores.max())
    return Interval(float(y.sum() / n.sum()), float(low), float(high), len(y), method, level)


def _paired_totals(correct_a, correct_b, groups, strata):
    a, b = frame_scores(correct_a), frame_scores(correct_b)
    groups = np.asarray(groups)
    _same_length(a, b, groups)
    cluster, _ = cluster_ids(groups, strata)
    a_only, b_only = np.clip(a - b, 0, None), np.clip(b - a, 0, None)
    count = cluster.max() + 1
    plus = np.bincount(cluster, weights=a_only, minlength=count)
    minus = np.bincount(cluster, weights=b_only, minlength=count)
    return a, b, plus, minus


def _count(value: float):
    return int(round(value)) if float(value).is_integer() else float(value)


def sign_flip_test(
    correct_a, correct_b, groups, strata=None, n_resamples: int = SIGN_FLIP_DRAWS, seed: int = 0
) -> GroupTest:
    """Paired randomisation test over linked shot groups: under 'the two runs are exchangeable' each
    group's discordance d_g = (frames only a gets right) - (frames only b gets right) is as likely
    to have either sign, so the statistic |sum_g d_g| is compared with its values under every
    assignment of signs (Fisher 1935, The Design of Experiments, sec. 21; the cluster version:
    Good 2005, Permutation, Parametric and Bootstrap Tests of Hypotheses, sec. 3.7). Exact
    enumeration when at most EXACT_SIGN_FLIP_GROUPS groups differ, else `n_resamples` random sign
    vectors with a fixed seed and the p-value (1 + hits) / (1 + n_resamples) (Phipson & Smyth 2010,
    SAGMB 9). Two-sided.

    correct_a, correct_b: (N,) per-frame scores (0/1 exact match, or (N, K) per-label correctness);
    groups: (N,) group ids; strata: (N,) optional split seed per frame for pooled seeds."""
    a, b, plus, minus = _paired_totals(correct_a, correct_b, groups, strata)
    d = plus - minus
    informative = d[np.abs(d) > 1e-12]
    observed = abs(informative.sum())
    if len(informative) == 0:
        p_value, method = 1.0, "sign-flip over groups (no group differs)"
    elif len(informative) <= EXACT_SIGN_FLIP_GROUPS:
        k = len(informative)
        signs = 1 - 2 * ((np.arange(2**k)[:, None] >> np.arange(k)) & 1)
        sums = np.abs(signs @ informative)
        p_value = float((sums >= observed - 1e-9).mean())
        method = f"exact sign-flip over {k} discordant groups"
    else:
        rng = np.random.default_rng(seed)
        hits = 0
        for start in range(0, n_resamples, 5000):  # 5,000 x groups at a time bounds the memory
            size = min(5000, n_resamples - start)
            signs = rng.integers(0, 2, size=(size, len(informative))) * 2 - 1
            hits += int((np.abs(signs @ informative) >= observed - 1e-9).sum())
        p_value = (1 + hits) / (1 + n_resamples)
        method = f"sign-flip over groups, {n_resamples:,} random sign vectors (seed {seed})"
    return GroupTest(
        float(a.mean() - b.mean()),
        _count(plus.sum()),
        _count(minus.sum()),
        len(d),
        len(informative),
        float(p_value),
        method,
    )


def clustered_mcnemar(correct_a, correct_b, groups, strata=None) -> GroupTest:
    """McNemar's test for clustered matched pairs (Durkalski, Palesch, Lipsitz & Rust 2003,
    Statistics in Medicine 22: 2417-2428): with b_k, c_k the frames of group k only run a, only run b
    gets right, X^2 = (sum_k (b_k - c_k))^2 / sum_k (b_k - c_k)^2 against chi-square with 1 degree of
    freedom. With one frame per group it is the ordinary McNemar chi-square (no continuity correction).
    Large-sample: prefer sign_flip_test when few groups differ. Inputs as sign_flip_test."""
    from scipy.stats import chi2

    a, b, plus, minus = _paired_totals(correct_a, correct_b, groups, strata)
    d = plus - minus
    denominator = float((d**2).sum())
    statistic = 0.0 if denominator == 0 else float(d.sum() ** 2 / denominator)
    p_value = 1.0 if denominator == 0 else float(chi2.sf(statistic, 1))
    return GroupTest(
        float(a.mean() - b.mean()),
        _count(plus.sum()),
        _count(minus.sum()),
        len(d),
        int((np.abs(d) > 1e-12).sum()),
        p_value,
        "clustered McNemar (Durkalski et al. 2003)",
    )


def holm(p_values) -> np.ndarray:
    """(M,) Holm-adjusted p-values (Holm 1979, Scand. J. Statist. 6: 65-70), which control the
    family-wise error rate: statsmodels.stats.multitest.multipletests(method='holm')."""
    from statsmodels.stats.multitest import multipletests

    p_values = np.asarray(p_values, dtype=float)
    if p_values.ndim != 1:
        raise ValueError(f"p_values must be one list of numbers, not of shape {p_values.shape}")
    if len(p_values) == 0:
        return p_values
    if np.isnan(p_values).any() or (p_values < 0).any() or (p_values > 1).any():
        raise ValueError("p-values must lie between 0 and 1")
    return multipletests(p_values, method="holm")[1]


COVERAGE_REQUIRED = 0.93  # a nominal 95 % interval that covers less in simulation is labelled approximate
# The simulated test sets: per-group outcomes drawn beta-binomially (Skellam 1948), so frames of a
# group share their rate. The settings are measured on the shipped shots runs (exact match): a good
# model is right on 0.87-0.90 of frames with an intra-group correlation of 0.06-0.12; AlexNet's
# tuned and base cells disagree on 44 % of frames with a correlation of 0.25 within groups.
SCENARIOS = {
    "score": {"mean": 0.88, "icc": 0.10},
    "difference": {"discordant": 0.30, "icc": 0.25, "effect": 0.05},
}


def _beta_binomial(sizes, mean, icc, rng):
    alpha, beta = mean * (1 - icc) / icc, (1 - mean) * (1 - icc) / icc
    return rng.binomial(sizes, rng.beta(alpha, beta, size=sizes.shape))


def simulated_coverage(
    sizes, strata=None, kind: str = "difference", n_sim: int = 300, n_boot: int = 1000, seed: int = 0, level=0.95
) -> dict:
    """How often each interval method (INTERVAL_METHODS) covers the true value, on `n_sim` simulated
    test sets with these cluster sizes: sizes (C,) frames per (linked shot) group, strata (C,) e.g.
    split seed per group. kind 'score': one run's exact match (SCENARIOS['score']); 'difference':
    two runs' paired difference (each group's discordant frames beta-binomial, their direction
    drawn per group around 0.5 + effect). Returns {method: coverage in 0-1}; the Monte Carlo error
    is about sqrt(0.95 * 0.05 / n_sim) (1.3 points at 300)."""
    if kind not in SCENARIOS:
        raise ValueError(f"kind must be one of {', '.join(SCENARIOS)}, not {kind!r}")
    sizes = np.asarray(sizes, dtype=int)
    if sizes.ndim != 1 or len(sizes) < 2 or (sizes < 1).any():
        raise ValueError("sizes must hold at least two positive group sizes")
    cluster_stratum = np.zeros(len(sizes), int) if strata is None else np.unique(strata, return_inverse=True)[1]
    rng = np.random.default_rng(seed)
    hits = dict.fromkeys(INTERVAL_METHODS, 0)
    setting = SCENARIOS[kind]
    for i in range(n_sim):
        if kind == "score":
            y, truth = _beta_binomial(sizes, setting["mean"], setting["icc"], rng), setting["mean"]
        else:
            discordant = _beta_binomial(sizes, setting["discordant"], setting["icc"], rng)
            direction = 0.5 + setting["effect"] + 0.8 * (rng.beta(4, 4, size=len(sizes)) - 0.5)
            a_only = rng.binomial(discordant, direction)
            y, truth = 2 * a_only - discordant, setting["discordant"] * 2 * setting["effect"]
        intervals = _bootstrap_intervals(y.astype(float), sizes.astype(float), cluster_stratum, n_boot, i, level)
        for method, (low, high) in intervals.items():
            hits[method] += low <= truth <= high
    return {method: hits[method] / n_sim for method in INTERVAL_METHODS}
