"""Every page through Streamlit's AppTest: on the demo data with no runs, with one finished tiny
run, a launch from the Train page that reaches finished, and Predict with good and bad uploads;
what the pages show: one bar per run, no demo rows on real data, galleries only from the run's
own dataset, the most confident mistakes first, the Train form made of the config's fields."""

import base64
import json
import shutil
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import PAGES, REAL_DATA, ROOT, scaled
from streamlit.testing.v1 import AppTest

from tomjerry.config import BEST_PRESET, RUN_PRESETS, options
from tomjerry.inference.predict import NOT_A_FRAME
from tomjerry.lab.launcher import wait
from tomjerry.runs.record import read_runs

MODEL_PAGES = ("pages/4_Grad-CAM.py", "pages/6_Report.py")  # seconds of Grad-CAM each: --slow (Predict stays)
TIMEOUT = scaled(180)  # TensorFlow's import alone takes seconds


def open_page(page, monkeypatch, data, artifacts):
    monkeypatch.setenv("TOMJERRY_DATA", str(data))
    monkeypatch.setenv("TOMJERRY_ARTIFACTS", str(artifacts))
    return AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT).run()


def texts(app):
    return " ".join(
        str(e.value)
        for kind in ("info", "warning", "success", "error", "markdown", "caption")
        for e in getattr(app, kind)
    )


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_with_no_runs(page, monkeypatch, demo_root, tmp_path):
    app = open_page(page, monkeypatch, demo_root, tmp_path)
    assert not app.exception, app.exception
    # Every page opens alike (ui.start_page): on demo data each one says so, Predict included.
    assert any("Showing **demo data**" in str(e.value) for e in app.info), texts(app)


@pytest.mark.parametrize(
    "page", [pytest.param(page, marks=pytest.mark.slow) if page in MODEL_PAGES else page for page in PAGES]
)
def test_page_renders_with_a_finished_run(page, monkeypatch, demo_root, finished_artifacts):
    app = open_page(page, monkeypatch, demo_root, finished_artifacts)
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]


@pytest.fixture(scope="module")
def messy_artifacts(finished_artifacts, tmp_path_factory):
    """The finished run beside a broken, a foreign, a newer and an older run folder."""
    from test_run_records import broken_folders

    artifacts = tmp_path_factory.mktemp("messy")
    shutil.copytree(finished_artifacts / "runs", artifacts / "runs")
    broken_folders(artifacts)
    return artifacts


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_page_renders_beside_unreadable_run_folders(page, monkeypatch, demo_root, messy_artifacts):
    for show_all in (False, True) if page != "pages/1_Data.py" else (False,):  # Data lists no runs
        app = open_page(page, monkeypatch, demo_root, messy_artifacts)
        if show_all:
            app.sidebar.toggle(key="all_runs").set_value(True).run()
        assert not app.exception, app.exception
        assert not app.error, [e.value for e in app.error]


def test_train_lists_unreadable_runs_with_their_reason(monkeypatch, demo_root, messy_artifacts):
    app = open_page("pages/2_Train.py", monkeypatch, demo_root, messy_artifacts)
    app.sidebar.toggle(key="all_runs").set_value(True).run()
    table = app.dataframe[-1].value
    assert table.progress.str.startswith("unreadable").sum() == 4  # the state leads the progress column
    assert table.error.str.contains("learning_rte").any()


def test_home_is_named_home_and_shows_the_headline(monkeypatch, demo_root, finished_artifacts):
    app = open_page("app.py", monkeypatch, demo_root, finished_artifacts)
    assert not app.exception, app.exception
    labels = [m.label for m in app.metric]
    # One finished run on the random split: it leads, labelled with its split, beside the study.
    assert "test exact match · random split" in labels, labels
    assert "test binary accuracy · random split" in labels
    assert "the study's best · random split" in labels
    # Ours against the study's in words, from the run: no delta arrow under the study's own number
    # (a green "+3.55" there read as the study's figure going up).
    from tomjerry import STUDY_BEST_BINARY_ACCURACY
    from tomjerry.science.results import best_choice
    from tomjerry.science.results import headline as find_headline

    study = next(m for m in app.metric if m.label == "the study's best · random split")
    assert not study.proto.delta, study.proto.delta
    ours = find_headline(read_runs(finished_artifacts)).lead.binary_accuracy
    points = (ours - STUDY_BEST_BINARY_ACCURACY) * 100
    said = f"Ours ({ours:.2%} binary) is **{abs(points):.2f} points {'above' if points > 0 else 'below'}** the study's."
    assert said in [c.value for c in app.markdown], [c.value for c in app.markdown]
    # The setting named in bold above it is not named again in the reason.
    assert f"Why: {best_choice(read_runs(finished_artifacts)).why}." in [c.value for c in app.caption]
    # The seeds and interval at full contrast (markdown), not in a light caption (issue 30, item 9).
    headline = [c.value for c in app.markdown if c.value.startswith("seed 42")]
    assert headline and "95 % interval" in headline[0], [c.value for c in app.markdown]
    navigation = (ROOT / "app.py").read_text()
    assert 'title="Home"' in navigation and "st.navigation" in navigation


