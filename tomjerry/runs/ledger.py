"""The test-set ledger: how many runs have been scored on the same test frames.

Every look at a test set's score can steer the next choice (a preset, a rule, a rate), so a test set
scored 24 times is no longer a clean estimate of new footage. Each time a run is scored on a split's
test frames, `record_scoring` appends a line to `<artifacts>/test_ledger.jsonl` (under a file lock,
the file replaced atomically). `test_set_scorings` counts, per finished run, the distinct runs scored
on its test frames: the ledger's lines together with the finished run folders that hash the same
(so the shipped runs, scored before the ledger existed, count too, and a deleted run still counts).
`python -m tomjerry evaluate RUN_DIR` records its scoring as `<run_id>@evaluate`: one more look at
those test frames, counted once however often the same run is evaluated again.

A test set is named by `test_set_sha256`: the sha256 of its sorted test file names, one a line,
so two splits that differ only in training and validation frames share a test set. The dataset's
fingerprint is kept beside it, as file names repeat across datasets.
"""

import hashlib
import json
import unicodedata
from functools import lru_cache
from pathlib import Path

import pandas as pd
from filelock import FileLock

from tomjerry.atomic import write_text
from tomjerry.runs.folder import RunFolder, now

LEDGER = "test_ledger.jsonl"
LEDGER_LOCK = ".test_ledger.lock"


def test_set_sha256(test_filenames) -> str:
    """sha256 (hex) of the test frames' names: NFC-normalised, sorted, one a line (UTF-8)."""
    names = sorted(unicodedata.normalize("NFC", str(name)) for name in test_filenames)
    if not names:
        raise ValueError("a test set needs at least one frame")
    return hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()


@lru_cache(maxsize=512)
def _split_file_test_sha256(path: str, modified: int, size: int) -> str | None:
    try:
        split = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.EmptyDataError):
        return None
    if not {"filename", "split"} <= set(split.columns) or not (split.split == "test").any():
        return None
    return test_set_sha256(split.filename[split.split == "test"])


def run_test_sha256(folder: RunFolder) -> str | None:
    """The test-set hash of a run folder's split.csv (None when it has none); cached per file version."""
    path = folder.file(RunFolder.SPLIT)
    try:
        stat = path.stat()
    except OSError:
        return None
    return _split_file_test_sha256(str(path), stat.st_mtime_ns, stat.st_size)


def ledger_path(artifacts) -> Path:
    return Path(artifacts) / LEDGER


def read_ledger(artifacts) -> list[dict]:
    """The ledger's entries (run_id, test_sha256, dataset_fingerprint, frames, scored), oldest
    first; a torn or foreign line is skipped."""
    path = ledger_path(artifacts)
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and entry.get("run_id") and entry.get("test_sha256"):
            entries.append(entry)
    return entries


def record_run_scoring(
    folder: RunFolder, predictions, dataset_fingerprint: str | None, scoring_id: str | None = None
) -> str | None:
    """Record a scoring of the run in `folder` (its predictions table: a `split` and a `filename`
    column) in the ledger of the artifacts folder that holds it (<artifacts>/runs/<run_id>), under
    `scoring_id` (default: the run's id). Returns the id recorded, or None for a run folder that is
    not inside an artifacts folder's runs/ (it has no ledger)."""
    path = folder.path.resolve()
    if path.parent.name != "runs":
        return None
    test = predictions.filename[(predictions.split == "test").to_numpy()]
    scoring_id = scoring_id or folder.run_id
    record_scoring(path.parent.parent, scoring_id, test, dataset_fingerprint)
    return scoring_id


def record_scoring(artifacts, run_id: str, test_filenames, dataset_fingerprint: str | None) -> dict:
    """Append that run `run_id` was scored on these test frames; returns the entry. Safe for
    several processes: the read-append-replace happens under LEDGER_LOCK."""
    names = list(test_filenames)
    entry = {
        "run_id": run_id,
        "test_sha256": test_set_sha256(names),
        "dataset_fingerprint": dataset_fingerprint,
        "frames": len(names),
        "scored": now(),
    }
    artifacts = Path(artifacts)
    artifacts.mkdir(parents=True, exist_ok=True)
    with FileLock(str(artifacts / LEDGER_LOCK), timeout=60):
        path = ledger_path(artifacts)
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        if text and not text.endswith("\n"):
            text += "\n"
        write_text(path, text + json.dumps(entry, sort_keys=True) + "\n")
    return entry


def test_set_scorings(runs, artifacts=None) -> dict:
    """run_id -> how many distinct runs have been scored on that finished run's test frames (of the
    same dataset), itself included; None for a run whose split cannot be read. `runs`: Run records;
    `artifacts`: the folder whose ledger to add (default: the first run's artifacts folder)."""
    # (dataset fingerprint, test frames' sha256) of each run (None: unreadable split), and the runs
    # scored on each such test set.
    keys: dict[str, tuple[str | None, str] | None] = {}
    counted: dict[tuple[str | None, str], set[str]] = {}
    for run in runs:
        if not run.finished:
            continue
        sha = run_test_sha256(run.folder)
        key = None if sha is None else (run.dataset.get("fingerprint"), sha)
        keys[run.run_id] = key
        if key is not None:
            counted.setdefault(key, set()).add(run.run_id)
    folders = {Path(artifacts)} if artifacts is not None else {run.path.parent.parent for run in runs}
    for folder in folders:
        for entry in read_ledger(folder):
            key = (entry.get("dataset_fingerprint"), entry["test_sha256"])
            if key in counted:
                counted[key].add(entry["run_id"])
    return {run_id: None if key is None else len(counted[key]) for run_id, key in keys.items()}


def scorings_sentence(count: int | None) -> str:
    """'this test set has been scored 24 times' (the cost of reusing a test set, said with every score)."""
    if not count:
        return "how often this test set has been scored is unknown"
    return "this test set has been scored once" if count == 1 else f"this test set has been scored {count} times"
