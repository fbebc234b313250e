"""Multi-scale test-time augmentation (`tta_scales`): the model also scores its input enlarged, and
the probabilities are averaged; and `rescore`, which scores a finished run's weights again under
another test-time recipe as a run of its own."""

import json
import shutil

import cv2
import keras
import numpy as np
import pandas as pd
import pytest

from tomjerry.config import RUN_PRESETS, RunConfig, options
from tomjerry.data.decoding import check_scales, parse_scales, scaled_shape
from tomjerry.inference.predict import InferenceRecipe, Predictor
from tomjerry.models.builders import rebuilt_at


def test_scales_have_known_shapes_and_refuse_what_cannot_be_scored():
    assert scaled_shape((240, 424), 1.133) == (272, 480)
    assert scaled_shape((240, 424), 1.267) == (304, 536)
    assert scaled_shape(224, 1.0) == (224, 224) and scaled_shape(224, 0.75) == (168, 168)
    assert check_scales(["1", 1.133]) == (1.0, 1.133)
    with pytest.raises(ValueError, match="must include 1"):
        check_scales([1.133])
    with pytest.raises(ValueError, match="between 0.5 and 2"):
        check_scales([1, 3])
    with pytest.raises(ValueError, match="given twice"):
        check_scales([1, 1.0])
    with pytest.raises(ValueError, match="numbers such as"):
        check_scales(["1", "big"])
    # The one spelling the command line and the Train form read; the error names what was typed.
    assert parse_scales(" 1, 1.133 ") == (1.0, 1.133)
    with pytest.raises(ValueError, match=r"not \['1', 'big'\]"):
        parse_scales("1,big")


def test_the_config_and_the_recipe_keep_the_scales_and_old_files_read_as_one_scale():
    config = RunConfig(model="efficientnet_lite1", image_size=240, input_aspect="16:9", tta=True, tta_scales=[1, 1.133])
    assert config.tta_scales == (1.0, 1.133) and RunConfig().tta_scales == (1.0,)
    again = RunConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    (option,) = [o for o in options() if o.name == "tta_scales"]
    assert option.parse("1, 1.133") == (1.0, 1.133) and option.flag == "--tta-scales"
    with pytest.raises(ValueError):
        RunConfig(tta_scales=(2.5,))
    recipe = InferenceRecipe.for_run(config, {"threshold_from_validation": 0.4})
    assert recipe.tta_scales == (1.0, 1.133) and recipe.scale_shapes == [(240, 424), (272, 480)]
    assert recipe.tta_text == "mirror TTA at 240x424 px and 272x480 px"
    assert InferenceRecipe.from_dict(json.loads(json.dumps(recipe.to_dict()))) == recipe
    old = {"schema_version": 2, "input_size": 224, "tta": True, "threshold": 0.5}  # written before scales
    assert (
        InferenceRecipe.from_dict(old).tta_scales == (1.0,) and InferenceRecipe.from_dict(old).tta_text == "mirror TTA"
    )
    assert InferenceRecipe(input_size=96).tta_text == "no TTA"
    assert InferenceRecipe(input_size=96, tta_scales=(1.0, 1.5)).tta_text == "multi-scale TTA at 96 px and 144 px"


def _pooling_model(shape=(32, 56)):
    inputs = keras.Input((*shape, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", kernel_initializer=keras.initializers.RandomNormal(seed=1))(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(2, activation="sigmoid", kernel_initializer=keras.initializers.RandomNormal(seed=2))(x)
    return keras.Model(inputs, outputs)


def test_a_model_that_pools_globally_is_rebuilt_at_another_size_and_a_flattening_one_is_refused():
    model = _pooling_model()
    larger = rebuilt_at(model, (40, 72))
    assert larger.input_shape == (None, 40, 72, 3)
    for mine, theirs in zip(model.get_weights(), larger.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    # A flat picture: every 3x3 window sees the same pixels, so the pooled answer cannot depend on size.
    flat = np.full((1, 32, 56, 3), 0.3, np.float32)
    np.testing.assert_allclose(
        model.predict_on_batch(flat), larger.predict_on_batch(np.full((1, 40, 72, 3), 0.3)), 1e-6
    )
    inputs = keras.Input((32, 56, 3))
    flattening = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)))
    with pytest.raises(ValueError, match="cannot score 40x72 inputs"):
        rebuilt_at(flattening, (40, 72))