def test_home_shows_an_interval_next_to_its_number(monkeypatch, demo_root, finished_artifacts, tmp_path):
    from tomjerry.science.results import pooled_interval

    artifacts = tmp_path / "artifacts"
    shutil.copytree(finished_artifacts / "runs", artifacts / "runs")
    # The interval comes from the run's predictions (a studentized bootstrap over its shot groups),
    # not from the percentile interval an older metrics.json holds.
    exact = pooled_interval(read_runs(artifacts))["exact_match"]
    app = open_page("app.py", monkeypatch, demo_root, artifacts)
    expected = f"seed 42; 95 % interval {exact.low:.1%} to {exact.high:.1%} over {exact.groups} shot groups"
    assert expected in [c.value for c in app.markdown], [c.value for c in app.markdown]
    assert any("this test set has been scored" in c.value.lower() for c in app.caption)


def train_form_widgets(app):
    widgets = {}
    for kind in ("selectbox", "number_input", "checkbox", "text_input"):
        for widget in getattr(app, kind):
            if widget.key and widget.key.startswith("cfg."):
                preset, name = widget.key[len("cfg.") :].split(".", 1)
                widgets[name] = (preset, widget)
    return widgets


def test_train_form_fields_are_the_config_fields(monkeypatch, demo_root, tmp_path):
    app = open_page("pages/2_Train.py", monkeypatch, demo_root, tmp_path)
    assert not app.exception, app.exception
    widgets = train_form_widgets(app)
    assert set(widgets) == {option.name for option in options() if option.scope != "fixed"}
    assert {preset for preset, _ in widgets.values()} == {"demo"}  # demo data: the demo preset first
    assert widgets["image_size"][1].value == RUN_PRESETS["demo"].image_size

    app.selectbox(key="train_preset").set_value("lite0-best").run()
    widgets = train_form_widgets(app)
    best = RUN_PRESETS["lite0-best"]
    for name in ("tta", "fine_tune_from", "lr_schedule", "augmentation", "dropout_rate", "learning_rate"):
        assert widgets[name][0] == "lite0-best"
        assert widgets[name][1].value == getattr(best, name), name
    shown = " ".join(c.value for c in app.caption)
    assert "Test-time augmentation (mirror) on" in shown and "Fine-tune from block 8" in shown


FINISHED_FILES = (
    "split.csv",
    "provenance.json",
    "history.csv",
    "model.keras",
    "metrics.json",
    "predictions.csv",
    "inference.json",
    "novelty.npz",
)


