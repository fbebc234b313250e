"""A frame shown as a picture keeps its own shape (16:9) whatever model is picked: the Data page's
samples and challenge frames, Compare's and the deck's mistakes, and the report's and the deck's
Grad-CAM examples, whose maps are computed on the run's own input (square or 16:9) and drawn back on
the frame as it is. Only a model's input may be drawn at the model's input shape."""

import base64
import re
from types import SimpleNamespace

import cv2
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, scaled
from pictures import cartoon

from tomjerry.data.dataset import scan
from tomjerry.data.eda import frames_of, sample
from tomjerry.data.images import THUMBNAIL_HEIGHT, read_thumbnail, thumbnail

SIXTEEN_NINE = 16 / 9
TIMEOUT = scaled(180)


def aspect(picture: np.ndarray) -> float:
    return picture.shape[1] / picture.shape[0]


def inlined_pictures(page: str) -> list[np.ndarray]:
    """Every PNG inlined in an HTML page, decoded to (H, W, 3) uint8."""
    found = re.findall(r"src=['\"]data:image/png;base64,([A-Za-z0-9+/=]+)['\"]", page)
    return [cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR) for data in found]


def test_a_thumbnail_is_a_smaller_copy_of_the_same_shape():
    for width, height in ((480, 270), (1280, 720), (640, 480), (300, 500), (60, 30)):
        small = thumbnail(cartoon(width, height), 90)
        assert small.shape[0] == 90 and small.dtype == np.uint8
        assert aspect(small) == pytest.approx(width / height, rel=0.02), (width, height, small.shape)
    with pytest.raises(ValueError, match="at least 1 pixel high"):
        thumbnail(cartoon(480, 270), 0)


def test_dataset_frames_are_shown_16_9_not_squeezed_to_a_model_input(demo_root, tmp_path):
    table = scan(demo_root).usable
    rows, images = sample(table, "all", count=5, seed=3)
    assert len(images) == 5
    for row, image in zip(rows.itertuples(), images):
        assert image.shape[0] == THUMBNAIL_HEIGHT
        assert aspect(image) == pytest.approx(SIXTEEN_NINE, rel=0.02), (row.filename, image.shape)
    # frames_of (Compare's and the deck's mistakes) keeps the ranking and the frames' shape.
    ranking = pd.Series(list(table.filename[[5, 1]]))
    rows, images = frames_of(ranking, table, height=72)
    assert list(rows.filename) == list(ranking)
    assert [image.shape for image in images] == [(72, 128, 3)] * 2
    # The thumbnail is the frame itself, smaller: the same picture as an INTER_AREA resize of it.
    first = cv2.cvtColor(cv2.imread(str(rows.path.iloc[0])), cv2.COLOR_BGR2RGB)
    expected = cv2.resize(first, (128, 72), interpolation=cv2.INTER_AREA)
    assert np.abs(images[0].astype(int) - expected).mean() < 1.0
    # A frame that cannot be decoded is a black 16:9 stand-in, not a square.
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a picture")
    assert read_thumbnail(broken) is None
    _, images = frames_of(pd.Series(["broken.jpg"]), pd.DataFrame({"filename": ["broken.jpg"], "path": [broken]}))
    assert images[0].shape == (THUMBNAIL_HEIGHT, 213, 3) and not images[0].any()


def tiny_model_file(folder, shape: tuple[int, int]):
    """An untrained two-label model taking (height, width) input, saved as a .keras file: a run
    whose recipe is the defaults for its input shape (Predictor.from_path of a bare file)."""
    import keras

    inputs = keras.Input((*shape, 3))
    convolved = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    features = keras.layers.GlobalAveragePooling2D()(convolved)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="sigmoid")(features))
    path = folder / f"tiny_{shape[0]}x{shape[1]}.keras"
    model.save(path)
    return path


