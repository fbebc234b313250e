"""Beyond the study on Compare and in the Report (issue 30, item 5): preset runs grouped by split
kind, then setting, one row per setting pooled over its split seeds with one interval, sorted;
learning curves named as a reader says them, their default of one image size."""

import numpy as np
import pytest
from conftest import ROOT

from tomjerry.runs.record import read_runs
from tomjerry.science import charts
from tomjerry.science.beyond import (
    SUMMARY_COLUMNS,
    curve_defaults,
    interval_label,
    pooled_exact_match,
    preset_summary,
    split_kinds,
)
from tomjerry.science.results import COLUMNS
from tomjerry.science.results import test_frames as scored_frames

SHIPPED = read_runs(ROOT / "artifacts")


def test_one_row_per_split_kind_and_setting_sorted_within_kind():
    summary = preset_summary(SHIPPED)
    preset_runs = [run for run in SHIPPED if run.preset and run.finished and not run.untouched]
    assert summary.runs.sum() == len(preset_runs)  # every preset run in exactly one row (none untouched)
    assert not summary.duplicated(["split", "setting"]).any()
    kinds = split_kinds(summary)
    assert kinds == [kind for kind in ("shots", "blocked", "random") if kind in kinds]  # leakage-resistant first
    assert list(summary.split) == sorted(summary.split, key=kinds.index)  # grouped, never interleaved
    for kind in kinds:
        scores = summary[summary.split == kind].exact_match.to_numpy()
        assert (np.diff(scores) <= 0).all(), kind  # best first within a kind
    assert (summary.exact_match_low <= summary.exact_match).all()
    assert (summary.exact_match <= summary.exact_match_high).all()
    assert set(SUMMARY_COLUMNS) <= set(summary.columns) | {"seconds"}


def test_a_preset_row_and_the_headline_give_the_same_interval():
    """Home's headline and Compare's row of the same setting on the same split kind are one
    estimate: the same interval, not two bootstrap draws that differ in the last digit."""
    from tomjerry.science.results import headline

    found = headline(SHIPPED)
    summary = preset_summary(SHIPPED)
    row = summary[(summary.split == found.lead.kind) & (summary.setting == found.setting)].iloc[0]
    assert (row.exact_match_low, row.exact_match_high) == tuple(found.lead.exact_match_ci95)


def test_a_row_pools_the_test_frames_of_all_its_seeds():
    summary = preset_summary(SHIPPED)
    row = summary[(summary.split == "shots") & summary.setting.str.contains("lite1-best")].iloc[0]
    runs = [run for run in SHIPPED if run.run_id in row.run_ids]
    assert row.seeds == ", ".join(str(s) for s in sorted(run.split["seed"] for run in runs))
    frames = [scored_frames(run) for run in runs]
    assert row.frames == sum(len(f) for f in frames)
    assert abs(row.exact_match - sum(f.exact.sum() for f in frames) / row.frames) < 1e-12
    # Clusters are (seed, shot group): the same group id on two seeds counts twice.
    assert row.groups == sum(f["shot"].nunique() for f in frames)
    # Each run's own exact match is its metrics.json figure: the pooled estimate is built from them.
    for run, f in zip(runs, frames):
        assert abs(f.exact.mean() - run.test["exact_match_accuracy"]) < 1e-9


def test_the_pooled_interval_is_wider_than_a_frame_bootstrap_would_be():
    """Frames of a shot move together: an interval over (seed, shot) clusters is wider than one
    that treats the same frames as independent (the binomial standard error)."""
    runs = [run for run in SHIPPED if run.preset == "lite1-best" and run.split.get("kind") == "shots"]
    pooled = pooled_exact_match(runs)
    p, n = pooled["estimate"], pooled["frames"]
    binomial_width = 2 * 1.96 * np.sqrt(p * (1 - p) / n)
    assert pooled["high"] - pooled["low"] > binomial_width


def test_interval_titles_name_their_metric():
    assert "exact match" in COLUMNS["exact_match_ci95"].title
    assert interval_label([0.841, 0.89]) == "84.1-89.0 %"
    assert interval_label(None) == "not recorded"


def test_preset_bars_draw_one_bar_per_row_with_its_interval():
    summary = preset_summary(SHIPPED)
    (bar,) = charts.preset_bars(summary).data
    assert len(bar.x) == len(summary)
    assert list(bar.y[0]) == list(summary.split)  # the split kind as the outer label
    assert np.allclose(np.asarray(bar.error_x.array), summary.exact_match_high - summary.exact_match)


def test_learning_curves_are_named_as_a_reader_says_them():
    assert charts.METRIC_NAMES["val_binary_accuracy"] == "validation binary accuracy"
    histories = {run.label(): run.folder.read_history() for run in SHIPPED[:2]}
    title = charts.learning_curves(histories, "val_binary_accuracy").layout.title.text
    assert title == "validation binary accuracy"


def test_the_default_curves_share_one_image_size():
    runs = [run for run in SHIPPED if run.finished]
    assert len({run.config.input_shape for run in runs}) > 1  # the shipped runs mix 136 px, 224/240 px, 240x424
    picked = curve_defaults(runs)
    sizes = {run.config.input_shape for run in runs if run.run_id in picked}
    alike = [run for run in runs if run.config.input_shape in sizes]
    assert len(picked) == min(4, len(alike)) and len(sizes) == 1, sizes


def test_each_lever_step_is_paired_on_the_same_frames_holm_adjusted_and_judged_by_the_answers_rule():
    from statsmodels.stats.multitest import multipletests

    from tomjerry.science.beyond import LEVER_STEPS, lever_steps
    from tomjerry.science.results import pooled_comparison

    steps = lever_steps(SHIPPED)
    names = {(step.preset, step.against) for step in steps}
    assert ("lite1-wide", "lite1-best") in names and ("lite1-wide-ms", "lite1-wide") in names
    assert [(s.preset, s.against) for s in steps] == [(a, b) for a, b, _ in LEVER_STEPS if (a, b) in names]
    np.testing.assert_allclose([s.p_holm for s in steps], multipletests([s.p_group for s in steps], method="holm")[1])
    wide = next(step for step in steps if step.preset == "lite1-wide")
    # The same estimate a direct paired comparison of the shipped runs gives, over seeds 1, 2 and 42.
    by = {
        (r.preset, r.split["seed"]): r
        for r in SHIPPED
        if r.preset in ("lite1-wide", "lite1-best") and r.split.get("kind") == "shots" and not r.untouched
    }
    direct = pooled_comparison([(by[("lite1-wide", s)], by[("lite1-best", s)]) for s in (1, 2, 42)])
    assert wide.difference == pytest.approx(direct["exact_match_difference"]["difference"] * 100)
    assert wide.seeds == [1, 2, 42] and wide.groups == 192 and wide.verdict == "helps"
    for step in steps:
        low, high = step.ci95
        assert low <= step.difference <= high and str(step.groups) in step.sentence()
        if step.verdict == "helps":
            assert step.p_holm < 0.05 and low > 0
        else:
            assert step.verdict.startswith(("hurts", "inconclusive"))
