"""The out-of-distribution score: the pooled features are the ones the head reads, the scores
match sklearn's own distances on data of known geometry, a saved reference scores identically,
and the calibrated threshold flags the intended share of in-distribution pictures."""

import json

import numpy as np
import pytest

from tomjerry.inference.novelty import (
    conformal_threshold,
    feature_model,
    fit_features,
    load_reference,
    predict_with_features,
)
from tomjerry.models.builders import build_model
from tomjerry.models.specs import SPECS as REGISTRY


def pooled_model():
    """conv -> GlobalAveragePooling -> Dropout -> Dense 2 sigmoid, like EfficientNet-Lite0's head."""
    import keras
    from keras import layers

    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(6, 3, activation="relu", name="last_conv")(inputs)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(0.5)(x)
    return keras.Model(inputs, layers.Dense(2, activation="sigmoid", name="labels")(x))


def flattened_model():
    """conv -> MaxPool -> Flatten -> Dense -> Dropout -> Dense 2, like AlexNet's head."""
    import keras
    from keras import layers

    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(5, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D(2, name="pool5")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(8, activation="relu", name="fc1")(x)
    x = layers.Dropout(0.5)(x)
    return keras.Model(inputs, layers.Dense(2, activation="sigmoid", name="labels")(x))


def images(count, seed=0):
    return np.random.default_rng(seed).random((count, 16, 16, 3), dtype=np.float32)


def test_pooled_model_features_are_the_pooling_output_and_probabilities_unchanged():
    import keras

    model = pooled_model()
    x = images(5)
    features, probabilities = predict_with_features(feature_model(model), x, batch_size=2)
    expected = keras.Model(model.inputs, model.get_layer("pool").output).predict_on_batch(x)
    assert features.shape == (5, 6) and probabilities.shape == (5, 2)
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probabilities, model.predict_on_batch(x), rtol=1e-5, atol=1e-6)


def test_flattened_model_features_are_the_global_average_of_the_last_spatial_map():
    import keras

    model = flattened_model()
    x = images(3, seed=1)
    features, probabilities = predict_with_features(feature_model(model), (x * 255).astype(np.uint8))
    spatial = keras.Model(model.inputs, model.get_layer("pool5").output).predict_on_batch(
        (x * 255).astype(np.uint8).astype(np.float32) / 255
    )
    assert features.shape == (3, 5)  # channels of the map, not the 8 hidden units of fc1
    np.testing.assert_allclose(features, spatial.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    assert probabilities.shape == (3, 2)


# AlexNet stands for ZFNet (the same Flatten head) and EfficientNet-Lite0 for InceptionV3 (pooled
# features) in the fast run; building those two takes 1 and 12 s more.
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.slow)
        if name in ("zfnet", "inceptionv3", "efficientnet_lite1", "efficientnet_lite2")
        else name
        for name in sorted(REGISTRY)
    ],
)
def test_every_registry_model_gives_one_feature_per_channel_of_its_last_conv_layer(name):
    spec = REGISTRY[name]
    size = max(spec.min_image_size, 32)
    model = build_model(name, size, weights="none")
    x = images(2, seed=2).repeat(8, 1).repeat(8, 2)[:, :size, :size]
    features, probabilities = predict_with_features(feature_model(model), x)
    assert features.shape == (2, model.get_layer(spec.last_conv_layer).output.shape[-1])
    np.testing.assert_allclose(probabilities, model.predict_on_batch(x), rtol=1e-5, atol=1e-6)


def test_model_without_dense_layer_is_refused():
    import keras
    from keras import layers

    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, layers.GlobalAveragePooling2D()(layers.Conv2D(2, 3)(inputs)))
    with pytest.raises(ValueError, match="no Dense layer"):
        feature_model(model)


def blob(count, seed=0):
    """A 10-D Gaussian with very different spreads per axis (std 10 on axis 0, 0.1 on axis 9)."""
    rng = np.random.default_rng(seed)
    scales = np.geomspace(10, 0.1, 10)
    return (rng.standard_normal((count, 10)) * scales + 3.0).astype(np.float32), scales


