"""The run store: one folder per run under <artifacts>/runs/<run_id>/ holding config.json,
split.csv, history.csv, status.json, model.keras, metrics.json and predictions.csv. Every table and
chart in the app is built from these folders.

A run's state is one of queued, running, finished, failed, cancelled, interrupted. A run whose
process has died without saying so reads as interrupted, never as running forever; a folder whose
files are incomplete never reads as finished.
"""

import fcntl
import hashlib
import json
import os
import re
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from tomjerry.atomic import read_json, write_json
from tomjerry.config import RunConfig
from tomjerry.discovery import PROJECT_ROOT

ACTIVE_STATES = ("queued", "running")
REQUIRED_WHEN_FINISHED = ("config.json", "metrics.json", "predictions.csv", "split.csv")
REFERENCE_MARKER = "REFERENCE"  # shipped reference results, shown beside the user's own runs
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def artifacts_dir(path=None) -> Path:
    path = Path(path or os.environ.get("TOMJERRY_ARTIFACTS") or PROJECT_ROOT / "artifacts")
    (path / "runs").mkdir(parents=True, exist_ok=True)
    return path


def runs_dir(artifacts=None) -> Path:
    return artifacts_dir(artifacts) / "runs"


def check_run_id(run_id: str) -> str:
    """Run ids come from the store, but pages and the command line pass them around: refuse any
    that could leave the runs folder (slashes, '..', absolute paths)."""
    if not isinstance(run_id, str) or not RUN_ID.match(run_id) or ".." in run_id:
        raise ValueError(f"invalid run id {run_id!r}: letters, digits, '.', '_' and '-' only")
    return run_id


def run_path(run_id: str, artifacts=None) -> Path:
    base = runs_dir(artifacts).resolve()
    path = (base / check_run_id(run_id)).resolve()
    if path.parent != base:
        raise ValueError(f"run id {run_id!r} leaves the runs folder")
    return path


