"""Metrics from predictions: the study's binary accuracy and correct-prediction count, plus
exact-match accuracy, per-label precision/recall/F1, AUC and the 4-class confusion matrix."""

import numpy as np
import pandas as pd

from tomjerry import COMBINATIONS, LABELS
from tomjerry.metrics.stats import cluster_interval

# The study's threshold: every headline figure (metrics.json's test and challenge scores, the
# tables) is at 0.5; a run's recipe may decide at another one chosen on validation.
HEADLINE_THRESHOLD = 0.5


def combination_index(tom: np.ndarray, jerry: np.ndarray) -> np.ndarray:
    """0 neither, 1 tom, 2 jerry, 3 both (the order of COMBINATIONS)."""
    return np.asarray(tom, int) + 2 * np.asarray(jerry, int)


def roc_auc(truth: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve by the rank formula (ties averaged); None with a single class."""
    truth = np.asarray(truth, bool)
    positives, negatives = truth.sum(), (~truth).sum()
    if positives == 0 or negatives == 0:
        return None
    ranks = pd.Series(scores).rank(method="average").to_numpy()
    return float((ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def metrics(truth: np.ndarray, probabilities: np.ndarray, threshold: float = HEADLINE_THRESHOLD, groups=None) -> dict:
    """truth and probabilities: (N, 2) in the order (tom, jerry). With `groups` ((N,) shot ids),
    binary accuracy and exact match also get a 95 % interval from a studentized bootstrap over the
    groups (stats.cluster_interval; `binary_accuracy_ci95`, `exact_match_ci95`: [low, high], and
    `interval_groups`: how many groups they rest on). The shipped runs before this hold percentile
    intervals, which covered 87-93 % in simulation with the shots splits' group sizes."""
    truth = np.asarray(truth, int).reshape(-1, 2)
    probabilities = np.asarray(probabilities, float).reshape(-1, 2)
    predicted = (probabilities >= threshold).astype(int)
    n = len(truth)
    if n == 0:
        return {"count": 0}
    correct = predicted == truth
    result: dict = {  # JSON: numbers, lists and a dict per label
        "count": n,
        "threshold": threshold,
        "binary_accuracy": float(correct.mean()),
        # Counted as the study did: binary accuracy x N (e.g. 518.0 / 548).
        "correct_predictions": round(float(correct.mean() * n), 1),
        "exact_match_accuracy": float(correct.all(axis=1).mean()),
        "exact_match_correct": int(correct.all(axis=1).sum()),
        "labels": {},
    }
    if groups is not None:
        binary = cluster_interval(correct.astype(float), groups)
        exact = cluster_interval(correct.all(axis=1).astype(float), groups)
        result["binary_accuracy_ci95"] = [binary.low, binary.high]
        result["exact_match_ci95"] = [exact.low, exact.high]
        result["interval_groups"] = exact.groups
        result["interval"] = f"95 % studentized bootstrap over {exact.groups} linked shot groups (2,000 resamples)"
    for i, label in enumerate(LABELS):
        tp = int(((predicted[:, i] == 1) & (truth[:, i] == 1)).sum())
        fp = int(((predicted[:, i] == 1) & (truth[:, i] == 0)).sum())
        fn = int(((predicted[:, i] == 0) & (truth[:, i] == 1)).sum())
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result["labels"][label] = {
            "accuracy": float(correct[:, i].mean()),
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "auc": roc_auc(truth[:, i], probabilities[:, i]),
            "support": int(truth[:, i].sum()),
        }
    matrix = np.zeros((4, 4), int)
    np.add.at(
        matrix, (combination_index(truth[:, 0], truth[:, 1]), combination_index(predicted[:, 0], predicted[:, 1])), 1
    )
    result["confusion_matrix"] = {"labels": list(COMBINATIONS), "rows_true_columns_predicted": matrix.tolist()}
    return result


def metrics_from_predictions(predictions: pd.DataFrame, threshold: float = HEADLINE_THRESHOLD) -> dict:
    """metrics.json's content, recomputed from predictions.csv at any threshold (with intervals
    when the predictions carry each frame's `shot`)."""
    out = {}
    for part, rows in (
        ("test", predictions[predictions.split == "test"]),
        ("challenge", predictions[predictions.challenge.astype(bool)]),
    ):
        groups = rows["shot"].to_numpy() if "shot" in rows else None
        out[part] = metrics(rows[["tom", "jerry"]].to_numpy(), rows[["p_tom", "p_jerry"]].to_numpy(), threshold, groups)
    return out


def choose_threshold(truth: np.ndarray, probabilities: np.ndarray) -> float:
    """The decision threshold with the best exact-match accuracy on validation data (ties: the one
    nearest 0.5), so the test set is never used to pick it."""
    candidates = np.round(np.arange(0.2, 0.81, 0.05), 2)
    scores = [metrics(truth, probabilities, t)["exact_match_accuracy"] for t in candidates]
    best = max(scores)
    return float(min((abs(t - 0.5), t) for t, s in zip(candidates, scores) if s == best)[1])