@pytest.mark.parametrize("shrinkage", [0.0, 0.5, None])
def test_mahalanobis_matches_sklearn(shrinkage):
    from sklearn.covariance import EmpiricalCovariance, LedoitWolf, ShrunkCovariance

    train, _ = blob(2000)
    oracle_model = {0.0: EmpiricalCovariance(), 0.5: ShrunkCovariance(shrinkage=0.5), None: LedoitWolf()}[shrinkage]
    reference = fit_features(train, "mahalanobis", shrinkage=shrinkage)
    probe, _ = blob(50, seed=1)
    oracle = np.sqrt(oracle_model.fit(train.astype(np.float64)).mahalanobis(probe))
    # The Cholesky factor is stored as float16: about 1e-3 relative at worst.
    np.testing.assert_allclose(reference.score(probe), oracle, rtol=2e-3)


def test_near_constant_features_give_finite_scores_like_sklearn():
    """Features with columns that hardly vary (a base with random weights gives such) have a
    whitening factor beyond float16's range: it is stored in float32, and scores stay sklearn's."""
    from sklearn.covariance import ShrunkCovariance

    rng = np.random.default_rng(0)
    train = np.concatenate([rng.normal(0, 1, (300, 4)), rng.normal(0, 1e-6, (300, 4))], axis=1)
    reference = fit_features(train, "mahalanobis", shrinkage=1e-9)
    assert reference.arrays["cholesky"].dtype == np.float32
    probe = train[:20]
    oracle = np.sqrt(
        ShrunkCovariance(shrinkage=1e-9).fit(train.astype(np.float32).astype(np.float64)).mahalanobis(probe)
    )
    np.testing.assert_allclose(reference.score(probe), oracle, rtol=1e-3)
    assert fit_features(blob(500)[0], "mahalanobis").arrays["cholesky"].dtype == np.float16


def test_mahalanobis_respects_the_covariance_and_scores_near_below_far():
    train, scales = blob(2000)
    reference = fit_features(train, "mahalanobis", shrinkage=0.0)
    # The same Euclidean step is small along the wide axis and huge along the narrow one.
    centre = train.mean(axis=0)
    step = np.zeros((2, 10), np.float32)
    step[0, 0] = step[1, 9] = 2.0
    wide, narrow = reference.score(centre + step)
    assert wide < 1 and narrow > 50 * wide  # Euclidean distance would call them equal
    near, far = fit_features(train).score(np.stack([centre + 0.5 * scales, centre + 6 * scales]))
    assert near < far


def test_knn_score_is_the_euclidean_distance_to_the_kth_neighbour():
    from sklearn.neighbors import NearestNeighbors

    train, _ = blob(400)
    reference = fit_features(train, "knn", k=5)
    probe, _ = blob(30, seed=3)
    # The bank is stored as float16; the oracle gets the same rounded rows.
    rounded = train.astype(np.float16).astype(np.float32)
    oracle = NearestNeighbors(n_neighbors=5).fit(rounded).kneighbors(probe)[0][:, 4]
    np.testing.assert_allclose(reference.score(probe), oracle, rtol=1e-4)
    assert reference.score(train[:10]).max() < reference.score(train[:10] + 50).min()


@pytest.mark.parametrize("method", ["mahalanobis", "knn"])
def test_save_and_load_give_identical_scores(tmp_path, method):
    train, _ = blob(300)
    held_out, _ = blob(200, seed=4)
    reference = fit_features(train, method, k=3).calibrate(held_out, false_alarm_rate=0.05)
    path = reference.save(tmp_path / "run" / "novelty.npz")
    loaded = load_reference(path)
    probe, _ = blob(40, seed=5)
    np.testing.assert_array_equal(loaded.score(probe), reference.score(probe))
    assert loaded.threshold == reference.threshold and loaded.method == method and loaded.k == 3
    assert loaded.to_dict() == reference.to_dict()
    json.dumps(loaded.to_dict())  # JSON-able as promised
    np.testing.assert_array_equal(
        loaded.is_out_of_distribution(loaded.score(probe)), reference.score(probe) > reference.threshold
    )


