"""The deck for class (issue 30): `python -m tomjerry report --slides OUT.html` writes one
self-contained HTML file of at least eight <section> slides that loads nothing from the network;
in a real headless Chromium the arrow keys and a click move between slides, and printed, each
slide is a page."""

import html
import os
import re
import shutil
from html.parser import HTMLParser

import pytest
from conftest import ROOT

from tomjerry.cli import main
from tomjerry.science.deviations import DIFFERENCES
from tomjerry.science.slides import difference_slides

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Attributes that make a browser fetch something.
FETCHING = {"src", "href", "srcset", "data", "poster", "action", "formaction", "background"}


class Inventory(HTMLParser):
    """Every start tag with its attributes (script and style contents are not tags)."""

    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def inventory(page: str) -> list:
    parser = Inventory()
    parser.feed(page)
    return parser.tags


def assert_offline(page: str):
    for tag, attrs in inventory(page):
        for name, value in attrs.items():
            if name in FETCHING and value:
                assert not re.match(r"\s*(https?:)?//", value, re.I), (tag, name, value[:80])
        assert not (tag == "script" and attrs.get("src")), attrs  # every script inline
        assert not (tag == "link" and "stylesheet" in (attrs.get("rel") or "")), attrs  # every style inline
    for style in re.findall(r"<style[^>]*>(.*?)</style>", page, re.S):
        assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import", style), style[:200]  # no web fonts or CSS


@pytest.fixture(scope="module")
def deck(tmp_path_factory, demo_root, finished_artifacts):
    """The deck of the demo data and the suite's one finished run, written by the command."""
    out = tmp_path_factory.mktemp("deck") / "class" / "deck.html"
    code = main(
        [
            "report",
            "--slides",
            str(out),
            "--data",
            str(demo_root),
            "--artifacts",
            str(finished_artifacts),
            "--no-gradcam",
        ]
    )
    assert code == 0
    return out


def test_report_slides_writes_one_offline_file_of_eight_or_more_sections(deck):
    assert [path.name for path in deck.parent.iterdir()] == ["deck.html"]  # one file, nothing beside it
    page = deck.read_text()
    sections = [tag for tag, _ in inventory(page) if tag == "section"]
    assert len(sections) >= 8, len(sections)
    assert_offline(page)
    for title in (
        "Tom, Jerry, both or neither?",
        "The data: four combinations",
        "Why the split matters",
        "The study&#x27;s grid",
        "The study&#x27;s answer",
        "The best model",
        "Where the model looks",
        "The mistakes",
        "How this differs from the study",
    ):
        assert title in page, title
    assert "Demo data" in page  # the demo set says so on the first slide
    assert "Skipped: the deck was built without Grad-CAM" in page  # a skipped slide says why
    assert "@media print" in page and "break-after:page" in page


def test_report_needs_an_output(tmp_path, demo_root, capsys):
    assert main(["report", "--data", str(demo_root), "--artifacts", str(tmp_path)]) == 2
    assert "--slides FILE" in capsys.readouterr().err


def test_the_differences_are_all_there_in_full_a_few_a_slide():
    slides = difference_slides(budget=1000)
    assert len(slides) >= 3
    shown = " ".join(slide.body for slide in slides)
    for title, text in DIFFERENCES:
        assert f"<b>{title}</b>" in shown and text.replace("'", "&#x27;").replace('"', "&quot;")[:60] in shown
    assert all(len(slide.body) < 1000 + 700 + 200 for slide in slides)  # one long item may stand alone


@pytest.mark.slow
def test_the_deck_with_grad_cam_shows_challenge_frames(tmp_path, demo_root, finished_artifacts):
    out = tmp_path / "deck.html"
    assert main(["report", "--slides", str(out), "--data", str(demo_root), "--artifacts", str(finished_artifacts)]) == 0
    page = out.read_text()
    assert_offline(page)
    (gradcam,) = re.findall(r"<section[^>]*><h2>Where the model looks.*?</section>", page, re.S)
    assert gradcam.count("src='data:image/png;base64,") + gradcam.count('src="data:image/png;base64,') >= 3
    assert "Skipped" not in gradcam
    # Each example says whether it is a challenge frame and its side of the model's split (example_note).
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", html.unescape(gradcam))
    assert any(
        re.search(r"\(truth: [a-z_]+; (a|not a) challenge frame · in (this model's training|its \w+) split", c)
        for c in captions
    ), captions


@pytest.mark.slow
@pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (apt-get install chromium)"
)
def test_arrow_keys_and_clicks_move_between_slides_in_chromium(deck):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        fetched = []
        page.on("request", lambda request: fetched.append(request.url))
        page.goto(deck.as_uri())
        count = page.locator("section").count()

        def shown():
            visible = page.evaluate(
                "() => [...document.querySelectorAll('section')].map(s => getComputedStyle(s).visibility)"
            )
            assert visible.count("visible") == 1, visible  # one slide at a time
            return visible.index("visible") + 1

        assert shown() == 1 and page.inner_text("#counter").startswith(f"1 / {count}")
        page.keyboard.press("ArrowRight")
        assert shown() == 2
        page.mouse.click(1000, 360)  # a click on the right: forward
        assert shown() == 3
        page.keyboard.press("ArrowLeft")
        assert shown() == 2
        page.mouse.click(50, 360)  # on the left fifth: back
        assert shown() == 1
        page.keyboard.press("End")
        assert shown() == count and page.url.endswith(f"#{count}")
        page.keyboard.press("ArrowRight")
        assert shown() == count  # stays on the last
        # Printed: every slide shown, each ending its page.
        page.emulate_media(media="print")
        styles = page.evaluate(
            "() => [...document.querySelectorAll('section')].map(s => "
            "[getComputedStyle(s).visibility, getComputedStyle(s).breakAfter])"
        )
        assert all(visibility == "visible" for visibility, _ in styles)
        assert all(after == "page" for _, after in styles[:-1])
        assert [url for url in fetched if not url.startswith(("file:", "data:"))] == []
        browser.close()


