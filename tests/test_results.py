"""What the results pages compute, without a page: the most confident mistakes first, distinct run
names, the headline on the most leakage-resistant split, the study's cells apart from presets,
Grad-CAM overlays faded for absent labels, and the chart figures (explicit colours, one bar per run)."""

import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from tomjerry.config import BEST_PRESET
from tomjerry.runs.folder import RunFolder
from tomjerry.runs.record import read_run, read_runs

SHIPPED = ROOT / "artifacts"


def run_with_predictions(tmp_path, rows):
    """A shipped run copied, its predictions.csv replaced by `rows`."""
    source = next(run for run in read_runs(SHIPPED) if run.reference)
    copy = shutil.copytree(source.path, tmp_path / "runs" / source.run_id)
    frame = pd.DataFrame(rows, columns=["filename", "split", "tom", "jerry", "p_tom", "p_jerry", "challenge"])
    RunFolder(copy).write_predictions(frame)
    return read_run(copy)


def test_mistakes_come_most_confident_first(tmp_path):
    from tomjerry.science.results import misclassified

    run = run_with_predictions(
        tmp_path,
        [
            # frame, split, tom, jerry, p_tom, p_jerry, challenge
            ("a.jpg", "test", 1, 0, 0.20, 0.40, False),  # tom missed at 0.20: confidence 0.80 (both off: sum 1.2)
            ("b.jpg", "test", 0, 0, 0.05, 0.95, False),  # jerry seen at 0.95: confidence 0.95
            ("c.jpg", "test", 1, 1, 0.45, 0.99, False),  # tom missed at 0.45: confidence 0.55
            ("d.jpg", "test", 1, 1, 0.90, 0.90, False),  # right
            ("e.jpg", "val", 0, 0, 0.99, 0.99, False),  # wrong, but not a test frame
        ],
    )
    wrong = misclassified(run, 0.5)
    assert list(wrong.filename) == ["b.jpg", "a.jpg", "c.jpg"]
    assert wrong.confidence.round(2).tolist() == [0.95, 0.80, 0.55]
    assert wrong.confidence.is_monotonic_decreasing


def test_frames_keep_the_ranking(demo_root):
    from tomjerry.data.dataset import scan
    from tomjerry.data.eda import frames_of

    table = scan(demo_root).usable
    ranking = pd.Series(list(table.filename[[7, 2, 30, 0]]))
    rows, images = frames_of(ranking, table, height=32)
    assert list(rows.filename) == list(ranking) and len(images) == 4


def test_run_names_are_distinct_and_name_the_split():
    from tomjerry.science.results import run_names

    runs = read_runs(SHIPPED)
    names = run_names(runs)
    assert len(set(names.values())) == len(runs)
    best = [name for name in names.values() if "-best" in name]
    assert sorted(best) == [
        "efficientnet_lite0 lite0-best · blocked 1 · 224 px · TTA",
        "efficientnet_lite0 lite0-best · blocked 2 · 224 px · TTA",
        "efficientnet_lite0 lite0-best · blocked 42 · 224 px · TTA",
        "efficientnet_lite0 lite0-best · random 42 · 224 px · TTA",
        "efficientnet_lite0 lite0-best · shots 1 · 224 px · TTA",
        "efficientnet_lite0 lite0-best · shots 2 · 224 px · TTA",
        "efficientnet_lite1 lite1-best · random 42 · 240 px · TTA",
        "efficientnet_lite1 lite1-best · shots 1 · 240 px · TTA",
        "efficientnet_lite1 lite1-best · shots 2 · 240 px · TTA",
        "efficientnet_lite1 lite1-best · shots 3 · 240 px · TTA",  # the untouched split, named like any other
        "efficientnet_lite1 lite1-best · shots 42 · 240 px · TTA",
    ]


def test_run_names_of_one_label_twice_get_their_hash(tmp_path):
    from tomjerry.science.results import run_names

    source = next(run for run in read_runs(SHIPPED) if run.reference)
    shutil.copytree(source.path, tmp_path / "runs" / source.run_id)
    shutil.copytree(source.path, tmp_path / "runs" / (source.run_id[:-6] + "abc123"))
    names = run_names(read_runs(tmp_path))
    assert len(set(names.values())) == 2
    assert all(name.startswith(source.label() + " · ") for name in names.values())