def test_load_refuses_other_format_versions_and_missing_files(tmp_path):
    path = tmp_path / "novelty.npz"
    np.savez(path, summary=np.array(json.dumps({"format_version": 99, "method": "knn"})), bank=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="format 99"):
        load_reference(path)
    with pytest.raises(ValueError, match="no novelty reference"):
        load_reference(tmp_path / "absent.npz")


def test_conformal_threshold_is_the_right_order_statistic_and_rate():
    rng = np.random.default_rng(0)
    held_out = rng.standard_normal(9999)
    threshold = conformal_threshold(held_out, 0.05)
    assert threshold == np.sort(held_out)[9499]  # ceil(0.95 * 10,000) = 9,500th smallest
    assert np.mean(held_out > threshold) <= 0.05
    # The realised rate of a 9,999-score quantile has a standard deviation of about 0.002.
    fresh = rng.standard_normal(200_000)
    assert abs(np.mean(fresh > threshold) - 0.05) < 0.01
    with pytest.raises(ValueError, match="cannot calibrate"):
        conformal_threshold(held_out[:10], 0.05)
    with pytest.raises(ValueError, match="between 0 and 1"):
        conformal_threshold(held_out, 1.5)


def test_calibrated_reference_flags_the_intended_share_of_new_in_distribution_points():
    train, _ = blob(2000)
    held_out, _ = blob(4000, seed=6)  # the realised rate then has a standard deviation of 0.002
    fresh, _ = blob(20_000, seed=7)
    reference = fit_features(train, "mahalanobis")
    with pytest.raises(ValueError, match="no threshold"):
        reference.is_out_of_distribution(1.0)
    calibrated = reference.calibrate(held_out, false_alarm_rate=0.02)
    rate = np.mean(calibrated.is_out_of_distribution(calibrated.score(fresh)))
    assert 0.01 < rate < 0.03
    far = fresh[:100] + 5 * np.geomspace(10, 0.1, 10).astype(np.float32)
    assert calibrated.is_out_of_distribution(calibrated.score(far)).all()
    assert isinstance(calibrated.is_out_of_distribution(0.0), bool)


def test_saved_reference_holds_a_float16_triangle_and_little_else(tmp_path):
    train = np.random.default_rng(8).random((300, 128), np.float32)
    path = (
        fit_features(train)
        .calibrate(np.random.default_rng(9).random((200, 128), np.float32))
        .save(tmp_path / "novelty.npz")
    )
    triangle = 128 * 129 // 2 * 2  # float16 lower triangle; a full float32 matrix would be 65,536 bytes
    assert triangle < path.stat().st_size < triangle + 128 * 4 + 3000  # + mean + summary and zip headers


def test_features_of_another_width_are_refused():
    reference = fit_features(blob(100)[0], "mahalanobis")
    with pytest.raises(ValueError, match="fitted on 10"):
        reference.score(np.zeros((2, 7), np.float32))
    with pytest.raises(ValueError, match="unknown novelty method"):
        fit_features(blob(100)[0], "energy")


def test_predictor_features_skip_the_mirror_pass_and_equal_the_tta_inference_features():
    """The novelty reference's training features (Predictor.features) are those infer() gives
    the same pictures with TTA on, from one pass instead of two (flipped pictures would differ)."""
    from tomjerry.inference.predict import InferenceRecipe, Predictor

    model = pooled_model()
    pixels = (images(70, seed=3) * 255).astype(np.uint8)  # more than one batch of 64
    predictor = Predictor(model, InferenceRecipe(input_size=16, tta=True))
    _, with_tta = predictor.infer(pixels, features=True)
    features = predictor.features(pixels)
    np.testing.assert_allclose(features, with_tta, rtol=1e-5, atol=1e-6)
    mirrored = predictor.features(np.ascontiguousarray(pixels[:, :, ::-1]))
    assert not np.allclose(mirrored, features, atol=1e-3)
    with pytest.raises(ValueError, match="no pictures"):
        predictor.features(pixels[:0])
