"""Where the project and its cache live (a leaf: every other module may import it)."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """$TOMJERRY_CACHE, else ~/.cache/tomjerry: decoded frame arrays, converted weights, demo data."""
    path = Path(os.environ.get("TOMJERRY_CACHE", Path.home() / ".cache" / "tomjerry"))
    path.mkdir(parents=True, exist_ok=True)
    return path
