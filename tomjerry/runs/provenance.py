"""What made a run, recorded in its folder (provenance.json): the dataset, the split, the preset,
the package versions, the git commit and the hardware. Two runs are comparable only when their
dataset fingerprints (tomjerry.data.dataset.dataset_fingerprint, and, for paired tests, their split
digests) agree."""

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd

from tomjerry.data.splits import SPLIT_KINDS
from tomjerry.paths import PROJECT_ROOT

PACKAGES = ("tensorflow", "keras", "keras-tuner", "numpy")


def split_record(config, split_sha256: str | None, split: pd.Series) -> dict:
    kind = config.split if config.split in SPLIT_KINDS else "file"
    record = {
        "kind": kind,
        "seed": config.split_seed if kind != "file" else None,
        "exclude_challenges": config.exclude_challenges,
        "sha256": split_sha256,
        "sizes": {part: int((split == part).sum()) for part in ("train", "val", "test")},
    }
    if kind == "blocked":
        record["block_frames"] = config.block_frames
    if kind == "file":
        record["file"] = config.split
    return record


def package_versions() -> dict:
    versions: dict[str, str | None] = {"python": platform.python_version()}  # None: not installed
    for name in PACKAGES:
        found = None
        for candidate in (name, f"{name}-cpu") if name == "tensorflow" else (name,):
            try:
                found = metadata.version(candidate)
                break
            except metadata.PackageNotFoundError:
                continue
        versions[name] = found
    return versions


def git_commit(root=PROJECT_ROOT) -> dict | None:
    """{"commit": 40 hex digits, "dirty": whether tracked files had changes} of the git checkout
    whose top folder is `root`; None (provenance.json: null) where the commit is unknown: a source
    archive without .git, no git program, or `root` inside some other repository, whose commit
    would say nothing about this code."""
    try:
        found = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--show-toplevel", "HEAD"], capture_output=True, text=True, timeout=5
        )
        lines = found.stdout.splitlines()
        if found.returncode or len(lines) != 2 or Path(lines[0]).resolve() != Path(root).resolve():
            return None
        commit = lines[1].strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return {"commit": commit, "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(gpus: list[str], replicas: int) -> dict:
    """`gpus`: the visible GPU names (the training process asks TensorFlow)."""
    return {
        "host": platform.node(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "gpus": list(gpus),
        "replicas": int(replicas),
    }


def provenance(config, dataset: dict, split: dict, gpus: list[str], replicas: int) -> dict:
    return {
        "dataset": dataset,
        "split": split,
        "preset": config.preset,
        "versions": package_versions(),
        "git": git_commit(),
        "hardware": hardware(gpus, replicas),
    }
