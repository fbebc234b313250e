"""Atomic file writes: a reader never sees a half-written file, and a crash mid-write leaves the
previous version in place."""

import json
import os
import signal
import tempfile
from collections import Counter
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np
import pandas as pd

# Kill points: TOMJERRY_KILL_AT=NAME makes this process SIGKILL itself the first time it reaches the
# point NAME (NAME@K: the K-th time). Only the kill-point test sets it (tests/test_kill_points.py):
# it stops a run at every step of an epoch's end, deterministically, where sending a signal after a
# delay would hit a different step on every machine. Unset, a point costs one environment lookup.
KILL_AT = "TOMJERRY_KILL_AT"
_reached: Counter = Counter()


def kill_point(name: str) -> None:
    """SIGKILL this process here when TOMJERRY_KILL_AT names this point (see KILL_AT)."""
    wanted = os.environ.get(KILL_AT)
    if not wanted:
        return
    point, _, count = wanted.partition("@")
    if point != name:
        return
    _reached[name] += 1
    if _reached[name] == int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def _file_mode() -> int:
    # mkstemp creates 0600 files; give the renamed file the mode a plain open() would have.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_with(path, write: Callable[[BinaryIO], object]) -> Path:
    """The one write-and-replace sequence: write(handle) fills a temporary file beside `path`
    (same folder, so the rename stays on one file system), which is flushed to disk, given the
    mode a plain open() would give and renamed over `path` in one step. On any error, an
    interrupt included, the temporary file is removed and `path` keeps its previous version."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _file_mode())
        kill_point(f"replace:{path.name}")  # the new version on disk, not yet in place
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_bytes(path, data: bytes) -> Path:
    return write_with(path, lambda handle: handle.write(data))


def write_text(path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path, obj) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def write_csv(path, frame: pd.DataFrame) -> Path:
    return write_text(path, frame.to_csv(index=False))


def write_npy(path, array: np.ndarray) -> Path:
    return write_with(path, lambda handle: np.save(handle, array, allow_pickle=False))


def copy_into_place(path, produce) -> Path:
    """Call produce(tmp_path) to write a file (for writers that want a file name, like
    model.save), then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        produce(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_json(path, default=None):
    """The file's JSON value, or `default` when it is absent or cannot be read as JSON: torn, random
    bytes (UnicodeDecodeError), a folder in its place, a symlink loop, no permission (all OSError)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return default


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")
