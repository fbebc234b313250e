"""The runs table: one row per run, built from `Run` records, shown by Home, Train, Compare,
Grad-CAM, Predict, Report and `python -m tomjerry runs`. By default only the runs made on the
dataset in use (same fingerprint) are shown."""

import pandas as pd

from tomjerry.runs.ledger import test_set_scorings
from tomjerry.runs.record import Run
from tomjerry.runs.status import progress_text

COLUMNS = [
    "run_id",
    "label",
    "state",
    "error",
    "model",
    "variant",
    "preset",
    "split",
    "split_seed",
    "image_size",
    "input_aspect",
    "tta",
    "dataset_name",
    "dataset_demo",
    "dataset_fingerprint",
    "test_binary_accuracy",
    "test_exact_match",
    "test_binary_accuracy_ci95",
    "test_exact_match_ci95",
    "test_count",
    "test_set_scorings",
    "epoch",
    "epochs",
    "progress",
    "train_seconds",
    "created",
    "reference",
    "has_model",
    "model_error",
    "schema_version",
]


def run_summary(run: Run, scorings: int | None = None) -> dict:
    """The JSON object of `runs --json`: a run's identity, context and headline numbers.
    scorings: how many runs have been scored on its test frames (tomjerry.runs.ledger)."""
    config = run.config
    dataset = run.dataset
    split = run.split
    test = run.test
    return {
        "run_id": run.run_id,
        "label": run.label(),
        "state": run.state,
        "error": run.error,
        "model": config.model if config else None,
        "variant": config.variant if config else None,
        "preset": run.preset,
        "split": split.get("kind"),
        "split_seed": split.get("seed"),
        "image_size": config.image_size if config else None,
        "input_aspect": config.input_aspect if config else None,
        "tta": config.tta if config else None,
        "dataset": {
            "name": dataset.get("name"),
            "demo": dataset.get("demo"),
            "fingerprint": dataset.get("fingerprint"),
        },
        "test_binary_accuracy": test.get("binary_accuracy"),
        "test_exact_match": test.get("exact_match_accuracy"),
        "test_binary_accuracy_ci95": test.get("binary_accuracy_ci95"),
        "test_exact_match_ci95": test.get("exact_match_ci95"),
        "test_count": test.get("count"),
        "test_set_scorings": scorings,
        "epoch": run.status.get("epoch"),
        "epochs": run.status.get("epochs"),
        # Where it stands in words: a tuned run counts trials, not the epochs its status never set.
        "progress": progress_text({**run.status, "state": run.state}, run.metrics),
        "train_seconds": (run.metrics or {}).get("train_seconds", run.status.get("train_seconds")),
        "created": run.status.get("created"),
        "reference": run.reference,
        "has_model": run.has_model,
        "model_error": run.model_error,
        "schema_version": run.schema_version,
        "path": str(run.path),
    }


def on_dataset(runs: list[Run], fingerprint: str | None, include_all: bool = False) -> list[Run]:
    """The runs made on the dataset with this fingerprint (all of them with include_all)."""
    if include_all:
        return list(runs)
    return [run for run in runs if fingerprint and run.dataset.get("fingerprint") == fingerprint]


def runs_table(runs: list[Run]) -> pd.DataFrame:
    """The runs as a table with COLUMNS (dataset flattened into dataset_name/_demo/_fingerprint)."""
    rows = []
    scorings = test_set_scorings(runs)
    for run in runs:
        row = run_summary(run, scorings.get(run.run_id))
        dataset = row.pop("dataset")
        row.update(
            dataset_name=dataset["name"], dataset_demo=dataset["demo"], dataset_fingerprint=dataset["fingerprint"]
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS + ["path"])
