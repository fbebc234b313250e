"""The tuned cell's trial selection (the study's lowest validation loss, with a guard against a
trial that does not rank the frames), the augmented cell's fallback rates, and running cells of
a finished study again."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from tomjerry.atomic import write_csv
from tomjerry.config import RunConfig
from tomjerry.lab.shipping import ship_study
from tomjerry.lab.study import cell_config, redo_cells, retry_left, retry_reason, run_study
from tomjerry.metrics.selection import (
    MIN_VALIDATION_AUC,
    add_validation_auc,
    collapsed,
    kept_epoch_auc,
    passed_over,
    selection_order,
)
from tomjerry.runs.folder import RunFolder


def trials_table(rows):
    return pd.DataFrame(rows, columns=["trial_id", "status", "val_loss", "learning_rate", "val_auc"])


# The converged grid's ZFNet search (shots split 42): 1e-2 has the lowest loss and chance AUC.
ZFNET = trials_table(
    [
        ("0", "COMPLETED", 0.6707, 1e-2, 0.5445),
        ("1", "COMPLETED", 0.6863, 1e-4, 0.7149),
        ("2", "COMPLETED", 0.6941, 1e-3, 0.7520),
    ]
)


def test_the_lowest_loss_trial_that_ranks_the_frames_is_kept_and_the_chance_one_goes_last():
    order = selection_order(ZFNET)
    assert list(order.trial_id) == ["1", "2", "0"]
    assert list(order.selection_rank) == [0, 1, 2]
    assert list(order.ranks_frames) == [True, True, False]
    assert passed_over(order) == [{"trial_id": "0", "learning_rate": 1e-2, "val_loss": 0.6707, "val_auc": 0.5445}]


def test_where_every_trial_ranks_the_frames_the_study_rule_is_unchanged():
    lite0 = trials_table(
        [
            ("0", "COMPLETED", 0.6018, 1e-2, 0.795),
            ("1", "COMPLETED", 0.5414, 1e-4, 0.783),
            ("2", "COMPLETED", 0.5425, 1e-3, 0.782),
        ]
    )
    assert list(selection_order(lite0).trial_id) == list(lite0.sort_values("val_loss").trial_id) == ["1", "2", "0"]
    assert passed_over(selection_order(lite0)) == []


def test_without_a_trial_that_ranks_the_frames_or_without_auc_the_lowest_loss_is_kept():
    none_rank = ZFNET.assign(val_auc=[0.51, 0.55, 0.59])
    assert selection_order(none_rank).trial_id.iloc[0] == "0"
    unknown = ZFNET.assign(val_auc=np.nan)  # a search recorded without an AUC metric
    assert selection_order(unknown).trial_id.iloc[0] == "0"
    with_failed = pd.concat([ZFNET, trials_table([("3", "FAILED", np.nan, 1e-3, np.nan)])])
    assert "3" not in set(selection_order(with_failed).trial_id)
    assert MIN_VALIDATION_AUC == 0.6


def test_a_trial_counts_its_auc_at_the_epoch_it_keeps(tmp_path):
    history = pd.DataFrame(
        {"epoch": [1, 2, 3, 4], "val_loss": [0.80, 0.67, 0.70, 0.75], "val_auc": [0.60, 0.54, 0.71, 0.72]}
    )
    assert kept_epoch_auc(history) == pytest.approx(0.54)  # epoch 2: the lowest loss, not the best AUC
    assert kept_epoch_auc(history.drop(columns="val_auc")) is None
    (tmp_path / "trial_0.csv").write_text(history.to_csv(index=False))
    table = add_validation_auc(
        trials_table([("0", "COMPLETED", 0.67, 1e-2, None), ("1", "COMPLETED", 0.7, 1e-3, None)]).drop(
            columns="val_auc"
        ),
        tmp_path,
    )
    assert table.val_auc.iloc[0] == pytest.approx(0.54) and np.isnan(table.val_auc.iloc[1])


def validation_result(truth, probabilities):
    """metrics.json's validation labels, with scikit-learn's AUC as the oracle."""
    return {
        "validation": {
            "labels": {
                label: {"auc": roc_auc_score(truth[:, i], probabilities[:, i])}
                for i, label in enumerate(("tom", "jerry"))
            }
        }
    }


def test_a_run_that_answers_neither_everywhere_has_collapsed_and_a_ranking_one_has_not():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, size=(400, 2))
    constant = np.full((400, 2), 0.3) + rng.normal(0, 1e-3, size=(400, 2))  # base rates plus noise
    ranking = np.clip(truth * 0.6 + rng.uniform(0, 0.4, size=(400, 2)), 0, 1)
    assert collapsed(validation_result(truth, constant))
    assert retry_reason({"best_epoch": 5, "epochs_run": 8, **validation_result(truth, constant)}).startswith(
        "its validation"
    )
    assert not collapsed(validation_result(truth, ranking))
    assert retry_reason({"best_epoch": 5, "epochs_run": 8, **validation_result(truth, ranking)}) is None
    assert retry_reason({"best_epoch": 1, "epochs_run": 4}) == "validation loss never improved after epoch 1"
    assert not collapsed({})  # no validation AUC recorded: nothing to judge


def test_the_augmented_cell_inherits_the_kept_trial_and_falls_back_in_selection_order(tmp_path):
    tuned = tmp_path / "tuned"
    tuned.mkdir()
    write_csv(RunFolder(tuned).file(RunFolder.TRIALS), ZFNET)
    base = RunConfig(model="zfnet", image_size=136)
    assert [cell_config(base, "augmented", tuned, rank).learning_rate for rank in range(3)] == [1e-4, 1e-3, 1e-2]
    assert cell_config(base, "augmented", tuned).augment
    assert cell_config(base, "tuned", tuned) == base.replace(variant="tuned")
    # A retry only goes to a rate whose trial ranked the frames: 1e-3 after 1e-4, never 1e-2.
    assert retry_left(tuned, 0) and not retry_left(tuned, 1)
    write_csv(RunFolder(tuned).file(RunFolder.TRIALS), ZFNET.assign(val_auc=[0.58, 0.68, 0.56]))  # AlexNet's
    assert not retry_left(tuned, 0)
    assert not retry_left(None, 0)


def test_redo_takes_a_tuned_cell_and_its_augmented_cells_out_of_the_record():
    record = {
        "cells": [
            {"model": m, "variant": v, "rank": r, "run_id": f"{m}-{v}-{r}"}
            for m, v, r in [
                ("zfnet", "base", 0),
                ("zfnet", "tuned", 0),
                ("zfnet", "augmented", 0),
                ("zfnet", "augmented", 1),
                ("alexnet", "tuned", 0),
            ]
        ]
    }
    replaced = redo_cells(record, ["zfnet:tuned"], "2026-12-02 21:00:00")
    assert [c["run_id"] for c in replaced] == ["zfnet-tuned-0", "zfnet-augmented-0", "zfnet-augmented-1"]
    assert [c["run_id"] for c in record["cells"]] == ["zfnet-base-0", "alexnet-tuned-0"]
    assert record["replaced"] == replaced and replaced[0]["reason"] == "run again (--redo zfnet:tuned)"
    with pytest.raises(ValueError, match="no augmented cell of alexnet"):
        redo_cells(record, ["alexnet:augmented"], "now")
    with pytest.raises(ValueError, match="MODEL:VARIANT"):
        redo_cells(record, ["zfnet"], "now")


def test_redo_needs_an_existing_study(tmp_path):
    with pytest.raises(ValueError, match="--resume"):
        run_study(None, "tiny", ("alexnet",), tmp_path, redo=["alexnet:tuned"])


def test_resume_and_ship_name_a_study_json_given_for_its_folder(tmp_path):
    from tomjerry.lab.shipping import ship_study

    folder = tmp_path / "studies" / "20260101-000000-tiny"
    folder.mkdir(parents=True)
    (folder / "study.json").write_text(json.dumps({"preset": "tiny", "split": "random", "models": [], "cells": []}))
    for call in (lambda path: run_study(None, resume_folder=path, artifacts=tmp_path), ship_study):
        with pytest.raises(ValueError, match="is a file: give the study's folder"):
            call(folder / "study.json")
        with pytest.raises(ValueError, match="holds no readable study.json"):
            call(tmp_path / "nowhere")


@pytest.mark.slow
def test_a_tuned_cell_run_again_reuses_its_trials_and_keeps_the_old_run(demo_root, tmp_path):
    folder = run_study(demo_root, "tiny", ("efficientnet_lite0",), tmp_path, log=lambda line: None)
    record = json.loads((folder / "study.json").read_text())
    old = next(c for c in record["cells"] if c["variant"] == "tuned")["run_id"]
    old_dir = tmp_path / "runs" / old
    before = {path.name: path.read_bytes() for path in (old_dir / "tuner_history").glob("*.csv")}
    old_metrics = (old_dir / "metrics.json").read_bytes()

    lines = []
    run_study(demo_root, artifacts=tmp_path, resume_folder=folder, redo=["efficientnet_lite0:tuned"], log=lines.append)
    record = json.loads((folder / "study.json").read_text())
    tuned = next(c for c in record["cells"] if c["variant"] == "tuned")
    assert tuned["run_id"] != old and tuned["trials_from"] == old
    assert {c["variant"] for c in record["replaced"]} == {"tuned", "augmented"}
    new_dir = tmp_path / "runs" / tuned["run_id"]
    # The search had no trial left: its trials' histories are the old ones, not trained again.
    assert {p.name: p.read_bytes() for p in (new_dir / "tuner_history").glob("*.csv")} == before
    trials = pd.read_csv(new_dir / "trials.csv")
    assert {"val_auc", "ranks_frames", "selection_rank"} <= set(trials.columns)
    metrics = json.loads((new_dir / "metrics.json").read_text())
    kept = trials.loc[trials.selection_rank == 0].iloc[0]
    assert metrics["tuning"]["best_learning_rate"] == pytest.approx(kept.learning_rate)
    assert metrics["train_seconds"] > 0 and "selection" in metrics["tuning"]
    curves = pd.read_csv(new_dir / "history.csv")  # the kept trial's epochs, as a training run records them
    assert metrics["best_epoch"] == metrics["evaluated_epoch"] == int(curves.epoch[curves.val_loss.idxmin()])
    assert metrics["epochs_run"] == len(curves)
    assert (old_dir / "metrics.json").read_bytes() == old_metrics  # the replaced run is kept as it was
    assert any("reuses the finished trials" in line for line in lines)
    assert len(record["cells"]) == 3 and (folder / "summary.csv").is_file()

    # Shipped: the kept cells only, under ref- names, and the study's record with them.
    shipped = ship_study(folder, tmp_path / "shipped")
    names = json.loads((shipped / "study.json").read_text())["runs"]
    assert names == [f"ref-{c['run_id']}" for c in record["cells"]]
    assert sorted(p.name for p in (tmp_path / "shipped" / "runs").iterdir()) == sorted(names)
    summary = pd.read_csv(shipped / "summary.csv")
    assert list(summary.run_id) == names and summary.shipped.all()
    assert not any((tmp_path / "shipped" / "runs").glob("*/model.keras"))


def test_shipping_a_study_leaves_a_skipped_models_failed_cell_behind(finished_artifacts, tmp_path):
    """A model the study could not run (InceptionV3 without its weights) leaves a failed cell and a
    reason in the record: the study ships without that cell, the reason with it; any other cell that
    has not finished still stops the shipping."""
    import shutil

    from tomjerry.lab.shipping import ship_study

    finished = next(p for p in (finished_artifacts / "runs").iterdir() if (p / "metrics.json").is_file())
    shutil.copytree(finished, tmp_path / "runs" / finished.name)
    failed = tmp_path / "runs" / "20260101-000001-inceptionv3-base-000000"
    failed.mkdir()
    (failed / "status.json").write_text(json.dumps({"state": "failed", "error": "no weights"}))
    folder = tmp_path / "studies" / "20260101-000000-tiny"
    folder.mkdir(parents=True)
    cells = [
        {"model": "efficientnet_lite0", "variant": "base", "rank": 0, "run_id": finished.name},
        {"model": "inceptionv3", "variant": "base", "rank": 0, "run_id": failed.name},
    ]
    record = {
        "preset": "tiny",
        "split": "random",
        "models": ["efficientnet_lite0", "inceptionv3"],
        "cells": cells,
        "skipped": [{"model": "inceptionv3", "reason": "InceptionV3's ImageNet weights are not on this machine"}],
    }
    (folder / "study.json").write_text(json.dumps(record))

    shipped = ship_study(folder, tmp_path / "shipped")
    written = json.loads((shipped / "study.json").read_text())
    assert written["runs"] == [f"ref-{finished.name}"] and [c["model"] for c in written["cells"]] == [
        "efficientnet_lite0"
    ]
    assert written["skipped"] == record["skipped"]
    assert sorted(p.name for p in (tmp_path / "shipped" / "runs").iterdir()) == [f"ref-{finished.name}"]

    (folder / "study.json").write_text(json.dumps({**record, "skipped": []}))
    with pytest.raises(ValueError, match="is failed, not finished"):
        ship_study(folder, tmp_path / "again")


def test_a_tuned_run_records_which_epoch_of_its_kept_trial_was_evaluated():
    from tomjerry.training.tune import kept_epochs

    curves = pd.DataFrame({"epoch": [1, 2, 3, 4, 5], "val_loss": [0.8, 0.6, 0.65, 0.7, 0.71]})
    assert kept_epochs(curves) == {"epochs_run": 5, "best_epoch": 2, "evaluated_epoch": 2}  # stopped early
    assert kept_epochs(curves.drop(columns="val_loss")) == {}
