"""Reading results back from run records for the Compare, Grad-CAM, Predict and Report pages."""

import pandas as pd

from tomjerry.evaluation import metrics_from_predictions
from tomjerry.runs.record import Run


def finished(runs: list[Run], with_model: bool = False) -> list[Run]:
    return [run for run in runs if run.finished and (run.has_model or not with_model)]


def run_label(run: Run) -> str:
    marker = " [reference]" if run.reference else ""
    return f"{run.label()}{marker} · {run.run_id}"


def best_run(runs: list[Run]) -> Run | None:
    """The finished run with a model and the best validation exact-match accuracy (then
    validation binary accuracy): chosen on validation, never on test. Models trained on the real
    frames come before any trained on the demo drawings, whose scores say nothing about cartoons."""
    scored = []
    for run in finished(runs, with_model=True):
        validation = (run.metrics or {}).get("validation", {})
        real = run.dataset.get("demo") is False
        scored.append((real, validation.get("exact_match_accuracy", 0), validation.get("binary_accuracy", 0),
                       run.reference, run.run_id, run))
    return max(scored, key=lambda item: item[:5])[-1] if scored else None


def model_choices(runs: list[Run]) -> tuple[dict, str | None]:
    """Runs with a saved model by their display label, and the label of the best one."""
    with_model = finished(runs, with_model=True)
    labels = {run_label(run): run for run in with_model}
    best = best_run(with_model)
    return labels, run_label(best) if best else None


def metrics_at_threshold(run: Run, threshold: float) -> dict:
    return metrics_from_predictions(run.folder.read_predictions(), threshold)


def misclassified(run: Run, threshold: float = 0.5) -> pd.DataFrame:
    """Test rows where at least one label is wrong, the most confident mistakes first."""
    predictions = run.folder.read_predictions()
    test = predictions[predictions.split == "test"].copy()
    wrong = ((test.p_tom >= threshold).astype(int) != test.tom) | ((test.p_jerry >= threshold).astype(int) != test.jerry)
    test["error"] = (test.p_tom - test.tom).abs() + (test.p_jerry - test.jerry).abs()
    return test[wrong].sort_values("error", ascending=False)


def split_comparison(runs: list[Run]) -> pd.DataFrame:
    """Finished runs of the same model and variant on each split kind, side by side."""
    rows = []
    for run in finished(runs):
        rows.append({"model": run.config.model, "variant": run.config.variant, "image_size": run.config.image_size,
                     "split": run.split.get("kind"), "split_seed": run.split.get("seed"),
                     "binary_accuracy": run.test.get("binary_accuracy"),
                     "exact_match": run.test.get("exact_match_accuracy")})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.groupby(["model", "variant", "image_size", "split"], as_index=False).agg(
        runs=("binary_accuracy", "count"), binary_accuracy=("binary_accuracy", "mean"),
        exact_match=("exact_match", "mean"), exact_match_min=("exact_match", "min"),
        exact_match_max=("exact_match", "max"))
