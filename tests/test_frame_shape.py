"""The frame's own shape: a 16:9 model input (`input_aspect="16:9"`) through decoding, the model, the
training pipeline, the recipe, the predictor, Grad-CAM and the TensorFlow Lite path; square stays
the default and keeps its cache keys."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_CONFIG
from pictures import cartoon, encode
from PIL import Image

from tomjerry.config import RunConfig
from tomjerry.data.decoding import height_width, input_shape, size_text
from tomjerry.data.images import fingerprint, map_to_picture, model_input


def test_a_16_9_input_is_the_image_size_high_and_16_9_as_wide_in_steps_of_8():
    assert input_shape(240, "16:9") == (240, 424)  # 426.7 -> 424: 1.767, within 1 % of 16:9
    assert input_shape(224, "16:9") == (224, 400)
    assert input_shape(224, "1:1") == (224, 224)
    with pytest.raises(ValueError, match="input aspect must be one of 1:1, 16:9, not '4:3'"):
        input_shape(224, "4:3")
    assert RunConfig(image_size=240, input_aspect="16:9", model="efficientnet_lite1").input_shape == (240, 424)
    assert RunConfig().input_shape == (224, 224) and RunConfig().input_aspect == "1:1"  # the study's square
    with pytest.raises(ValueError, match="input_aspect must be one of"):
        RunConfig(input_aspect="wide")
    assert size_text((240, 424)) == "240x424 px" and size_text(96) == "96 px"
    assert RunConfig(model="efficientnet_lite0", image_size=96, input_aspect="16:9").label().endswith("@96x168")


def test_a_16_9_input_keeps_the_frames_detail_and_a_square_keeps_its_cache_key():
    table = pd.DataFrame({"path": [], "tom": [], "jerry": []})
    # The caches made before 16:9 inputs existed stay valid: a square's key is its side alone.
    assert fingerprint(table, 96) == fingerprint(table, (96, 96)) != fingerprint(table, (96, 168))
    frame = cartoon(480, 270)
    wide, note = model_input(frame, (90, 160))
    square, _ = model_input(frame, 90)
    assert note is None and wide.shape == (90, 160, 3) and square.shape == (90, 90, 3)
    # Thin vertical stripes one pixel apart survive a 16:9 resize by 3 and vanish in the squeeze by 5.3.
    stripes = np.zeros((270, 480, 3), np.uint8)
    stripes[:, ::6] = 255
    assert model_input(stripes, (90, 160))[0].std() > 2 * model_input(stripes, 90)[0].std()
    assert height_width((90, 160)) == (90, 160) and height_width(90) == (90, 90)


def test_a_grad_cam_map_over_a_16_9_input_lands_on_the_picture_where_it_was():
    from tomjerry.data.decoding import fit_of

    map_ = np.zeros((9, 16), np.float32)
    map_[4, 12] = 1.0  # right of centre
    fit = fit_of(270, 480)
    drawn, seen = map_to_picture(map_, fit)
    assert drawn.shape == (270, 480) and seen.all()
    row, column = np.unravel_index(np.argmax(drawn), drawn.shape)
    assert 12 * 30 <= column < 13 * 30 and 4 * 30 <= row < 5 * 30


def test_models_take_square_or_16_9_input_and_refuse_other_shapes(tmp_path):
    import keras

    from tomjerry.inference.predict import InferenceRecipe, Predictor
    from tomjerry.models.files import ModelContractError, load_model

    def tiny(shape):
        inputs = keras.Input(shape)
        features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
        return keras.Model(inputs, keras.layers.Dense(2, activation="sigmoid")(features))

    tiny((18, 32, 3)).save(tmp_path / "wide.keras")
    model = load_model(tmp_path / "wide.keras")
    predictor = Predictor(model, InferenceRecipe.for_model(model))
    assert predictor.recipe.input_shape == (18, 32) and predictor.recipe.size_text == "18x32 px"
    prediction, pixels = predictor.predict_with_pixels(encode(Image.fromarray(cartoon(480, 270)), "PNG"))
    assert pixels.shape == (18, 32, 3) and prediction.label is not None
    with pytest.raises(ValueError, match="the recipe expects 18 px input but the model takes 18x32 px"):
        Predictor(model, InferenceRecipe(input_size=18))
    tiny((32, 18, 3)).save(tmp_path / "portrait.keras")
    with pytest.raises(ModelContractError, match="takes 18x32 input; tomjerry feeds square or 16:9 frames"):
        load_model(tmp_path / "portrait.keras")


@pytest.mark.slow
def test_a_16_9_run_trains_scores_predicts_explains_and_runs_through_tensorflow_lite(demo_root, tmp_path):
    """One real 16:9 fit on the demo data: every stage sees the frame's shape, and the predictor
    gives each test frame the answer its evaluation wrote (one answer per picture)."""
    from tomjerry.inference import lite_runtime
    from tomjerry.inference.explain import Explainer, overlay_on_picture
    from tomjerry.inference.predict import Predictor
    from tomjerry.lab.execute import execute_run
    from tomjerry.runs.lifecycle import create_run
    from tomjerry.runs.record import read_run

    config = RunConfig(**{**TINY_CONFIG, "input_aspect": "16:9", "tta": True})
    run_dir = create_run(config, tmp_path / "artifacts", demo_root)
    execute_run(run_dir, demo_root)
    recipe = json.loads((run_dir / "inference.json").read_text())
    assert (recipe["input_size"], recipe["input_width"], recipe["tta"]) == (48, 88, True)
    assert read_run(run_dir).setting().endswith("48x88 px · TTA")
    predictor = Predictor.from_path(run_dir)
    assert predictor.model.input_shape == (None, 48, 88, 3)
    predictions = pd.read_csv(run_dir / "predictions.csv")
    test = predictions[predictions.split == "test"].head(4)
    paths = {path.name: path for path in demo_root.rglob("*.jpg")}
    for row in test.itertuples():
        prediction, pixels = predictor.predict_with_pixels(paths[row.filename])
        assert pixels.shape == (48, 88, 3)
        assert abs(prediction.p_tom - row.p_tom) < 1e-4 and abs(prediction.p_jerry - row.p_jerry) < 1e-4
    maps = Explainer(predictor.model).heatmaps(pixels[None].astype(np.float32) / 255.0, "tom")
    assert maps.shape == (1, 48, 88)
    picture = np.asarray(cartoon(480, 270))
    drawn, _ = overlay_on_picture(picture, maps[0], 0.9)
    assert drawn.shape[:2] == (270, 480)
    lite = lite_runtime.LiteModel(lite_runtime.convert(predictor.model))
    assert lite.input_shape == (None, 48, 88, 3)
    assert lite_runtime.disagreement(predictor.model, lite) < 1e-4
