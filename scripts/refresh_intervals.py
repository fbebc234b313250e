"""Give every shipped run the interval the pages compute: runs scored before the studentized
cluster bootstrap (tomjerry.metrics.stats.cluster_interval) hold percentile intervals in their
metrics.json, which covered 87-93 % in simulation, so a table read from the file and a sentence
computed from predictions.csv showed two intervals for one number. This recomputes, from each
run's own predictions.csv at the threshold each part was scored at, the interval fields of its
`test`, `challenge`, `validation` and `test_at_validation_threshold` parts (binary_accuracy_ci95,
exact_match_ci95, interval_groups, interval) and nothing else: every point estimate is checked
to be unchanged first (ValueError otherwise), and the file is replaced atomically.

    .venv/bin/python scripts/refresh_intervals.py [ARTIFACTS]   (default: artifacts)

Prints one line per run it changed; a second pass changes nothing.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tomjerry.metrics.evaluation import metrics  # noqa: E402
from tomjerry.runs.folder import RunFolder  # noqa: E402

FIELDS = ("binary_accuracy_ci95", "exact_match_ci95", "interval_groups", "interval")


def rows_of(predictions: pd.DataFrame, part: str) -> pd.DataFrame:
    if part == "challenge":
        return predictions[predictions.challenge.astype(bool)]
    return predictions[predictions.split == ("val" if part == "validation" else "test")]


def refresh(folder: RunFolder) -> list[str]:
    """The parts of this run whose intervals were replaced ([] when all were studentized)."""
    result = folder.read_metrics() or {}
    path = folder.file(RunFolder.PREDICTIONS)
    if not path.is_file():
        return []
    predictions = pd.read_csv(path)
    if "shot" not in predictions:
        return []
    changed = []
    for part in ("test", "challenge", "validation", "test_at_validation_threshold"):
        stored = result.get(part)
        if not stored or "percentile" not in str(stored.get("interval", "")):
            continue
        rows = rows_of(predictions, "test" if part == "test_at_validation_threshold" else part)
        fresh = metrics(
            rows[["tom", "jerry"]].to_numpy(),
            rows[["p_tom", "p_jerry"]].to_numpy(),
            stored.get("threshold", 0.5),
            rows["shot"].to_numpy(),
        )
        for key in ("count", "binary_accuracy", "exact_match_accuracy"):
            if not np.isclose(fresh[key], stored[key], atol=1e-9):
                raise ValueError(f"{folder.run_id} {part}: {key} {fresh[key]} differs from the stored {stored[key]}")
        stored.update({key: fresh[key] for key in FIELDS})
        changed.append(part)
    if changed:
        folder.write_metrics(result)
    return changed


def main():
    artifacts = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "artifacts"
    for run_dir in sorted((artifacts / "runs").iterdir()):
        if run_dir.is_dir():
            changed = refresh(RunFolder(run_dir))
            if changed:
                print(f"{run_dir.name}: {', '.join(changed)}")


if __name__ == "__main__":
    main()