@pytest.mark.slow
def test_the_report_page_presents_the_deck(monkeypatch, demo_root, finished_artifacts):
    """The Report page's Present button builds the deck and offers it as one HTML download."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TOMJERRY_DATA", str(demo_root))
    monkeypatch.setenv("TOMJERRY_ARTIFACTS", str(finished_artifacts))
    app = AppTest.from_file(str(ROOT / "pages" / "6_Report.py"), default_timeout=300).run()
    assert not app.exception, app.exception
    app.toggle[0].set_value(False).run()  # no Grad-CAM: seconds
    app.button(key="build_slides").click().run()
    assert not app.exception, app.exception
    (present,) = [b for b in app.get("download_button") if b.proto.label.startswith("Present")]
    assert "slides" in present.proto.label


def test_the_split_slide_names_its_setting_and_says_its_figures_come_from_different_runs():
    import types

    import pandas as pd

    from tomjerry.science.slides import split_slide

    comparison = pd.DataFrame(
        {
            "setting": ["lite0-best", "lite0-best"],
            "split": ["random", "shots"],
            "seeds": ["42", "1, 2, 42"],
            "runs": [1, 3],
            "exact_match": [0.95, 0.862],
        }
    )
    slide = split_slide(types.SimpleNamespace(comparison=comparison, headline=None), None)
    body = " ".join(slide.body.split())
    assert "<b>lite0-best</b> reads <b>+8.8 points</b> higher on the random split" in body
    assert "The same model" not in body
    assert "different runs of lite0-best" in body
    assert "the random split seed 42 run against the mean of 3 shots split runs (seeds 1, 2, 42)" in body

    # The sentence speaks of the deck's best setting where it ran on both kinds, not of the table's first row.
    both = pd.concat(
        [
            comparison,
            pd.DataFrame(
                {
                    "setting": ["lite1-wide-ms", "lite1-wide-ms"],
                    "split": ["random", "shots"],
                    "seeds": ["42", "1, 2, 42"],
                    "runs": [1, 3],
                    "exact_match": [0.965, 0.932],
                }
            ),
        ]
    )
    best = types.SimpleNamespace(setting="lite1-wide-ms")
    body = " ".join(split_slide(types.SimpleNamespace(comparison=both, headline=best), None).body.split())
    assert "<b>lite1-wide-ms</b> reads <b>+3.3 points</b> higher on the random split" in body
    assert body.count("<tr>") == 3  # both settings stay in the table


def test_the_grid_slide_says_the_answer_pools_seeds_its_table_does_not():
    import types

    import pandas as pd

    from tomjerry.science.answer import Answer
    from tomjerry.science.slides import grid_slide

    cells = pd.DataFrame(
        {"model": ["alexnet", "alexnet"], "variant": ["base", "tuned"], "exact_match": [0.6, 0.675]}
        | {"exact_match_ci95": ["", ""]}
    )
    found = Answer("shots", [types.SimpleNamespace(seeds=[1, 42])], None, [], "")
    data = types.SimpleNamespace(shown_split="shots 42", on_split=cells, cells_note="", answer=found)
    body = " ".join(grid_slide(data).body.split())
    assert (
        "This table: shots seed 42 alone. The study&#x27;s answer (next slide) pools every seed both cells ran on (1, 42)"
        in body
    )
    # The answer pooling this one split alone: nothing to tell apart.
    alone = Answer("shots", [types.SimpleNamespace(seeds=[42])], None, [], "")
    assert "This table" not in grid_slide(types.SimpleNamespace(**{**vars(data), "answer": alone})).body


def test_each_grad_cam_example_says_challenge_or_not_and_its_side_of_the_models_split():
    import pandas as pd

    from tomjerry.science.report import example_note, example_sides

    rows = pd.DataFrame({"filename": ["a.jpg", "b.jpg", "c.jpg"], "challenge": [True, False, True]})
    split = pd.DataFrame({"filename": ["a.jpg", "b.jpg"], "split": ["train", "test"]})
    sides = example_sides(rows, split)
    assert sides == {"a.jpg": "train", "b.jpg": "test", "c.jpg": None}
    assert example_sides(rows, None) == {"a.jpg": None, "b.jpg": None, "c.jpg": None}
    assert example_note(True, "train") == "a challenge frame · in this model's training split"
    assert example_note(False, "test") == "not a challenge frame · in its test split, not trained on"
    assert example_note(True, None).endswith("its side of the split unknown")
