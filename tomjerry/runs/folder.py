"""One run folder, `<artifacts>/runs/<run_id>/`: the name of every file in it, the run id
rules, and the readers and writers of its files. Every JSON file written here carries
`schema_version`, so a folder written by another version of tomjerry is read or refused with a
reason."""

import hashlib
import json
import os
import re
import stat
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from tomjerry.atomic import read_json, write_csv, write_json
from tomjerry.config import RunConfig
from tomjerry.paths import PROJECT_ROOT

# 1: folders before this field existed (no provenance); 2: provenance.json, heartbeat, waiting.
SCHEMA_VERSION = 2
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RunFolder:
    """The files of one run. Names are constants here and nowhere else."""

    CONFIG = "config.json"  # the frozen RunConfig
    STATUS = "status.json"  # state, progress, heartbeat, pid, host
    SPLIT = "split.csv"  # filename, split
    HISTORY = "history.csv"  # one row per finished epoch
    METRICS = "metrics.json"  # the evaluation
    PREDICTIONS = "predictions.csv"  # validation, test and challenge rows with both probabilities
    PROVENANCE = "provenance.json"  # dataset, split, versions, commit, hardware
    INFERENCE = "inference.json"  # the inference recipe: input size, shape rule, TTA, threshold
    NOVELTY = "novelty.npz"  # the out-of-distribution reference: training features' statistics
    MODEL = "model.keras"
    ERROR = "error.txt"  # the traceback of a failed run
    LOG = "log.txt"  # a background run's output
    REFERENCE = "REFERENCE"  # marker of the shipped reference results
    TRIALS = "trials.csv"  # tuning: one row per trial
    BEST_HYPERPARAMETERS = "best_hyperparameters.json"
    TUNER = "tuner"  # Keras Tuner's own folder (resumes a search)
    TUNER_HISTORY = "tuner_history"  # tuning: trial_<id>.csv per trial
    BACKUP = "backup"  # Keras BackupAndRestore: resumes a training run
    BEST_WEIGHTS = "best.weights.h5"  # the epoch with the lowest validation loss so far
    STATUS_LOCK = ".status.lock"

    REQUIRED_WHEN_FINISHED = (CONFIG, METRICS, PREDICTIONS, SPLIT)
    # What the pages read from a finished run besides its metrics: a broken one degrades the run
    # (named in its error) without making it unfinished.
    READ_BY_PAGES = (HISTORY, PROVENANCE, INFERENCE, NOVELTY)
    # predictions.csv's columns every reader needs (scoring writes `challenge` and `shot` too).
    PREDICTION_COLUMNS = ("filename", "split", "tom", "jerry", "p_tom", "p_jerry")

    def __init__(self, path):
        self.path = Path(path)

    def __repr__(self):
        return f"RunFolder({str(self.path)!r})"

    @property
    def run_id(self) -> str:
        return self.path.name

    def file(self, name: str) -> Path:
        return self.path / name

    def trial_history(self, trial_id) -> Path:
        return self.path / self.TUNER_HISTORY / f"trial_{trial_id}.csv"

    # JSON files carry the schema version they were written with.
    def write_json(self, name: str, values: dict) -> Path:
        return write_json(self.file(name), {"schema_version": SCHEMA_VERSION, **values})

    def read_json(self, name: str) -> dict | None:
        """The file's object without its schema_version, or None when absent or torn."""
        values = read_json(self.file(name))
        if isinstance(values, dict):
            values = dict(values)
            values.pop("schema_version", None)
        return values

    def schema_version(self) -> int:
        """The version the folder was written with (1 for folders older than the field)."""
        for name in (self.STATUS, self.CONFIG):
            values = read_json(self.file(name))
            if isinstance(values, dict) and "schema_version" in values:
                return int(values["schema_version"])
        return 1

    def write_config(self, config: RunConfig) -> Path:
        return self.write_json(self.CONFIG, config.to_dict())

    def read_config(self) -> RunConfig:
        """The run's config; ValueError saying why when it cannot be read."""
        try:
            values = json.loads(self.file(self.CONFIG).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"cannot read {self.CONFIG}: {error}") from None
        if not isinstance(values, dict):
            raise ValueError(f"{self.CONFIG} does not hold a JSON object")
        values.pop("schema_version", None)
        return RunConfig.from_dict(values)

    def read_metrics(self) -> dict | None:
        return self.read_json(self.METRICS)

    def write_metrics(self, metrics: dict) -> Path:
        return self.write_json(self.METRICS, metrics)

    def read_provenance(self) -> dict:
        return self.read_json(self.PROVENANCE) or {}

    def file_problem(self, name: str) -> str | None:
        """Why a file that is there cannot be read, in words: a folder in its place, a symlink loop
        or a link to nothing, no permission, empty. None when it is absent or a readable, non-empty
        regular file. Costs a stat and an access check, no read."""
        path = self.file(name)
        try:
            info = path.stat()
        except FileNotFoundError:
            return f"{name} is a link to nothing" if path.is_symlink() else None
        except OSError as error:  # ELOOP for a symlink loop, EACCES for a folder we may not enter
            return f"{name} cannot be opened ({error.strerror or error})"
        if stat.S_ISDIR(info.st_mode):
            return f"{name} is a folder, not a file"
        if not stat.S_ISREG(info.st_mode):
            return f"{name} is not a regular file"
        if not os.access(path, os.R_OK):
            return f"{name} cannot be read (permission denied)"
        if info.st_size == 0:
            return f"{name} is empty"
        return None

    def json_problem(self, name: str) -> str | None:
        """file_problem, or that a present file does not hold a JSON object; None when absent or sound."""
        problem = self.file_problem(name)
        if problem or not self.file(name).exists():
            return problem
        return None if isinstance(read_json(self.file(name)), dict) else f"{name} does not hold a JSON object"

    def read_history(self) -> pd.DataFrame:
        """history.csv, one row per finished epoch with an `epoch` column; an empty frame when it
        is absent or cannot be read (the learning curves then say there is none)."""
        path = self.file(self.HISTORY)
        if self.file_problem(self.HISTORY) or not path.is_file():
            return pd.DataFrame()
        try:
            history = pd.read_csv(path)
        except (OSError, UnicodeDecodeError, ValueError, pd.errors.EmptyDataError, pd.errors.ParserError):
            return pd.DataFrame()
        if "epoch" not in history or not pd.api.types.is_numeric_dtype(history.epoch):
            return pd.DataFrame()  # random bytes parse as a CSV of one odd column
        return history

    def write_history(self, history: pd.DataFrame) -> Path:
        return write_csv(self.file(self.HISTORY), history)

    def predictions_problem(self, columns=("filename", "split")) -> str | None:
        """Why predictions.csv cannot be used, from a stat and its first line (cheap enough for
        every run on every page): absent, not a readable file, or a header without `columns`
        (random bytes have none). None when it looks sound; read_predictions checks the rest."""
        problem = self.file_problem(self.PREDICTIONS)
        if problem:
            return problem
        try:
            with open(self.file(self.PREDICTIONS), encoding="utf-8") as handle:
                header = handle.readline(4096)
        except FileNotFoundError:
            return f"no {self.PREDICTIONS}"
        except (OSError, UnicodeDecodeError) as error:
            return f"{self.PREDICTIONS} cannot be read ({type(error).__name__})"
        missing = [column for column in columns if column not in header.strip().split(",")]
        if missing:
            return f"{self.PREDICTIONS} lacks the columns {', '.join(missing)}"
        # A CSV the scoring wrote ends its last row with a newline; a copy cut short (a full disk, an
        # interrupted download) ends inside a row. One byte read, so every page can afford it.
        with open(self.file(self.PREDICTIONS), "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                return f"{self.PREDICTIONS} is cut short (its last row is incomplete)"
        return None

    def read_predictions(self) -> pd.DataFrame:
        """predictions.csv: one row per scored frame with PREDICTION_COLUMNS. ValueError naming the
        file when it cannot be read, lacks a column or has a row cut short (a truncated copy)."""
        problem = self.predictions_problem(self.PREDICTION_COLUMNS)
        if problem:
            raise ValueError(problem)
        try:
            predictions = pd.read_csv(self.file(self.PREDICTIONS))
        except (OSError, UnicodeDecodeError, pd.errors.EmptyDataError, pd.errors.ParserError) as error:
            raise ValueError(f"{self.PREDICTIONS} cannot be read ({type(error).__name__})") from None
        numbers = predictions[["tom", "jerry", "p_tom", "p_jerry"]]
        if not all(pd.api.types.is_numeric_dtype(numbers[column]) for column in numbers) or numbers.isna().any().any():
            raise ValueError(f"{self.PREDICTIONS} is damaged: rows without their labels or probabilities (cut short?)")
        return predictions

    def write_predictions(self, predictions: pd.DataFrame) -> Path:
        return write_csv(self.file(self.PREDICTIONS), predictions)

    def split_sha256(self) -> str | None:
        path = self.file(self.SPLIT)
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:  # absent, a folder, a symlink loop, no permission: no split file to name
            return None

    @property
    def model_path(self) -> Path:
        return self.file(self.MODEL)

    @classmethod
    def model_file(cls, path) -> Path:
        """A run folder's model.keras, or the .keras file given (the run layout stays in this class:
        tomjerry.models.files loads a file and knows no run folder)."""
        path = Path(path)
        return cls(path).model_path if path.is_dir() else path

    def is_reference(self) -> bool:
        return self.file(self.REFERENCE).is_file()

    def missing_for_finished(self) -> list[str]:
        """What a finished run lacks, in words: 'metrics.json', 'split.csv (a folder, not a file)'."""
        missing = []
        for name in self.REQUIRED_WHEN_FINISHED:
            problem = self.file_problem(name)
            if problem:
                missing.append(f"{name} ({problem.removeprefix(name).strip()})")
            elif not self.file(name).is_file():
                missing.append(name)
        return missing

    def degraded(self) -> list[str]:
        """Why files the pages read from a finished run cannot be read (READ_BY_PAGES, and the
        predictions' header): each a phrase naming the file. Empty when all are sound or absent."""
        problems = [
            self.json_problem(name) if name.endswith(".json") else self.file_problem(name)
            for name in self.READ_BY_PAGES
        ]
        return [problem for problem in problems if problem]


def artifacts_dir(path=None) -> Path:
    """`path`, else $TOMJERRY_ARTIFACTS, else artifacts/ in the project; runs/ is created.
    ValueError naming the folder when it cannot be used (a file, a symlink loop, no permission)."""
    path = Path(path or os.environ.get("TOMJERRY_ARTIFACTS") or PROJECT_ROOT / "artifacts")
    try:
        (path / "runs").mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"the artifacts folder {path} cannot be used: {error.strerror or error}") from None
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
    """Time + model + variant + short hash: generated, never taken from user text."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    digest = hashlib.sha1(f"{json.dumps(config.to_dict())}|{time.time_ns()}|{os.getpid()}".encode())
    return f"{stamp}-{config.model}-{config.variant}-{digest.hexdigest()[:6]}"


def run_folders(artifacts=None) -> list[RunFolder]:
    """Every folder under runs/ with a valid run id, newest id first. Folders that are not runs
    (no config, foreign files) are included: the record says what is wrong with them."""
    base = runs_dir(artifacts)
    try:
        entries = sorted(base.iterdir(), reverse=True)
    except OSError as error:
        raise ValueError(f"the runs folder {base} cannot be read: {error.strerror or error}") from None
    # An entry that cannot even be stat-ed (no permission on it) is still listed: its record says why.
    return [RunFolder(p) for p in entries if RUN_ID.match(p.name) and not p.name.startswith(".") and _folder_like(p)]


def _folder_like(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return True


# Locks of a runs folder (beside the run folders): one launch at a time, one training at a time.
LAUNCH_LOCK = ".launch.lock"
TRAINING_LOCK = ".training.lock"
TRAINING_LOCK_HOLDER = ".training.lock.holder"  # the run id holding the training lock, for messages
