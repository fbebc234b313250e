"""`Run`: one run folder read once (config, status, metrics, provenance). Reading never raises
for what is in the folder: a broken, foreign or newer folder becomes a run in state
`unreadable` with its reason, so no page or command fails on one bad folder."""

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from tomjerry.config import RunConfig, changes_from_preset
from tomjerry.data.decoding import size_text
from tomjerry.data.discovery import is_demo_dataset
from tomjerry.data.splits import SPLIT_KINDS, UNTOUCHED_SEED
from tomjerry.models.files import check_readable
from tomjerry.models.specs import SPECS
from tomjerry.runs import states
from tomjerry.runs.folder import SCHEMA_VERSION, RunFolder, run_folders
from tomjerry.runs.status import read_status


@dataclass(frozen=True)
class Run:
    folder: RunFolder
    state: str
    error: str | None = None
    config: RunConfig | None = None
    status: dict = field(default_factory=dict)
    metrics: dict | None = None
    provenance: dict = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @property
    def run_id(self) -> str:
        return self.folder.run_id

    @property
    def path(self) -> Path:
        return self.folder.path

    @property
    def reference(self) -> bool:
        return self.folder.is_reference()

    @property
    def finished(self) -> bool:
        return self.state == states.FINISHED

    @cached_property  # read once per record: the runs table asks for it and for has_model
    def model_error(self) -> str | None:
        """Why the run's model.keras cannot be used (a Git LFS pointer, truncated, not a Keras
        archive), found from the file's first bytes and zip directory; None when it looks sound
        or there is none."""
        problem = self.folder.file_problem(RunFolder.MODEL)  # a folder, a symlink loop, no permission
        if problem:
            return problem
        if not self.folder.model_path.is_file():
            return None
        try:
            check_readable(self.folder.model_path)
        except ValueError as error:
            return str(error)
        except OSError as error:  # it changed between the checks: unreadable all the same
            return f"{RunFolder.MODEL} cannot be read ({error.strerror or error})"
        return None

    @property
    def has_model(self) -> bool:
        """A finished run with a model file that can be loaded."""
        return self.finished and self.folder.model_path.is_file() and self.model_error is None

    @property
    def dataset(self) -> dict:
        """name, demo, fingerprint (None when unknown), path, images. Folders older than
        provenance.json say what they can from metrics.json or status.json."""
        if self.provenance.get("dataset"):
            return self.provenance["dataset"]
        legacy = (self.metrics or {}).get("dataset") or {}
        path = legacy.get("path") or self.status.get("data")
        demo = legacy.get("demo", self.status.get("demo"))
        if demo is None and path is not None:
            # A queued or waiting run has not said yet whether its data is the demo set: the
            # folder's marker does, so the name stays "demo" from launch to finish (not "demo-v1").
            demo = is_demo_dataset(path)
        name = "unknown" if path is None else ("demo" if demo else Path(path).name)
        # A run launched from the dashboard records its dataset's fingerprint in status.json at
        # once, so it is listed with that dataset's runs before it writes provenance.json.
        return {
            "name": name,
            "demo": demo,
            "fingerprint": self.status.get("dataset_fingerprint"),
            "path": path,
            "images": legacy.get("images"),
        }

    @property
    def untouched(self) -> bool:
        """Whether the run is on the untouched split (shots, tomjerry.data.splits.UNTOUCHED_SEED):
        scored apart and never chosen on."""
        split = self.split
        return split.get("kind") == "shots" and split.get("seed") == UNTOUCHED_SEED

    @property
    def split(self) -> dict:
        """kind, seed and, where recorded, the split file's sha256 and the sizes per side."""
        if self.provenance.get("split"):
            return self.provenance["split"]
        if self.config is None:
            return {"kind": None, "seed": None, "sha256": None}
        kind = self.config.split if self.config.split in SPLIT_KINDS else "file"
        return {
            "kind": kind,
            "seed": self.config.split_seed if kind != "file" else None,
            "sha256": self.folder.split_sha256(),
        }

    @property
    def test(self) -> dict:
        return (self.metrics or {}).get("test") or {}

    @property
    def preset(self) -> str | None:
        return self.config.preset if self.config else self.provenance.get("preset")

    def label(self) -> str:
        """Model, variant (or preset), split with seed, image size and TTA, e.g.
        'efficientnet_lite0 lite0-best · blocked 42 · 224 px · TTA'."""
        if self.config is None:
            return f"unreadable run {self.run_id}"
        split = self.split
        split_text = split["kind"] if split.get("seed") is None else f"{split['kind']} {split['seed']}"
        name, *rest = self._setting_parts(self.config)
        return " · ".join([name, split_text, *rest])

    def setting(self) -> str:
        """The label without the split: what was trained, whichever split it was tested on
        (runs of one setting on several split seeds are averaged under this name)."""
        if self.config is None:
            return f"unreadable run {self.run_id}"
        return " · ".join(self._setting_parts(self.config))

    def _setting_parts(self, config: RunConfig) -> list[str]:
        # A preset run with options changed is another setting: "lite1-best, label_smoothing 0.1".
        changed = ", ".join(f"{key} {value}" for key, value in changes_from_preset(config).items())
        name = f"{config.model} {config.preset or config.variant}" + (f", {changed}" if changed else "")
        parts = [name, size_text(config.input_shape)]
        if config.tta:
            parts.append("TTA")
        if len(config.tta_scales) > 1:
            parts.append(f"{len(config.tta_scales)} scales")
        if config.weights == "none" and SPECS[config.model].pretrained:
            parts.append("random init")
        return parts


