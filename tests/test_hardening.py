"""Bad input, faults and safety: every case gets a correct answer or a clear message, and
nothing already saved is lost."""

import json
import os
import signal
import threading
import time
import tomllib

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, scaled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pictures import encode, predict_bytes
from PIL import Image

from tomjerry.config import RunConfig
from tomjerry.data.dataset import image_root
from tomjerry.data.decoding import MAX_BYTES, BadImage, decode_image
from tomjerry.data.images import validate
from tomjerry.inference.predict import Prediction
from tomjerry.lab.execute import execute_run
from tomjerry.lab.launcher import RunBusy, launch, resume, wait
from tomjerry.runs.lifecycle import create_run
from tomjerry.runs.status import HOST, read_status, update_status

TINY = RunConfig(model="efficientnet_lite0", image_size=48, epochs=1, batch_size=32, patience=0)


@pytest.fixture(scope="module")
def model():
    """A small real model (untrained head on a tiny input) is enough to exercise the predict path."""
    from tomjerry.models.builders import build_model

    return build_model("efficientnet_lite0", 32, weights="none")


def photo(mode="RGB", size=(160, 90)):
    array = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(array).convert(mode)


GOOD_UPLOADS = {
    "png_with_alpha": lambda: encode(photo("RGBA"), "PNG"),
    "grayscale": lambda: encode(photo("L"), "PNG"),
    "png_16_bit": lambda: encode(Image.fromarray((np.arange(160 * 90).reshape(90, 160) * 7).astype(np.uint16)), "PNG"),
    "animated_gif": lambda: encode(photo("P"), "GIF", save_all=True, append_images=[photo("P").rotate(90)]),
    "webp": lambda: encode(photo(), "WEBP"),
    "cmyk_jpeg": lambda: encode(photo("CMYK"), "JPEG"),
    "huge_jpeg_8000": lambda: encode(Image.new("RGB", (8000, 8000), (40, 90, 160)), "JPEG", quality=50),
}


@pytest.mark.parametrize("case", sorted(GOOD_UPLOADS))
def test_unusual_but_valid_uploads_are_predicted(case, model):
    prediction = predict_bytes(model, GOOD_UPLOADS[case](), case)
    assert isinstance(prediction, Prediction)
    assert 0 <= prediction.p_tom <= 1 and 0 <= prediction.p_jerry <= 1
    assert prediction.verdict in ("neither", "tom", "jerry", "both")


def test_exif_orientation_is_respected():
    image = Image.new("RGB", (200, 100), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    rgb = decode_image(encode(image, "JPEG", exif=exif), "rotated.jpg")
    assert rgb.shape[:2] == (200, 100)


def truncated_jpeg():
    data = encode(photo(size=(640, 480)), "JPEG")
    return data[: len(data) // 3]


BAD_UPLOADS = {
    "empty": (lambda: b"", "empty"),
    "text_named_jpg": (lambda: b"just some text, honestly\n" * 10, "not a readable image"),
    "truncated_jpeg": (truncated_jpeg, "not a readable image"),
    "huge_png_8000": (lambda: encode(Image.new("L", (8000, 8000)), "PNG"), "megapixels"),
    "over_the_limit": (lambda: b"\xff\xd8" + bytes(MAX_BYTES + 1), "the limit is"),
}


@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_bad_uploads_get_a_clear_message(case, model):
    make, message = BAD_UPLOADS[case]
    with pytest.raises(BadImage, match=message):
        predict_bytes(model, make(), f"{case}.jpg")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=4096))
def test_random_bytes_never_crash_the_predict_path(model, data):
    try:
        prediction = predict_bytes(model, data, "random.bin")
    except BadImage as error:
        assert str(error).startswith("random.bin ") and "\n" not in str(error)
        return
    assert 0 <= prediction.p_tom <= 1 and 0 <= prediction.p_jerry <= 1  # bytes that happen to be a picture


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    width=st.integers(1, 64),
    height=st.integers(1, 64),
    channels=st.sampled_from([1, 3, 4]),
    fmt=st.sampled_from(["PNG", "JPEG", "BMP", "WEBP", "GIF"]),
    seed=st.integers(0, 10),
)
def test_random_small_images_never_crash_the_predict_path(model, width, height, channels, fmt, seed):
    array = np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)
    image = Image.fromarray(array.squeeze(-1) if channels == 1 else array)
    if fmt == "JPEG" and channels == 4:
        image = image.convert("RGB")
    if min(width, height) < 2:  # a line of pixels holds nothing to classify: refused, in one line
        with pytest.raises(BadImage, match="too small"):
            predict_bytes(model, encode(image, fmt), f"x.{fmt.lower()}")
        return
    prediction = predict_bytes(model, encode(image, fmt), f"x.{fmt.lower()}")  # every valid picture is answered
    assert 0 <= prediction.p_tom <= 1 and 0 <= prediction.p_jerry <= 1
    assert prediction.verdict in ("neither", "tom", "jerry", "both")


# --- dataset faults -------------------------------------------------------------------------------


