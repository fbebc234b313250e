"""Every input in shared/cases/ that once broke tomjerry, with the behaviour it must have now, and
generated inputs of the same kinds (the fix is for the kind of fault, not for one file)."""

import io
import json
import os
import shutil
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, scaled
from pictures import cartoon, encode, predict_bytes
from PIL import Image

from tomjerry.data.dataset import image_root, scan
from tomjerry.data.decoding import MAX_PIXELS, BadImage, decode_image
from tomjerry.data.images import load_images, model_input, read_frame
from tomjerry.data.splits import read_split_csv
from tomjerry.inference.predict import Prediction, load_model, prepare
from tomjerry.models.files import ModelContractError, UnreadableModelError, check_contract

CASES = ROOT.parent / "shared" / "cases"
SHIPPED_RUN = ROOT / "artifacts" / "runs" / "ref-20261129-163932-efficientnet_lite0-augmented-eef09d"


def one_line(error) -> str:
    text = str(error)
    assert text and "\n" not in text and "Traceback" not in text
    return text


def same_on_both_paths(path, size=48) -> np.ndarray:
    """The array the dataset path makes of a file equals the one the upload path makes of its bytes."""
    data = path.read_bytes()
    assert np.array_equal(decode_image(path), decode_image(data, path.name))
    assert np.array_equal(
        read_frame(path, size).astype(np.float32) / 255.0, prepare(decode_image(data, path.name), size)
    )
    return decode_image(path)


@pytest.fixture(scope="module")
def tiny_model():
    from tomjerry.models.builders import build_model

    return build_model("efficientnet_lite0", 32, weights="none")


def without_mpf(data: bytes) -> bytes:
    """The same JPEG with its multi-picture index (APP2 "MPF") turned into an unknown APP15 segment:
    the same compressed pixels, which Pillow then calls a plain "JPEG"."""
    at = data.find(b"MPF\x00")
    assert at > 4 and data[at - 4 : at - 2] == b"\xff\xe2"
    return data[: at - 3] + b"\xef" + data[at - 2 :]


# --- the files in shared/cases -----------------------------------------------------------------------


def check_phone_mpo(path, tmp_path, model):
    assert Image.open(path).format == "MPO"
    rgb = same_on_both_paths(path)
    assert rgb.shape[0] * rgb.shape[1] <= MAX_PIXELS and rgb.shape[:2] == (3024, 4032)  # 1/2 scale
    plain = without_mpf(path.read_bytes())
    assert Image.open(io.BytesIO(plain)).format == "JPEG"
    assert np.array_equal(rgb, decode_image(plain))  # the MPO reads exactly as the same plain JPEG
    prediction = predict_bytes(model, path.read_bytes(), path.name)
    assert isinstance(prediction, Prediction) and prediction.note  # a 4:3 photo: the note says what was done


def check_sticker(path, tmp_path, model):
    rgb = same_on_both_paths(path)
    assert tuple(rgb[0, 0]) == (255, 255, 255)  # the transparent corner, on white on every path
    frame = read_frame(path, 32).astype(np.float32)[None] / 255.0
    from_dataset = np.asarray(model.predict_on_batch(frame))[0]
    from_upload = predict_bytes(model, path.read_bytes(), path.name)
    assert from_dataset[0] == pytest.approx(from_upload.p_tom, abs=1e-6)


def check_lfs_pointer(path, tmp_path, model):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(path, run / "model.keras")
    for target in (run, run / "model.keras"):
        with pytest.raises(
            UnreadableModelError, match=r"model.keras is a Git LFS pointer, not the model: run `git lfs pull`"
        ):
            load_model(target)


def check_softmax4(path, tmp_path, model):
    with pytest.raises(ModelContractError) as caught:
        load_model(path)
    assert one_line(caught.value) == (
        f"{path.name} has 4 outputs with softmax; tomjerry needs 2 sigmoid outputs (tom, jerry)"
    )


def check_single_output(path, tmp_path, model):
    with pytest.raises(ModelContractError) as caught:
        load_model(path)
    assert (
        one_line(caught.value)
        == f"{path.name} has 1 output with sigmoid; tomjerry needs 2 sigmoid outputs (tom, jerry)"
    )