def test_the_predictor_averages_each_scale_and_its_mirror_as_computed_by_hand():
    model = _pooling_model()
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (5, 32, 56, 3), dtype=np.uint8)
    recipe = InferenceRecipe.for_shape((32, 56), tta=True, tta_scales=(1.0, 1.25))
    got, features = Predictor(model, recipe).infer(pixels, features=True)
    larger = rebuilt_at(model, (40, 72))

    def mirrored(net, images):
        images = images.astype(np.float32) / 255
        return (net.predict_on_batch(images) + net.predict_on_batch(images[:, :, ::-1])) / 2

    up = np.stack([cv2.resize(p, (72, 40), interpolation=cv2.INTER_LINEAR) for p in pixels])
    np.testing.assert_allclose(got, (mirrored(model, pixels) + mirrored(larger, up)) / 2, atol=1e-5)
    assert features is not None and len(features) == 5  # from the trained size's pass
    single, _ = Predictor(model, InferenceRecipe.for_shape((32, 56), tta=True)).infer(pixels)
    np.testing.assert_allclose(single, mirrored(model, pixels), atol=1e-5)
    assert not np.allclose(got, single)


def test_rescoring_refuses_what_would_change_the_weights():
    from tomjerry.lab.rescoring import rescored_config

    trained = RUN_PRESETS["lite1-wide"].replace(split="shots", split_seed=2)
    with pytest.raises(ValueError, match="only the test-time recipe, not epochs"):
        rescored_config(trained, epochs=3)
    with pytest.raises(ValueError, match="trains differently from this run \\(input_aspect\\)"):
        rescored_config(RUN_PRESETS["lite1-best"], "lite1-wide")
    with pytest.raises(ValueError, match="nothing to change"):
        rescored_config(trained, tta=True)
    with pytest.raises(ValueError, match="unknown preset"):
        rescored_config(trained, "huge")
    changed = rescored_config(trained, tta_scales=(1.0, 1.133), notes="mine")
    assert (
        changed.tta_scales == (1.0, 1.133)
        and changed.notes == "mine"
        and changed.preset == "lite1-wide"
        and changed.split_seed == 2
    )


def test_a_rescored_run_keeps_the_weights_scores_again_and_counts_in_the_ledger(trained_run, demo_root, tmp_path):
    from tomjerry.lab.rescoring import rescore
    from tomjerry.runs.ledger import test_set_scorings
    from tomjerry.runs.record import read_run, read_runs

    artifacts = tmp_path / "artifacts"
    shutil.copytree(trained_run.artifacts, artifacts)
    (source,) = [path for path in (artifacts / "runs").iterdir() if path.is_dir()]
    before = test_set_scorings(read_runs(artifacts))
    path = rescore(source, demo_root, artifacts, tta_scales=(1.0, 1.5))
    run, original = read_run(path), read_run(source)
    assert run.finished and run.config.tta_scales == (1.0, 1.5) and "2 scales" in run.label()
    assert (path / "model.keras").read_bytes() == (source / "model.keras").read_bytes()
    assert (path / "split.csv").read_text() == (source / "split.csv").read_text()
    provenance = json.loads((path / "provenance.json").read_text())
    assert provenance["rescored_from"]["run_id"] == source.name
    assert provenance["rescored_from"]["changed"] == {"tta_scales": [1.0, 1.5]}
    assert run.metrics["train_seconds"] == original.metrics["train_seconds"]
    after = test_set_scorings(read_runs(artifacts))
    assert after[run.run_id] == after[source.name] == before[source.name] + 1
    # Its saved recipe gives, through the one Predictor, the probabilities its evaluation wrote.
    recipe = json.loads((path / "inference.json").read_text())
    assert recipe["tta_scales"] == [1.0, 1.5]
    predictions = pd.read_csv(path / "predictions.csv")
    test = predictions[predictions.split == "test"].head(6)
    predictor = Predictor.from_path(path)
    paths = {picture.name: picture for picture in demo_root.rglob("*.jpg")}
    found = [predictor.predict(paths[name]) for name in test.filename]
    np.testing.assert_allclose([[p.p_tom, p.p_jerry] for p in found], test[["p_tom", "p_jerry"]], atol=2e-4)
    assert not np.allclose(
        pd.read_csv(source / "predictions.csv").set_index("filename").loc[test.filename, ["p_tom"]].to_numpy(),
        test[["p_tom"]].to_numpy(),
    )
