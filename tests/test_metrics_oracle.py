"""Every metric the project reports, against scikit-learn (and SciPy for the intervals) on
hand-made predictions: a wrong formula fails here, whatever wrote the numbers."""

import numpy as np
import pytest
from scipy.stats import bootstrap
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    hamming_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from tomjerry import LABELS
from tomjerry.metrics.evaluation import combination_index, metrics


@pytest.fixture(params=[0, 1, 2])
def case(request):
    rng = np.random.default_rng(request.param)
    truth = rng.integers(0, 2, size=(300, 2))
    noise = rng.normal(0, 0.35, size=(300, 2))
    probabilities = np.clip(truth * 0.6 + 0.2 + noise, 0, 1).round(3)  # ties on purpose
    return truth, probabilities


@pytest.mark.parametrize("threshold", [0.5, 0.35])
def test_metrics_match_scikit_learn(case, threshold):
    truth, probabilities = case
    predicted = (probabilities >= threshold).astype(int)
    result = metrics(truth, probabilities, threshold)
    assert result["binary_accuracy"] == pytest.approx(1 - hamming_loss(truth, predicted))
    assert result["exact_match_accuracy"] == pytest.approx(accuracy_score(truth, predicted))
    assert result["exact_match_correct"] == int(accuracy_score(truth, predicted, normalize=False))
    assert result["correct_predictions"] == pytest.approx(round((1 - hamming_loss(truth, predicted)) * 300, 1))
    for i, label in enumerate(LABELS):
        scores = result["labels"][label]
        assert scores["precision"] == pytest.approx(precision_score(truth[:, i], predicted[:, i], zero_division=0))
        assert scores["recall"] == pytest.approx(recall_score(truth[:, i], predicted[:, i], zero_division=0))
        assert scores["f1"] == pytest.approx(f1_score(truth[:, i], predicted[:, i], zero_division=0))
        assert scores["auc"] == pytest.approx(roc_auc_score(truth[:, i], probabilities[:, i]))
        assert scores["accuracy"] == pytest.approx(accuracy_score(truth[:, i], predicted[:, i]))
    expected = confusion_matrix(
        combination_index(truth[:, 0], truth[:, 1]),
        combination_index(predicted[:, 0], predicted[:, 1]),
        labels=[0, 1, 2, 3],
    )
    assert result["confusion_matrix"]["rows_true_columns_predicted"] == expected.tolist()
    assert result["confusion_matrix"]["labels"] == ["neither", "tom", "jerry", "both"]


def test_auc_is_none_when_a_label_has_one_class():
    truth = np.array([[1, 0], [1, 1], [1, 0]])
    result = metrics(truth, np.array([[0.9, 0.2], [0.8, 0.7], [0.4, 0.1]]))
    assert result["labels"]["tom"]["auc"] is None
    assert result["labels"]["jerry"]["auc"] == pytest.approx(1.0)


def test_intervals_with_one_frame_per_shot_match_scipy_percentile_bootstrap(case):
    truth, probabilities = case
    result = metrics(truth, probabilities, groups=np.arange(len(truth)))
    correct = (probabilities >= 0.5).astype(int) == truth
    for key, scores in (
        ("exact_match_ci95", correct.all(axis=1).astype(float)),
        ("binary_accuracy_ci95", correct.mean(axis=1)),
    ):
        oracle = bootstrap(
            (scores,),
            np.mean,
            n_resamples=4000,
            method="percentile",
            confidence_level=0.95,
            random_state=np.random.default_rng(7),
        ).confidence_interval
        low, high = result[key]
        assert low == pytest.approx(oracle.low, abs=0.012) and high == pytest.approx(oracle.high, abs=0.012)


def test_intervals_over_shots_are_wider_when_shots_repeat_one_answer():
    # 60 shots of 5 identical frames: the information of 60 frames, not 300.
    rng = np.random.default_rng(3)
    shot_right = rng.random(60) < 0.8
    truth = np.ones((300, 2), int)
    probabilities = np.repeat(np.where(shot_right, 0.9, 0.1), 5)[:, None].repeat(2, axis=1)
    by_shot = metrics(truth, probabilities, groups=np.repeat(np.arange(60), 5))["exact_match_ci95"]
    by_frame = metrics(truth, probabilities, groups=np.arange(300))["exact_match_ci95"]
    assert by_shot[1] - by_shot[0] > 1.8 * (by_frame[1] - by_frame[0])
    oracle = bootstrap(
        (shot_right.astype(float),),
        np.mean,
        n_resamples=4000,
        method="percentile",
        random_state=np.random.default_rng(1),
    ).confidence_interval
    assert by_shot[0] == pytest.approx(oracle.low, abs=0.02) and by_shot[1] == pytest.approx(oracle.high, abs=0.02)