def check_gray16(path, tmp_path, model):
    assert Image.open(path).mode == "I;16"
    rgb = same_on_both_paths(path)
    assert rgb.shape == (270, 480, 3) and rgb.dtype == np.uint8
    # Grey stays grey, by its top byte: the gradient's darkest and lightest columns keep their order.
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    prediction = predict_bytes(model, path.read_bytes(), path.name)
    assert prediction.verdict in ("neither", "tom", "jerry", "both") and prediction.note is None  # 16:9
    # The Predict page draws it too: test_every_picture_mode_gets_a_verdict_on_the_predict_page.


EXPECTED = {
    "03_phone_48mp_mpf.jpg": check_phone_mpo,
    "04_sticker_palette_transparent.png": check_sticker,
    "12_model.keras.lfs-pointer": check_lfs_pointer,
    "13_softmax4.keras": check_softmax4,
    "13_single_output.keras": check_single_output,
    "15_gray16_gradient.png": check_gray16,
}


def case_names() -> list:
    if not CASES.is_dir():
        return [pytest.param("", marks=pytest.mark.skip(reason=f"no shared cases folder at {CASES}"))]
    # The 48-megapixel phone photo takes seconds to decode: --slow.
    return [
        pytest.param(name, marks=pytest.mark.slow) if "48mp" in name else name
        for name in sorted(p.name for p in CASES.iterdir() if p.name != "README.md")
    ]


@pytest.mark.parametrize("name", case_names())
def test_shared_case(name, tmp_path, tiny_model):
    if name not in EXPECTED:
        pytest.fail(f"{name} is a new case in {CASES} without its expected behaviour: add it to EXPECTED")
    EXPECTED[name](CASES / name, tmp_path, tiny_model)


# --- generated pictures of the same kinds ------------------------------------------------------------


def transparent_palette() -> bytes:
    image = Image.fromarray(cartoon(256, 144, seed=3)).quantize(8)
    image.paste(0, (0, 0, 256, 30))
    return encode(image, "PNG", transparency=0)