@pytest.mark.parametrize("shape", [(18, 32), (24, 24)], ids=["16:9 input", "square input"])
def test_the_reports_grad_cam_pictures_keep_the_frames_16_9_shape(shape, demo_root, tmp_path):
    from tomjerry.science.report import gradcam_examples

    table = scan(demo_root).usable
    rows = table[table.challenge].head(2)
    page = gradcam_examples(rows, SimpleNamespace(path=tiny_model_file(tmp_path, shape)))
    scale, *pictures = inlined_pictures(page)
    assert len(pictures) == 2 * 3  # each frame, then its tom and jerry maps
    for picture in pictures:
        assert aspect(picture) == pytest.approx(SIXTEEN_NINE, rel=0.02), picture.shape
    assert pictures[0].shape == (144, 256, 3)  # the demo frame at its own size (below the 400 px cap)
    size = f"{shape[0]}x{shape[1]} px" if shape[0] != shape[1] else f"{shape[0]} px"
    assert f"computed on the model's {size} input" in page


def test_a_map_is_computed_on_the_runs_own_input_and_drawn_where_it_lies_on_the_frame(demo_root, tmp_path):
    """Known answer: a stub explainer whose map is hot in the right quarter of the model's 16:9 input;
    drawn back on the frame as it is, the red lies in the frame's right quarter."""
    from tomjerry.inference.explain import explain_frame
    from tomjerry.inference.predict import Predictor

    predictor = Predictor.from_path(tiny_model_file(tmp_path, (18, 32)))
    seen = []

    class RightQuarter:
        def heatmaps(self, images, label):
            seen.append(images.shape)
            maps = np.zeros(images.shape[:3], np.float32)
            maps[:, :, 24:] = 1.0
            return maps

    path = scan(demo_root).usable.path.iloc[0]
    explained = explain_frame(predictor, RightQuarter(), path, max_side=128)
    assert seen == [(1, 18, 32, 3)] * 2  # the model's own input, once per label
    assert explained.picture.shape == (72, 128, 3)
    for label, p, drawn, unseen in explained.maps:
        assert drawn.shape == (72, 128, 3) and unseen is None and 0 <= p <= 1
        redness = drawn[..., 0].astype(int) - drawn[..., 2].astype(int)
        assert redness[:, 100:].mean() > redness[:, :90].mean() + 30, label


def test_the_decks_mistakes_are_16_9_frames(demo_root, finished_artifacts):
    from tomjerry.runs.record import read_runs
    from tomjerry.science.report import report_data
    from tomjerry.science.slides import MISTAKE_HEIGHT, mistakes_slide

    data = report_data(scan(demo_root), read_runs(finished_artifacts), finished_artifacts)
    pictures = inlined_pictures(mistakes_slide(data).body)
    assert pictures, "the tiny run gets some demo test frames wrong"
    for picture in pictures:
        assert picture.shape[0] == MISTAKE_HEIGHT
        assert aspect(picture) == pytest.approx(SIXTEEN_NINE, rel=0.02), picture.shape


@pytest.mark.slow
def test_the_gradcam_page_shows_test_frames_and_mistakes_of_model_a_at_once(monkeypatch, demo_root, finished_artifacts):
    from streamlit.testing.v1 import AppTest

    from tomjerry.inference.predict import Predictor
    from tomjerry.runs.record import read_runs
    from tomjerry.science.results import misclassified

    monkeypatch.setenv("TOMJERRY_DATA", str(demo_root))
    monkeypatch.setenv("TOMJERRY_ARTIFACTS", str(finished_artifacts))
    app = AppTest.from_file(str(ROOT / "pages" / "4_Grad-CAM.py"), default_timeout=TIMEOUT).run()
    assert not app.exception, app.exception

    def shown(app):
        heads = [m.value for m in app.markdown if m.value.startswith("**") and "truth:" in m.value]
        return [head.split("**")[1] for head in heads]

    challenge = shown(app)
    assert len(challenge) == 2  # the first two frames, picked by default
    app.radio(key="cam_frames").set_value("test frames of model A").run()
    assert not app.exception, app.exception
    run = read_runs(finished_artifacts)[0]
    tests = set(run.folder.read_predictions().query("split == 'test'").filename)
    frames = shown(app)
    assert len(frames) == 2 and set(frames) <= tests and not set(frames) & set(challenge)
    app.radio(key="cam_frames").set_value("mistakes of model A").run()
    assert not app.exception, app.exception
    wrong = misclassified(run, Predictor.from_path(run.path).recipe.threshold)
    assert shown(app) == list(wrong.filename[:2])  # the most confident mistakes first
    said = " ".join(m.value for m in app.markdown)
    assert f"Model A gets **{len(wrong)}** of {run.test['count']} test frames wrong" in said
