"""Issue 30's Predict, Grad-CAM and Video items: a picture the novelty check flags gets the verdict
"Not a Tom and Jerry frame?" (page and `predict --json`), the page opens on the uploader with its
settings folded below the verdicts, the Video page draws its maps through Predict's recipe and map
path (faded for an absent label, under the colour scale), and the Grad-CAM page says which frames
each model trained on and shows every challenge frame a page at a time."""

import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import REAL_DATA, ROOT
from PIL import Image
from streamlit.testing.v1 import AppTest
from test_video import clip, make_run, model, segment_frames  # noqa: F401  (module fixtures, reused)

from tomjerry.inference.predict import NOT_A_FRAME, InferenceRecipe, Prediction

TIMEOUT = 180


def default_run():
    """The shipped run the pages and commands pick by default (the best on validation, real data first)."""
    from tomjerry.runs.record import read_runs
    from tomjerry.science.results import best_run

    best = best_run(read_runs(ROOT / "artifacts"))
    return best.path if best else ROOT / "artifacts" / "runs" / "missing"


SHIPPED = default_run()
FOUR = ("neither", "tom", "jerry", "both")


def png(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def astronaut() -> bytes:
    from skimage import data

    return png(data.astronaut())


def real_frame() -> tuple[str, bytes, str]:
    """(name, bytes, truth) of a test frame of the shipped run that it labels right in its evaluation."""
    from tomjerry.data.dataset import scan
    from tomjerry.runs.folder import RunFolder

    predictions = RunFolder(SHIPPED).read_predictions()
    threshold = InferenceRecipe.from_dict(RunFolder(SHIPPED).read_json(RunFolder.INFERENCE)).threshold
    test = predictions[(predictions.split == "test") & (predictions.tom == 1) & (predictions.jerry == 0)]
    right = test[(test.p_tom >= threshold) & (test.p_jerry < threshold)]
    name = right.filename.iloc[0]
    path = scan(REAL_DATA).usable.set_index("filename").path[name]
    return name, open(path, "rb").read(), "tom"


def in_order(node) -> list:
    """Every element under an AppTest node in the order the page shows them (depth first)."""
    found = []
    for child in getattr(node, "children", {}).values():
        found.append(child)
        found.extend(in_order(child))
    return found


# --- the verdict ---------------------------------------------------------------------------------


def test_a_flagged_picture_gets_the_novelty_verdict_and_keeps_the_models_label():
    flagged = Prediction(0.97, 0.92, 0.4, warnings=["does not look like"], novelty=31.3, novel=True)
    assert flagged.verdict == NOT_A_FRAME and flagged.verdict not in FOUR and flagged.label == "both"
    row = flagged.to_json()
    assert row["verdict"] == NOT_A_FRAME and row["label"] == "both" and row["novelty"] == 31.3
    plain = Prediction(0.97, 0.1, 0.4, novelty=3.0)
    assert plain.verdict == plain.label == "tom"
    assert Prediction(None, None, 0.5, error="unreadable").verdict is None


@pytest.mark.slow
@pytest.mark.skipif(not (SHIPPED / "model.keras").is_file(), reason="no shipped model")
def test_predict_json_calls_the_astronaut_no_frame_and_a_real_frame_by_its_label(tmp_path):
    from skimage import data

    pictures = {"astronaut.png": astronaut(), "coffee.png": png(data.coffee())}
    truth = None
    if REAL_DATA.is_dir():
        name, content, truth = real_frame()
        pictures[name] = content
    for name, content in pictures.items():
        (tmp_path / name).write_bytes(content)
    command = [sys.executable, "-m", "tomjerry", "predict", "--model", str(SHIPPED), "--json"]
    result = subprocess.run(
        command + [str(tmp_path / name) for name in pictures], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {row["file"].rsplit("/", 1)[-1]: row for row in json.loads(result.stdout)}
    for photo in ("astronaut.png", "coffee.png"):  # a photo and a coffee cup, both flagged
        row = rows[photo]
        assert row["verdict"] == NOT_A_FRAME and row["label"] in FOUR, row
        assert "does not look like a Tom and Jerry frame" in row["warnings"][0]
    if truth:
        row = rows[name]
        assert row["verdict"] == row["label"] == truth and not any("does not look" in w for w in row["warnings"])


def test_the_threshold_is_said_with_its_source_beside_the_headline_figures_threshold():
    recipe = InferenceRecipe(240, threshold=0.6, threshold_source="validation")
    assert recipe.threshold_text == "0.6 (chosen on validation; the headline figures use 0.5)"
    same = InferenceRecipe(240, threshold=0.5, threshold_source="validation")
    assert same.threshold_text == "0.5 (chosen on validation; the headline figures use 0.5 too)"
    assert InferenceRecipe(240).threshold_text.startswith("0.5 (the default: a bare model file")
    typed = InferenceRecipe(240, threshold=0.7, threshold_source="set with --threshold")
    assert typed.threshold_text == "0.7 (set with --threshold; the headline figures use 0.5)"


# --- the Predict page ----------------------------------------------------------------------------


def open_predict(monkeypatch, data, artifacts, all_runs=False):
    monkeypatch.setenv("TOMJERRY_DATA", str(data))
    monkeypatch.setenv("TOMJERRY_ARTIFACTS", str(artifacts))
    app = AppTest.from_file(str(ROOT / "pages" / "5_Predict.py"), default_timeout=TIMEOUT)
    if all_runs:
        app.session_state["_all_runs"] = True
    return app.run()


def test_predict_opens_on_the_uploader_with_the_settings_folded_below(monkeypatch, demo_root, finished_artifacts):
    app = open_predict(monkeypatch, demo_root, finished_artifacts)
    assert not app.exception, app.exception
    shown = in_order(app.main)
    kinds = [node.type for node in shown]
    uploader, expander = kinds.index("file_uploader"), kinds.index("expander")
    assert uploader < expander
    # Nothing asks anything of the user before the uploader: the settings are all inside the fold.
    assert not {"selectbox", "slider", "toggle"} & set(kinds[:uploader])
    settings = app.expander[0]
    assert [s.label for s in settings.selectbox] == ["Model"]
    assert [s.label for s in settings.slider] == ["Decision threshold"]
    assert "Show Grad-CAM" in [t.label for t in settings.toggle]
    assert not settings.proto.expanded  # folded
    # The model and threshold in use stay in sight above the fold.
    context = [c.value for c in app.caption if c.value.startswith("Model: ")]
    assert context and "decision threshold" in context[0]
    # ... with where the threshold comes from, beside the headline figures' 0.5 (the recipe's words).
    from tomjerry.inference.predict import saved_recipe
    from tomjerry.runs.record import read_runs

    recipe = saved_recipe(read_runs(finished_artifacts)[0].path)
    assert recipe.threshold_source == "validation"
    assert f"decision threshold {recipe.threshold_text} (settings below)" in context[0], context
    assert "chosen on validation; the headline figures use 0.5" in recipe.threshold_text
    # How a file over the limit shows, said before any is dropped (the uploader only marks it red).
    assert any("each up to 20 MB. A larger file is refused" in c.value for c in app.caption)
    # The served model runs through TensorFlow Lite, and the recipe's caption says so.
    assert any("Run through TensorFlow Lite" in c.value for c in settings.caption), [c.value for c in settings.caption]

    app.file_uploader(key="frames").set_value(
        [("frame.png", png(np.full((90, 160, 3), 120, np.uint8)), "image/png")]
    ).run()
    assert not app.exception, app.exception
    shown = in_order(app.main)
    kinds = [node.type for node in shown]
    verdict = next(i for i, node in enumerate(shown) if node.type == "metric" and node.label == "Verdict")
    assert kinds.index("file_uploader") < verdict < kinds.index("expander")


@pytest.mark.slow
@pytest.mark.skipif(not (SHIPPED / "model.keras").is_file(), reason="no shipped model")
def test_predict_page_calls_the_astronaut_no_frame_full_width_and_a_real_frame_by_its_label(monkeypatch, demo_root):
    """With the shipped model (the default the page picks on the real data): the astronaut's verdict is
    the novelty verdict, its probabilities in a line beneath, the reason full-width (in no column),
    and its Grad-CAM maps drawn on the 512 x 512 picture, not the padded 16:9 model input."""
    import tomjerry.inference.explain as explain

    drawn_on = []
    original = explain.overlay_on_picture

    def recorded(rgb, *args, **kwargs):
        drawn_on.append(rgb.shape)
        return original(rgb, *args, **kwargs)

    monkeypatch.setattr(explain, "overlay_on_picture", recorded)
    data = REAL_DATA if REAL_DATA.is_dir() else demo_root
    app = open_predict(monkeypatch, data, ROOT / "artifacts", all_runs=not REAL_DATA.is_dir())
    assert not app.exception, app.exception
    app.expander[0].selectbox[0].set_value(
        next(name for name in app.expander[0].selectbox[0].options if "random 42" in name and "TTA" in name)
    ) if not REAL_DATA.is_dir() else None
    uploads = [("astronaut.png", astronaut(), "image/png")]
    truth = None
    if REAL_DATA.is_dir():
        name, content, truth = real_frame()
        uploads.append((name, content, "image/jpeg"))
    app.file_uploader(key="frames").set_value(uploads).run()
    assert not app.exception, app.exception
    assert [h.value for h in app.header] == [NOT_A_FRAME]  # a heading: it wraps on a phone
    verdicts = [m.value for m in app.metric if m.label == "Verdict"]
    assert any("The model's answer all the same" in m.value for m in app.markdown)
    reasons = [w.value for w in app.warning if "does not look like a Tom and Jerry frame" in w.value]
    assert len(reasons) == 1
    for column in app.columns:  # the reason is full-width: in no column
        assert not [w for w in column.warning if "does not look like" in w.value]
    assert (512, 512, 3) in drawn_on  # the maps on the square picture as uploaded
    if truth:
        assert verdicts == [truth]
        assert [m.value for m in app.metric if m.label == "p(tom)"]  # a real frame keeps its probabilities


# --- the Video page ------------------------------------------------------------------------------


def test_the_timeline_reads_a_runs_recipe_only_through_saved_recipe(monkeypatch, tmp_path):
    import tomjerry.inference.timeline as timeline

    source = (ROOT / "tomjerry" / "inference" / "timeline.py").read_text()
    assert "RunFolder" not in source and "read_json" not in source and "for_run" not in source
    monkeypatch.setattr(timeline, "saved_recipe", lambda path: InferenceRecipe(input_size=32, tta=True, threshold=0.33))
    settings = timeline.inference_settings(tmp_path / "some-run")
    assert (settings.tta, settings.threshold) == (True, 0.33)


def test_classify_video_takes_the_runs_recipe(clip, model):  # noqa: F811
    from tomjerry.inference.timeline import classify_video

    size = int(model.input_shape[1])
    everything = classify_video(clip, model, recipe=InferenceRecipe(input_size=size, threshold=0.0))
    assert everything.threshold == 0.0 and set(everything.table.verdict) == {"both"}
    plain = classify_video(clip, model, threshold=0.5)
    assert set(plain.table.verdict) == {"tom", "jerry", "both", "neither"}


def test_the_video_page_draws_maps_like_predict_faded_under_the_colour_scale(
    clip,  # noqa: F811
    model,  # noqa: F811
    monkeypatch,
    demo_root,
    tmp_path,
):
    import tomjerry.inference.explain as explain
    import tomjerry.inference.timeline as timeline
    from tomjerry.inference.explain import SCALE_CAPTION, Explainer

    artifacts = tmp_path / "artifacts"
    make_run(artifacts, model, demo_root, tta=True, threshold=0.5)
    given, drawn, maps = {}, [], []
    classify, draw, heatmaps = timeline.classify_video, explain.overlay_on_picture, Explainer.heatmaps

    def classify_recorded(*args, **kwargs):
        given.update(kwargs)
        return classify(*args, **kwargs)

    def draw_recorded(rgb, square, probability=None, threshold=0.5, **kwargs):
        drawn.append((probability, threshold))
        return draw(rgb, square, probability=probability, threshold=threshold, **kwargs)

    def heatmaps_recorded(self, images, label):
        maps.append(label)
        return heatmaps(self, images, label)

    monkeypatch.setattr(timeline, "classify_video", classify_recorded)
    monkeypatch.setattr(explain, "overlay_on_picture", draw_recorded)
    monkeypatch.setattr(Explainer, "heatmaps", heatmaps_recorded)
    monkeypatch.setenv("TOMJERRY_DATA", str(demo_root))
    monkeypatch.setenv("TOMJERRY_ARTIFACTS", str(artifacts))
    app = AppTest.from_file(str(ROOT / "pages" / "7_Video.py"), default_timeout=TIMEOUT).run()
    app.file_uploader(key="clip").set_value(("segments.mp4", clip.read_bytes(), "video/mp4")).run()
    assert not app.exception, app.exception
    # The clip went through the run's saved recipe, as Predict's Predictor holds it.
    assert given["recipe"].tta is True and given["recipe"].threshold == 0.5
    # The frame at 0 s shows Tom alone: Jerry's map is drawn with its probability, so faded.
    assert {m.label: m.value for m in app.metric}["Verdict"] == "tom"
    (p_tom, t_tom), (p_jerry, t_jerry) = drawn[-2:]
    assert p_tom >= t_tom == 0.5 and p_jerry < t_jerry == 0.5
    captions = [
        image.caption for kind in ("image", "imgs") for element in app.get(kind) for image in element.proto.imgs
    ]
    assert any(c.startswith("Grad-CAM · jerry absent") and "(faded)" in c for c in captions), captions
    assert SCALE_CAPTION in [c.value for c in app.caption]
    assert sorted(maps) == ["jerry", "tom"]
    app.run()  # the same frame again: its maps come from the cache Predict uses
    assert not app.exception, app.exception
    assert sorted(maps) == ["jerry", "tom"]


# --- the Grad-CAM page ---------------------------------------------------------------------------


@pytest.mark.slow
def test_the_gradcam_page_says_which_frames_each_model_trained_on_and_shows_every_one(
    monkeypatch, demo_root, finished_artifacts
):
    from tomjerry.data.dataset import scan
    from tomjerry.runs.folder import RunFolder
    from tomjerry.runs.record import read_runs

    monkeypatch.setenv("TOMJERRY_DATA", str(demo_root))
    monkeypatch.setenv("TOMJERRY_ARTIFACTS", str(finished_artifacts))
    app = AppTest.from_file(str(ROOT / "pages" / "4_Grad-CAM.py"), default_timeout=TIMEOUT).run()
    assert not app.exception, app.exception
    challenges = scan(demo_root).usable.query("challenge")
    split = pd.read_csv(RunFolder(read_runs(finished_artifacts)[0].path).file(RunFolder.SPLIT))
    trained = set(split.filename[split.split == "train"]) & set(challenges.filename)
    said = " ".join(m.value for m in app.markdown)
    assert f"**A** {len(trained)} of these {len(challenges)} frames" in said
    pages = [option for option in app.selectbox(key="cam_view").options if " of " in option]
    assert len(pages) == -(-len(challenges) // 8)  # every challenge frame is on some page
    app.selectbox(key="cam_view").set_value(pages[-1]).run()
    assert not app.exception, app.exception
    last = list(challenges.filename)[(len(pages) - 1) * 8 :]
    heads = [m.value for m in app.markdown if m.value.startswith("**") and "truth:" in m.value]
    assert [head.split("**")[1] for head in heads] == last
    for head, name in zip(heads, last):
        assert ("A: in its training split" in head) == (name in trained)
