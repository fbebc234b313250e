"""The shipped reference results under artifacts/runs/ref-* are complete and self-consistent:
each reads as finished, its metrics agree with its predictions, and the shipped model loads."""

import json

import pytest

from conftest import ROOT
from tomjerry.evaluation import metrics_from_predictions
from tomjerry.runs.folder import RunFolder
from tomjerry.runs.status import read_status

REFERENCE = sorted((ROOT / "artifacts" / "runs").glob("ref-*"))


@pytest.mark.skipif(not REFERENCE, reason="no shipped reference runs in artifacts/runs")
@pytest.mark.parametrize("run_dir", REFERENCE, ids=[p.name for p in REFERENCE])
def test_reference_run_is_complete_and_consistent(run_dir):
    assert read_status(run_dir)["state"] == "finished"
    assert (run_dir / "REFERENCE").is_file()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    recomputed = metrics_from_predictions(RunFolder(run_dir).read_predictions())
    for part in ("test", "challenge"):
        assert recomputed[part]["binary_accuracy"] == pytest.approx(metrics[part]["binary_accuracy"])
        assert recomputed[part]["exact_match_accuracy"] == pytest.approx(metrics[part]["exact_match_accuracy"])
    assert not metrics["dataset"]["demo"]


def test_shipped_models_load_and_stay_small():
    import numpy as np

    from tomjerry.predict import load_model, predict_arrays

    models = sorted((ROOT / "artifacts" / "runs").glob("ref-*/model.keras"))
    if not models:
        pytest.skip("no shipped model")
    assert sum(p.stat().st_size for p in models) < 25 * 2**20
    for path in models:
        model = load_model(path)
        size = model.input_shape[1]
        p = predict_arrays(model, np.zeros((1, size, size, 3), np.float32))
        assert p.shape == (1, 2)
