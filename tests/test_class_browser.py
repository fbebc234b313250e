"""A class of two against a real `streamlit run` in class mode (loopback, a free port): the presenter's
browser context gives the key in the address and may launch; the student's context may not, types
no dataset, still gets a verdict on Predict, and a direct upload over Predict's 20 MB limit to the
student's own session is refused by the server (413) where the bytes arrive."""

import os

import cv2
import numpy as np
import pytest
from local_app import CHROMIUM, FLAGS, start_app

KEY = "tom-chases-jerry"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def class_server(demo_root, finished_artifacts):
    env = {
        "TOMJERRY_DATA": str(demo_root),
        "TOMJERRY_ARTIFACTS": str(finished_artifacts),
        "TOMJERRY_CLASS": "1",
        "TOMJERRY_PRESENTER_KEY": KEY,
    }
    try:
        process, url = start_app(env, 90)
    except RuntimeError as error:
        pytest.fail(str(error))
    yield url
    process.terminate()
    process.wait(timeout=20)


def test_a_presenter_and_a_student_in_two_browser_contexts(class_server, tmp_path):
    from playwright.sync_api import sync_playwright

    image = np.full((90, 160, 3), (200, 180, 160), np.uint8)
    cv2.circle(image, (80, 45), 20, (150, 120, 105), -1)
    frame = tmp_path / "frame.png"
    cv2.imwrite(str(frame), image)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        presenter = browser.new_context(viewport={"width": 1400, "height": 2000}).new_page()
        student_context = browser.new_context(viewport={"width": 1400, "height": 2000})
        student = student_context.new_page()

        presenter.goto(f"{class_server}/Train?key={KEY}")
        presenter.get_by_text("you are the presenter").first.wait_for(timeout=120_000)
        assert "key=" not in presenter.url  # taken out of the address bar
        assert presenter.get_by_role("button", name="Launch").is_enabled()
        presenter.locator("input[aria-label='Dataset folder']").wait_for(timeout=30_000)

        student.goto(f"{class_server}/Train")
        student.get_by_text("only the presenter can launch").first.wait_for(timeout=120_000)
        assert student.get_by_role("button", name="Launch").is_disabled()
        student.get_by_text("only the presenter can choose the dataset").first.wait_for(timeout=30_000)
        student.locator("input[aria-label='Presenter key']").wait_for(timeout=30_000)
        assert student.locator("input[aria-label='Dataset folder']").count() == 0

        uploads = []
        student.on("request", lambda request: uploads.append(request.url) if "/upload_file/" in request.url else None)
        student.goto(f"{class_server}/Predict")
        chooser = student.locator("input[type='file']").first
        chooser.wait_for(state="attached", timeout=120_000)
        chooser.set_input_files(str(frame))
        student.get_by_text("p(tom)").first.wait_for(timeout=120_000)
        assert student.locator("[data-testid='stException']").count() == 0

        # The same session, straight to the server: 25 MB is under Streamlit's global 200 MB but
        # over Predict's 20 MB; small files still pass.
        assert uploads, "the browser's upload was not seen"
        base = uploads[0].rsplit("/", 1)[0]
        xsrf = next((c["value"] for c in student_context.cookies() if c["name"] == "_streamlit_xsrf"), "")
        headers = {"X-Xsrftoken": xsrf} if xsrf else {}

        def put(name, size):
            return student_context.request.put(
                f"{base}/{name}",
                multipart={"file": {"name": f"{name}.png", "mimeType": "image/png", "buffer": b"\0" * size}},
                headers=headers,
            )

        refused = put("direct-big", 25 * 2**20)
        assert refused.status == 413, refused.status
        assert "up to 20 MB" in refused.text()
        assert put("direct-small", 1000).status == 204
        browser.close()
