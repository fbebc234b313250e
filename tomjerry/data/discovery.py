"""Where the dataset comes from: an explicit path, $TOMJERRY_DATA, data/tom_and_jerry in the
project, ../shared/datasets/tom_and_jerry, the kagglehub cache, else the embedded demo data."""

import os
from dataclasses import dataclass
from pathlib import Path

from tomjerry.data.demo import DEMO_MARKER, ensure_demo_dataset
from tomjerry.paths import PROJECT_ROOT

KAGGLE_HANDLE = "balabaskar/tom-and-jerry-image-classification"


@dataclass(frozen=True)
class DataSource:
    path: Path
    origin: str  # "argument", "TOMJERRY_DATA", "project data/", "shared", "kagglehub cache", "demo"
    is_demo: bool

    def describe(self) -> str:
        if self.is_demo:
            return f"DEMO DATA (generated, not the real frames) at {self.path}"
        return f"{self.path} (from {self.origin})"


def looks_like_dataset(path) -> bool:
    return (Path(path) / "ground_truth.csv").is_file()


def is_demo_dataset(path) -> bool:
    # The generator leaves this marker so demo data is labelled as such wherever it is read from.
    return (Path(path) / DEMO_MARKER).is_file()


def kagglehub_cache_candidates() -> list[Path]:
    """Folders kagglehub downloads this dataset into (its default cache layout)."""
    base = Path(os.environ.get("KAGGLEHUB_CACHE", Path.home() / ".cache" / "kagglehub"))
    versions = base / "datasets" / KAGGLE_HANDLE / "versions"
    if not versions.is_dir():
        return []
    numbered = [p for p in versions.iterdir() if p.name.isdigit()]
    return sorted(numbered, key=lambda p: int(p.name), reverse=True)


def candidates(explicit=None, use_environment: bool = True) -> list[tuple[Path, str]]:
    found = []
    if explicit:
        found.append((Path(explicit), "argument"))
    if use_environment and os.environ.get("TOMJERRY_DATA"):
        found.append((Path(os.environ["TOMJERRY_DATA"]), "TOMJERRY_DATA"))
    found.append((PROJECT_ROOT / "data" / "tom_and_jerry", "project data/"))
    found.append((PROJECT_ROOT.parent / "shared" / "datasets" / "tom_and_jerry", "shared"))
    found.extend((p, "kagglehub cache") for p in kagglehub_cache_candidates())
    return found


def find_dataset(explicit=None, allow_demo=True, use_environment: bool = True) -> DataSource:
    """The first dataset found in the documented order. A path the user named (the argument, or
    $TOMJERRY_DATA when there is no argument) that does not hold a dataset is a ValueError, never
    a silent fall back to another one; `use_environment=False` skips $TOMJERRY_DATA (the app's
    fall back after showing that error)."""
    if explicit and not looks_like_dataset(explicit):
        raise ValueError(
            f"No dataset at {explicit}: expected a folder with ground_truth.csv "
            "(run `python -m tomjerry download` to fetch the real one)."
        )
    environment = os.environ.get("TOMJERRY_DATA") if use_environment else None
    if not explicit and environment and not looks_like_dataset(environment):
        raise ValueError(
            f"$TOMJERRY_DATA is {environment}, which holds no dataset (no ground_truth.csv there): "
            "point it at the dataset folder or unset it (`python -m tomjerry download` fetches the real one)."
        )
    for path, origin in candidates(explicit, use_environment):
        if looks_like_dataset(path):
            return DataSource(path.resolve(), origin, is_demo=is_demo_dataset(path))
    if not allow_demo:
        raise ValueError("No real dataset found; run `python -m tomjerry download`.")
    return DataSource(ensure_demo_dataset(), "demo", is_demo=True)
