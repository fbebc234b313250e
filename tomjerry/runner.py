"""Background runs for the UI: each run is its own process, started and returned from at once.
Cancel really stops the process; one run trains at a time, and a second launch is refused with
a clear message while one is active."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tomjerry.config import RunConfig
from tomjerry.discovery import PROJECT_ROOT
from tomjerry.runstore import (active_runs, create_run, locked, process_alive, read_status,
                               runs_dir, update_status)

# Popen objects of the runs this process started, so their exits are collected (no zombies).
_children: dict[int, subprocess.Popen] = {}


class RunBusy(RuntimeError):
    """Another run is still active."""


def reap():
    for pid, child in list(_children.items()):
        if child.poll() is not None:
            del _children[pid]


def refuse_if_busy(artifacts=None):
    busy = active_runs(artifacts)
    if busy:
        raise RunBusy(f"run {busy[0].name} is still {read_status(busy[0]).get('state')}: wait for it "
                      "to finish or cancel it first (one run at a time).")


def start_process(command: list, log_path: Path) -> subprocess.Popen:
    """A child in its own session (so cancel can stop its whole group), output to log_path."""
    with open(log_path, "ab") as log:
        child = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True,
                                 env=dict(os.environ, PYTHONUNBUFFERED="1"))
    _children[child.pid] = child
    return child


def launch(config: RunConfig, data_path=None, artifacts=None) -> Path:
    """Create the run folder and start `python -m tomjerry.training RUN_DIR` in its own session."""
    reap()
    with locked(runs_dir(artifacts) / ".launch.lock"):
        refuse_if_busy(artifacts)
        run_dir = create_run(config, artifacts, data_path)
        spawn(run_dir, data_path)
    return run_dir


def spawn(run_dir: Path, data_path=None):
    child = start_process([sys.executable, "-m", "tomjerry.training", str(run_dir), str(data_path or "")],
                          run_dir / "log.txt")
    update_status(run_dir, pid=child.pid)


RESUMABLE = ("interrupted", "failed", "cancelled")


def resumable_status(run_dir: Path) -> dict:
    """The run's status, or ValueError when the run is not in a state that can be resumed."""
    status = read_status(run_dir)
    if status.get("state") not in RESUMABLE:
        raise ValueError(f"run {run_dir.name} is {status.get('state')}; only {', '.join(RESUMABLE)} runs can be resumed")
    return status


def resume(run_dir, data_path=None) -> Path:
    """Start a stopped run again in the background in its own folder: a tuning search continues
    with the trials it has (Keras Tuner, overwrite=False); a training run starts over on the same
    split."""
    run_dir = Path(run_dir)
    reap()
    with locked(run_dir.parent / ".launch.lock"):
        status = resumable_status(run_dir)
        refuse_if_busy(run_dir.parent.parent)
        data_path = data_path or status.get("data")
        update_status(run_dir, state="queued", pid=None, resumed=True, error=None)
        spawn(run_dir, data_path)
    return run_dir


def cancel(run_dir, timeout: float = 10.0) -> dict:
    """Stop a run's process (SIGTERM, then SIGKILL after `timeout`) and mark it cancelled."""
    run_dir = Path(run_dir)
    status = read_status(run_dir)
    pid = status.get("pid")
    if status.get("state") not in ("queued", "running"):
        return status
    if pid and process_alive(pid):
        try:
            os.killpg(int(pid), signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.time() + timeout
        while process_alive(pid) and time.time() < deadline:
            reap()
            time.sleep(0.1)
        if process_alive(pid):
            try:
                os.killpg(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
            while process_alive(pid) and time.time() < deadline + 5:
                reap()
                time.sleep(0.1)
    reap()
    if read_status(run_dir).get("state") != "cancelled":
        update_status(run_dir, state="cancelled", error="cancelled by the user")
    return read_status(run_dir)


def wait(run_dir, timeout: float = 600.0, poll: float = 0.5) -> dict:
    """Block until the run leaves queued/running (for the command line and tests)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        reap()
        status = read_status(run_dir)
        if status.get("state") not in ("queued", "running"):
            return status
        time.sleep(poll)
    raise TimeoutError(f"run {Path(run_dir).name} still active after {timeout:.0f} s")


def launch_study(preset: str, data_path=None, artifacts=None, models=None, split="random") -> Path:
    """Start `python -m tomjerry study` in the background; its runs appear in the store one by one.
    Returns the study's log file."""
    from tomjerry.runstore import artifacts_dir
    from tomjerry.study import PRESETS

    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}")
    reap()
    refuse_if_busy(artifacts)
    base = artifacts_dir(artifacts)
    log_path = base / "studies" / f"{time.strftime('%Y%m%d-%H%M%S')}-{preset}-launch.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "tomjerry", "study", "--preset", preset, "--artifacts", str(base),
               "--split", split]
    if data_path:
        command += ["--data", str(data_path)]
    if models:
        command += ["--models", ",".join(models)]
    start_process(command, log_path)
    return log_path