def test_train_lists_a_launch_at_once_and_follows_it_to_finished(monkeypatch, demo_root, trained_run, tmp_path):
    """The page's side of a launch, with the process starter replaced: a stand-in process that
    does nothing, whose run the test then finishes with the files of the suite's real fit."""
    import subprocess
    import sys

    from tomjerry.lab import launcher
    from tomjerry.runs.status import update_status

    started = []

    def stand_in(command, log_path):
        assert command[1:3] == ["-m", "tomjerry.lab.execute"]
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        started.append((Path(command[3]), child))
        return child

    monkeypatch.setattr(launcher, "start_process", stand_in)
    app = open_page("pages/2_Train.py", monkeypatch, demo_root, tmp_path)
    app.number_input(key="cfg.demo.epochs").set_value(1)
    app.number_input(key="cfg.demo.image_size").set_value(48)
    app.button(key="launch").click().run()
    assert not app.exception, app.exception
    assert any("Started" in s.value for s in app.success), [e.value for e in app.error]
    ((run_dir, child),) = started
    try:
        run = read_runs(tmp_path)[0]
        assert run.run_id == run_dir.name and run.state == "queued"
        assert run.config.preset == "demo" and run.config.epochs == 1 and run.config.image_size == 48
        assert app.selectbox(key="watched_run").value == run.run_id
        update_status(run_dir, state="waiting")  # what the real process writes, in order
        update_status(run_dir, state="running", epoch=0, epochs=1)
        app.run()
        assert app.get("progress")[0].proto.text.startswith("running")
        for name in FINISHED_FILES:
            shutil.copy(trained_run.path / name, run_dir / name)
        update_status(run_dir, state="finished", epoch=1, epochs=1)
        app.run()
        assert any("Finished" in s.value for s in app.success), (
            app.get("progress")[0].proto.text,
            [e.value for e in app.error],
            app.exception,
        )
        assert app.selectbox(key="watched_run").options == [read_runs(tmp_path)[0].label()]
        assert app.get("progress")[0].proto.text.startswith("finished")
        assert [text.split(" ")[0] for text in app.dataframe[-1].value.progress] == ["finished"]
    finally:
        child.kill()
        child.wait()


@pytest.mark.slow
def test_train_launches_and_live_view_reaches_finished(monkeypatch, demo_root, tmp_path):
    app = open_page("pages/2_Train.py", monkeypatch, demo_root, tmp_path)
    app.number_input(key="cfg.demo.epochs").set_value(1)
    app.number_input(key="cfg.demo.image_size").set_value(48)
    app.number_input(key="cfg.demo.patience").set_value(0)
    app.button(key="launch").click().run()
    assert not app.exception, app.exception
    assert any("Started" in s.value for s in app.success), [e.value for e in app.error]
    run_id = read_runs(tmp_path)[0].run_id
    # Watched at once, while still queued: it is listed with its dataset's runs before it writes
    # provenance.json (the launch records the dataset's fingerprint).
    assert app.selectbox(key="watched_run").value == run_id
    status = wait(tmp_path / "runs" / run_id, timeout=scaled(240))
    assert status["state"] == "finished", (tmp_path / "runs" / run_id / "log.txt").read_text()[-2000:]
    app.run()
    assert any("Finished" in s.value for s in app.success)
    run = read_runs(tmp_path)[0]
    assert run.config.preset == "demo" and run.config.epochs == 1 and run.config.image_size == 48
    # The picker names the run as everywhere else; the live line and the table read the new state.
    assert app.selectbox(key="watched_run").options == [run.label()]
    assert app.get("progress")[0].proto.text.startswith("finished")
    assert [text.split(" ")[0] for text in app.dataframe[-1].value.progress] == ["finished"]


def png_bytes():
    image = np.zeros((90, 160, 3), np.uint8)
    image[:] = (200, 180, 160)
    cv2.circle(image, (80, 45), 20, (150, 120, 105), -1)
    return cv2.imencode(".png", image)[1].tobytes()


def verdicts_shown(app) -> list:
    """Predict's verdicts: a metric, or for a picture the novelty check flags a heading (it wraps)."""
    flagged = [h.value for h in app.header if h.value == NOT_A_FRAME]
    return [m.value for m in app.metric if m.label == "Verdict"] + flagged


def test_predict_good_and_corrupt_uploads(monkeypatch, demo_root, finished_artifacts):
    app = open_page("pages/5_Predict.py", monkeypatch, demo_root, finished_artifacts)
    app.file_uploader(key="frames").set_value(
        [("good.png", png_bytes(), "image/png"), ("broken.jpg", b"\xff\xd8\xff\xe0 this is not a jpeg", "image/jpeg")]
    )
    app.run()
    assert not app.exception, app.exception
    (verdict,) = verdicts_shown(app)
    assert verdict in ("neither", "tom", "jerry", "both", NOT_A_FRAME)
    if verdict != NOT_A_FRAME:  # a flagged picture has its probabilities in a line beneath instead
        assert [m.label for m in app.metric].count("p(tom)") == 1
    errors = [e.value for e in app.error]
    assert len(errors) == 1 and "broken.jpg is not a readable image" in errors[0]


