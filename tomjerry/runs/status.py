"""status.json: the run's state and progress, written under a lock, and the truth about
liveness read back.

Liveness is a heartbeat: the process that owns a run refreshes `heartbeat` every
HEARTBEAT_SECONDS, so any machine that sees the folder (a shared artifacts folder) can tell a live
run from a dead one. On the host that wrote the pid, a pid check is a faster shortcut.
"""

import os
import socket
import threading
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock

from tomjerry.runs import states
from tomjerry.runs.folder import RunFolder, now, run_folders

HEARTBEAT_SECONDS = 5
# A heartbeat older than this means the process is gone: six missed beats, room for a slow disk.
STALE_SECONDS = 30
# A queued run whose process never recorded itself (a launch that died before starting it).
QUEUED_GRACE_SECONDS = 120
HOST = socket.gethostname()


def update_status(run_dir, state: str | None = None, **fields) -> dict:
    """Read-modify-write status.json under a lock, so the launcher, the heartbeat and the run
    never overwrite each other's fields. A change of state is checked against the transitions
    (ValueError when not allowed)."""
    folder = RunFolder(run_dir)
    with FileLock(folder.file(RunFolder.STATUS_LOCK), timeout=30):
        stored = folder.read_json(RunFolder.STATUS) or {}
        if state is not None:
            current = effective_state(stored) if stored else None
            states.check_transition(current, state)
            fields["state"] = state
        stored.update(fields, updated=now())
        folder.write_json(RunFolder.STATUS, stored)
    return stored


def mark_finished(run_dir, result: dict, **fields) -> dict:
    """The run's status once its scoring is written: finished, nothing left to do, and its test
    scores from `result` (metrics.json's content) for the runs table; `fields` add what the caller
    knows (train_seconds, ...). ValueError from the state transition as update_status."""
    return update_status(
        run_dir,
        state=states.FINISHED,
        finished=now(),
        progress=1.0,
        eta_seconds=0,
        phase=None,
        message=None,
        test_binary_accuracy=result["test"].get("binary_accuracy"),
        test_exact_match=result["test"].get("exact_match_accuracy"),
        **fields,
    )


def set_phase(run_dir, phase: str | None) -> dict:
    """Say what the run is doing between and around its epochs ("reading the frames", "scoring
    the validation, test and challenge frames", ...): the minutes an epoch counter cannot show.
    None when it is done."""
    return update_status(run_dir, phase=phase)


def progress_text(status: dict, metrics: dict | None = None) -> str:
    """One line of where a run is: 'running · epoch 2 of 5', 'running · trial 2 of 3 · epoch 4
    of 40', 'finished · 5 epochs', 'finished · 3 trials; kept trial: 12 epochs (best 9)', or the
    state alone (queued, waiting, failed, ...). A finished run is described from its metrics.json
    (`tuning.trials`, `epochs_run`, `best_epoch`) when given, since a tuned run's status counts no
    epochs of its own."""
    state = status.get("state") or "unknown"
    metrics = metrics or {}
    epoch, epochs = status.get("epoch"), status.get("epochs")
    if state == states.FINISHED:
        tuning = metrics.get("tuning") or {}
        ran = metrics.get("epochs_run") or epoch
        best = metrics.get("best_epoch")
        if tuning.get("trials"):
            kept = f"; kept trial: {ran} epochs" if ran else ""
            if kept and best:
                kept += f" (best {best})"
            return f"{state} · {tuning['trials']} trials{kept}"
        return f"{state} · {ran} epochs" if ran else state
    parts = [state]
    if status.get("trial"):
        parts.append(f"trial {status['trial']} of {status.get('trials', '?')}")
    if state in states.ACTIVE and state != states.RUNNING:
        return " · ".join(parts)
    # Before its first epoch a run is starting, reading frames or extracting features (its phase
    # says which): "epoch 0 of 5" would read as stuck.
    starting = state == states.RUNNING and not epoch and status.get("phase") not in (None, "training")
    if epochs and (state == states.RUNNING or epoch) and not starting:
        parts.append(f"epoch {epoch or 0} of {epochs}")
    return " · ".join(parts)


def process_alive(pid) -> bool:
    """Whether a process of this host is alive (a zombie has exited and is not)."""
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, OverflowError):
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited: it only waits for its parent to read its exit code
        return Path(f"/proc/{int(pid)}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def age_seconds(stamp) -> float:
    """Seconds since an ISO time stamp (infinite when absent or unreadable)."""
    try:
        return (datetime.now(timezone.utc) - datetime.fromisoformat(stamp)).total_seconds()
    except (TypeError, ValueError):
        return float("inf")


def alive(status: dict) -> bool:
    """Whether the process that owns an active run is still there: the pid on its own host,
    the heartbeat anywhere else."""
    if status.get("host") == HOST and status.get("pid"):
        return process_alive(status["pid"])
    if status.get("heartbeat"):
        return age_seconds(status["heartbeat"]) < STALE_SECONDS
    if status.get("pid") and status.get("host") in (None, HOST):  # a launch: pid, no beat yet
        return process_alive(status["pid"])
    return age_seconds(status.get("created")) < QUEUED_GRACE_SECONDS


def effective_state(status: dict) -> str:
    state = status.get("state")
    if state in states.ACTIVE and not alive(status):
        return states.INTERRUPTED
    return state if state in states.ALL else states.UNREADABLE


def read_status(run_dir) -> dict:
    """status.json with the truth applied: an active run whose process is gone reads
    interrupted; a finished run missing any of its files reads incomplete."""
    folder = RunFolder(run_dir)
    status = folder.read_json(RunFolder.STATUS) or {}
    if not isinstance(status, dict) or not status:
        problem = folder.file_problem(RunFolder.STATUS) or f"no readable {RunFolder.STATUS}"
        return {"state": states.UNREADABLE, "error": problem}
    state = effective_state(status)
    if state == states.INTERRUPTED and status["state"] != state:
        status.setdefault("error", None)
        status["error"] = status["error"] or "the run's process ended without finishing (killed or crashed)"
    if state == states.FINISHED:
        missing = folder.missing_for_finished()
        if missing:
            state = states.INCOMPLETE
            status["error"] = f"missing {', '.join(missing)}"
    status["state"] = state
    return status


class Heartbeat:
    """A daemon thread that refreshes the run's heartbeat (and any `extra()` fields) every
    HEARTBEAT_SECONDS while the process lives. Used as a context manager."""

    def __init__(self, run_dir, extra=None, interval: float = HEARTBEAT_SECONDS):
        self.run_dir, self.extra, self.interval = Path(run_dir), extra, interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def beat(self):
        update_status(self.run_dir, heartbeat=now(), host=HOST, pid=os.getpid(), **(self.extra() if self.extra else {}))

    def _beat(self):
        while not self.stopped.wait(self.interval):
            try:
                self.beat()
            except Exception:  # a missed beat must never kill the run; the next one retries
                continue

    def __enter__(self):
        self.beat()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(timeout=self.interval + 5)
        return False


def run_states(artifacts=None) -> dict:
    """run id -> state of every run folder, from status.json alone (no metrics): cheap enough to
    poll, so a page can refresh when a run starts, finishes or stops."""
    return {folder.run_id: read_status(folder.path).get("state") for folder in run_folders(artifacts)}
