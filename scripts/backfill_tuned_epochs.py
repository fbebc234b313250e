"""Add epochs_run, best_epoch and evaluated_epoch to the metrics.json of tuned runs finished
before tune_and_save recorded them (the converged grid's tuned cells), from the kept trial's
curves in the run's history.csv (tomjerry.training.tune.kept_epochs). Nothing else changes; the file
says where the fields came from.
    .venv/bin/python scripts/backfill_tuned_epochs.py RUN_DIR...
"""

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tomjerry.runs.folder import RunFolder  # noqa: E402
from tomjerry.training.tune import kept_epochs  # noqa: E402

for run_dir in sys.argv[1:]:
    folder = RunFolder(run_dir)
    metrics = folder.read_json(RunFolder.METRICS)
    if folder.read_config().variant != "tuned" or "best_epoch" in metrics:
        print(f"{run_dir}: nothing to add")
        continue
    epochs = kept_epochs(pd.read_csv(folder.file(RunFolder.HISTORY)))
    folder.write_json(
        RunFolder.METRICS, {**metrics, **epochs, "epochs_recorded": "added from history.csv after the run"}
    )
    print(f"{run_dir}: {epochs}")