def test_a_rerun_of_predict_keeps_tensorflows_compiled_kernels(monkeypatch, demo_root, finished_artifacts):
    """Streamlit calls keras.backend.clear_session() after every script run, which cleared
    TensorFlow's kernel cache: every upload's first model call compiled the model again (0.5-0.7 s
    of a 1.4 s upload-to-verdict). The app's process keeps them."""
    from tensorflow.python.eager import context

    cleared = []
    monkeypatch.setattr(type(context.context()), "clear_kernel_cache", lambda self: cleared.append(1))
    app = open_page("pages/5_Predict.py", monkeypatch, demo_root, finished_artifacts)
    for name in ("first.png", "second.png"):
        app.file_uploader(key="frames").set_value([(name, png_bytes(), "image/png")])
        app.run()
        assert not app.exception, app.exception
        assert len(verdicts_shown(app)) == 1
    assert not cleared, f"the kernel cache was cleared {len(cleared)} times in three runs of the page"


def test_one_more_upload_classifies_and_explains_only_the_new_picture(monkeypatch, demo_root, finished_artifacts):
    """A rerun re-drew every uploaded picture and recomputed all its Grad-CAM maps, so the ninth
    upload waited 1.8 s for its verdict; the answers and maps of pictures already shown are kept."""
    from tomjerry.inference.explain import Explainer
    from tomjerry.inference.predict import Predictor

    calls = {"predict": 0, "heatmaps": 0}
    for cls, method, key in ((Predictor, "predict_many", "predict"), (Explainer, "heatmaps", "heatmaps")):

        def counted(self, *args, _original=getattr(cls, method), _key=key, **kwargs):
            calls[_key] += len(args[0]) if _key == "predict" else 1  # pictures, not calls: they come batched
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, method, counted)

    def picture(seed):  # pictures no other test uploads, so no answer is cached yet
        image = np.random.default_rng(seed + 1000).integers(0, 256, (90, 160, 3), dtype=np.uint8)
        return cv2.imencode(".png", image)[1].tobytes()

    files = [(f"new{seed}.png", picture(seed), "image/png") for seed in range(3)]
    app = open_page("pages/5_Predict.py", monkeypatch, demo_root, finished_artifacts)
    app.file_uploader(key="frames").set_value(files[:2]).run()
    assert not app.exception, app.exception
    assert calls == {"predict": 2, "heatmaps": 4}
    shown = verdicts_shown(app)  # random pixels: the tiny model may flag them as not a frame
    assert len(shown) == 2
    app.file_uploader(key="frames").set_value(files).run()
    assert calls == {"predict": 3, "heatmaps": 6}, calls
    again = verdicts_shown(app)
    assert len(again) == 3 and again[:2] == shown  # the same answers as before, from the cache


@pytest.mark.slow
def test_a_run_with_an_lfs_pointer_model_is_marked_and_pages_keep_working(
    monkeypatch, demo_root, finished_artifacts, tmp_path
):
    from tomjerry.runs.record import read_runs as records

    artifacts = tmp_path / "artifacts"
    shutil.copytree(finished_artifacts, artifacts)
    good = records(artifacts)[0].path
    broken = artifacts / "runs" / (good.name + "-lfs")
    shutil.copytree(good, broken)
    (broken / "model.keras").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 13500000\n")
    run = {r.run_id: r for r in records(artifacts)}[broken.name]
    assert not run.has_model and "Git LFS pointer" in run.model_error
    for page in ("pages/2_Train.py", "pages/4_Grad-CAM.py", "pages/5_Predict.py", "pages/6_Report.py", "app.py"):
        app = open_page(page, monkeypatch, demo_root, artifacts)
        assert not app.exception, (page, app.exception)
        assert not app.error, (page, [e.value for e in app.error])
    app = open_page("pages/2_Train.py", monkeypatch, demo_root, artifacts)
    table = app.dataframe[-1].value
    assert table.set_index("run_id").model_error[broken.name].startswith("model.keras is a Git LFS pointer")


def values(array) -> list:
    """A plotly JSON array: a list, or a base64 typed array {"dtype": ..., "bdata": ...}."""
    if isinstance(array, dict) and "bdata" in array:
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"])).tolist()
    return list(array)


def bar_traces(app) -> list:
    traces = []
    for chart in app.get("plotly_chart"):
        assert "#000001" not in chart.proto.spec  # Streamlit's placeholder colours: black outside the app
        traces += [trace for trace in json.loads(chart.proto.spec)["data"] if trace.get("type") == "bar"]
    return traces


