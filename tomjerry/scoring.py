"""Scoring a trained model on a run's data: predictions for the validation, test and challenge
frames, and their metrics, written into the run folder."""

import numpy as np
import pandas as pd

from tomjerry.evaluation import choose_threshold, metrics, metrics_from_predictions
from tomjerry.predict import InferenceRecipe, Predictor
from tomjerry.rundata import RunData
from tomjerry.runs.folder import RunFolder


def score(model, data: RunData, tta: bool = False) -> tuple[pd.DataFrame, dict]:
    """Predictions for validation, test and challenge rows, and their metrics. The decision
    threshold is also chosen on validation; the test set is only scored."""
    # Frames a split leaves out ("unused") are neither trained on nor scored.
    keep = np.isin(data.split, ("val", "test")) | data.table.challenge.to_numpy()
    # The run's own predictor: what Predict, Grad-CAM, the report and the command line will use.
    predictor = Predictor(model, InferenceRecipe(input_size=int(data.images.shape[1]), tta=tta))
    probabilities = predictor.probabilities(data.images[keep])
    rows = data.table[keep]
    predictions = pd.DataFrame({
        "filename": rows.filename.to_numpy(), "split": data.split[keep], "challenge": rows.challenge.to_numpy(),
        "tom": rows.tom.to_numpy(), "jerry": rows.jerry.to_numpy(),
        "p_tom": probabilities[:, 0].round(6), "p_jerry": probabilities[:, 1].round(6),
        # The shot (group of near-copy frames) of each frame: intervals resample whole shots.
        "shot": data.shot_groups[keep],
    })
    truth, probs = predictions[["tom", "jerry"]].to_numpy(), predictions[["p_tom", "p_jerry"]].to_numpy()
    test = (predictions.split == "test").to_numpy()
    val = (predictions.split == "val").to_numpy()
    threshold = choose_threshold(truth[val], probs[val])
    shots = predictions.shot.to_numpy()
    result = {
        **metrics_from_predictions(predictions),  # test and challenge, as the pages recompute them
        "validation": metrics(truth[val], probs[val], groups=shots[val]),
        "challenge_total": int(data.table.challenge.sum()),
        "challenge_in_training": int((data.table.challenge.to_numpy() & (data.split == "train")).sum()),
        "challenge_in_validation": int((data.table.challenge.to_numpy() & (data.split == "val")).sum()),
        "threshold_from_validation": threshold,
        "test_at_validation_threshold": metrics(truth[test], probs[test], threshold, shots[test]),
        "dataset": {"path": str(data.source.path), "demo": data.source.is_demo, "images": len(data.table),
                    "fingerprint": data.dataset_record["fingerprint"]},
        "split_counts": {p: int((data.split == p).sum()) for p in ("train", "val", "test")},
    }
    return predictions, result


def evaluate_model(model, data: RunData, run_dir, extra: dict | None = None, tta: bool = False) -> dict:
    """Score the model and write predictions.csv and metrics.json into the run folder."""
    predictions, result = score(model, data, tta)
    result.update(extra or {})
    folder = RunFolder(run_dir)
    folder.write_predictions(predictions)
    folder.write_metrics(result)
    recipe = InferenceRecipe(input_size=int(data.images.shape[1]), tta=tta,
                             threshold=result["threshold_from_validation"], threshold_source="validation")
    folder.write_json(RunFolder.INFERENCE, recipe.to_dict())
    return result