def new_run_id(config: RunConfig) -> str:
    """Time + model + short hash: generated, never taken from user text."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    digest = hashlib.sha1(f"{json.dumps(config.to_dict())}|{time.time_ns()}|{os.getpid()}".encode())
    return f"{stamp}-{config.model}-{config.variant}-{digest.hexdigest()[:6]}"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def create_run(config: RunConfig, artifacts=None, data_path=None, path=None) -> Path:
    """A new run folder with its config and a queued status. `path` places it explicitly (a
    distributed search's shared folder); otherwise it gets a generated id under artifacts."""
    if path:
        path = Path(path)
        if path.exists() and any(path.iterdir()):
            raise ValueError(f"{path} already holds files: give a new or empty run folder")
        path.mkdir(parents=True, exist_ok=True)
    else:
        path = run_path(new_run_id(config), artifacts)
        path.mkdir(parents=True)
    write_json(path / "config.json", config.to_dict())
    update_status(path, state="queued", created=now(), epoch=0, epochs=config.epochs,
                  data=str(data_path) if data_path else None)
    return path


@contextmanager
def locked(path: Path):
    """An exclusive advisory lock on a file (released when the holder dies, even by SIGKILL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def update_status(run_dir, **fields) -> dict:
    """Read-modify-write status.json under a lock, so the launcher and the run never overwrite
    each other's fields."""
    run_dir = Path(run_dir)
    with locked(run_dir / ".status.lock"):
        status = read_json(run_dir / "status.json", {}) or {}
        status.update(fields, updated=now())
        write_json(run_dir / "status.json", status)
    return status


def process_alive(pid) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited: it only waits for its parent to read its exit code
        return Path(f"/proc/{int(pid)}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def read_status(run_dir) -> dict:
    """status.json with the truth applied: a dead process means interrupted; a 'finished' run
    missing any of its files reads as incomplete."""
    run_dir = Path(run_dir)
    status = read_json(run_dir / "status.json", {}) or {}
    state = status.get("state", "unknown")
    if state in ACTIVE_STATES and status.get("pid") and not process_alive(status["pid"]):
        status["state"] = "interrupted"
        status.setdefault("error", "the run's process ended without finishing (killed or crashed)")
    if state == "queued" and not status.get("pid"):
        created = status.get("created")
        try:
            age = (datetime.now(timezone.utc) - datetime.fromisoformat(created)).total_seconds()
        except (TypeError, ValueError):
            age = 1e9
        if age > 120:  # a launch that never got its process
            status["state"] = "interrupted"
    if status.get("state") == "finished":
        missing = [name for name in REQUIRED_WHEN_FINISHED if not (run_dir / name).is_file()]
        if missing:
            status["state"] = "incomplete"
            status["error"] = f"missing {', '.join(missing)}"
    return status


def read_config(run_dir) -> RunConfig:
    return RunConfig.from_json(Path(run_dir) / "config.json")


def read_metrics(run_dir) -> dict | None:
    return read_json(Path(run_dir) / "metrics.json")


def read_history(run_dir) -> pd.DataFrame:
    path = Path(run_dir) / "history.csv"
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame()
    try:
        return pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError):
        return pd.DataFrame()


def read_predictions(run_dir) -> pd.DataFrame:
    return pd.read_csv(Path(run_dir) / "predictions.csv")


def is_reference(run_dir) -> bool:
    return (Path(run_dir) / REFERENCE_MARKER).is_file()


def model_file(run_dir) -> Path:
    return Path(run_dir) / "model.keras"


def list_run_dirs(artifacts=None) -> list[Path]:
    base = runs_dir(artifacts)
    return sorted((p for p in base.iterdir() if p.is_dir() and RUN_ID.match(p.name)
                   and (p / "config.json").is_file()), reverse=True)


def summary_row(run_dir: Path) -> dict:
    status = read_status(run_dir)
    row = {"run_id": run_dir.name, "state": status.get("state"), "epoch": status.get("epoch"),
           "epochs": status.get("epochs"), "created": status.get("created"),
           "seconds": status.get("train_seconds"), "reference": is_reference(run_dir), "error": status.get("error"),
           "binary_accuracy": None, "exact_match": None, "correct": None, "test_count": None,
           "challenge_correct": None, "challenge_count": None, "challenge_in_training": None}
    try:
        config = read_config(run_dir)
        row.update(label=config.label(), model=config.model, variant=config.variant,
                   image_size=config.image_size, augment=config.augment, split=config.split,
                   split_seed=config.split_seed)
    except ValueError as error:
        row.update(label=f"unreadable config: {error}", model=None, variant=None)
    metrics = read_metrics(run_dir) if row["state"] == "finished" else None
    if metrics:
        test = metrics.get("test", {})
        row.update(binary_accuracy=test.get("binary_accuracy"), exact_match=test.get("exact_match_accuracy"),
                   correct=test.get("correct_predictions"), test_count=test.get("count"),
                   challenge_correct=metrics.get("challenge", {}).get("exact_match_correct"),
                   challenge_count=metrics.get("challenge", {}).get("count"),
                   challenge_in_training=metrics.get("challenge_in_training"))
    return row


def list_runs(artifacts=None) -> pd.DataFrame:
    rows = [summary_row(path) for path in list_run_dirs(artifacts)]
    return pd.DataFrame(rows)


def active_runs(artifacts=None) -> list[Path]:
    return [p for p in list_run_dirs(artifacts) if read_status(p).get("state") in ACTIVE_STATES]


def ship_reference(run_dir, artifacts=None, keep_model: bool = False) -> Path:
    """Copy a finished run into <artifacts>/runs/ref-<run_id>/ as shipped reference results:
    every table file, no tuner checkpoints, and the model only when asked (re-saved without the
    optimizer's state, which halves its size). The REFERENCE marker tells the app what it is."""
    import shutil

    run_dir = Path(run_dir)
    status = read_status(run_dir)
    if status.get("state") != "finished":
        raise ValueError(f"run {run_dir.name} is {status.get('state')}, not finished")
    name = run_dir.name if run_dir.name.startswith("ref-") else f"ref-{run_dir.name}"
    dest = run_path(name, artifacts)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for item in run_dir.iterdir():
        if item.is_file() and item.name not in ("model.keras", "log.txt", ".status.lock") and not item.name.startswith("."):
            shutil.copy2(item, dest / item.name)
    if (run_dir / "tuner_history").is_dir():
        shutil.copytree(run_dir / "tuner_history", dest / "tuner_history")
    if keep_model:
        from tomjerry.atomic import copy_into_place
        from tomjerry.predict import load_model

        model = load_model(run_dir)
        copy_into_place(dest / "model.keras", lambda tmp: model.save(tmp))
    (dest / REFERENCE_MARKER).write_text(
        "Shipped reference results, trained on the real dataset; shown beside your own runs.\n")
    return dest