def assert_one_bar_per_run(traces, runs: int):
    assert traces, "no bar chart"
    for trace in traces:
        names, heights = values(trace["y"]), values(trace["x"])
        assert len(names) == len(set(names)) == runs, names
        assert all(0 <= height <= 1 for height in heights), heights


@pytest.fixture(scope="module")
def twin_artifacts(finished_artifacts, tmp_path_factory):
    """The finished run and its copy: same model, variant and label, two runs."""
    artifacts = tmp_path_factory.mktemp("twins")
    shutil.copytree(finished_artifacts / "runs", artifacts / "runs")
    original = read_runs(artifacts)[0].path
    shutil.copytree(original, original.with_name(original.name[:-6] + "0twin0"))
    return artifacts


def test_one_bar_per_run_and_none_above_100_percent(monkeypatch, demo_root, twin_artifacts):
    app = open_page("pages/3_Compare.py", monkeypatch, demo_root, twin_artifacts)
    assert not app.exception, app.exception
    assert_one_bar_per_run(bar_traces(app), runs=2)


def test_tables_show_human_headers(monkeypatch, demo_root, twin_artifacts):
    app = open_page("pages/3_Compare.py", monkeypatch, demo_root, twin_artifacts)
    for frame in app.dataframe:
        shown = json.loads(frame.proto.columns)
        for column in frame.value.columns:
            assert column in shown and "_" not in shown[column]["label"], (column, shown.get(column))


def test_report_html_has_no_streamlit_placeholder_colours(demo_root, finished_artifacts):
    import plotly.io as pio
    from streamlit.elements.lib.streamlit_plotly_theme import configure_streamlit_plotly_theme

    from tomjerry.data.dataset import scan
    from tomjerry.science.report import build_report

    configure_streamlit_plotly_theme()  # what importing streamlit does in the app
    assert pio.templates.default == "streamlit"
    page = build_report(scan(demo_root), read_runs(finished_artifacts), finished_artifacts, with_gradcam=False)
    assert "Plotly.newPlot" in page
    assert "#000001" not in page and "#000002" not in page


def gallery_captions(app) -> list:
    return [
        image.caption for element in app.get("image") for image in element.proto.imgs if " · truth " in image.caption
    ]


def test_mistakes_most_confident_first_on_the_page(monkeypatch, demo_root, finished_artifacts):
    from tomjerry.science.results import misclassified

    app = open_page("pages/3_Compare.py", monkeypatch, demo_root, finished_artifacts)
    app.slider(key="threshold").set_value(0.3).run()  # a tiny model: enough mistakes to order
    run = read_runs(finished_artifacts)[0]
    expected = list(misclassified(run, 0.3).filename.head(12))
    assert len(expected) > 2
    assert [caption.split(" · ")[0] for caption in gallery_captions(app)] == expected


@pytest.fixture(scope="module")
def mixed_artifacts(finished_artifacts, tmp_path_factory):
    """The demo run beside the shipped runs made on the real frames."""
    artifacts = tmp_path_factory.mktemp("mixed")
    shutil.copytree(finished_artifacts / "runs", artifacts / "runs")
    for run in (ROOT / "artifacts" / "runs").glob("ref-*"):
        shutil.copytree(run, artifacts / "runs" / run.name)
    shutil.copytree(ROOT / "artifacts" / "studies", artifacts / "studies")
    return artifacts


needs_real_data = pytest.mark.skipif(
    not (REAL_DATA / "ground_truth.csv").is_file(), reason=f"the real dataset is not at {REAL_DATA}"
)


def shipped_settings() -> dict[str, dict[str, set[str]]]:
    """The shipped runs started from a preset, read from artifacts/runs: split kind (shots,
    blocked, random, file, in that order) -> setting -> the seeds it ran on."""
    found: dict[str, dict[str, set[str]]] = {}
    for run in read_runs(ROOT / "artifacts"):
        if run.reference and run.finished and run.preset and run.test and not run.untouched:  # in no table
            kind = run.split.get("kind") or "file"
            found.setdefault(kind, {}).setdefault(run.setting(), set()).add(str(run.split.get("seed")))
    order = ("shots", "blocked", "random", "file")
    return {kind: found[kind] for kind in sorted(found, key=lambda kind: order.index(kind) if kind in order else 9)}