def multi_picture(width, height) -> bytes:
    first = Image.fromarray(cartoon(width // 8, height // 8, seed=4)).resize((width, height))
    return encode(first, "MPO", save_all=True, append_images=[Image.new("RGB", (640, 480), (9, 9, 9))], quality=70)


def exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 8
    return encode(Image.fromarray(cartoon(160, 90)), "JPEG", exif=exif)


GOOD_KINDS = {  # file name in the dataset -> bytes; every one must read the same on both paths
    "multi_picture_48mp.jpg": lambda: multi_picture(8000, 6000),
    "multi_picture_small.jpg": lambda: multi_picture(480, 270),
    "big_plain_48mp.jpg": lambda: encode(Image.new("RGB", (8000, 6000), (200, 120, 40)), "JPEG", quality=40),
    "palette_transparent.png": transparent_palette,
    "rgba.png": lambda: encode(Image.fromarray(np.dstack([cartoon(), np.full((90, 160), 90, np.uint8)])), "PNG"),
    "la.png": lambda: encode(Image.fromarray(np.dstack([cartoon()[..., 0], np.full((90, 160), 200, np.uint8)])), "PNG"),
    "grey16.png": lambda: encode(Image.fromarray(cartoon()[..., 1].astype(np.uint16) * 40), "PNG"),
    "cmyk.jpg": lambda: encode(Image.fromarray(cartoon()).convert("CMYK"), "JPEG"),
    "exif_rotated.jpg": exif_rotated,
    "progressive.jpg": lambda: encode(Image.fromarray(cartoon()), "JPEG", progressive=True),
    "lossy.webp": lambda: encode(Image.fromarray(cartoon()), "WEBP", quality=60),
    "picture.bmp": lambda: encode(Image.fromarray(cartoon()), "BMP"),
    "mirror_wide.png": lambda: encode(
        Image.fromarray(np.hstack([cartoon()[:, ::-1], cartoon(), cartoon()[:, ::-1]])), "PNG"
    ),
}
BAD_KINDS = {  # file name -> (bytes, what the one-line refusal must say)
    "truncated.jpg": (lambda: encode(Image.fromarray(cartoon(640, 360)), "JPEG")[:2500], "is not a readable image"),
    "text.jpg": (lambda: b"<html>not a picture</html>\n" * 20, "is not a readable image"),
    "empty.png": (lambda: b"", "is empty"),
    "huge.png": (lambda: encode(Image.new("1", (9000, 9000)), "PNG"), "9000x9000 pixels; the limit is 40 megapixels"),
}


def test_generated_kinds_read_the_same_as_dataset_frames_and_as_uploads(demo_copy):
    base = image_root(demo_copy) / "tom"
    labels = pd.read_csv(demo_copy / "ground_truth.csv")
    challenges = set(pd.read_csv(demo_copy / "challenges.csv").image_name)
    victims = [p for p in sorted(base.iterdir()) if p.name not in challenges][: len(GOOD_KINDS) + len(BAD_KINDS)]
    made = {}
    for victim, (kind, make) in zip(victims, list(GOOD_KINDS.items()) + [(k, v[0]) for k, v in BAD_KINDS.items()]):
        name = f"{victim.stem}_{kind}"
        data = make()
        victim.unlink()
        (base / name).write_bytes(data)
        labels.loc[labels.filename == victim.name, "filename"] = name
        made[kind] = (name, data)
    labels.to_csv(demo_copy / "ground_truth.csv", index=False)

    dataset = scan(demo_copy)
    images = load_images(dataset, 48, use_cache=False)
    row_of = {name: i for i, name in enumerate(images.table.filename)}
    for kind in GOOD_KINDS:
        name, data = made[kind]
        assert name in row_of, f"{kind} was not read as a dataset frame"
        expected, _ = model_input(decode_image(data, name), 48)
        assert np.array_equal(images.arrays[row_of[name]], expected), kind
    problems = {p.filename: p for p in dataset.problems if p.kind == "unreadable"}
    for kind, (_, message) in BAD_KINDS.items():
        name, data = made[kind]
        with pytest.raises(BadImage, match=message) as caught:
            decode_image(data, name)
        assert problems[name].detail == f"the image cannot be decoded: {one_line(caught.value)}"
    assert set(problems) == {made[kind][0] for kind in BAD_KINDS}


def picture_modes() -> dict:
    """Uploads whose Pillow mode st.image cannot re-encode, or that need converting to RGB: the
    shared case and generated files of its kinds (name -> (bytes, mime type))."""
    modes = {
        "grey16.png": (GOOD_KINDS["grey16.png"](), "image/png"),
        "palette_transparent.png": (transparent_palette(), "image/png"),
        "cmyk.jpg": (GOOD_KINDS["cmyk.jpg"](), "image/jpeg"),
        "grey16_wide.png": (
            encode(Image.fromarray((np.arange(640 * 200).reshape(200, 640) % 65536).astype(np.uint16)), "PNG"),
            "image/png",
        ),
    }
    for name in ("15_gray16_gradient.png", "04_sticker_palette_transparent.png"):
        if (CASES / name).is_file():
            modes[name] = ((CASES / name).read_bytes(), "image/png")
    return modes


def test_every_picture_mode_gets_a_verdict_through_the_predictor(trained_run):
    from tomjerry.inference.predict import Predictor

    modes = picture_modes()
    assert Image.open(io.BytesIO(modes["grey16.png"][0])).mode == "I;16"
    assert Image.open(io.BytesIO(modes["palette_transparent.png"][0])).mode == "P"
    assert Image.open(io.BytesIO(modes["cmyk.jpg"][0])).mode == "CMYK"
    predictor = Predictor.from_path(trained_run.path)
    for name, (data, _) in modes.items():
        prediction = predictor.predict(data, name)
        # A verdict (a flat grey ramp may also be called "not a Tom and Jerry frame"), no error.
        assert prediction.error is None and isinstance(prediction.verdict, str) and prediction.verdict, name


def test_every_picture_mode_gets_a_verdict_on_the_predict_page(monkeypatch, demo_root, finished_artifacts):
    """The page drew the raw upload with st.image, which re-encodes it with Pillow: a 16-bit grey
    PNG raised "cannot write mode I;16 as JPEG". It draws the decoded pixels now."""
    from test_pages import open_page, verdicts_shown

    import ui

    modes = picture_modes()
    drawn = {}
    real_preview = ui.upload_preview

    def preview(data, name):  # what the page hands st.image for each upload
        drawn[name] = real_preview(data, name)
        return drawn[name]

    monkeypatch.setattr(ui, "upload_preview", preview)
    app = open_page("pages/5_Predict.py", monkeypatch, demo_root, finished_artifacts)
    app.file_uploader(key="frames").set_value([(name, data, mime) for name, (data, mime) in modes.items()]).run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    verdicts = verdicts_shown(app)
    assert len(verdicts) == len(modes) and all(verdicts), verdicts
    # Each upload drawn from its decoded pixels: (H, W, 3) uint8 RGB, the picture's own size.
    assert set(drawn) == set(modes)
    for name, (data, _) in modes.items():
        assert drawn[name].dtype == np.uint8 and drawn[name].shape == decode_image(data).shape, name


def test_generated_multi_picture_jpeg_reads_as_its_plain_jpeg():
    data = multi_picture(8064, 6048)
    assert Image.open(io.BytesIO(data)).format == "MPO"
    rgb = decode_image(data)
    assert rgb.shape == (3024, 4032, 3)
    assert np.array_equal(rgb, decode_image(without_mpf(data)))


def test_decomposed_unicode_file_names_match_their_rows(demo_copy, tmp_path):
    composed = "frame3-café.jpg"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    base = image_root(demo_copy)
    victim = sorted((base / "tom").iterdir())[3]
    victim.rename(base / "tom" / decomposed)  # what macOS writes
    labels = pd.read_csv(demo_copy / "ground_truth.csv")
    labels.loc[labels.filename == victim.name, "filename"] = composed  # what a person types
    labels.to_csv(demo_copy / "ground_truth.csv", index=False)
    with open(demo_copy / "challenges.csv", "a") as handle:
        handle.write(f"tom,{decomposed}\n")

    dataset = scan(demo_copy)
    assert not [p for p in dataset.problems if p.severity == "error"], dataset.problems_frame()
    row = dataset.usable[dataset.usable.filename == composed].iloc[0]
    assert row.path == str(base / "tom" / decomposed) and os.path.exists(row.path)  # the disk's own spelling
    assert bool(row.challenge)
    assert read_frame(row.path, 32) is not None

    split = pd.DataFrame({"filename": dataset.usable.filename, "split": "train"})
    split.loc[split.filename == composed, "filename"] = decomposed
    split.to_csv(tmp_path / "split.csv", index=False)
    assert (read_split_csv(tmp_path / "split.csv", dataset.usable) == "train").all()


# --- model files and models of other shapes ----------------------------------------------------------


def save(model, path):
    model.save(path)
    return path


def tiny(outputs_of, input_shape=(16, 16, 3)):
    import keras

    inputs = keras.Input(input_shape)
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    return keras.Model(inputs, outputs_of(features, keras.layers))


CONTRACT = {  # a model built here -> what the refusal must say
    "softmax4.keras": (
        lambda: tiny(lambda x, L: L.Dense(4, activation="softmax")(x)),
        r"has 4 outputs with softmax; tomjerry needs 2 sigmoid outputs \(tom, jerry\)",
    ),
    "single_sigmoid.keras": (
        lambda: tiny(lambda x, L: L.Dense(1, activation="sigmoid")(x)),
        "has 1 output with sigmoid; tomjerry needs 2 sigmoid outputs",
    ),
    "softmax2.keras": (
        lambda: tiny(lambda x, L: L.Dense(2, activation="softmax")(x)),
        "has 2 outputs with softmax; tomjerry needs 2 sigmoid outputs",
    ),
    "linear2.keras": (lambda: tiny(lambda x, L: L.Dense(2)(x)), "has 2 outputs with linear"),
    "dynamic.keras": (
        lambda: tiny(lambda x, L: L.Dense(2, activation="sigmoid")(x), (None, None, 3)),
        r"takes input of shape \(None, None, None, 3\); tomjerry needs a fixed-size RGB image",
    ),
    "grey_input.keras": (
        lambda: tiny(lambda x, L: L.Dense(2, activation="sigmoid")(x), (16, 16, 1)),
        "needs a fixed-size RGB image",
    ),
    "two_heads.keras": (
        lambda: tiny(
            lambda x, L: [
                L.Dense(1, activation="sigmoid", name="tom")(x),
                L.Dense(1, activation="sigmoid", name="jerry")(x),
            ]
        ),
        "has 2 output heads; tomjerry needs one output of 2 sigmoid units",
    ),
}


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_models_of_another_shape_are_refused_in_one_line(name, tmp_path):
    build, message = CONTRACT[name]
    path = save(build(), tmp_path / name)
    with pytest.raises(ModelContractError, match=message) as caught:
        load_model(path)
    assert one_line(caught.value).startswith(name)


def test_a_model_that_keeps_the_contract_loads_and_predicts(tmp_path):
    path = save(tiny(lambda x, L: L.Dense(2, activation="sigmoid")(x)), tmp_path / "good.keras")
    model = load_model(path)
    prediction = predict_bytes(model, encode(Image.fromarray(cartoon()), "PNG"))
    assert 0 <= prediction.p_tom <= 1 and 0 <= prediction.p_jerry <= 1


@pytest.mark.slow
def test_every_model_tomjerry_builds_keeps_the_contract():
    from tomjerry.models.builders import build_model
    from tomjerry.models.specs import SPECS as REGISTRY

    for name, spec in REGISTRY.items():
        check_contract(build_model(name, max(32, spec.min_image_size), weights="none"), name)


@pytest.mark.skipif(not (SHIPPED_RUN / "model.keras").is_file(), reason="the shipped model is not in this checkout")
def test_the_shipped_model_keeps_the_contract():
    assert load_model(SHIPPED_RUN).output_shape == (None, 2)


def good_keras_bytes(tmp_path) -> bytes:
    return save(tiny(lambda x, L: L.Dense(2, activation="sigmoid")(x)), tmp_path / "source.keras").read_bytes()


def zip_of(files: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


UNREADABLE = {  # a file put in a run folder as model.keras -> what the refusal must say
    "lfs_pointer": (
        lambda tmp: b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 99\n",
        "is a Git LFS pointer, not the model: run `git lfs pull`",
    ),
    "truncated": (lambda tmp: good_keras_bytes(tmp)[:5000], r"is truncated \(an incomplete zip\)"),
    "zip_not_keras": (
        lambda tmp: zip_of({"README.txt": "hello"}),
        r"is a zip but not a Keras archive \(no config.json",
    ),
    "picture": (lambda tmp: encode(Image.fromarray(cartoon()), "PNG"), "is not a Keras archive"),
    "hdf5": (lambda tmp: b"\x89HDF\r\n\x1a\n" + bytes(100), "is a legacy HDF5 model"),
    "empty": (lambda tmp: b"", r"is empty \(0 bytes\)"),
    "bad_config": (
        lambda tmp: zip_of({"config.json": "{not json", "model.weights.h5": "", "metadata.json": "{}"}),
        "cannot be loaded by Keras",
    ),
}


@pytest.mark.parametrize("kind", sorted(UNREADABLE))
def test_unreadable_model_files_are_refused_in_one_line(kind, tmp_path):
    make, message = UNREADABLE[kind]
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_bytes(make(tmp_path))
    with pytest.raises(UnreadableModelError, match=message) as caught:
        load_model(run)
    assert one_line(caught.value).startswith("model.keras")


def zeros_zip(path, unpacked: int) -> Path:
    """A zip with a Keras archive's member names whose weights are `unpacked` zero bytes, written
    through the compressor in 16 MB chunks (deflate packs zeros about 1000 to 1): a zip bomb that
    never holds more than a chunk in memory or on disk."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("metadata.json", "{}")
        archive.writestr("config.json", "{}")
        with archive.open("model.weights.h5", "w", force_zip64=True) as member:
            chunk = bytes(16 * 2**20)
            for start in range(0, unpacked, len(chunk)):
                member.write(chunk[: unpacked - start])
    return path


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory) -> Path:
    """About 1.5 MB that unpacks to 1.5 GiB (what issue 28 gave `predict --model`: 3.9 GB peak)."""
    return zeros_zip(tmp_path_factory.mktemp("bomb") / "model.keras", 1536 * 2**20)


def test_a_zip_bomb_model_is_refused_before_it_is_unpacked(zip_bomb, tmp_path):
    import tracemalloc

    assert zip_bomb.stat().st_size < 2 * 2**20
    tracemalloc.start()
    try:
        with pytest.raises(UnreadableModelError, match="would unpack to 1,536 MB, over the 1,024 MB") as caught:
            load_model(zip_bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert one_line(caught.value).startswith("model.keras") and "refused before unpacking" in str(caught.value)
    assert peak < 4 * 2**20, f"{peak / 2**20:.0f} MB traced while refusing"
    # Under the absolute cap, a ratio no model has: 200 MB of zeros in a few hundred kB.
    small = zeros_zip(tmp_path / "dense.keras", 200 * 2**20)
    with pytest.raises(UnreadableModelError, match=r"a zip bomb, not a model"):
        load_model(small)
    # In a process of its own (what `predict --model` runs), the peak memory stays that of Python.
    probe = (
        "import re, sys\n"
        "from tomjerry.models.files import UnreadableModelError, load_model\n"
        "try:\n    load_model(sys.argv[1])\nexcept UnreadableModelError as error:\n    print(error)\n"
        # VmHWM, this process's own peak (ru_maxrss carries the forking parent's over exec).
        "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(zip_bomb)], cwd=ROOT, capture_output=True, text=True, timeout=scaled(120)
    )
    message, peak_kb = result.stdout.strip().splitlines()
    assert "refused before unpacking" in message, result.stderr
    assert int(peak_kb) < 400 * 1024, f"peak {int(peak_kb) / 1024:.0f} MB"


def test_a_shipped_size_model_is_not_taken_for_a_bomb(tmp_path):
    from tomjerry.models.files import check_unpacked_size

    member = zipfile.ZipInfo("model.weights.h5")
    member.file_size = member.compress_size = 90 * 2**20  # InceptionV3's size, stored as keras.saving does
    check_unpacked_size("model.keras", [member])
    member.compress_size = 60 * 2**20  # deflated weights: 1.5 to 1
    check_unpacked_size("model.keras", [member])


def test_a_missing_model_is_unreadable(tmp_path):
    with pytest.raises(UnreadableModelError, match="no model at"):
        load_model(tmp_path)  # a folder with no model.keras
    with pytest.raises(UnreadableModelError, match="no model at"):
        load_model(tmp_path / "gone.keras")


# --- the command line --------------------------------------------------------------------------------


def run_predict(*args):
    return subprocess.run(
        [sys.executable, "-m", "tomjerry", "predict", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=scaled(180),
    )


@pytest.mark.slow
def test_command_line_refuses_an_lfs_pointer_model_in_one_line(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1\n")
    picture = tmp_path / "frame.png"
    picture.write_bytes(encode(Image.fromarray(cartoon()), "PNG"))
    result = run_predict("--model", run, picture)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        "error: model.keras is a Git LFS pointer, not the model: run `git lfs pull`"
    ]


@pytest.mark.slow
def test_command_line_reports_a_bad_image_and_classifies_the_others(tmp_path):
    model = save(tiny(lambda x, L: L.Dense(2, activation="sigmoid")(x)), tmp_path / "good.keras")
    bad, good, wide = tmp_path / "text.jpg", tmp_path / "frame.png", tmp_path / "wide.png"
    bad.write_text("not a picture\n")
    good.write_bytes(encode(Image.fromarray(cartoon()), "PNG"))
    wide.write_bytes(encode(Image.fromarray(cartoon(480, 90)), "PNG"))
    result = run_predict("--model", model, bad, good, wide)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{bad}\terror: text.jpg is not a readable image")
    assert lines[1].startswith(f"{good}\tp_tom=") and "(" not in lines[1]
    assert lines[2].startswith(f"{wide}\tp_tom=") and "cropped the centre 16:9 of a 5.3:1 picture" in lines[2]
    listed = run_predict("--model", model, "--json", bad, good, wide)
    assert listed.returncode == 1 and "Traceback" not in listed.stderr
    rows = json.loads(listed.stdout)
    keys = {"file", "p_tom", "p_jerry", "verdict", "label", "novelty", "threshold", "warnings", "error"}
    assert [set(row) for row in rows] == [keys] * 3
    assert rows[0]["error"].startswith("text.jpg is not a readable image") and rows[0]["verdict"] is None
    assert rows[1]["error"] is None and rows[1]["warnings"] == [] and rows[1]["threshold"] == 0.5
    assert rows[1]["verdict"] in ("neither", "tom", "jerry", "both")
    assert any("cropped the centre 16:9" in warning for warning in rows[2]["warnings"])
