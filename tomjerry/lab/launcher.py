"""Background runs for the dashboard: each run is its own process, started and returned from at
once. Cancel really stops the process; one run trains at a time, and a second launch is refused
with a clear message while one is active."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from filelock import FileLock

from tomjerry.config import RunConfig
from tomjerry.lab.study import PRESETS
from tomjerry.paths import PROJECT_ROOT
from tomjerry.runs import states
from tomjerry.runs.folder import LAUNCH_LOCK, RunFolder, artifacts_dir, run_folders, runs_dir
from tomjerry.runs.lifecycle import create_run
from tomjerry.runs.status import HOST, process_alive, read_status, update_status

# Popen objects of the runs this process started, so their exits are collected (no zombies).
_children: dict[int, subprocess.Popen] = {}


class RunBusy(RuntimeError):
    """Another run is still active."""


def reap():
    for pid, child in list(_children.items()):
        if child.poll() is not None:
            del _children[pid]


def active_runs(artifacts=None) -> list[Path]:
    return [folder.path for folder in run_folders(artifacts) if read_status(folder.path).get("state") in states.ACTIVE]


def refuse_if_busy(artifacts=None):
    busy = active_runs(artifacts)
    if busy:
        raise RunBusy(
            f"run {busy[0].name} is still {read_status(busy[0]).get('state')}: wait for it "
            "to finish or cancel it first (one run at a time)."
        )


def start_process(command: list, log_path: Path) -> subprocess.Popen:
    """A child in its own session (so cancel can stop its whole group), output to log_path."""
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
    _children[child.pid] = child
    return child


def spawn(run_dir: Path, data_path=None):
    """Start `python -m tomjerry.lab.execute RUN_DIR [DATA]` and record its pid and host."""
    child = start_process(
        [sys.executable, "-m", "tomjerry.lab.execute", str(run_dir), str(data_path or "")],
        RunFolder(run_dir).file(RunFolder.LOG),
    )
    update_status(run_dir, pid=child.pid, host=HOST)


def launch(config: RunConfig, data_path=None, artifacts=None, dataset_fingerprint=None) -> Path:
    """Create the run folder and start its process; RunBusy while another run is active."""
    reap()
    with FileLock(runs_dir(artifacts) / LAUNCH_LOCK, timeout=60):
        refuse_if_busy(artifacts)
        run_dir = create_run(config, artifacts, data_path, dataset_fingerprint=dataset_fingerprint)
        spawn(run_dir, data_path)
    return run_dir


def resumable_status(run_dir: Path) -> dict:
    """The run's status, or ValueError when the run is not in a state that can be resumed."""
    status = read_status(run_dir)
    if status.get("state") not in states.RESUMABLE:
        raise ValueError(
            f"run {Path(run_dir).name} is {status.get('state')}; only {', '.join(states.RESUMABLE)} runs can be resumed"
        )
    return status


def resume(run_dir, data_path=None) -> Path:
    """Start a stopped run again in the background in its own folder: a training run continues
    after its last finished epoch, a tuning search with the trials it has."""
    run_dir = Path(run_dir)
    reap()
    with FileLock(run_dir.parent / LAUNCH_LOCK, timeout=60):
        status = resumable_status(run_dir)
        refuse_if_busy(run_dir.parent.parent)
        data_path = data_path or status.get("data")
        update_status(run_dir, state=states.QUEUED, pid=None, heartbeat=None, resumed=True, error=None, message=None)
        spawn(run_dir, data_path)
    return run_dir


def _signal_group(pid, signum):
    try:
        os.killpg(int(pid), signum)
    except ProcessLookupError:
        pass


def cancel(run_dir, timeout: float = 10.0) -> dict:
    """Stop a run's process (SIGTERM, then SIGKILL after `timeout`) and mark it cancelled. Only
    a process of this host can be signalled; a run of another host is refused with a reason."""
    run_dir = Path(run_dir)
    status = read_status(run_dir)
    if status.get("state") not in states.ACTIVE:
        return status
    pid = status.get("pid")
    if status.get("host") not in (None, HOST):
        raise ValueError(f"run {run_dir.name} runs on {status['host']}: cancel it there")
    if pid and process_alive(pid):
        _signal_group(pid, signal.SIGTERM)
        deadline = time.time() + timeout
        while process_alive(pid) and time.time() < deadline:
            reap()
            time.sleep(0.1)
        if process_alive(pid):
            _signal_group(pid, signal.SIGKILL)
            while process_alive(pid) and time.time() < deadline + 5:
                reap()
                time.sleep(0.1)
    reap()
    if read_status(run_dir).get("state") != states.CANCELLED:
        update_status(run_dir, state=states.CANCELLED, message="cancelled by the user", error=None)
    return read_status(run_dir)


def wait(run_dir, timeout: float = 600.0, poll: float = 0.5) -> dict:
    """Block until the run is no longer active (for the command line and tests)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        reap()
        status = read_status(run_dir)
        if status.get("state") not in states.ACTIVE:
            return status
        time.sleep(poll)
    raise TimeoutError(f"run {Path(run_dir).name} still active after {timeout:.0f} s")


def launch_study(preset: str, data_path=None, artifacts=None, models=None, split="random") -> Path:
    """Start `python -m tomjerry study` in the background; its runs appear one by one. Returns
    the study's log file."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    reap()
    refuse_if_busy(artifacts)
    base = artifacts_dir(artifacts)
    log_path = base / "studies" / f"{time.strftime('%Y%m%d-%H%M%S')}-{preset}-launch.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "tomjerry",
        "study",
        "--preset",
        preset,
        "--artifacts",
        str(base),
        "--split",
        split,
    ]
    if data_path:
        command += ["--data", str(data_path)]
    if models:
        command += ["--models", ",".join(models)]
    start_process(command, log_path)
    return log_path