def everything_shown(app) -> str:
    parts = [
        str(e.value)
        for kind in ("markdown", "caption", "info", "warning", "success", "subheader")
        for e in getattr(app, kind)
    ]
    parts += [f"{m.label} {m.value}" for m in app.metric]
    parts += [frame.value.to_csv() for frame in app.dataframe]
    parts += [chart.proto.spec for chart in app.get("plotly_chart")]
    parts += [frame.proto.srcdoc for frame in app.get("iframe")]
    parts += [str(option) for box in app.selectbox for option in box.options]
    parts += [str(option) for box in app.multiselect for option in box.options]
    return "\n".join(parts)


@needs_real_data
@pytest.mark.slow
def test_real_data_in_use_shows_no_demo_row(monkeypatch, mixed_artifacts, tmp_path):
    import subprocess
    import sys

    demo = next(run for run in read_runs(mixed_artifacts) if not run.reference)
    demo_name = demo.label()  # "... · 48 px": no shipped run has that size
    for page in ("app.py", "pages/3_Compare.py", "pages/6_Report.py"):
        app = open_page(page, monkeypatch, REAL_DATA, mixed_artifacts)
        assert not app.exception, (page, app.exception)
        shown = everything_shown(app)
        assert BEST_PRESET in shown, page  # the real runs are there (the headline's preset) ...
        assert demo_name not in shown and demo.run_id not in shown and "48 px" not in shown, (
            page
        )  # ... the demo one not
        if page in ("pages/3_Compare.py", "pages/6_Report.py") and any(
            run.untouched for run in read_runs(ROOT / "artifacts")
        ):
            assert "on the untouched split, seed" in shown, page  # What the runs say, apart from every table
            # Which model is best, said in words with the one best's name (the question in bold).
            best = [line for line in shown.splitlines() if line.startswith("**Which model is best?** ")]
            assert best and BEST_PRESET in best[0], page
        if page == "pages/6_Report.py":
            # The answer once: the report file (which opens with it too) previews behind a click.
            (preview,) = [e for e in app.expander if e.label.startswith("Preview the report file")]
            assert len(preview.get("iframe")) == 1 and "What the runs say" in preview.get("iframe")[0].proto.srcdoc
            assert sum(s.value == "What the runs say" for s in app.subheader) == 1
            assert "What each step adds" in shown, page  # each lever beyond the study, paired, in words
        if page == "pages/3_Compare.py":
            # The study's cells on one split at a time; the preset runs only beyond the study.
            # seed 42's complete grid first; seeds whose grid is still running after it.
            options = app.selectbox(key="study_split").options
            assert options[0] == "shots 42" and set(options) <= {"shots 42", "shots 1", "shots 2"}
            # What each step beyond the study adds, in words, paired over shot groups (science.beyond).
            assert "What each step adds" in shown and "The frame's own 16:9 shape" in shown
            # The first table after 'What the runs say' (whose table has a contrast column).
            study = next(frame.value for frame in app.dataframe if "contrast" not in frame.value)
            assert set(study.model) <= {"alexnet", "zfnet", "inceptionv3", "efficientnet_lite0"}  # cells, no preset
            # Beyond the study: one table per split kind (shots first), one row per preset pooled over
            # its seeds: the presets on shots; lite0-best blocked; the random ones.
            from tomjerry.science.beyond import SUMMARY_COLUMNS

            beyond = [
                frame.value
                for frame in app.dataframe
                if list(frame.value.columns) == [c for c in SUMMARY_COLUMNS if c != "seconds"]
            ]
            # The counts come from the shipped run folders, so shipping another run cannot break this.
            settings = shipped_settings()
            assert [len(frame) for frame in beyond] == [len(found) for found in settings.values()], settings
            presets = "|".join(f" {name} " for name in RUN_PRESETS if name not in ("best", "demo"))
            assert (" " + beyond[0].setting + " ").str.contains(presets).all()
            first_kind, first_setting = next(iter(settings)), beyond[0].setting.iloc[0]
            assert set(beyond[0].seeds.iloc[0].split(", ")) == settings[first_kind][first_setting]
            cells = [r for r in read_runs(ROOT / "artifacts") if r.finished and r.test and r.preset is None]
            on_shots = [r for r in cells if (r.split.get("kind"), r.split.get("seed")) == ("shots", 42)]
            assert_one_bar_per_run(bar_traces(app)[:2], runs=len(on_shots))  # the study's cells on shots 42
            (pooled,) = [trace for trace in bar_traces(app) if trace.get("name") == "exact match, 95 % interval"]
            # One bar per preset and split kind, not one per run.
            assert len(values(pooled["x"])) == sum(len(found) for found in settings.values())
        if page == "app.py":
            labels = [m.label for m in app.metric]
            results = [label for label in labels if label.endswith(" split")]  # after the dataset's counts
            assert results[0] == "test exact match · shots split", labels  # the most leakage-resistant first
            assert "test binary accuracy · random split" in labels
            # The lead over its three seeds is one estimate with one interval over (seed, shot group) clusters.
            from tomjerry.science.results import pooled_interval

            lead = [
                run
                for run in read_runs(ROOT / "artifacts")
                if run.split.get("kind") == "shots" and run.preset == BEST_PRESET and not run.untouched
            ]
            exact = pooled_interval(sorted(lead, key=lambda run: run.split["seed"]))["exact_match"]
            pooled = (
                f"mean of 3 seeds (1, 2, 42); 95 % interval {exact.low:.1%} to {exact.high:.1%} "
                f"over {exact.groups} shot groups"
            )
            assert pooled in [c.value for c in app.markdown], [c.value for c in app.markdown]
            # The untouched split's score of the same setting, apart (its one run and its interval).
            spare = [run for run in read_runs(ROOT / "artifacts") if run.untouched and run.preset == BEST_PRESET]
            if spare:
                alone = pooled_interval(spare)["exact_match"]
                line = f"seed {spare[0].split['seed']}; 95 % interval {alone.low:.1%} to {alone.high:.1%}"
                assert any(c.value.startswith(line) for c in app.markdown), [c.value for c in app.markdown]
                assert any("untouched" in c.value for c in app.caption)
    out = tmp_path / "report.html"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tomjerry",
            "report",
            "--out",
            str(out),
            "--data",
            str(REAL_DATA),
            "--artifacts",
            str(mixed_artifacts),
            "--no-gradcam",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=scaled(300),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    page = out.read_text()
    assert BEST_PRESET in page and "48 px" not in page and demo.run_id not in page and "#000001" not in page
    # The best run with a model (the best preset's, random 42) and its own split.csv.
    assert "<b>random</b> (seed 42): 24 of 32 challenge frames are in its training split" in page