def unreadable(folder: RunFolder, reason: str, **known) -> Run:
    return Run(folder, states.UNREADABLE, error=reason, **known)


def read_run(path) -> Run:
    """The run in `path`, never an exception for its content."""
    folder = RunFolder(path)
    if not os.access(folder.path, os.R_OK | os.X_OK):
        return unreadable(folder, "the run folder cannot be read (permission denied)")
    try:
        version = folder.schema_version()
        if version > SCHEMA_VERSION:
            return unreadable(
                folder,
                f"written by a newer tomjerry (schema {version}; this one reads up to {SCHEMA_VERSION})",
                schema_version=version,
            )
        problem = folder.file_problem(RunFolder.CONFIG)
        if problem:
            return unreadable(folder, problem, schema_version=version)
        if not folder.file(RunFolder.CONFIG).is_file():
            return unreadable(folder, f"not a run folder: no {RunFolder.CONFIG}", schema_version=version)
        status = read_status(path)
        try:
            config = folder.read_config()
        except (ValueError, TypeError) as error:
            return unreadable(folder, f"{RunFolder.CONFIG}: {error}", status=status, schema_version=version)
        # read_status always sets the state (unreadable when status.json is).
        state, reason = status["state"], status.get("error")
        metrics = None
        if state == states.FINISHED:
            metrics = folder.read_metrics()
            if not isinstance(metrics, dict):
                problem = folder.file_problem(RunFolder.METRICS)
                state, reason = states.INCOMPLETE, problem or f"{RunFolder.METRICS} cannot be read"
            elif problem := folder.predictions_problem():
                # Compare, Grad-CAM and the report read the predictions of every finished run.
                state, reason = states.INCOMPLETE, problem
            else:
                # Still finished (its numbers come from metrics.json), but what the pages read
                # besides may be broken: said in its error, and each page that reads it says why.
                reason = "; ".join(folder.degraded()) or None
        provenance = folder.read_provenance()
        return Run(folder, state, reason, config, status, metrics, provenance, version)
    except (OSError, ValueError, TypeError, KeyError, json.JSONDecodeError) as error:
        return unreadable(folder, f"{type(error).__name__}: {error}")


def read_runs(artifacts=None) -> list[Run]:
    """Every run folder of an artifacts folder, newest first (by creation time, then id)."""
    runs = [read_run(folder.path) for folder in run_folders(artifacts)]
    return sorted(runs, key=lambda run: (str(run.status.get("created") or ""), run.run_id), reverse=True)
