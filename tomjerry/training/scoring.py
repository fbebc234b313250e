"""Scoring a trained model on a run's data: predictions for the validation, test and challenge
frames, and their metrics, written into the run folder."""

import numpy as np
import pandas as pd

from tomjerry.inference.novelty import DEFAULT_FALSE_ALARM_RATE, DEFAULT_MAX_IMAGES, Reference, fit_features
from tomjerry.inference.predict import InferenceRecipe, Predictor
from tomjerry.metrics.evaluation import choose_threshold, metrics, metrics_from_predictions
from tomjerry.runs.folder import RunFolder
from tomjerry.runs.ledger import record_run_scoring
from tomjerry.runs.status import set_phase
from tomjerry.training.rundata import RunData


def novelty_reference(predictor: Predictor, data: RunData, features: np.ndarray, split: np.ndarray):
    """The out-of-distribution reference of a run: fitted on (up to 2,000) training frames'
    features, its threshold set on the validation frames so about 1 % of them are flagged."""
    train = np.flatnonzero(data.split == "train")
    sample = train[np.linspace(0, len(train) - 1, min(len(train), DEFAULT_MAX_IMAGES)).astype(int)]
    # Features of the frames as given: the mirror pass of TTA would only add unused probabilities.
    train_features = predictor.features(data.images[sample])
    held_out = features[split == "val"]
    # 1 % needs at least 99 validation frames; a small dataset gets the lowest rate it can show.
    rate = max(DEFAULT_FALSE_ALARM_RATE, 1 / (len(held_out) + 1))
    return fit_features(train_features).calibrate(held_out, rate)


def score(
    model, data: RunData, tta: bool = False, on_phase=None, tta_scales=(1.0,)
) -> tuple[pd.DataFrame, dict, Reference]:
    """Predictions for validation, test and challenge rows, their metrics, and the run's
    out-of-distribution reference (tomjerry.inference.novelty). The decision threshold and the novelty
    threshold are chosen on validation; the test set is only scored. `tta`, `tta_scales`: the
    recipe's test-time augmentation (InferenceRecipe). `on_phase(text)`, when given, hears each
    step (a minute or more on the real frames, after the last epoch)."""
    on_phase = on_phase or (lambda text: None)
    # Frames a split leaves out ("unused") are neither trained on nor scored.
    keep = np.isin(data.split, ("val", "test")) | data.table.challenge.to_numpy()
    # The run's own predictor: what Predict, Grad-CAM, the report and the command line will use.
    recipe = InferenceRecipe.for_shape(data.images.shape[1:3], tta=tta, tta_scales=tta_scales)
    predictor = Predictor(model, recipe)
    on_phase(f"scoring {int(keep.sum())} validation, test and challenge frames ({recipe.tta_text})")
    probabilities, features = predictor.infer(data.images[keep], features=True)
    if features is None:  # infer has no features for no pictures; RunData refuses an empty val or test split
        raise ValueError("no validation, test or challenge frames to score")
    on_phase("building the novelty reference from the training frames' features")
    reference = novelty_reference(predictor, data, features, data.split[keep])
    flagged = reference.is_out_of_distribution(reference.score(features))
    rows = data.table[keep]
    predictions = pd.DataFrame(
        {
            "filename": rows.filename.to_numpy(),
            "split": data.split[keep],
            "challenge": rows.challenge.to_numpy(),
            "tom": rows.tom.to_numpy(),
            "jerry": rows.jerry.to_numpy(),
            "p_tom": probabilities[:, 0].round(6),
            "p_jerry": probabilities[:, 1].round(6),
            # The shot (group of near-copy frames) of each frame: intervals resample whole shots.
            "shot": data.shot_groups[keep],
        }
    )
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
        "dataset": {
            "path": str(data.source.path),
            "demo": data.source.is_demo,
            "images": len(data.table),
            "fingerprint": data.dataset_record["fingerprint"],
        },
        "split_counts": {p: int((data.split == p).sum()) for p in ("train", "val", "test")},
        "novelty": {
            **reference.to_dict(),
            "false_alarm_rate": {
                part: float(flagged[(predictions.split == part).to_numpy()].mean()) for part in ("val", "test")
            },
            "challenge_flagged": int(flagged[predictions.challenge.to_numpy().astype(bool)].sum()),
        },
    }
    return predictions, result, reference


def evaluate_model(
    model, data: RunData, run_dir, extra: dict | None = None, tta: bool = False, tta_scales=(1.0,)
) -> dict:
    """Score the model and write predictions.csv, metrics.json and the inference recipe
    (inference.json) into the run folder."""
    predictions, result, reference = score(
        model, data, tta, on_phase=lambda text: set_phase(run_dir, text), tta_scales=tta_scales
    )
    result.update(extra or {})
    folder = RunFolder(run_dir)
    folder.write_predictions(predictions)
    reference.save(folder.file(RunFolder.NOVELTY))
    folder.write_metrics(result)
    recipe = InferenceRecipe.for_shape(
        data.images.shape[1:3],
        tta=tta,
        tta_scales=tta_scales,
        threshold=result["threshold_from_validation"],
        threshold_source="validation",
    )
    folder.write_json(RunFolder.INFERENCE, recipe.to_dict())
    # The test set's ledger (tomjerry.runs.ledger): every scoring counts, a re-evaluation too,
    # kept in the artifacts folder that holds the run (<artifacts>/runs/<run_id>).
    record_run_scoring(folder, predictions, data.dataset_record["fingerprint"])
    return result
