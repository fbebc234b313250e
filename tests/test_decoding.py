"""The one decoder (tomjerry.data.decoding): the dataset's frames decode exactly as the training decoded
them, the same bytes give the same array on every path, and every kind of picture is either read
the documented way or refused with one line."""

import io

import cv2
import numpy as np
import pytest
from conftest import REAL_DATA
from pictures import cartoon, encode
from PIL import Image

from tomjerry.data.dataset import image_root
from tomjerry.data.decoding import (
    MAX_BYTES,
    MAX_PIXELS,
    TRANSPARENT_FILL,
    BadImage,
    decode_image,
    fit_to_frame,
)
from tomjerry.data.images import model_input, read_frame
from tomjerry.inference.predict import prepare


def training_decode(path) -> np.ndarray:
    """What the shipped models were trained on: OpenCV's decode, BGR to RGB."""
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def training_frame(path, size: int) -> np.ndarray:
    """The training's model input: INTER_AREA on the BGR decode, then BGR to RGB."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return cv2.cvtColor(cv2.resize(bgr, (size, size), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)


# --- the training's arrays are kept -----------------------------------------------------------------


def real_frames(step: int) -> list:
    if not REAL_DATA.is_dir():
        pytest.skip(f"the real dataset is not at {REAL_DATA}")
    paths = sorted(image_root(REAL_DATA).glob("*/*.jpg"), key=lambda p: int(p.stem.removeprefix("frame")))
    return paths[::step]


def test_real_frames_decode_byte_for_byte_as_in_training():
    paths = real_frames(step=10)  # 548 of the 5,478 frames, every folder, every period of the video
    assert len(paths) > 500
    for path in paths:
        rgb = decode_image(path)
        assert rgb.dtype == np.uint8 and rgb.flags.c_contiguous
        assert np.array_equal(rgb, training_decode(path)), path.name
        assert np.array_equal(read_frame(path, 224), training_frame(path, 224)), path.name


def test_demo_frames_decode_byte_for_byte_as_in_training(demo_root):
    paths = sorted(image_root(demo_root).glob("*/*.jpg"))
    assert len(paths) == 320
    for path in paths:
        assert np.array_equal(decode_image(path), training_decode(path)), path.name
        assert np.array_equal(read_frame(path, 64), training_frame(path, 64)), path.name


JPEG_VARIANTS = {
    "pillow 4:2:0": lambda a: encode(Image.fromarray(a), "JPEG", quality=90, subsampling=2),
    "pillow 4:2:2": lambda a: encode(Image.fromarray(a), "JPEG", quality=75, subsampling=1),
    "pillow 4:4:4": lambda a: encode(Image.fromarray(a), "JPEG", quality=95, subsampling=0),
    "pillow progressive": lambda a: encode(Image.fromarray(a), "JPEG", progressive=True),
    "pillow optimized": lambda a: encode(Image.fromarray(a), "JPEG", optimize=True, quality=60),
    "opencv baseline": lambda a: cv2.imencode(".jpg", a)[1].tobytes(),
    "opencv progressive": lambda a: cv2.imencode(".jpg", a, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes(),
    "grey": lambda a: encode(Image.fromarray(a[..., 0]), "JPEG"),
}


@pytest.mark.parametrize("variant", sorted(JPEG_VARIANTS))
@pytest.mark.parametrize("size", [(480, 270), (33, 17), (1, 7), (255, 257)])
def test_jpeg_variants_decode_as_opencv_does(variant, size, tmp_path):
    """Pillow and OpenCV give the same pixels for every JPEG flavour, so no dataset frame (whatever
    encoder wrote it) changes its array by moving to the one decoder."""
    data = JPEG_VARIANTS[variant](cartoon(*size))
    path = tmp_path / "x.jpg"
    path.write_bytes(data)
    if min(size) < 2:
        with pytest.raises(BadImage, match="too small"):
            decode_image(data)
        return
    assert np.array_equal(decode_image(data), training_decode(path))


def test_lossless_formats_decode_as_opencv_does(tmp_path):
    rgb = cartoon(97, 55)
    for fmt in ("PNG", "BMP", "WEBP"):
        path = tmp_path / f"x.{fmt.lower()}"
        Image.fromarray(rgb).save(path, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
        assert np.array_equal(decode_image(path), rgb), fmt
        assert np.array_equal(decode_image(path), training_decode(path)), fmt


# --- the same bytes give the same array on every path -------------------------------------------------


def odd_pictures() -> dict:
    rgb = cartoon(200, 120)
    alpha = np.tile(np.linspace(0, 255, 200, dtype=np.uint8), (120, 1))
    palette = Image.fromarray(rgb).quantize(16)
    palette.info["transparency"] = 0
    exif = Image.Exif()
    exif[0x0112] = 6
    return {
        "rgba.png": encode(Image.fromarray(np.dstack([rgb, alpha])), "PNG"),
        "la.png": encode(Image.fromarray(np.dstack([rgb[..., 1], alpha])), "PNG"),
        "palette_transparent.png": encode(palette, "PNG", transparency=0),
        "grey16.png": encode(Image.fromarray((rgb[..., 0].astype(np.uint16) * 257)), "PNG"),
        "cmyk.jpg": encode(Image.fromarray(rgb).convert("CMYK"), "JPEG"),
        "rotated.jpg": encode(Image.fromarray(rgb), "JPEG", exif=exif),
        "progressive.jpg": encode(Image.fromarray(rgb), "JPEG", progressive=True),
        "animated.gif": encode(
            Image.fromarray(rgb).quantize(32),
            "GIF",
            save_all=True,
            append_images=[Image.fromarray(rgb[::-1]).quantize(32)],
        ),
        "rgba.webp": encode(Image.fromarray(np.dstack([rgb, alpha])), "WEBP"),
        "picture.bmp": encode(Image.fromarray(rgb), "BMP"),
        "wide.png": encode(Image.fromarray(cartoon(640, 120)), "PNG"),
        "tall.jpg": encode(Image.fromarray(cartoon(90, 160)), "JPEG"),
    }


@pytest.mark.parametrize("name", sorted(odd_pictures()))
def test_dataset_path_and_upload_path_give_the_same_array(name, tmp_path):
    data = odd_pictures()[name]
    path = tmp_path / name
    path.write_bytes(data)
    from_file, from_upload = decode_image(path), decode_image(data, name)
    assert from_file.dtype == np.uint8 and from_file.ndim == 3 and from_file.shape[2] == 3
    assert np.array_equal(from_file, from_upload)
    # ...and the model input: read_frame (training, Grad-CAM) against prepare (the Predict page).
    assert np.array_equal(read_frame(path, 48).astype(np.float32) / 255.0, prepare(from_upload, 48))


# --- how each kind of picture is read ---------------------------------------------------------------


def test_transparency_is_composited_on_white():
    rgb = np.zeros((90, 160, 3), np.uint8)
    rgba = np.dstack([rgb, np.zeros((90, 160), np.uint8)])
    rgba[:, 80:, 3] = 255  # right half opaque black, left half transparent
    rgba[:, 40:80, 3] = 128  # a half-transparent band
    decoded = decode_image(encode(Image.fromarray(rgba), "PNG"))
    assert tuple(decoded[0, 0]) == TRANSPARENT_FILL == (255, 255, 255)
    assert tuple(decoded[0, 100]) == (0, 0, 0)
    assert 120 <= decoded[0, 60, 0] <= 135  # blended, not thresholded


def test_palette_transparency_is_composited_like_alpha():
    palette = Image.new("P", (64, 36), 1)
    palette.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    palette.paste(0, (0, 0, 32, 36))
    decoded = decode_image(encode(palette, "PNG", transparency=0))
    assert tuple(decoded[5, 5]) == (255, 255, 255) and tuple(decoded[5, 50]) == (200, 30, 30)


def test_sixteen_bit_grey_keeps_its_brightness():
    dark = np.full((36, 64), 2000, np.uint16)  # 3% of full scale: a dark picture, not a bright one
    decoded = decode_image(encode(Image.fromarray(dark), "PNG"))
    assert decoded.shape == (36, 64, 3) and int(decoded.max()) == 2000 >> 8
    white = decode_image(encode(Image.fromarray(np.full((36, 64), 65535, np.uint16)), "PNG"))
    assert int(white.min()) == 255


def test_exif_orientation_is_applied():
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, :100] = (255, 0, 0)  # red on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    decoded = decode_image(encode(Image.fromarray(image), "PNG", exif=exif))
    assert decoded.shape == (200, 100, 3)
    assert decoded[5, 50, 0] > 200 and decoded[195, 50, 0] < 50  # red is now on top


def test_cmyk_jpeg_is_converted():
    decoded = decode_image(encode(Image.new("CMYK", (64, 36), (0, 255, 255, 0)), "JPEG"))
    assert decoded[10, 10, 0] > 200 and decoded[10, 10, 1] < 60 and decoded[10, 10, 2] < 60  # red


def test_animated_gif_gives_its_first_frame():
    first, second = Image.new("RGB", (64, 36), (255, 0, 0)), Image.new("RGB", (64, 36), (0, 0, 255))
    decoded = decode_image(encode(first, "GIF", save_all=True, append_images=[second]))
    assert tuple(decoded[0, 0]) == (255, 0, 0)


def test_mpo_gives_its_first_picture():
    first, second = Image.new("RGB", (160, 90), (250, 10, 10)), Image.new("RGB", (160, 90), (10, 10, 250))
    data = encode(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    assert np.array_equal(decode_image(data), decode_image(encode(first, "JPEG")))


def test_big_jpeg_is_decoded_at_reduced_scale():
    data = encode(Image.new("RGB", (8000, 6000), (40, 90, 160)), "JPEG", quality=50)  # 48 MP
    decoded = decode_image(data)
    assert decoded.shape == (3000, 4000, 3)  # decoded at 1/2 scale: never 48 MP in memory
    assert abs(int(decoded[100, 100, 2]) - 160) < 4


def test_huge_non_jpeg_is_refused_from_its_header():
    data = encode(Image.new("L", (8000, 8000)), "PNG")  # 64 MP, but a few kB of bytes
    with pytest.raises(BadImage, match=f"8000x8000 pixels; the limit is {MAX_PIXELS // 10**6} megapixels"):
        decode_image(data, "huge.png")


def test_a_frame_over_the_byte_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "big.jpg"
    with open(path, "wb") as handle:
        handle.truncate(MAX_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(BadImage, match="big.jpg is 20.0 MB; the limit is 20 MB"):
        decode_image(path)


BAD = {
    "empty.jpg": (b"", "empty.jpg is empty"),
    "text.jpg": (b"just some text, honestly\n" * 10, "text.jpg is not a readable image"),
    "truncated.jpg": (encode(Image.fromarray(cartoon(640, 360)), "JPEG")[:3000], "truncated"),
    "truncated.png": (
        encode(Image.fromarray(cartoon(640, 360)), "PNG")[:2000],
        "truncated.png is not a readable image",
    ),
    "header_only.gif": (b"GIF89a\x10\x00\x10\x00", "header_only.gif is not a readable image"),
    "line.png": (encode(Image.new("RGB", (1, 50)), "PNG"), "too small"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_are_refused_in_one_line_on_both_paths(name, tmp_path):
    data, message = BAD[name]
    path = tmp_path / name
    path.write_bytes(data)
    for source in (data, path):
        with pytest.raises(BadImage, match=message) as caught:
            decode_image(source, name)
        assert "\n" not in str(caught.value) and str(caught.value).startswith(name)
    assert read_frame(path, 32) is None


def test_a_missing_file_is_a_bad_image(tmp_path):
    with pytest.raises(BadImage, match="gone.jpg cannot be read"):
        decode_image(tmp_path / "gone.jpg")


# --- shape ------------------------------------------------------------------------------------------


def test_frames_near_16_9_are_left_alone():
    for width, height in ((480, 270), (854, 480), (1920, 1088), (1280, 720)):
        rgb = cartoon(width, height)
        fitted, note = fit_to_frame(rgb)
        assert fitted is rgb and note is None


def test_wider_pictures_keep_their_centre():
    frame = cartoon(480, 270)
    wide = np.concatenate([frame[:, ::-1], frame, frame[:, ::-1]], axis=1)  # 5.3:1 mirror copies
    fitted, note = fit_to_frame(wide)
    assert np.array_equal(fitted, frame)
    assert note == "cropped the centre 16:9 of a 5.3:1 picture"


def test_taller_pictures_are_padded_with_mirror_copies():
    square = cartoon(270, 270)
    fitted, note = fit_to_frame(square)
    assert fitted.shape == (270, 480, 3)
    assert np.array_equal(fitted[:, 105:375], square)
    assert np.array_equal(fitted[:, 104], square[:, 0]) and np.array_equal(fitted[:, 375], square[:, -1])
    assert note == "padded a 1:1 picture to 16:9 with mirror copies of its left and right edges"


def test_a_letterboxed_frame_is_cut_out_of_its_bars():
    frame = cartoon(480, 270)
    phone = np.zeros((853, 480, 3), np.uint8)  # a portrait phone screenshot of a playing video
    phone[291:561] = frame
    fitted, note = fit_to_frame(phone)
    assert np.array_equal(fitted, frame)
    assert note == "removed the uniform bars above and below a 9:16 picture, leaving its 16:9 middle"


def test_flat_areas_inside_a_picture_are_not_taken_for_bars():
    square = cartoon(270, 270)
    square[:40] = (90, 150, 230)  # a plain sky
    fitted, note = fit_to_frame(square)
    assert note.startswith("padded") and fitted.shape == (270, 480, 3)


def test_extreme_shapes_stay_within_the_pixel_limit():
    fitted, note = fit_to_frame(np.zeros((20000, 2, 3), np.uint8) + np.arange(2, dtype=np.uint8)[None, :, None])
    assert fitted.shape[0] * fitted.shape[1] <= MAX_PIXELS and note.startswith("padded")
    pixels, _ = model_input(fitted, 32)
    assert pixels.shape == (32, 32, 3)


def test_model_input_leaves_a_frame_as_the_training_resized_it(tmp_path):
    path = tmp_path / "f.jpg"
    cv2.imwrite(str(path), cartoon(480, 270))
    pixels, note = model_input(decode_image(path), 224)
    assert note is None and np.array_equal(pixels, training_frame(path, 224))
