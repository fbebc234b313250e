"""Readable on a projector (issue 30, items 7-9): the Data page's split sizes and counted bars, Home
naming the dataset of results from another one, and a theme whose faintest text (Streamlit's
captions) still passes WCAG AA."""

import shutil
import tomllib

import pytest
from conftest import ROOT
from streamlit.testing.v1 import AppTest

TIMEOUT = 180


def open_page(page, monkeypatch, data, artifacts, **state):
    monkeypatch.setenv("TOMJERRY_DATA", str(data))
    monkeypatch.setenv("TOMJERRY_ARTIFACTS", str(artifacts))
    app = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    for key, value in state.items():
        app.session_state[key] = value
    return app.run()


def relative_luminance(hex_colour: str) -> float:
    """WCAG 2.1's relative luminance of an sRGB colour '#rrggbb'."""
    channels = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def blend(colour: str, background: str, opacity: float) -> str:
    """colour drawn at `opacity` over background, as '#rrggbb'."""
    fg = [int(colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)]
    bg = [int(background.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)]
    return "#" + "".join(f"{round(opacity * f + (1 - opacity) * b):02x}" for f, b in zip(fg, bg))


def test_theme_captions_pass_wcag_aa_on_the_page_and_the_sidebar():
    """Streamlit draws captions in the text colour at 60 % opacity (its fadedText60): with the
    default grey-blue text they read 3.9:1, below AA's 4.5:1 for small text."""
    theme = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["theme"]
    assert theme["baseFontSize"] >= 17
    for background in (theme["backgroundColor"], theme["secondaryBackgroundColor"]):
        assert contrast(theme["textColor"], background) >= 7, background  # AAA for the body text
        caption = blend(theme["textColor"], background, 0.6)
        assert contrast(caption, background) >= 4.5, (caption, background)
    assert contrast(blend("#31333f", "#ffffff", 0.6), "#ffffff") < 4.5  # the default theme's captions fail


def test_data_page_gives_split_sizes_and_counts_on_its_bars(monkeypatch, demo_root, tmp_path):
    app = open_page("pages/1_Data.py", monkeypatch, demo_root, tmp_path)
    assert not app.exception, app.exception
    labels = {m.label.split(" · ")[0]: m.value for m in app.metric}
    for side in ("train frames", "validation frames", "test frames", "frames left out"):
        assert side in labels, labels
    sizes = [int(labels[side].replace(",", "")) for side in ("train frames", "validation frames", "test frames")]
    assert all(size > 0 for size in sizes) and sizes[0] > sizes[2]
    import json

    specs = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    (splits,) = [s for s in specs if s["layout"]["title"]["text"] == "Label combinations per split"]
    assert all(trace.get("text") is not None and trace["textposition"] == "outside" for trace in splits["data"])


@pytest.mark.skipif(not (ROOT / "artifacts" / "runs").is_dir(), reason="the shipped runs are not here")
def test_home_on_demo_data_names_the_dataset_of_real_results(monkeypatch, demo_root, tmp_path):
    """'Runs from every dataset' on the demo data: the headline comes from the shipped runs on the
    real frames, and Home says so before any number."""
    runs = tmp_path / "artifacts" / "runs"
    for folder in (ROOT / "artifacts" / "runs").iterdir():
        if "lite1" in folder.name:
            shutil.copytree(folder, runs / folder.name, ignore=shutil.ignore_patterns("model.keras", "*.tflite"))
    app = open_page("app.py", monkeypatch, demo_root, tmp_path / "artifacts", all_runs=True, _all_runs=True)
    assert not app.exception, app.exception
    warnings = " ".join(w.value for w in app.warning)
    assert "tom_and_jerry" in warnings and "not the demo data in use" in warnings, warnings
    assert any("trained on tom_and_jerry data" in m.value for m in app.markdown), [m.value for m in app.markdown]
