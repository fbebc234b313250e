"""History is atomic at every kill point (issue 28): a real tiny run is killed (SIGKILL, by the
process itself at a named point: tomjerry.atomic.kill_point) at every step of every epoch's end,
resumed each time with `python -m tomjerry resume`, and must end with each epoch in history.csv
exactly once and no temporary file left. 21 kills, 22 processes: about 15 minutes on 2 busy cores
(--slow). A kill at an epoch boundary, then resume, once gave epochs
1, 2, 4, 5, 6 and left a `.history.csv.*.tmp` behind."""

import os
import signal
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT, scaled

from tomjerry.atomic import KILL_AT
from tomjerry.config import RunConfig
from tomjerry.runs.lifecycle import create_run
from tomjerry.runs.status import read_status

# The steps of an epoch's end, in the order a fit reaches them (tomjerry.training.fit): the
# history row, then the backup of weights and epoch, whose metadata commits the epoch.
POINTS = (
    "epoch_end",  # the epoch trained, nothing of it written yet
    "replace:history.csv",  # the new history in its temporary file, not yet renamed over the old
    "history_written",
    "backup_weights_written",  # the weights in their temporary file
    "backup_weights_in_place",  # the weights renamed, the metadata still naming the previous epoch
    "replace:training_metadata.json",  # the metadata in its temporary file
    "backup_committed",  # the epoch committed, the previous weights not yet removed
)
EPOCHS = 3
CONFIG = RunConfig(model="efficientnet_lite0", image_size=32, epochs=EPOCHS, batch_size=64, patience=0, weights="none")


def run(command: list[str], kill_at: str | None, cache) -> subprocess.CompletedProcess:
    env = {**os.environ, "TOMJERRY_CACHE": str(cache)}
    env.pop(KILL_AT, None)
    if kill_at:
        env[KILL_AT] = kill_at
    return subprocess.run(
        [sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=scaled(300)
    )


def leftovers(run_dir) -> list[str]:
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if ".tmp" in p.name)


@pytest.mark.slow
def test_a_run_killed_at_every_step_of_every_epoch_end_keeps_each_epoch_once(demo_root, tmp_path):
    run_dir = create_run(CONFIG, tmp_path / "artifacts", demo_root)
    cache = tmp_path / "cache"  # shared by the processes: the frames are decoded once
    kills = [point for _ in range(EPOCHS) for point in POINTS]  # 21 kills, each in a new process
    first = True
    for point in kills:
        if first:
            command = ["-m", "tomjerry.lab.execute", str(run_dir), str(demo_root)]
            first = False
        else:
            command = ["-m", "tomjerry", "resume", str(run_dir)]
        result = run(command, point, cache)
        assert result.returncode == -signal.SIGKILL, (point, result.returncode, result.stderr[-3000:])
        assert read_status(run_dir)["state"] == "interrupted", point
        history = pd.read_csv(run_dir / "history.csv") if (run_dir / "history.csv").is_file() else None
        if history is not None:  # what is on disk at every kill: no epoch twice, none skipped
            assert list(history.epoch) == list(range(1, len(history) + 1)), (point, list(history.epoch))
    result = run(["-m", "tomjerry", "resume", str(run_dir)], None, cache)
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_status(run_dir)["state"] == "finished"
    assert list(pd.read_csv(run_dir / "history.csv").epoch) == list(range(1, EPOCHS + 1))
    assert leftovers(run_dir) == []
    assert not (run_dir / "backup").exists()


def test_a_kill_point_kills_only_where_it_is_named(tmp_path):
    """The hook: unset or another point, nothing happens; the named point, SIGKILL (the K-th time
    with NAME@K)."""
    probe = (
        "from tomjerry.atomic import kill_point\n"
        "for step in range(3):\n"
        "    kill_point('other')\n"
        "    print(step, flush=True)\n"
        "    kill_point('here')\n"
    )
    for wanted, returncode, printed in ((None, 0, "0\n1\n2\n"), ("here", -9, "0\n"), ("here@2", -9, "0\n1\n")):
        env = {key: value for key, value in os.environ.items() if key != KILL_AT}
        if wanted:
            env[KILL_AT] = wanted
        result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True)
        assert (result.returncode, result.stdout) == (returncode, printed), (wanted, result.stderr)


def test_a_resumed_fit_sweeps_what_a_killed_one_left(tmp_path):
    from tomjerry.runs.folder import RunFolder
    from tomjerry.training.fit import sweep_leftovers

    run_dir = tmp_path / "run"
    (run_dir / "backup").mkdir(parents=True)
    left = [
        ".history.csv.k2j3.tmp",
        ".status.json.x9.tmp",
        ".model.tmp.keras",
        "backup/.tmp-epoch-0002.weights.h5",
        "backup/.training_metadata.json.q1w2.tmp",
    ]
    kept = ["history.csv", "status.json", "backup/epoch-0001.weights.h5", "backup/training_metadata.json"]
    for name in left + kept:
        (run_dir / name).write_text("x")
    removed = sweep_leftovers(run_dir)
    assert sorted(str(p.relative_to(run_dir)) for p in removed) == sorted(left)
    assert all((run_dir / name).exists() for name in kept)
    assert RunFolder(run_dir).file(RunFolder.STATUS_LOCK).exists()  # swept under the status lock
