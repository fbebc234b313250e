"""Every page through Streamlit's AppTest: on the demo data with no runs, with one finished tiny
run, a launch from the Train page that reaches finished, and Predict with good and bad uploads."""


import shutil

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from tomjerry.config import RunConfig
from tomjerry.runs.execute import execute_run
from tomjerry.runs.launcher import wait
from tomjerry.runs.lifecycle import create_run
from tomjerry.runs.record import read_runs

PAGES = ["app.py", "pages/1_Data.py", "pages/2_Train.py", "pages/3_Compare.py", "pages/4_Grad-CAM.py",
         "pages/5_Predict.py", "pages/6_Report.py", "pages/7_Video.py"]
TIMEOUT = 180  # TensorFlow's import alone takes seconds


@pytest.fixture(scope="module")
def finished_artifacts(demo_root, tmp_path_factory):
    artifacts = tmp_path_factory.mktemp("artifacts")
    config = RunConfig(model="efficientnet_lite0", image_size=48, epochs=1, patience=0)
    execute_run(create_run(config, artifacts, demo_root), demo_root)
    return artifacts


def open_page(page, monkeypatch, demo_root, artifacts):
    monkeypatch.setenv("TOMJERRY_DATA", str(demo_root))
    monkeypatch.setenv("TOMJERRY_ARTIFACTS", str(artifacts))
    return AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT).run()


def texts(app):
    return " ".join(str(e.value) for kind in ("info", "warning", "success", "error", "markdown", "caption")
                    for e in getattr(app, kind))


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_with_no_runs(page, monkeypatch, demo_root, tmp_path):
    app = open_page(page, monkeypatch, demo_root, tmp_path)
    assert not app.exception, app.exception
    assert "demo data" in texts(app).lower() or page == "pages/5_Predict.py"


@pytest.mark.parametrize("page", PAGES)
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
    assert (table.state == "unreadable").sum() == 4
    assert table.error.str.contains("learning_rte").any()


def test_home_shows_the_headline(monkeypatch, demo_root, finished_artifacts):
    app = open_page("app.py", monkeypatch, demo_root, finished_artifacts)
    labels = [m.label for m in app.metric]
    assert "test binary accuracy" in labels and "the study's best (binary)" in labels


def test_train_launches_and_live_view_reaches_finished(monkeypatch, demo_root, tmp_path):
    app = open_page("pages/2_Train.py", monkeypatch, demo_root, tmp_path)
    app.number_input[0].set_value(1)  # epochs
    app.number_input[1].set_value(48)  # image size
    app.number_input[6].set_value(0)  # patience
    app.button[0].click().run()  # the form's Launch
    assert not app.exception, app.exception
    assert any("Started" in s.value for s in app.success), [e.value for e in app.error]
    run_id = read_runs(tmp_path)[0].run_id
    status = wait(tmp_path / "runs" / run_id, timeout=240)
    assert status["state"] == "finished", (tmp_path / "runs" / run_id / "log.txt").read_text()[-2000:]
    app.run()
    assert any("Finished" in s.value for s in app.success)


def png_bytes():
    image = np.zeros((90, 160, 3), np.uint8)
    image[:] = (200, 180, 160)
    cv2.circle(image, (80, 45), 20, (150, 120, 105), -1)
    return cv2.imencode(".png", image)[1].tobytes()


def test_predict_good_and_corrupt_uploads(monkeypatch, demo_root, finished_artifacts):
    app = open_page("pages/5_Predict.py", monkeypatch, demo_root, finished_artifacts)
    app.file_uploader[0].set_value([("good.png", png_bytes(), "image/png"),
                                    ("broken.jpg", b"\xff\xd8\xff\xe0 this is not a jpeg", "image/jpeg")])
    app.run()
    assert not app.exception, app.exception
    labels = [m.label for m in app.metric]
    assert labels.count("p(tom)") == 1 and labels.count("Verdict") == 1
    verdict = [m.value for m in app.metric if m.label == "Verdict"][0]
    assert verdict in ("neither", "tom", "jerry", "both")
    errors = [e.value for e in app.error]
    assert len(errors) == 1 and "broken.jpg is not a readable image" in errors[0]


def test_a_run_with_an_lfs_pointer_model_is_marked_and_pages_keep_working(monkeypatch, demo_root, finished_artifacts,
                                                                         tmp_path):
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
