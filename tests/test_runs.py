"""Training runs, tuning and background processes on the demo data with tiny settings."""

import os
import signal
import time
import zipfile

import pandas as pd
import pytest
from conftest import scaled

from tomjerry.config import RunConfig
from tomjerry.lab.execute import execute_run
from tomjerry.lab.launcher import RunBusy, cancel, launch, wait
from tomjerry.metrics.evaluation import metrics_from_predictions
from tomjerry.runs.folder import RunFolder, check_run_id, run_path
from tomjerry.runs.lifecycle import create_run
from tomjerry.runs.record import read_runs
from tomjerry.runs.status import read_status

TINY = RunConfig(model="efficientnet_lite0", image_size=48, epochs=1, batch_size=32, patience=0)


def test_one_epoch_run_gives_a_complete_folder(trained_run):
    run_dir, result, tmp_path = trained_run.path, trained_run.result, trained_run.artifacts
    assert read_config_of(run_dir) == TINY
    for name in (
        "config.json",
        "split.csv",
        "history.csv",
        "status.json",
        "model.keras",
        "metrics.json",
        "predictions.csv",
    ):
        assert (run_dir / name).is_file(), name
    status = read_status(run_dir)
    assert status["state"] == "finished" and status["epoch"] == 1
    assert len(RunFolder(run_dir).read_history()) == 1
    predictions = pd.read_csv(run_dir / "predictions.csv")
    recomputed = metrics_from_predictions(predictions)
    assert recomputed["test"]["binary_accuracy"] == pytest.approx(result["test"]["binary_accuracy"])
    assert recomputed["test"]["exact_match_accuracy"] == pytest.approx(result["test"]["exact_match_accuracy"])
    assert recomputed["challenge"]["count"] == 12 == result["challenge_total"]
    split = pd.read_csv(run_dir / "split.csv")
    assert (
        result["challenge_in_training"]
        == split.merge(predictions[predictions.challenge], on="filename").query("split_x == 'train'").shape[0]
    )
    assert result["test"]["count"] == (split.split == "test").sum()
    run = read_runs(tmp_path)[0]
    assert run.state == "finished" and run.test["binary_accuracy"] == pytest.approx(result["test"]["binary_accuracy"])


def read_config_of(run_dir):
    return RunFolder(run_dir).read_config()


@pytest.mark.slow
def test_tuning_two_trials_records_every_trial(demo_root, tmp_path):
    config = TINY.replace(variant="tuned", max_trials=2)
    run_dir = create_run(config, tmp_path, demo_root)
    result = execute_run(run_dir, demo_root)
    trials = pd.read_csv(run_dir / "trials.csv")
    assert len(trials) == 2 and (trials.status == "COMPLETED").all()
    assert set(trials.learning_rate) <= {1e-2, 1e-3, 1e-4}
    assert result["tuning"]["best_learning_rate"] in set(trials.learning_rate)
    assert (run_dir / "best_hyperparameters.json").is_file() and (run_dir / "model.keras").is_file()


def test_failing_trial_fails_the_run_loudly(demo_root, tmp_path, monkeypatch):
    import tomjerry.training.tune as tuning

    def broken(config, steps):
        import keras

        # Builds fine, but its 3 outputs cannot take 2 labels: every trial's fit fails.
        inputs = keras.Input((config.image_size, config.image_size, 3))
        model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(inputs)))
        model.compile(optimizer="adam", loss="binary_crossentropy")
        return model

    monkeypatch.setattr(tuning, "new_model", broken)
    # Augmented, so the trials train on frames (a frozen base alone would train heads on features).
    run_dir = create_run(TINY.replace(variant="tuned", max_trials=2, augment=True), tmp_path, demo_root)
    with pytest.raises(tuning.TuningFailed, match="trial"):
        execute_run(run_dir, demo_root)
    status = read_status(run_dir)
    assert status["state"] == "failed" and "TuningFailed" in status["error"]
    assert (run_dir / "trials.csv").read_text().count("FAILED") >= 1


def wait_for_epoch(run_dir, timeout=90):
    deadline = time.time() + scaled(timeout)
    while time.time() < deadline:
        status = read_status(run_dir)
        if status.get("state") == "running" and (status.get("batch") or status.get("epoch")):
            return status
        assert status.get("state") in ("queued", "waiting", "running"), status
        time.sleep(0.3)
    raise AssertionError(f"run never started training: {read_status(run_dir)}")