@needs_real_data
def test_report_reads_a_blocked_runs_own_split(tmp_path):
    from tomjerry.data.dataset import scan
    from tomjerry.runs.record import read_run
    from tomjerry.science.report import build_report

    blocked = next(
        run
        for run in read_runs(ROOT / "artifacts")
        if run.label().startswith("efficientnet_lite0 lite0-best · blocked 42")
    )
    copy = shutil.copytree(blocked.path, tmp_path / "runs" / blocked.run_id)
    # A run with a model file (a Keras archive's directory, never loaded without Grad-CAM): the report's best.
    with zipfile.ZipFile(copy / "model.keras", "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", "")
    run = read_run(copy)
    page = build_report(scan(REAL_DATA), [run], tmp_path, with_gradcam=False)
    in_training = run.metrics["challenge_in_training"]
    assert in_training == 28
    assert f"<b>blocked</b> (seed 42): {in_training} of 32 challenge frames are in its training split" in page


@pytest.mark.slow
def test_galleries_only_from_the_runs_own_dataset(monkeypatch, demo_root, mixed_artifacts):
    app = open_page("pages/3_Compare.py", monkeypatch, demo_root, mixed_artifacts)
    app.sidebar.toggle(key="all_runs").set_value(True).run()
    demo = next(run for run in read_runs(mixed_artifacts) if not run.reference)
    real = next(run for run in read_runs(mixed_artifacts) if run.reference and not run.untouched)
    detail = next(box.key for box in app.selectbox if box.key.startswith("detail_run"))
    app.selectbox(key=detail).set_value(demo.run_id).run()
    app.slider(key="threshold").set_value(0.3).run()
    assert gallery_captions(app), "the demo run's mistakes are demo frames: shown"
    app.selectbox(key=detail).set_value(real.run_id).run()
    assert not app.exception, app.exception
    assert gallery_captions(app) == []  # real-data probabilities on demo drawings: never
    assert any("made on other data" in c.value for c in app.caption)


