"""Feature extraction with a frozen base: the cached path trains the same weights as training the
whole model on frames, and the saved model is the whole network."""

import json

import keras
import numpy as np
import pandas as pd
import pytest

from tomjerry.config import RunConfig
from tomjerry.data.pipeline import make_dataset
from tomjerry.lab.execute import execute_run
from tomjerry.models.builders import build_model
from tomjerry.runs.folder import RunFolder
from tomjerry.runs.lifecycle import create_run
from tomjerry.training.features import feature_dataset, split_model, uses_cached_features
from tomjerry.training.fit import compile_model

LITE = RunConfig(
    model="efficientnet_lite0", image_size=48, epochs=2, batch_size=16, patience=0, weights="none", dropout_rate=0.0
)


def test_only_a_frozen_pretrained_base_without_augmentation_is_cached():
    assert uses_cached_features(LITE)
    assert uses_cached_features(LITE.replace(model="inceptionv3", image_size=75))
    assert not uses_cached_features(LITE.replace(augment=True))
    assert not uses_cached_features(LITE.replace(fine_tune_from=12))
    assert not uses_cached_features(LITE.replace(model="alexnet", image_size=96))


def frames(count=40, side=48, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, side, side, 3), dtype=np.uint8)
    return images, rng.integers(0, 2, (count, 2)).astype(np.float32)


def test_the_head_shares_the_layers_of_the_whole_model():
    model = build_model("efficientnet_lite0", 48, dropout_rate=0.0, weights="none")
    extractor, head = split_model(model, "avg_pool")
    assert [layer.name for layer in head.layers[1:]] == ["dropout", "labels"]
    assert not extractor.trainable_weights
    images, _ = frames(8)
    x = images.astype(np.float32) / 255
    head.get_layer("labels").set_weights([np.ones((1280, 2), np.float32) * 0.01, np.array([0.3, -0.2], np.float32)])
    np.testing.assert_allclose(
        model.predict(x, verbose=0), head.predict(extractor.predict(x, verbose=0), verbose=0), rtol=1e-5, atol=1e-6
    )


def test_a_model_that_trains_before_the_feature_layer_is_refused():
    model = build_model("efficientnet_lite0", 48, weights="none", fine_tune_from=14)
    with pytest.raises(ValueError, match="trains layers before"):
        split_model(model, "avg_pool")
    with pytest.raises(ValueError, match="no layer"):
        split_model(model, "nowhere")


@pytest.mark.parametrize("model_name,layer", [("efficientnet_lite0", "avg_pool")])
def test_training_the_head_on_features_gives_the_weights_of_training_on_frames(model_name, layer):
    """Known answer: the ordinary fit on frames. Same seed, same shuffling, no dropout."""
    images, labels = frames()

    def trained(cached: bool):
        keras.utils.set_random_seed(7)
        model = compile_model(build_model(model_name, 48, dropout_rate=0.0, weights="none"), LITE, 3)
        fitted, data = model, make_dataset(images, labels, 16, training=True, seed=3)
        if cached:
            extractor, fitted = split_model(model, layer)
            compile_model(fitted, LITE, 3)
            features = extractor.predict(make_dataset(images, None, 16), verbose=0)
            data = feature_dataset(features, labels, 16, training=True, seed=3)
        fitted.fit(data, epochs=2, verbose=0)
        return model.get_layer("labels").get_weights()

    for on_frames, on_features in zip(trained(False), trained(True)):
        np.testing.assert_allclose(on_features, on_frames, rtol=1e-4, atol=1e-5)


def bce(y, p):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def test_a_frozen_base_run_records_its_cache_and_saves_the_whole_model(demo_root, tmp_path):
    config = LITE.replace(epochs=3, patience=2, weights="imagenet")
    run_dir = create_run(config, tmp_path, demo_root)
    result = execute_run(run_dir, demo_root)
    assert result["cached_features"]["layer"] == "avg_pool" and result["cached_features"]["seconds"] >= 0
    assert result["best_epoch"] <= result["epochs_run"] <= 3
    # The saved model reads frames, and its validation loss is the history's at the kept epoch.
    model = keras.saving.load_model(run_dir / "model.keras")
    assert model.input_shape == (None, 48, 48, 3)
    history = RunFolder(run_dir).read_history()
    predictions = pd.read_csv(run_dir / "predictions.csv")
    val = predictions[predictions.split == "val"]
    kept = history.set_index("epoch").val_loss[result["evaluated_epoch"]]
    assert bce(val[["tom", "jerry"]].to_numpy(), val[["p_tom", "p_jerry"]].to_numpy()) == pytest.approx(kept, abs=2e-3)


@pytest.mark.slow
def test_a_tuned_frozen_base_search_trains_heads_and_ships_the_whole_network(demo_root, tmp_path):
    config = LITE.replace(variant="tuned", max_trials=2, epochs=2, patience=1, weights="imagenet")
    run_dir = create_run(config, tmp_path, demo_root)
    result = execute_run(run_dir, demo_root)
    assert result["cached_features"]["layer"] == "avg_pool"
    best = json.loads((run_dir / "best_hyperparameters.json").read_text())
    # Known answer: the kept trial's objective, computed by Keras Tuner on the features, is the
    # validation loss of the saved whole model on the validation frames.
    predictions = pd.read_csv(run_dir / "predictions.csv")
    val = predictions[predictions.split == "val"]
    assert bce(val[["tom", "jerry"]].to_numpy(), val[["p_tom", "p_jerry"]].to_numpy()) == pytest.approx(
        best["val_loss"], abs=2e-3
    )
    assert keras.saving.load_model(run_dir / "model.keras").input_shape == (None, 48, 48, 3)


def test_mixup_leaves_the_base_running_on_frames():
    assert not uses_cached_features(LITE.replace(mixup=0.2))
