"""Runs as records: states and their transitions, liveness (pid, heartbeat, waiting for the
lock), tolerant reading of broken, foreign, older and newer folders, the runs table filtered by
dataset, provenance, and resuming a killed training run after its last finished epoch."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from conftest import REAL_DATA, ROOT, scaled
from filelock import FileLock

from tomjerry.cli import main as cli
from tomjerry.config import RunConfig
from tomjerry.lab.launcher import launch, wait
from tomjerry.runs import states
from tomjerry.runs.folder import SCHEMA_VERSION, TRAINING_LOCK, RunFolder, runs_dir
from tomjerry.runs.lifecycle import create_run
from tomjerry.runs.record import read_run, read_runs
from tomjerry.runs.status import STALE_SECONDS, read_status, update_status
from tomjerry.runs.table import on_dataset, runs_table

TINY = RunConfig(model="efficientnet_lite0", image_size=48, epochs=1, batch_size=32, patience=0)


def ago(seconds):
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds)).isoformat(timespec="seconds")


# --- states --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        ["queued", "waiting", "running", "finished"],
        ["queued", "waiting", "running", "failed", "waiting", "running", "finished"],
        ["queued", "waiting", "running", "cancelled", "queued", "waiting", "cancelled"],
        ["queued", "cancelled"],
        ["queued", "waiting", "failed"],  # the lock's timeout
    ],
)
def test_allowed_paths_through_the_states(path, tmp_path):
    run_dir = create_run(TINY, tmp_path)
    for state in path[1:]:
        update_status(run_dir, state=state, pid=os.getpid())
    assert json.loads((run_dir / "status.json").read_text())["state"] == path[-1]


@pytest.mark.parametrize(
    "path, refused",
    [
        (["queued"], "running"),  # a run must say it is alive (waiting) first
        (["queued"], "finished"),
        (["queued", "waiting", "running", "finished"], "running"),  # finished is final
        (["queued", "waiting", "running", "finished"], "queued"),
        (["queued"], "interrupted"),  # concluded by readers, never written
        (["queued"], "unreadable"),
    ],
)
def test_refused_transitions(path, refused, tmp_path):
    run_dir = create_run(TINY, tmp_path)
    for state in path[1:]:
        update_status(run_dir, state=state, pid=os.getpid())
    with pytest.raises(ValueError):
        update_status(run_dir, state=refused)
    assert json.loads((run_dir / "status.json").read_text())["state"] == path[-1]


def test_a_dead_process_reads_interrupted_and_may_be_resumed(tmp_path):
    run_dir = create_run(TINY, tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    update_status(run_dir, state="waiting", pid=os.getpid())
    update_status(run_dir, state="running")
    update_status(run_dir, pid=dead.pid)  # the process dies without a word
    with pytest.raises(ValueError, match="interrupted run cannot become running"):
        update_status(run_dir, state="running")
    assert read_status(run_dir)["state"] == "interrupted"
    update_status(run_dir, state="queued", pid=None)  # what resume does
    assert read_status(run_dir)["state"] == "queued"


def test_heartbeat_decides_for_a_run_of_another_host(tmp_path):
    run_dir = create_run(TINY, tmp_path)
    update_status(run_dir, state="waiting", pid=os.getpid())
    update_status(run_dir, state="running", host="another-machine", pid=1, heartbeat=ago(2))
    assert read_status(run_dir)["state"] == "running"
    update_status(run_dir, heartbeat=ago(STALE_SECONDS + 5))
    status = read_status(run_dir)
    assert status["state"] == "interrupted" and "ended without finishing" in status["error"]


@pytest.mark.slow
def test_a_run_waiting_for_the_lock_reads_waiting_not_interrupted(demo_root, tmp_path):
    run_dir = create_run(TINY, tmp_path, demo_root)
    with FileLock(runs_dir(tmp_path) / TRAINING_LOCK):  # another run "trains"
        process = subprocess.Popen(
            [sys.executable, "-m", "tomjerry.lab.execute", str(run_dir), str(demo_root)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.time() + scaled(60)
            while read_status(run_dir)["state"] != "waiting" and time.time() < deadline:
                time.sleep(0.2)
            status = read_status(run_dir)
            assert status["state"] == "waiting" and status["pid"] == process.pid and status["heartbeat"]
            # Long past the launch grace period, the live process still reads waiting.
            update_status(run_dir, created=ago(3600))
            time.sleep(1)
            assert read_status(run_dir)["state"] == "waiting"
            assert read_runs(tmp_path)[0].state == "waiting"
        finally:
            process.kill()
            process.wait()
    assert read_status(run_dir)["state"] == "interrupted"


# --- reading any folder ----------------------------------------------------------------------------


def finished_run(artifacts, fingerprint, demo, name="fake", exact=0.9):
    """A finished run folder written by the package's writers, with the given dataset."""
    run_dir = create_run(TINY, artifacts)
    folder = RunFolder(run_dir)
    for file in (RunFolder.SPLIT, RunFolder.PREDICTIONS):
        folder.file(file).write_text("filename,split\n")
    folder.write_metrics(
        {
            "test": {"binary_accuracy": exact, "exact_match_accuracy": exact, "count": 10},
            "validation": {"exact_match_accuracy": exact},
        }
    )
    folder.write_json(RunFolder.PROVENANCE, {"dataset": {"name": name, "demo": demo, "fingerprint": fingerprint}})
    for state in ("waiting", "running", "finished"):
        update_status(run_dir, state=state, pid=os.getpid())
    return run_dir


