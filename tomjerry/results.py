"""Reading results back from run records for the Compare, Grad-CAM, Predict and Report pages."""

import pandas as pd

from tomjerry.evaluation import metrics_from_predictions
from tomjerry.runs.record import Run
from tomjerry.stats import mcnemar_exact, paired_difference


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


def test_frames(run: Run, threshold: float = 0.5) -> pd.DataFrame:
    """The run's test rows from predictions.csv with per-frame correctness: `tom_ok`, `jerry_ok`
    and `exact` (both right), indexed by file name."""
    predictions = run.folder.read_predictions()
    test = predictions[predictions.split == "test"].set_index("filename")
    test["tom_ok"] = (test.p_tom >= threshold).astype(int) == test.tom
    test["jerry_ok"] = (test.p_jerry >= threshold).astype(int) == test.jerry
    test["exact"] = test.tom_ok & test.jerry_ok
    return test


def comparability(a: Run, b: Run) -> str | None:
    """None when the two runs were tested on the same frames of the same dataset; otherwise the
    reason they cannot be put side by side."""
    fingerprint_a, fingerprint_b = a.dataset.get("fingerprint"), b.dataset.get("fingerprint")
    if not fingerprint_a or fingerprint_a != fingerprint_b:
        return "they were made on different datasets (or one does not record its dataset)"
    frames_a, frames_b = set(test_frames(a).index), set(test_frames(b).index)
    if frames_a != frames_b:
        return (f"their test sets differ ({len(frames_a)} and {len(frames_b)} frames, "
                f"{len(frames_a & frames_b)} shared): split {a.split.get('kind')} {a.split.get('seed')} against "
                f"{b.split.get('kind')} {b.split.get('seed')}")
    return None


def paired_comparison(a: Run, b: Run, threshold: float = 0.5) -> dict:
    """Run a against run b on their common test frames: the difference of binary accuracy and of
    exact match with 95 % cluster-bootstrap intervals over shots, and an exact McNemar test on
    exact match. ValueError (with the reason) when they were not tested on the same frames."""
    reason = comparability(a, b)
    if reason:
        raise ValueError(f"{a.label()} and {b.label()} cannot be compared: {reason}")
    frames_a, frames_b = test_frames(a, threshold), test_frames(b, threshold)
    frames_b = frames_b.loc[frames_a.index]
    groups = (frames_a["shot"] if "shot" in frames_a else pd.Series(range(len(frames_a)), index=frames_a.index)).to_numpy()
    binary = paired_difference(frames_a[["tom_ok", "jerry_ok"]].to_numpy(), frames_b[["tom_ok", "jerry_ok"]].to_numpy(),
                               groups)
    exact = paired_difference(frames_a.exact.to_numpy(), frames_b.exact.to_numpy(), groups)
    test = mcnemar_exact(frames_a.exact.to_numpy(), frames_b.exact.to_numpy())
    return {"frames": len(frames_a), "threshold": threshold,
            "binary_accuracy_difference": binary._asdict(), "exact_match_difference": exact._asdict(),
            "mcnemar_exact_match": test._asdict(),
            "significant": bool(exact.low > 0 or exact.high < 0),
            "grouped_by": "shot" if "shot" in frames_a else "frame"}