@pytest.mark.slow
def test_background_run_killed_reads_interrupted_and_cancel_stops(demo_root, tmp_path):
    long = TINY.replace(epochs=200, image_size=64, batch_size=8)
    first = launch(long, demo_root, tmp_path)
    with pytest.raises(RunBusy, match="one run at a time"):
        launch(long, demo_root, tmp_path)
    wait_for_epoch(first)
    os.kill(read_status(first)["pid"], signal.SIGKILL)
    assert wait(first, timeout=scaled(10))["state"] == "interrupted"

    second = launch(long, demo_root, tmp_path)
    wait_for_epoch(second)
    start = time.time()
    status = cancel(second)
    assert status["state"] == "cancelled"
    assert time.time() - start < scaled(10)
    assert read_status(first)["state"] == "interrupted"  # the other run is untouched


@pytest.mark.slow
def test_background_run_finishes(demo_root, tmp_path):
    run_dir = launch(TINY, demo_root, tmp_path)
    status = wait(run_dir, timeout=scaled(180))
    assert status["state"] == "finished", (run_dir / "log.txt").read_text()[-2000:]


@pytest.mark.parametrize("bad", ["../x", "a/b", "/etc", "..", "", ".hidden", "a" * 200])
def test_run_ids_cannot_leave_artifacts(bad, tmp_path):
    with pytest.raises(ValueError):
        run_path(bad, tmp_path)


def test_config_roundtrip_and_validation(tmp_path):
    config = TINY.replace(tags=("a",))
    assert RunConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown model"):
        RunConfig(model="nope")
    with pytest.raises(ValueError, match="image size"):
        RunConfig(model="alexnet", image_size=32)
    with pytest.raises(ValueError, match="unknown run config field"):
        RunConfig.from_dict({"modle": "alexnet"})
    assert check_run_id("20260101-000000-alexnet-base-abc123")


def test_best_run_prefers_real_data_and_decides_on_validation(tmp_path):
    import json

    from tomjerry.runs.record import read_runs
    from tomjerry.runs.status import update_status
    from tomjerry.science.results import best_run

    def fake(name, demo, val, test):
        run_dir = create_run(TINY, tmp_path)
        for file in ("split.csv", "predictions.csv"):
            (run_dir / file).write_text("filename,split\n")  # a header: "x" reads as a broken file
        with zipfile.ZipFile(run_dir / "model.keras", "w") as archive:  # looks like a Keras archive
            archive.writestr("config.json", "{}")
            archive.writestr("model.weights.h5", "")
        (run_dir / "metrics.json").write_text(
            json.dumps(
                {
                    "dataset": {"demo": demo},
                    "validation": {"exact_match_accuracy": val},
                    "test": {"exact_match_accuracy": test},
                }
            )
        )
        for state in ("waiting", "running", "finished"):
            update_status(run_dir, state=state)
        return run_dir

    fake("demo", True, 1.0, 1.0)
    real_good_val = fake("real-a", False, 0.95, 0.90)
    fake("real-b", False, 0.90, 0.99)  # better on test, worse on validation: not chosen
    assert best_run(read_runs(tmp_path)).path == real_good_val


@pytest.mark.slow
def test_a_cancel_inside_a_tuning_trial_cancels_the_run_instead_of_failing_it(demo_root, tmp_path, monkeypatch):
    """Keras Tuner records any Exception raised in a trial as a failed trial and goes on; a cancel
    (SIGTERM raises RunCancelled) must stop the search and leave the run cancelled, resumable."""
    import tomjerry.training.tune as tuning
    from tomjerry.lab.execute import RunCancelled

    real, calls = tuning.new_model, []

    def cancelled(config, steps):
        calls.append(config)
        if len(calls) == 1:  # Keras Tuner builds once outside any trial, to learn the search space
            return real(config, steps)
        raise RunCancelled("cancelled (signal 15)")  # inside the first trial

    monkeypatch.setattr(tuning, "new_model", cancelled)
    # Augmented: no features are extracted first, so the second build is the first trial's.
    run_dir = create_run(TINY.replace(variant="tuned", max_trials=2, augment=True), tmp_path, demo_root)
    with pytest.raises(RunCancelled):
        execute_run(run_dir, demo_root)
    assert read_status(run_dir)["state"] == "cancelled" and len(calls) == 2