def broken_folders(artifacts):
    """One of each kind of folder a reader must survive; returns their ids."""
    base = runs_dir(artifacts)
    renamed = base / "20260101-000000-renamed-field"
    renamed.mkdir()
    (renamed / "config.json").write_text(json.dumps({**TINY.to_dict(), "learning_rte": 0.1}))
    (renamed / "status.json").write_text(json.dumps({"state": "finished"}))
    torn = base / "20260101-000001-torn-config"
    torn.mkdir()
    (torn / "config.json").write_text('{"model": "alex')
    foreign = base / "20260101-000002-foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("someone else's folder")
    newer = base / "20260101-000003-newer-schema"
    newer.mkdir()
    (newer / "config.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1, "model": "x"}))
    older = base / "20260101-000004-older-schema"  # written before schema_version existed
    older.mkdir()
    (older / "config.json").write_text(json.dumps(TINY.to_dict()))
    (older / "status.json").write_text(
        json.dumps({"state": "failed", "error": "old failure", "created": "2026-01-01T00:00:04+00:00"})
    )
    return {
        "renamed": renamed.name,
        "torn": torn.name,
        "foreign": foreign.name,
        "newer": newer.name,
        "older": older.name,
    }


def test_broken_foreign_older_and_newer_folders_are_records_not_exceptions(tmp_path, capsys):
    ids = broken_folders(tmp_path)
    good = finished_run(tmp_path, "abc", False)
    runs = {run.run_id: run for run in read_runs(tmp_path)}
    assert runs[good.name].state == "finished"
    assert runs[ids["renamed"]].state == "unreadable" and "learning_rte" in runs[ids["renamed"]].error
    assert runs[ids["torn"]].state == "unreadable" and "config.json" in runs[ids["torn"]].error
    assert runs[ids["foreign"]].state == "unreadable" and "not a run folder" in runs[ids["foreign"]].error
    assert runs[ids["newer"]].state == "unreadable" and "newer tomjerry" in runs[ids["newer"]].error
    older = runs[ids["older"]]
    assert older.state == "failed" and older.schema_version == 1 and older.dataset["fingerprint"] is None
    table = runs_table(list(runs.values()))
    assert len(table) == 6

    assert cli(["runs", "--all", "--json", "--artifacts", str(tmp_path)]) == 0
    listed = {row["run_id"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(listed) == set(runs)
    assert listed[ids["renamed"]]["state"] == "unreadable"
    for row in listed.values():
        assert {
            "run_id",
            "state",
            "model",
            "variant",
            "split",
            "image_size",
            "preset",
            "dataset",
            "test_binary_accuracy",
            "test_exact_match",
        } <= set(row)
        assert {"name", "demo", "fingerprint"} <= set(row["dataset"])


def test_only_runs_of_the_dataset_in_use_are_shown(tmp_path):
    real = finished_run(tmp_path, "real-fingerprint", False, "tom_and_jerry")
    demo = finished_run(tmp_path, "demo-fingerprint", True, "demo")
    runs = read_runs(tmp_path)
    assert [run.path for run in on_dataset(runs, "real-fingerprint")] == [real]
    assert [run.path for run in on_dataset(runs, "demo-fingerprint")] == [demo]
    assert on_dataset(runs, None) == []
    assert len(on_dataset(runs, "real-fingerprint", include_all=True)) == 2


@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="needs ../shared/datasets/tom_and_jerry")
def test_runs_command_keeps_demo_runs_out_of_the_real_data(demo_root, tmp_path, capsys):
    """The shipped runs and one demo run in one artifacts folder."""
    shipped = sorted((ROOT / "artifacts" / "runs").glob("ref-*"))
    for run_dir in shipped:
        shutil.copytree(run_dir, runs_dir(tmp_path) / run_dir.name, ignore=shutil.ignore_patterns("*.keras"))
    from tomjerry.data.dataset import dataset_fingerprint, scan

    demo = finished_run(tmp_path, dataset_fingerprint(scan(demo_root).usable), True, "demo")
    assert cli(["runs", "--data", str(REAL_DATA), "--json", "--artifacts", str(tmp_path)]) == 0
    real_rows = json.loads(capsys.readouterr().out)
    assert sorted(row["run_id"] for row in real_rows) == sorted(p.name for p in shipped)
    assert all(row["dataset"]["demo"] is False for row in real_rows)
    assert cli(["runs", "--all", "--json", "--artifacts", str(tmp_path)]) == 0
    every = json.loads(capsys.readouterr().out)
    assert len(every) == len(shipped) + 1
    assert [row["dataset"]["demo"] for row in every if row["run_id"] == demo.name] == [True]


# --- provenance and resume --------------------------------------------------------------------------


def test_a_fresh_run_records_its_provenance(demo_root, trained_run):
    from tomjerry.data.dataset import dataset_fingerprint, scan

    run_dir = trained_run.path
    provenance = json.loads((run_dir / "provenance.json").read_text())
    assert provenance["schema_version"] == SCHEMA_VERSION
    dataset = provenance["dataset"]
    assert dataset["demo"] is True and dataset["name"] == "demo" and dataset["images"] == 320
    assert dataset["fingerprint"] == dataset_fingerprint(scan(demo_root).usable)
    split = provenance["split"]
    assert split["kind"] == "random" and split["seed"] == 42
    assert split["sha256"] == RunFolder(run_dir).split_sha256()
    sides = pd.read_csv(run_dir / "split.csv").split.value_counts()
    assert split["sizes"] == {side: int(sides[side]) for side in ("train", "val", "test")}
    assert "preset" in provenance and provenance["preset"] == read_run(run_dir).config.preset
    assert provenance["versions"]["keras"] and provenance["versions"]["tensorflow"]
    assert provenance["versions"]["numpy"] and provenance["versions"]["keras-tuner"]
    # A clone records its commit; a source archive (no .git) records that the commit is unknown.
    if (ROOT / ".git").exists():
        assert len(provenance["git"]["commit"]) == 40
    else:
        assert provenance["git"] is None
    assert provenance["hardware"]["replicas"] == 1 and provenance["hardware"]["cpu"]
    run = read_run(run_dir)
    assert run.state == "finished" and run.dataset["fingerprint"] == dataset["fingerprint"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["evaluated_epoch"] == metrics["epochs_run"] == 1


def test_the_commit_is_known_only_in_the_projects_own_checkout(tmp_path):
    from tomjerry.runs.provenance import git_commit

    if shutil.which("git") is None:
        pytest.skip("needs the git program")
    assert git_commit(tmp_path) is None  # a source archive: no .git anywhere above

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "code.py").write_text("a = 1\n")
    git("add", "code.py")
    git("-c", "user.name=test", "-c", "user.email=test@example.org", "commit", "-q", "-m", "first")
    recorded = git_commit(tmp_path)
    assert recorded is not None and len(recorded["commit"]) == 40 and recorded["dirty"] is False
    (tmp_path / "code.py").write_text("a = 2\n")
    assert git_commit(tmp_path)["dirty"] is True
    # An archive unpacked inside some other repository: that repository's commit is not this code's.
    (tmp_path / "unpacked").mkdir()
    assert git_commit(tmp_path / "unpacked") is None


@pytest.mark.slow
def test_a_run_killed_in_epoch_3_resumes_at_epoch_3(demo_root, tmp_path):
    config = TINY.replace(epochs=4, image_size=128, batch_size=8, patience=3)
    run_dir = launch(config, demo_root, tmp_path)
    history_path = run_dir / "history.csv"
    from tomjerry.training.fit import EpochBackup

    backup = run_dir / "backup"
    deadline = time.time() + scaled(240)
    while time.time() < deadline:
        # Epoch 2 committed: its row is written first, then its backup (tomjerry.training.fit.EpochBackup).
        if history_path.is_file() and len(pd.read_csv(history_path)) == 2 and EpochBackup.saved_epoch(backup) == 2:
            break
        assert read_status(run_dir)["state"] in states.ACTIVE, (run_dir / "log.txt").read_text()[-2000:]
        time.sleep(0.05)
    os.kill(read_status(run_dir)["pid"], signal.SIGKILL)  # in epoch 3
    assert wait(run_dir, timeout=scaled(20))["state"] == "interrupted"
    before = pd.read_csv(history_path)
    assert list(before.epoch) == [1, 2]

    resumed = subprocess.run(
        [sys.executable, "-m", "tomjerry", "resume", str(run_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=scaled(400),
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Epoch 3/4" in resumed.stdout + resumed.stderr
    assert "Epoch 1/4" not in resumed.stdout + resumed.stderr and "Epoch 2/4" not in resumed.stdout + resumed.stderr
    after = pd.read_csv(history_path)
    assert list(after.epoch) == [1, 2, 3, 4]
    pd.testing.assert_frame_equal(after.head(2), before)  # epochs 1-2 were not trained again
    assert read_status(run_dir)["state"] == "finished"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs_run"] == 4
    assert metrics["best_epoch"] == int(after.epoch[after.val_loss.idxmin()]) == metrics["evaluated_epoch"]
    assert not (run_dir / "backup").exists() and not (run_dir / "best.weights.h5").exists()


def test_shipping_keeps_the_tables_and_the_model_only_when_asked(trained_run, tmp_path):
    """Without its model a shipped run keeps no novelty reference either (only the model reads it)."""
    from tomjerry.lab.shipping import ship_reference
    from tomjerry.runs.folder import RunFolder
    from tomjerry.runs.record import read_run

    tables = ship_reference(trained_run.path, tmp_path / "tables")
    names = {path.name for path in tables.iterdir()}
    assert {RunFolder.METRICS, RunFolder.PREDICTIONS, RunFolder.SPLIT, RunFolder.REFERENCE} <= names
    assert RunFolder.MODEL not in names and RunFolder.NOVELTY not in names
    assert read_run(tables).finished and read_run(tables).reference
    with_model = ship_reference(trained_run.path, tmp_path / "model", keep_model=True)
    assert {RunFolder.MODEL, RunFolder.NOVELTY} <= {path.name for path in with_model.iterdir()}
    # A mistyped run id is named as missing, not as a run in some state.
    with pytest.raises(ValueError, match="no run folder at .*-nosuch"):
        ship_reference(trained_run.path.parent / f"{trained_run.path.name}-nosuch", tmp_path / "tables")