def test_empty_folder_unreadable_file_and_extra_column_are_reported(demo_copy):
    base = image_root(demo_copy)
    for path in (base / "tom_jerry_1").iterdir():
        path.unlink()
    victim = next((base / "tom").iterdir())
    victim.unlink()
    victim.symlink_to(demo_copy / "no-such-file.jpg")  # exists in the listing, cannot be read
    csv = pd.read_csv(demo_copy / "ground_truth.csv")
    csv["source"] = "x"
    csv.to_csv(demo_copy / "ground_truth.csv", index=False)
    dataset = validate(demo_copy, image_size=32)
    found = {(p.kind, p.filename) for p in dataset.problems}
    assert ("empty_folder", "") in found
    assert ("unreadable", victim.name) in found
    assert ("extra_columns", "") in found
    assert victim.name not in set(dataset.usable.filename)


def test_app_shows_a_broken_dataset_instead_of_a_traceback(demo_copy, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    (demo_copy / "ground_truth.csv").write_text("filename,tom\nframe0.jpg,1\n")
    monkeypatch.setenv("TOMJERRY_DATA", str(demo_copy))
    monkeypatch.setenv("TOMJERRY_ARTIFACTS", str(tmp_path))
    for page in ("app.py", "pages/1_Data.py"):
        app = AppTest.from_file(str(ROOT / page), default_timeout=scaled(120)).run()
        assert not app.exception
        assert any("lacks the column(s) jerry" in e.value for e in app.error)


# --- runs -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_write_error_fails_the_run_with_a_clear_message(demo_root, tmp_path, monkeypatch):
    import tomjerry.training.fit as training
    import tomjerry.training.tune  # noqa: F401  (imported first, so its own save_model stays the real one)

    def disk_full(model, run_dir):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(training, "save_model", disk_full)
    earlier = create_run(TINY, tmp_path, demo_root)
    for state in ("waiting", "running", "finished"):
        update_status(earlier, state=state)
    run_dir = create_run(TINY, tmp_path, demo_root)
    with pytest.raises(OSError):
        execute_run(run_dir, demo_root)
    status = read_status(run_dir)
    assert status["state"] == "failed" and "No space left on device" in status["error"]
    assert (run_dir / "error.txt").is_file()
    assert json.loads((earlier / "status.json").read_text())["state"] == "finished"


def test_half_written_run_never_reads_finished(demo_root, tmp_path):
    run_dir = create_run(TINY, tmp_path, demo_root)
    for state in ("waiting", "running", "finished"):
        update_status(run_dir, state=state)
    assert read_status(run_dir)["state"] == "incomplete"
    (run_dir / "status.json").write_text('{"state": "fini')  # torn write
    assert read_status(run_dir).get("state") != "finished"


def test_simultaneous_launches_start_exactly_one(demo_root, tmp_path, monkeypatch):
    import tomjerry.lab.launcher as runner

    started = []
    monkeypatch.setattr(
        runner,
        "spawn",
        lambda run_dir, data: (started.append(run_dir), update_status(run_dir, pid=os.getpid(), host=HOST)),
    )
    outcomes = []
    barrier = threading.Barrier(4)

    def go():
        barrier.wait()
        try:
            outcomes.append(launch(TINY, demo_root, tmp_path))
        except RunBusy as error:
            outcomes.append(error)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(started) == 1
    assert sum(isinstance(o, RunBusy) for o in outcomes) == 3


@pytest.mark.slow
def test_killed_tuning_search_resumes(demo_root, tmp_path):
    config = TINY.replace(variant="tuned", max_trials=3, epochs=2, image_size=64, batch_size=8)
    run_dir = launch(config, demo_root, tmp_path)
    deadline = time.time() + scaled(240)
    while (
        not (run_dir / "tuner" / "trial_0" / "trial.json").is_file()
        or '"COMPLETED"' not in (run_dir / "tuner" / "trial_0" / "trial.json").read_text()
    ):
        assert time.time() < deadline and read_status(run_dir)["state"] in ("queued", "running")
        time.sleep(0.5)
    first = (run_dir / "tuner" / "trial_0" / "trial.json").read_text()
    os.killpg(read_status(run_dir)["pid"], signal.SIGKILL)
    assert wait(run_dir, timeout=scaled(15))["state"] == "interrupted"
    resume(run_dir, demo_root)
    status = wait(run_dir, timeout=scaled(400))
    assert status["state"] == "finished", (run_dir / "log.txt").read_text()[-3000:]
    trials = pd.read_csv(run_dir / "trials.csv")
    assert len(trials) == 3 and (trials.status == "COMPLETED").all()
    assert (run_dir / "tuner" / "trial_0" / "trial.json").read_text() == first  # not re-run


# --- safety ---------------------------------------------------------------------------------------


def test_models_load_in_safe_mode(tmp_path):
    import keras

    from tomjerry.inference.predict import load_model

    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(ValueError, match="(?i)lambda|unsafe|safe_mode"):
        load_model(path)


def test_server_binds_localhost_and_caps_uploads():
    from tomjerry.inference.video import MAX_FILE_BYTES, MAX_UPLOAD_MB

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    # The server's cap is the Video page's; Predict's uploader keeps the image decoder's own 20 MB.
    assert config["server"]["maxUploadSize"] == MAX_UPLOAD_MB and MAX_UPLOAD_MB * 2**20 <= MAX_FILE_BYTES
    predict = (ROOT / "pages" / "5_Predict.py").read_text()
    # The widget's limit, registered with the server (serving.allow_uploads), which refuses a larger
    # upload where its bytes arrive (tests/test_class_mode.py sends one past the widget).
    assert "max_upload_size=allow_uploads(MAX_BYTES // 2**20)" in predict and MAX_BYTES == 20 * 2**20
