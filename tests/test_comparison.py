"""Intervals in the metrics and paired comparisons of two runs, against hand-counted answers."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score
from test_run_records import finished_run

from tomjerry.metrics.evaluation import metrics, metrics_from_predictions
from tomjerry.runs.folder import RunFolder
from tomjerry.runs.record import read_run
from tomjerry.science.results import comparability, paired_comparison


def predictions(rng, n, accuracy, names=None, shots=None):
    truth = rng.integers(0, 2, size=(n, 2))
    flip = rng.random((n, 2)) > accuracy
    predicted = np.where(flip, 1 - truth, truth)
    return pd.DataFrame(
        {
            "filename": names if names is not None else [f"frame{i}.jpg" for i in range(n)],
            "split": "test",
            "challenge": False,
            "tom": truth[:, 0],
            "jerry": truth[:, 1],
            "p_tom": np.where(predicted[:, 0] == 1, 0.9, 0.1),
            "p_jerry": np.where(predicted[:, 1] == 1, 0.8, 0.2),
            "shot": shots if shots is not None else np.arange(n) // 5,
        }
    )


def test_metrics_carry_shot_intervals_around_the_point_estimate():
    rng = np.random.default_rng(0)
    frame = predictions(rng, 400, 0.85)
    result = metrics_from_predictions(frame)["test"]
    exact = accuracy_score(frame[["tom", "jerry"]].to_numpy(), (frame[["p_tom", "p_jerry"]] >= 0.5).astype(int))
    assert result["exact_match_accuracy"] == pytest.approx(exact)
    low, high = result["exact_match_ci95"]
    assert low < exact < high and 0.02 < high - low < 0.2
    low, high = result["binary_accuracy_ci95"]
    assert low < result["binary_accuracy"] < high
    without = metrics(frame[["tom", "jerry"]].to_numpy(), frame[["p_tom", "p_jerry"]].to_numpy())
    assert "exact_match_ci95" not in without  # no shots, no interval claimed


def two_runs(tmp_path, frame_a, frame_b):
    runs = []
    for frame in (frame_a, frame_b):
        run_dir = finished_run(tmp_path, "same-data", False)
        RunFolder(run_dir).write_predictions(frame)
        runs.append(read_run(run_dir))
    return runs


def test_paired_comparison_counts_the_discordant_frames(tmp_path):
    rng = np.random.default_rng(1)
    a_frame = predictions(rng, 300, 0.9)
    b_frame = a_frame.copy()
    # b gets the first 40 frames' tom label wrong where a had it right, and nothing else differs.
    right = (a_frame.p_tom >= 0.5).astype(int) == a_frame.tom
    changed = right[right].index[:40]
    b_frame.loc[changed, "p_tom"] = 1 - b_frame.loc[changed, "p_tom"]
    a, b = two_runs(tmp_path, a_frame, b_frame)
    result = paired_comparison(a, b)
    exact_a = ((a_frame.p_tom >= 0.5) == a_frame.tom) & ((a_frame.p_jerry >= 0.5) == a_frame.jerry)
    exact_b = ((b_frame.p_tom >= 0.5) == b_frame.tom) & ((b_frame.p_jerry >= 0.5) == b_frame.jerry)
    assert result["exact_match_difference"]["difference"] == pytest.approx(exact_a.mean() - exact_b.mean())
    assert result["binary_accuracy_difference"]["difference"] == pytest.approx(40 / 600)
    assert "mcnemar_exact_match" not in result  # the frame-level test is no evidence: frames of a shot move together
    group_test = result["group_test"]
    assert (group_test["a_only"], group_test["b_only"]) == (int((exact_a & ~exact_b).sum()), 0)
    # The 40 frames fall in a handful of shots (5 frames each), all in a's favour: the exact sign-flip
    # p-value is 2 of the 2**k sign patterns, k the shots that differ; not 40 independent frames.
    assert group_test["p_value"] == pytest.approx(2 / 2 ** group_test["discordant_groups"])
    assert group_test["discordant_groups"] < 40 and result["significant"]
    assert result["exact_match_difference"]["method"] == "studentized"
    reverse = paired_comparison(b, a)
    assert reverse["exact_match_difference"]["difference"] == pytest.approx(
        -result["exact_match_difference"]["difference"]
    )


def test_runs_on_different_test_sets_are_never_compared(tmp_path):
    rng = np.random.default_rng(2)
    a_frame = predictions(rng, 100, 0.9)
    b_frame = predictions(rng, 100, 0.9, names=[f"frame{i}.jpg" for i in range(50, 150)])
    a, b = two_runs(tmp_path, a_frame, b_frame)
    assert "test sets differ" in comparability(a, b)
    with pytest.raises(ValueError, match="cannot be compared"):
        paired_comparison(a, b)
    other = read_run(finished_run(tmp_path, "other-data", False))
    assert "different datasets" in comparability(a, other)


def test_study_tables_mark_a_tuned_cell_against_its_base_with_the_paired_test(tmp_path):
    import json

    from tomjerry.science.study_tables import study_tables

    rng = np.random.default_rng(4)
    base_frame = predictions(rng, 300, 0.8)
    tuned_frame = base_frame.copy()
    # The tuned cell gets both labels right on 60 frames the base cell got wrong: +20 points.
    wrong = ~(((base_frame.p_tom >= 0.5) == base_frame.tom) & ((base_frame.p_jerry >= 0.5) == base_frame.jerry))
    fixed = wrong[wrong].index[:60]
    tuned_frame.loc[fixed, "p_tom"] = tuned_frame.loc[fixed, "tom"] * 0.8 + 0.1
    tuned_frame.loc[fixed, "p_jerry"] = tuned_frame.loc[fixed, "jerry"] * 0.6 + 0.2
    base, tuned = two_runs(tmp_path, base_frame, tuned_frame)
    config = json.loads(tuned.folder.file(RunFolder.CONFIG).read_text())
    tuned.folder.file(RunFolder.CONFIG).write_text(json.dumps({**config, "variant": "tuned"}))
    table = study_tables([read_run(base.path), read_run(tuned.path)]).set_index("variant")
    assert pd.isna(table.loc["base", "vs_base"])  # a base cell is not compared with itself
    shown = table.loc["tuned", "vs_base"]
    assert shown.startswith("+20.0 [") and shown.endswith(" *"), shown
    low, high = (float(v) for v in shown.split("[")[1].split("]")[0].split(", "))
    assert 10 < low < 20 < high < 30
