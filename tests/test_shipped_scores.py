"""A quick check of the shipped model's numbers, not only its output shape: it re-scores eight real
test frames named in its predictions.csv, through the run's saved recipe (inference.json) and the
one Predictor, and must give the probabilities it recorded. The slow tests in test_reference.py
do the same for every test frame and every shipped model."""

import json

import numpy as np
import pytest
from conftest import REAL_DATA, ROOT

from tomjerry import COMBINATION_OF, FOLDER_OF
from tomjerry.data.dataset import image_root
from tomjerry.runs.folder import RunFolder

SHIPPED_MODEL_RUNS = [p.parent for p in sorted((ROOT / "artifacts" / "runs").glob("ref-*/model.keras"))]
FRAMES = 8
TOLERANCE = 1e-4  # predictions.csv keeps 6 decimals; a changed decoder, resize or recipe moves far more


def frames_of(run_dir):
    """FRAMES test rows of the run's predictions.csv, spread evenly over it (fixed by the file)."""
    test = RunFolder(run_dir).read_predictions().query("split == 'test'").reset_index(drop=True)
    return test.iloc[np.linspace(0, len(test) - 1, FRAMES).astype(int)]


@pytest.mark.skipif(not SHIPPED_MODEL_RUNS, reason="no shipped model (artifacts/runs/ref-*/model.keras)")
@pytest.mark.skipif(
    not (REAL_DATA / "ground_truth.csv").is_file(),
    reason=f"the real dataset is not at {REAL_DATA}: nothing to re-score",
)
def test_a_shipped_model_rescores_real_test_frames_as_it_recorded():
    from tomjerry.inference.predict import InferenceRecipe, Predictor

    run_dir = SHIPPED_MODEL_RUNS[0]
    predictor = Predictor.from_path(run_dir)
    # The run's own recipe, as saved (an older decoder text included): TTA and the validation threshold.
    saved = InferenceRecipe.from_dict(json.loads((run_dir / RunFolder.INFERENCE).read_text()))
    assert predictor.recipe == saved and saved.threshold_source == "validation"
    rows = frames_of(run_dir)
    base = image_root(REAL_DATA)
    paths = [
        base / FOLDER_OF[COMBINATION_OF[(int(row.tom), int(row.jerry))]] / row.filename for row in rows.itertuples()
    ]
    again = np.array([[p.p_tom, p.p_jerry] for p in predictor.predict_files(paths)])
    recorded = rows[["p_tom", "p_jerry"]].to_numpy()
    assert np.abs(again - recorded).max() < TOLERANCE, np.c_[again, recorded]
    # The spread matters: frames the model is sure of both ways, so a constant answer cannot pass.
    assert recorded.max() > 0.5 and recorded.min() < 0.5
