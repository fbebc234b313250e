"""Reading results back from run folders for the Compare, Grad-CAM, Predict and Report pages."""

from pathlib import Path

import pandas as pd

from tomjerry.evaluation import metrics_from_predictions
from tomjerry.runstore import (is_reference, list_run_dirs, model_file, read_config, read_metrics,
                               read_predictions, read_status)


def finished_runs(artifacts=None, with_model: bool = False) -> list[Path]:
    runs = [p for p in list_run_dirs(artifacts) if read_status(p).get("state") == "finished"]
    if with_model:
        runs = [p for p in runs if model_file(p).is_file()]
    return runs


def run_label(run_dir: Path) -> str:
    try:
        label = read_config(run_dir).label()
    except ValueError:
        label = "?"
    marker = " [reference]" if is_reference(run_dir) else ""
    return f"{label}{marker} · {run_dir.name}"


def best_run(artifacts=None, runs: list[Path] | None = None) -> Path | None:
    """The finished run with a model and the best validation exact-match accuracy (then
    validation binary accuracy): chosen on validation, never on test. Models trained on the real
    frames come before any trained on the demo drawings, whose scores say nothing about cartoons."""
    scored = []
    for run_dir in finished_runs(artifacts, with_model=True) if runs is None else runs:
        metrics = read_metrics(run_dir) or {}
        validation = metrics.get("validation", {})
        real = not metrics.get("dataset", {}).get("demo", True)
        scored.append((real, validation.get("exact_match_accuracy", 0), validation.get("binary_accuracy", 0),
                       is_reference(run_dir), run_dir.name, run_dir))
    return max(scored)[-1] if scored else None


def model_choices(artifacts=None) -> tuple[dict, str | None]:
    """Runs with a saved model by their display label, and the label of the best one."""
    runs = finished_runs(artifacts, with_model=True)
    labels = {run_label(r): r for r in runs}
    best = best_run(runs=runs)
    return labels, run_label(best) if best else None


def metrics_at_threshold(run_dir: Path, threshold: float) -> dict:
    return metrics_from_predictions(read_predictions(run_dir), threshold)


def misclassified(run_dir: Path, threshold: float = 0.5) -> pd.DataFrame:
    """Test rows where at least one label is wrong, the most confident mistakes first."""
    predictions = read_predictions(run_dir)
    test = predictions[predictions.split == "test"].copy()
    wrong = ((test.p_tom >= threshold).astype(int) != test.tom) | ((test.p_jerry >= threshold).astype(int) != test.jerry)
    test["error"] = (test.p_tom - test.tom).abs() + (test.p_jerry - test.jerry).abs()
    return test[wrong].sort_values("error", ascending=False)


def split_comparison(artifacts=None) -> pd.DataFrame:
    """Finished runs of the same model and variant on the random and the blocked split, side by side."""
    rows = []
    for run_dir in finished_runs(artifacts):
        config, metrics = read_config(run_dir), read_metrics(run_dir) or {}
        kind = config.split if config.split in ("random", "blocked") else "custom"
        rows.append({"model": config.model, "variant": config.variant, "image_size": config.image_size,
                     "split": kind, "split_seed": config.split_seed,
                     "binary_accuracy": metrics.get("test", {}).get("binary_accuracy"),
                     "exact_match": metrics.get("test", {}).get("exact_match_accuracy")})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.groupby(["model", "variant", "image_size", "split"], as_index=False).agg(
        runs=("split_seed", "count"), binary_accuracy=("binary_accuracy", "mean"),
        exact_match=("exact_match", "mean"), exact_match_min=("exact_match", "min"),
        exact_match_max=("exact_match", "max"))
