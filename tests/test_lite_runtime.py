"""The Video path's TensorFlow Lite runtime: the same probabilities as Keras, converted once and
cached outside the run folder, and the Keras model kept (with the reason) when conversion fails."""

import numpy as np
import pytest

from tomjerry.inference import lite_runtime
from tomjerry.models.builders import build_model


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    model = build_model("efficientnet_lite0", 48, weights="none")
    path = tmp_path_factory.mktemp("model") / "model.keras"
    model.save(path)
    return path, model


@pytest.mark.slow
def test_lite_model_gives_the_keras_probabilities_and_is_cached(saved_model, tmp_path, monkeypatch):
    monkeypatch.setenv("TOMJERRY_CACHE", str(tmp_path / "cache"))
    path, model = saved_model
    lite, note = lite_runtime.accelerated(path, model)
    assert note is None and isinstance(lite, lite_runtime.LiteModel)
    assert lite.input_shape == (None, 48, 48, 3)
    x = np.random.default_rng(3).random((5, 48, 48, 3), dtype=np.float32)
    expected = np.asarray(model.predict_on_batch(x))
    assert np.abs(lite.predict_on_batch(x) - expected).max() < 1e-5
    assert np.abs(lite.predict_on_batch(x[:2]) - expected[:2]).max() < 1e-5  # another batch size
    cached = list((tmp_path / "cache" / "tflite").glob("*.tflite"))
    assert len(cached) == 1 and not (path.parent / "model.tflite").exists()
    monkeypatch.setattr(lite_runtime, "convert", lambda model: pytest.fail("converted twice"))
    again, note = lite_runtime.accelerated(path, model)
    assert note is None and np.abs(again.predict_on_batch(x) - expected).max() < 1e-5
    with pytest.raises(ValueError, match="takes"):
        lite.predict_on_batch(np.zeros((1, 32, 32, 3), np.float32))


def test_a_failed_conversion_keeps_the_keras_model_and_says_why(saved_model, tmp_path, monkeypatch):
    monkeypatch.setenv("TOMJERRY_CACHE", str(tmp_path / "cache"))
    path, model = saved_model

    def broken(model):
        raise RuntimeError("unsupported op")

    monkeypatch.setattr(lite_runtime, "convert", broken)
    used, note = lite_runtime.accelerated(path, model)
    assert used is model and "conversion failed (RuntimeError)" in note
    assert not (tmp_path / "cache" / "tflite").exists()