def test_headline_leads_with_the_shots_split_and_shows_the_random_one():
    from tomjerry.science.results import headline

    runs = read_runs(SHIPPED)
    found = headline(runs)
    # The best setting on validation among the shots-split runs with a model: the preset `best` names.
    assert found.setting == "efficientnet_lite1 lite1-wide-ms · 240x424 px · TTA · 2 scales"
    assert BEST_PRESET == "lite1-wide-ms"
    assert found.lead.kind == "shots" and found.lead.seeds == [1, 2, 42]
    assert found.lead.describe() == "shots split, mean of 3 seeds (1, 2, 42)"
    shots = [
        run for run in runs if run.split.get("kind") == "shots" and run.preset == BEST_PRESET and not run.untouched
    ]
    assert found.lead.exact_match == pytest.approx(np.mean([run.test["exact_match_accuracy"] for run in shots]))
    random = next(run for run in runs if run.split.get("kind") == "random" and run.preset == BEST_PRESET)
    assert found.random.kind == "random" and found.random.describe() == "random split, seed 42"
    assert found.random_setting is None  # the same setting ran on the random split
    assert found.random.binary_accuracy == pytest.approx(random.test["binary_accuracy"])


def test_headline_takes_the_blocked_split_when_no_run_has_the_shots_split(tmp_path):
    from tomjerry.science.results import headline

    for run in read_runs(SHIPPED):
        if run.split.get("kind") != "shots":
            shutil.copytree(run.path, tmp_path / "runs" / run.run_id)
    found = headline(read_runs(tmp_path))
    assert found.setting == "efficientnet_lite0 lite0-best · 224 px · TTA"
    assert found.lead.kind == "blocked" and found.lead.describe() == "blocked split, mean of 3 seeds (1, 2, 42)"
    # lite1-best, the best run on validation of the random split, did not run on the blocked one.
    assert found.random.kind == "random" and found.random_setting is None
    assert found.random.binary_accuracy == pytest.approx(0.9781, abs=1e-4)  # lite0-best, random 42


def test_study_splits_put_the_most_cells_first_then_the_grid_that_ran_first():
    from tomjerry.science.study_tables import study_splits

    def cells(split, started, n):
        return [
            {"model": "alexnet", "variant": "base", "split": split, "preset": None, "run_id": f"ref-{started}-m-{i}"}
            for i in range(n)
        ]

    table = pd.DataFrame(
        cells("shots 1", "20261206-022534", 9)
        + cells("shots 42", "20261202-054457", 9)
        + cells("shots 2", "20261201-000000", 3)
        + cells("random 42", "20261130-000000", 9)
        + [{"model": "efficientnet_lite0", "variant": "base", "split": "random 42", "preset": "quick", "run_id": "q"}]
    )
    # Equal counts: the more leakage-resistant kind, then the seed whose grid started first (not "1" < "42").
    assert study_splits(table) == ["shots 42", "shots 1", "random 42", "shots 2"]


def test_study_cells_come_in_one_order_on_every_seed():
    from tomjerry.science.study_tables import study_cells

    table = pd.DataFrame(
        {
            "model": ["zfnet", "efficientnet_lite0", "alexnet", "alexnet", "zfnet", "efficientnet_lite0", "alexnet"],
            "variant": ["tuned", "base", "augmented", "base", "base", "base", "base"],
            "split": ["shots 42", "shots 42", "shots 42", "shots 42", "shots 1", "shots 1", "shots 1"],
            "preset": [None, None, None, None, None, None, "quick"],
        }
    )
    cells = study_cells(table)
    on_42 = cells[cells.split == "shots 42"]
    assert list(zip(on_42.model, on_42.variant)) == [
        ("alexnet", "base"),
        ("alexnet", "augmented"),
        ("zfnet", "tuned"),
        ("efficientnet_lite0", "base"),
    ]
    assert list(cells[cells.split == "shots 1"].model) == ["zfnet", "efficientnet_lite0"]  # the preset run left out


