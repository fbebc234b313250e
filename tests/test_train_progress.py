"""What the Train page says about a run (issue 30, item 4): its phase outside the epochs, no ETA
before an epoch is timed, a tuned run described by its trials, the dataset's name the same from
launch to finish, no literal None, the presets' times and the default the class starts."""

import pytest
from conftest import ROOT, scaled
from streamlit.testing.v1 import AppTest

from tomjerry.config import PRESET_DESCRIPTIONS, PRESET_MINUTES, RUN_PRESETS, RunConfig
from tomjerry.runs import states
from tomjerry.runs.lifecycle import create_run
from tomjerry.runs.record import read_run
from tomjerry.runs.status import progress_text, read_status, set_phase, update_status

TIMEOUT = scaled(180)


def test_a_finished_tuned_run_counts_trials_not_epoch_zero():
    status = {"state": states.FINISHED, "epoch": 0, "epochs": 40}
    metrics = {"tuning": {"trials": 3}, "epochs_run": 12, "best_epoch": 9}
    text = progress_text(status, metrics)
    assert text == "finished · 3 trials; kept trial: 12 epochs (best 9)"
    assert "epoch 0" not in text and "of 40" not in text
    assert (
        progress_text({"state": states.FINISHED, "epoch": 5, "epochs": 5}, {"epochs_run": 5}) == "finished · 5 epochs"
    )


def test_progress_of_unfinished_runs_has_no_none():
    assert progress_text({"state": states.RUNNING, "epoch": 1, "epochs": 2}) == "running · epoch 1 of 2"
    reading = {"state": states.RUNNING, "epoch": 0, "epochs": 5, "phase": "reading the frames at 224 px"}
    assert progress_text(reading) == "running"  # the phase line says what it does; not "epoch 0 of 5"
    assert progress_text({**reading, "phase": "training"}) == "running · epoch 0 of 5"
    running_trial = {"state": states.RUNNING, "epoch": 3, "epochs": 40, "trial": 2, "trials": 3}
    assert progress_text(running_trial) == "running · trial 2 of 3 · epoch 3 of 40"
    assert progress_text({"state": states.QUEUED, "epoch": 0, "epochs": 5}) == "queued"
    assert progress_text({"state": states.CANCELLED, "epoch": 3, "epochs": 5}) == "cancelled · epoch 3 of 5"
    for status in ({"state": states.WAITING}, {"state": states.FAILED, "epoch": None, "epochs": None}, {}):
        assert "None" not in progress_text(status)


def test_phase_is_recorded_and_cleared(tmp_path):
    run_dir = create_run(RunConfig(), tmp_path)
    set_phase(run_dir, "reading the frames at 224 px")
    assert read_status(run_dir)["phase"] == "reading the frames at 224 px"
    set_phase(run_dir, None)
    assert read_status(run_dir)["phase"] is None


def test_a_queued_demo_run_is_named_demo_before_it_writes_provenance(tmp_path, demo_root):
    run_dir = create_run(RUN_PRESETS["demo"], tmp_path, demo_root)
    assert not (run_dir / "provenance.json").exists()
    assert read_run(run_dir).dataset["name"] == "demo"  # as provenance.json will say, not the folder's name


def test_no_eta_before_an_epoch_is_timed(tmp_path):
    """The first batches include building the graph: extrapolating them read 1367 s for a
    5-minute run. The ETA appears once an epoch of this fit is timed."""
    from tomjerry.training.fit import RunFiles

    run_dir = create_run(RunConfig(epochs=3), tmp_path)
    files = RunFiles(run_dir, epochs=3, steps=10)
    files.on_train_begin()
    assert read_status(run_dir)["phase"] == "training"
    files.on_epoch_begin(0)
    files.on_train_batch_end(0)
    assert read_status(run_dir)["eta_seconds"] is None
    files.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.6})
    assert read_status(run_dir)["eta_seconds"] >= 0  # one epoch timed: two to go
    files.on_epoch_begin(1)
    files.last_write = 0
    files.on_train_batch_end(4)
    assert read_status(run_dir)["eta_seconds"] is not None


def test_presets_say_their_time_and_quick_splits_by_shots():
    for name in ("best", "lite1-wide", "lite1-best", "lite0-best", "quick"):
        low, high = PRESET_MINUTES[name]
        assert f"{low}-{high} minutes" in PRESET_DESCRIPTIONS[name], name
    assert RUN_PRESETS["quick"].split == "shots"


@pytest.mark.slow
def test_a_real_run_reports_each_phase(tmp_path, demo_root, monkeypatch):
    """A tiny real fit: every phase it passes through is recorded in status.json in order, and
    the finished run has none left."""
    from tomjerry.lab.execute import execute_run
    from tomjerry.runs import status as status_module
    from tomjerry.training import fit

    seen = []
    original = status_module.update_status

    def recording(run_dir, state=None, **fields):
        if fields.get("phase") and (not seen or seen[-1] != fields["phase"]):
            seen.append(fields["phase"])
        return original(run_dir, state, **fields)

    monkeypatch.setattr(status_module, "update_status", recording)
    monkeypatch.setattr(fit, "update_status", recording)
    config = RunConfig(model="efficientnet_lite0", image_size=48, epochs=1, batch_size=32, patience=0)
    run_dir = create_run(config, tmp_path, demo_root)
    execute_run(run_dir, demo_root)
    assert seen[0] == "starting TensorFlow" and seen[1] == "reading the frames at 48 px", seen
    assert "training" in seen
    assert any(phase.startswith("scoring ") for phase in seen), seen
    assert seen[-1].startswith("building the novelty reference"), seen
    assert read_status(run_dir)["phase"] is None
    update_status(run_dir)  # still readable and writable after the run


def test_train_page_defaults_to_demo_on_demo_data_and_shows_no_none(monkeypatch, demo_root, finished_artifacts):
    monkeypatch.setenv("TOMJERRY_DATA", str(demo_root))
    monkeypatch.setenv("TOMJERRY_ARTIFACTS", str(finished_artifacts))
    app = AppTest.from_file(str(ROOT / "pages/2_Train.py"), default_timeout=TIMEOUT).run()
    assert not app.exception, app.exception
    assert app.selectbox(key="train_preset").value == "demo"
    table = app.dataframe[-1].value
    assert "progress" in table and table.progress.str.startswith("finished · ").all()
    assert "None" not in table.to_csv()
    assert any("refreshes itself while one is" in c.value for c in app.caption)  # idle: no auto-rerun


def test_the_live_views_picker_marks_the_untouched_splits_runs(tmp_path):
    from tomjerry.data.splits import UNTOUCHED_SEED
    from tomjerry.science.results import run_names
    from ui import mark_untouched

    runs = [read_run(create_run(RunConfig(split="shots", split_seed=seed), tmp_path)) for seed in (UNTOUCHED_SEED, 42)]
    names = mark_untouched(run_names(runs), runs)
    untouched, other = (names[run.run_id] for run in runs)
    assert untouched == f"{runs[0].label()} (untouched split)"
    assert other == runs[1].label() and "untouched" not in other
