"""One end-to-end check in a real headless Chromium against `streamlit run`: every page renders
(a screenshot of each is saved under test-artifacts/screenshots/), and Predict classifies an
uploaded frame."""

import os

import cv2
import numpy as np
import pytest
from conftest import ROOT, scaled
from local_app import CHROMIUM, FLAGS, start_app

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PAGES = {
    "home": ("", "Tom, Jerry, both or neither?"),
    "data": ("Data", "Validation report"),
    "train": ("Train", "New run"),
    "compare": ("Compare", "Misclassified test frames"),
    "grad-cam": ("Grad-CAM", "Colour scale"),
    "predict": ("Predict", "Drop one or more images above"),  # the settings are folded below
    "report": ("Report", "Download the report"),
    "video": ("Video", "Drop a clip above"),
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def server(demo_root, finished_artifacts):
    env = {"TOMJERRY_DATA": str(demo_root), "TOMJERRY_ARTIFACTS": str(finished_artifacts)}  # the pages only read it
    try:
        process, url = start_app(env, scaled(60))
    except RuntimeError as error:
        pytest.fail(str(error))
    yield url
    process.terminate()
    process.wait(timeout=scaled(20))


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2200})
        yield page
        browser.close()


def test_every_page_renders_and_predict_classifies_an_upload(server, page, tmp_path):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, (path, text) in PAGES.items():
        page.goto(f"{server}/{path}")
        page.get_by_text(text, exact=False).first.wait_for(timeout=scaled(90_000))
        page.wait_for_timeout(1500)  # let charts finish drawing
        assert page.locator("[data-testid='stException']").count() == 0, name
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    image = np.full((90, 160, 3), (200, 180, 160), np.uint8)
    cv2.circle(image, (80, 45), 20, (150, 120, 105), -1)
    frame = tmp_path / "frame.png"
    cv2.imwrite(str(frame), image)
    page.goto(f"{server}/Predict")
    page.get_by_text("Drop one or more images above").first.wait_for(timeout=scaled(90_000))
    page.locator("input[type='file']").first.set_input_files(str(frame))
    page.get_by_text("Verdict").first.wait_for(timeout=scaled(90_000))
    page.get_by_text("p(jerry)").first.wait_for(timeout=scaled(30_000))
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SCREENSHOTS / "predict-upload.png"), full_page=True)
    assert page.locator("[data-testid='stException']").count() == 0