def test_study_cells_on_one_split_and_presets_beyond():
    from tomjerry.science.study_tables import beyond_study, study_cells, study_splits, study_tables

    table = study_tables(read_runs(SHIPPED))
    # The shipped grid: three models x (base, tuned, tuned + augmentation), converged, shots split 42
    # complete and shown first; seed 1's finished cells after it, under the same rules.
    splits = study_splits(table)
    assert splits[0] == "shots 42" and set(splits) <= {"shots 42", "shots 1", "shots 2"}
    every = study_cells(table)
    assert set(every.image_size) == {136}
    cells = every[every.split == "shots 42"]
    assert len(cells) == 9
    assert sorted(zip(cells.model, cells.variant)) == sorted(
        (model, variant)
        for model in ("alexnet", "zfnet", "efficientnet_lite0")
        for variant in ("base", "tuned", "augmented")
    )
    # Every tuned and augmented cell is paired with its base on the same test frames.
    assert cells[cells.variant != "base"].vs_base.notna().all() and cells[cells.variant == "base"].vs_base.isna().all()
    beyond = beyond_study(table)
    # Every finished preset run (the untouched split's apart), none of the grid's cells.
    presets = [run for run in read_runs(SHIPPED) if run.finished and run.preset and not run.untouched]
    assert {"lite0-best", "lite1-best", "quick"} <= set(beyond.preset) == {run.preset for run in presets}
    assert len(beyond) == len(presets) >= 6 + 4 + 3
    assert not every.run.str.contains("-best").any()


def test_accuracy_bars_one_bar_per_run_and_explicit_colours():
    import plotly.io as pio
    from streamlit.elements.lib.streamlit_plotly_theme import configure_streamlit_plotly_theme

    from tomjerry.science import charts
    from tomjerry.science.study_tables import beyond_study, study_tables

    configure_streamlit_plotly_theme()
    assert pio.templates.default == "streamlit"
    beyond = beyond_study(study_tables(read_runs(SHIPPED)))  # one row per shipped preset run
    figure = charts.accuracy_bars(beyond)
    bars = [trace for trace in figure.data if trace.type == "bar"]
    assert len(bars) == 2
    for trace in bars:
        assert len(trace.y) == len(set(trace.y)) == len(beyond) >= 13
        assert max(trace.x) <= 1
    assert "#000001" not in figure.to_json()
    with pytest.raises(ValueError, match="one row per run"):
        charts.accuracy_bars(pd.concat([beyond, beyond]))


def test_learning_curves_have_whole_epoch_ticks():
    from tomjerry.science import charts

    history = pd.DataFrame({"epoch": [1, 2, 3], "val_loss": [0.9, 0.7, 0.6]})
    figure = charts.learning_curves({"a run with a long name · random 42 · 224 px · TTA": history})
    assert figure.layout.xaxis.dtick == 1 and figure.layout.xaxis.tickformat == "d"
    assert figure.layout.legend.orientation == "h"  # under the plot, taking no width from it


def test_single_image_size_is_a_sentence_not_a_chart():
    from tomjerry.data.eda import single_size

    assert single_size(pd.DataFrame({"width": [480, 480], "height": [270, 270]})) == (480, 270)
    assert single_size(pd.DataFrame({"width": [480, 640], "height": [270, 360]})) is None


def test_overlay_fades_an_absent_label():
    from tomjerry.inference.explain import cam_caption, colour_scale, overlay

    image = np.full((32, 32, 3), 128, np.uint8)
    heat = np.ones((8, 8), np.float32)  # all red
    present = overlay(image, heat, probability=0.9)
    absent = overlay(image, heat, probability=0.02)
    # Red over grey: the absent label's picture stays much closer to the frame.
    assert np.abs(absent.astype(int) - image).mean() < np.abs(present.astype(int) - image).mean() / 2
    assert cam_caption("tom", 0.02) == "tom absent: p=0.02 (faded)"
    assert cam_caption("jerry", 0.93) == "jerry present: p=0.93"
    scale = colour_scale()
    assert scale[0, 0, 2] > scale[0, 0, 0] and scale[0, -1, 0] > scale[0, -1, 2]  # blue to red


def test_config_options_cover_every_field():
    import dataclasses

    from tomjerry.config import RunConfig, options

    assert [option.name for option in options()] == [f.name for f in dataclasses.fields(RunConfig)]
    assert {option.name for option in options("tuning")} == {"max_trials", "tune_dropout"}
    for option in options():
        assert option.help and option.label, option.name