def test_compare_details_the_run_every_page_uses_and_says_why(monkeypatch, demo_root, mixed_artifacts):
    """'One run in detail' starts at best_choice's run (the default of every page and command), not
    the best on validation among runs without a model, and a caption says which and why; the study's
    tables say what a half frame in 'correct' is."""
    from tomjerry.science.results import best_choice, finished, run_names

    app = open_page("pages/3_Compare.py", monkeypatch, demo_root, mixed_artifacts)
    app.sidebar.toggle(key="all_runs").set_value(True).run()
    assert not app.exception, app.exception
    runs = finished(read_runs(mixed_artifacts))
    chosen = best_choice(runs)
    detail = next(box for box in app.selectbox if box.key.startswith("detail_run"))
    assert detail.value == chosen.run.run_id != best_choice(runs, with_model=False).run.run_id
    captions = [c.value for c in app.caption]
    said = f"Default: **{run_names(runs)[chosen.run.run_id]}**, the run every page uses: {chosen.why}."
    assert said in captions, captions
    assert any("counts as half" in caption for caption in captions), captions


def download_buttons(app) -> dict:
    return {button.proto.label: button.proto for button in app.get("download_button")}


@pytest.mark.slow
def test_compare_downloads_survive_a_rerun(monkeypatch, demo_root, finished_artifacts):
    app = open_page("pages/3_Compare.py", monkeypatch, demo_root, finished_artifacts)
    app.slider(key="threshold").set_value(0.7).run()  # a rerun: a callable's file would be registered anew
    metrics = download_buttons(app)["Download metrics (.json)"]
    assert metrics.url and not metrics.deferred_file_id  # the bytes themselves, served from a stable URL
    assert "Download model (.keras)" not in download_buttons(app)  # read only when asked for
    app.button(key="prepare_model").click().run()
    model = download_buttons(app)["Download model (.keras)"]
    assert model.url and not model.deferred_file_id
    app.slider(key="threshold").set_value(0.6).run()
    assert download_buttons(app)["Download model (.keras)"].url == model.url


def test_a_typed_folder_without_a_dataset_says_what_is_shown_instead(monkeypatch, demo_root, tmp_path):
    app = open_page("pages/1_Data.py", monkeypatch, demo_root, tmp_path)
    app.sidebar.text_input(key="data_path_input").set_value(str(tmp_path / "nowhere")).run()
    assert not app.exception, app.exception
    assert any("No dataset at" in e.value for e in app.sidebar.error)
    assert any("holds no dataset, so this page shows" in w.value for w in app.warning), [w.value for w in app.warning]


def test_a_tomjerry_data_without_a_dataset_is_named_and_the_page_still_opens(monkeypatch, demo_root, tmp_path):
    app = open_page("pages/1_Data.py", monkeypatch, demo_root, tmp_path)
    monkeypatch.setenv("TOMJERRY_DATA", str(tmp_path / "typo"))
    app.run()
    assert not app.exception, app.exception
    assert any("$TOMJERRY_DATA is" in e.value for e in app.sidebar.error)
    assert any("$TOMJERRY_DATA holds no dataset, so this page shows" in w.value for w in app.warning)


def test_runs_from_every_dataset_stays_on_when_another_page_is_shown(monkeypatch, demo_root, messy_artifacts):
    """Streamlit drops a widget's value when another page is shown; the toggle keeps its own."""
    app = open_page("app.py", monkeypatch, demo_root, messy_artifacts)
    assert app.sidebar.toggle(key="all_runs").value is False
    assert any("'Runs from every dataset' shows them" in str(c.value) for c in app.sidebar.caption)
    app.sidebar.toggle(key="all_runs").set_value(True).run()
    app.switch_page("pages/3_Compare.py").run()
    assert not app.exception, app.exception
    assert app.sidebar.toggle(key="all_runs").value is True
    assert not any("are hidden" in str(c.value) for c in app.sidebar.caption)
    app.sidebar.toggle(key="all_runs").set_value(False).run()
    app.switch_page("pages/2_Train.py").run()
    assert app.sidebar.toggle(key="all_runs").value is False
