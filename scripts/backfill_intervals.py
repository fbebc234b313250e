"""Give run folders evaluated before intervals existed their 95 % intervals: each frame's shot
(tomjerry.data.shots, on the dataset the run names) is added to predictions.csv, and the intervals
(bootstrap over shots) to metrics.json's test, challenge, validation and
test_at_validation_threshold. The point figures are recomputed too and must equal the recorded
ones, or nothing is written.

    python scripts/backfill_intervals.py RUN_DIR...
"""

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tomjerry.data.dataset import scan  # noqa: E402
from tomjerry.data.discovery import find_dataset  # noqa: E402
from tomjerry.data.leakage import analyse  # noqa: E402
from tomjerry.metrics.evaluation import metrics, metrics_from_predictions  # noqa: E402
from tomjerry.runs.folder import RunFolder  # noqa: E402

NEW_KEYS = ("binary_accuracy_ci95", "exact_match_ci95", "interval")


def same(a, b) -> bool:
    return math.isclose(a, b, rel_tol=0, abs_tol=1e-9)


def backfill(run_dir: Path) -> dict:
    folder = RunFolder(run_dir)
    recorded = folder.read_metrics()
    source = find_dataset((folder.read_provenance().get("dataset") or {}).get("path"))
    dataset = scan(source)
    table = dataset.usable
    shots = dict(zip(table.filename, analyse(dataset).groups_for(table)))
    predictions = folder.read_predictions()
    predictions["shot"] = predictions.filename.map(shots).astype(int)
    fresh = metrics_from_predictions(predictions)
    val = predictions[predictions.split == "val"]
    test = predictions[predictions.split == "test"]
    fresh["validation"] = metrics(
        val[["tom", "jerry"]].to_numpy(), val[["p_tom", "p_jerry"]].to_numpy(), groups=val.shot.to_numpy()
    )
    fresh["test_at_validation_threshold"] = metrics(
        test[["tom", "jerry"]].to_numpy(),
        test[["p_tom", "p_jerry"]].to_numpy(),
        recorded.get("threshold_from_validation", 0.5),
        test.shot.to_numpy(),
    )
    for part, values in fresh.items():
        for key in ("binary_accuracy", "exact_match_accuracy"):
            if part in recorded and key in recorded[part] and not same(recorded[part][key], values[key]):
                raise ValueError(f"{run_dir.name}: {part} {key} recomputes to {values[key]}, not {recorded[part][key]}")
        if part in recorded:
            recorded[part].update({key: values[key] for key in NEW_KEYS if key in values})
    folder.write_predictions(predictions)
    folder.write_metrics(recorded)
    return recorded


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", type=Path)
    for run_dir in parser.parse_args().run_dirs:
        test = backfill(run_dir)["test"]
        low, high = test["exact_match_ci95"]
        print(f"{run_dir.name}: exact match {test['exact_match_accuracy']:.2%} [{low:.2%}, {high:.2%}]")


if __name__ == "__main__":
    main()