def test_every_difference_from_the_study_is_in_the_readme_and_the_report(demo_root, tmp_path):
    import re

    from conftest import ROOT

    from tomjerry.data.dataset import scan
    from tomjerry.science.deviations import DIFFERENCES
    from tomjerry.science.report import build_report

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Differences from the study and the papers", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^- \*\*([^*]+)\*\*", section, flags=re.M)
    assert listed == [title for title, _ in DIFFERENCES]
    html = build_report(scan(demo_root), [], tmp_path, with_gradcam=False)
    assert "Differences from the study and the papers" in html
    assert all(f"<b>{title}</b>" in html for title, _ in DIFFERENCES)


def test_a_preset_run_with_a_changed_option_is_named_for_the_change(tmp_path):
    """Runs of lite1-best with label smoothing are another setting: never averaged with lite1-best."""
    import json

    from tomjerry.config import RUN_PRESETS, changes_from_preset

    source = next(run for run in read_runs(SHIPPED) if run.reference and run.config.preset == "lite1-best")
    changed = tmp_path / "runs" / (source.run_id[:-6] + "abc123")
    shutil.copytree(source.path, changed)
    config = json.loads((changed / "config.json").read_text())
    (changed / "config.json").write_text(json.dumps({**config, "label_smoothing": 0.1, "split_seed": 7, "seed": 3}))
    run = next(run for run in read_runs(tmp_path))
    assert run.setting() == "efficientnet_lite1 lite1-best, label_smoothing 0.1 · 240 px · TTA"
    assert source.setting() == "efficientnet_lite1 lite1-best · 240 px · TTA"
    # The split and the training seed are not a change of setting; an unknown preset names none.
    assert changes_from_preset(RUN_PRESETS["lite1-best"].replace(split_seed=2, seed=9, tags=("x",))) == {}
    assert changes_from_preset(RUN_PRESETS["lite1-best"].replace(preset="gone", mixup=0.2)) == {}


def test_a_pooled_interval_is_the_same_whatever_order_its_runs_come_in():
    """The README's script listed seed 42 first and the pages seed 1 first: the bootstrap drew other
    resamples and one number got two intervals (91.4 and 91.3). Runs are now taken in seed order."""
    from tomjerry.science.results import pooled_comparison, pooled_interval

    runs = [run for run in read_runs(SHIPPED) if run.preset == "lite1-wide" and run.split.get("kind") == "shots"]
    runs = [run for run in runs if not run.untouched]
    assert len(runs) == 3
    forward, backward = pooled_interval(runs), pooled_interval(runs[::-1])
    assert forward is not None and backward is not None
    assert (forward["exact_match"].low, forward["exact_match"].high) == (
        backward["exact_match"].low,
        backward["exact_match"].high,
    )
    best = {
        r.split["seed"]: r for r in read_runs(SHIPPED) if r.preset == "lite1-best" and r.split.get("kind") == "shots"
    }
    pairs = [(run, best[run.split["seed"]]) for run in runs]
    assert pooled_comparison(pairs) == pooled_comparison(pairs[::-1])


def test_a_split_whose_grid_is_not_complete_says_which_cells_it_lacks():
    from tomjerry.science.study_tables import missing_cells

    cells = pd.DataFrame(
        {
            "model": ["alexnet"] * 3 + ["zfnet"] * 3 + ["alexnet"],
            "variant": ["base", "tuned", "augmented"] * 2 + ["base"],
            "split": ["shots 42"] * 6 + ["shots 2"],
        }
    )
    assert missing_cells(cells, "shots 42") == ""
    said = missing_cells(cells, "shots 2")
    assert said.startswith("alexnet tuned and augmented; zfnet base, tuned and augmented have no finished run")
    others = pd.DataFrame(
        {"model": ["alexnet", "alexnet", "zfnet", "zfnet"], "variant": ["tuned", "augmented", "base", "augmented"]}
    ).assign(split="shots 2")
    assert missing_cells(pd.concat([cells, others]), "shots 2").startswith("zfnet tuned has no finished run on it")
