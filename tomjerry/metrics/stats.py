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
