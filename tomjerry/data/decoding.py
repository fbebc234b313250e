"""One decoder for every picture tomjerry reads: dataset frames and uploads alike.

`decode_image` turns image bytes (or a file, read as bytes) into a full-size (H, W, 3) uint8 RGB
array, or raises `BadImage` with a one-line reason. Both the dataset path (tomjerry.data.images) and the
upload path (tomjerry.inference.predict) call it, so the same bytes give the same array whichever path reads them.

Pillow decodes everything. On JPEG it gives exactly the pixels of the OpenCV decode the training used
(cv2.imread(IMREAD_COLOR) then BGR to RGB): measured equal on all 5,478 real frames, the demo frames
and 2,700 generated JPEGs (baseline and progressive, 4:4:4, 4:2:2, 4:2:0, grey, odd sizes), and tested
in tests/test_decoding.py. Pillow alone also reads what OpenCV gets wrong or cannot read: palette
transparency, EXIF orientation, multi-picture (MPO) JPEGs, animated GIF and WebP, 16-bit PNG, and it
refuses a truncated file instead of filling the missing part with grey.

`fit_to_frame` brings a picture of another shape to the frames' 16:9 before the square resize.
"""

import io
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

MAX_BYTES = 20 * 2**20  # also the Predict page uploader's own cap (max_upload_size)
MAX_PIXELS = 40_000_000  # after any reduced-scale decode; 40 MP of RGB is 120 MB
DRAFT_SIDE = 2048  # a bigger JPEG is decoded at 1/2, 1/4 or 1/8 scale, never below this side
MIN_SIDE = 2  # a 1-pixel line holds nothing to classify

# Transparent pixels are composited on white. The training frames have no alpha, so no choice is
# "the training's"; white is what a browser, the Streamlit preview and most viewers show behind a
# sticker or cut-out, so the picture classified is the picture the user sees. Dropping alpha (what
# OpenCV does) exposes whatever colour the transparent pixels happen to store, usually black, and an
# all-black frame in this dataset is a fade-out labelled "neither".
TRANSPARENT_FILL = (255, 255, 255)

FRAME_ASPECT = 16 / 9  # every training frame: 1280x720, 854x480, resized to 480x270
# Pictures within 5% of 16:9 (1.69 to 1.87: 854x480, 1920x1088 and other encoder rounding) are left
# alone, so every dataset frame reaches the square resize exactly as in training.
ASPECT_TOLERANCE = 0.05
BAR_RANGE = 24  # a bar line: every pixel within 24 levels of the others in each channel

# The model's input: a square of `size` (the study squeezes the 16:9 frame into 224x224, halving its
# horizontal detail), or the frame's own shape, `size` high and 16/9 as wide, rounded to 8 pixels
# (240 -> 240x424, 224 -> 224x400) so every stride-2 stage of the EfficientNets halves it evenly
# for three stages.
INPUT_ASPECTS = ("1:1", "16:9")
ImageSize = int | tuple[int, int]  # a square's side, or (height, width), pixels


def input_shape(size: int, aspect: str = "1:1") -> tuple[int, int]:
    """(height, width) in pixels of a model input `size` high with the given aspect ("1:1" or
    "16:9"). Raises ValueError for another aspect."""
    if aspect == "1:1":
        return int(size), int(size)
    if aspect == "16:9":
        return int(size), int(8 * round(size * FRAME_ASPECT / 8))
    raise ValueError(f"input aspect must be one of {', '.join(INPUT_ASPECTS)}, not {aspect!r}")


def height_width(size: ImageSize) -> tuple[int, int]:
    """(height, width) of an image size given as a square's side or as (height, width)."""
    if isinstance(size, (tuple, list)):
        if len(size) != 2:
            raise ValueError(f"an image size is a side or (height, width), not {size!r}")
        return int(size[0]), int(size[1])
    return int(size), int(size)


# Multi-scale test-time augmentation scores the model's input also enlarged (or shrunk) by these
# factors; each side rounds to 8 pixels like the input itself.
SCALE_RANGE = (0.5, 2.0)


def scaled_shape(size: ImageSize, scale: float) -> tuple[int, int]:
    """(height, width) of an input `scale` times as large, each side rounded to 8 pixels (240x424
    at 1.133 -> 272x480). ValueError for a scale outside SCALE_RANGE."""
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        raise ValueError(f"a test-time scale must be between {SCALE_RANGE[0]:g} and {SCALE_RANGE[1]:g}, not {scale:g}")
    if scale == 1.0:
        return height_width(size)
    return tuple(int(8 * round(side * scale / 8)) for side in height_width(size))  # type: ignore[return-value]


def check_scales(scales) -> tuple[float, ...]:
    """The test-time scales as a tuple of floats: at least one, 1.0 (the trained size) among them,
    no repeats, each within SCALE_RANGE. ValueError with the reason otherwise."""
    try:
        values = tuple(float(scale) for scale in scales)
    except (TypeError, ValueError):
        raise ValueError(f"test-time scales are numbers such as 1, 1.133, not {scales!r}") from None
    if 1.0 not in values:
        raise ValueError(
            f"test-time scales must include 1 (the trained size), not {', '.join(f'{v:g}' for v in values)}"
        )
    if len(set(values)) != len(values):
        raise ValueError("a test-time scale is given twice")
    for value in values:
        scaled_shape(1, value)  # the range check
    return values


def parse_scales(text: str) -> tuple[float, ...]:
    """'1, 1.133' (the command line's and the Train form's spelling) to check_scales's (1.0, 1.133).
    ValueError with the reason otherwise."""
    return check_scales([part.strip() for part in text.split(",") if part.strip()])


def size_text(size: ImageSize) -> str:
    """'224 px' for a square, '240x424 px' (height x width) otherwise."""
    height, width = height_width(size)
    return f"{height} px" if height == width else f"{height}x{width} px"


JPEG_MAGIC = b"\xff\xd8\xff"
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


class BadImage(ValueError):
    """The picture cannot be read; the message is one line that names the file and says why."""


def one_line(text: str, limit: int = 160) -> str:
    """Pillow's messages can span lines or run long; a refusal is shown on one line."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def read_source(source, name: str | None) -> tuple[bytes, str]:
    """(bytes, display name) from bytes or a path. A file's size is checked before it is read, so a
    huge file never enters memory."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), name or "upload"
    path = Path(source)
    name = name or path.name
    try:
        size = os.stat(path).st_size
        if size > MAX_BYTES:
            raise BadImage(too_big(name, size))
        return path.read_bytes(), name
    except OSError as error:
        raise BadImage(one_line(f"{name} cannot be read ({error.strerror or error})")) from None


def too_big(name: str, size: int) -> str:
    return f"{name} is {size / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB"


def open_header(data: bytes):
    """A lazy Pillow image: the header is parsed, no pixel is decoded yet."""
    from PIL import Image, JpegImagePlugin

    if data.startswith(JPEG_MAGIC):
        # Straight to the JPEG plugin (it returns an MPO image for a multi-picture file): Image.open
        # would refuse a JPEG over Pillow's bomb limit (179 MP) before it can be decoded at 1/8 scale.
        return JpegImagePlugin.jpeg_factory(io.BytesIO(data))
    return Image.open(io.BytesIO(data))


def reduce_at_decode(image) -> None:
    """Ask the plugin to decode at a reduced scale when it can (libjpeg scales JPEG and MPO by 1/2,
    1/4 or 1/8 while decoding); other formats ignore the request and keep their size."""
    if max(image.size) > DRAFT_SIDE:
        image.draft(None, (DRAFT_SIDE, DRAFT_SIDE))


def to_eight_bit(image):
    """16-bit grey to 8-bit by its top byte (what OpenCV and libpng's strip_16 do): 65535 is white.
    Stretching to the picture's own peak instead would make a dark picture bright."""
    from PIL import Image

    array = np.asarray(image, dtype=np.uint32)
    return Image.fromarray((np.clip(array, 0, 65535) >> 8).astype(np.uint8))


def has_transparency(image) -> bool:
    return image.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info


def composite(image):
    """Transparent and half-transparent pixels blended onto TRANSPARENT_FILL."""
    from PIL import Image

    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, TRANSPARENT_FILL)
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def to_rgb(image) -> np.ndarray:
    """Any Pillow mode (palette, grey, 16-bit, CMYK, with or without alpha) to (H, W, 3) uint8 RGB."""
    if image.mode in SIXTEEN_BIT_MODES:
        image = to_eight_bit(image)  # a 16-bit colour key cannot survive this; such files are rare
    elif has_transparency(image):
        image = composite(image)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def decode_image(source, name: str | None = None) -> np.ndarray:
    """Image bytes, or the path of an image file, to (H, W, 3) uint8 RGB at full size (a JPEG over
    DRAFT_SIDE pixels a side at a reduced scale).

    Reads anything Pillow opens (JPEG and its variants, MPO, PNG, WebP, GIF, BMP, ...): the first
    frame of an animation, turned by its EXIF orientation, transparency composited on white. The
    pixel count is read from the header before decoding. Raises BadImage (a ValueError) with one line
    when the file is empty, over MAX_BYTES, not an image, truncated, over MAX_PIXELS or under
    MIN_SIDE pixels a side; `name` (default: the file name, or "upload") starts that line.
    """
    data, name = read_source(source, name)
    if not data:
        raise BadImage(f"{name} is empty (0 bytes)")
    if len(data) > MAX_BYTES:
        raise BadImage(too_big(name, len(data)))
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        image = open_header(data)
        image.seek(0)  # the first frame; before draft, since seeking an MPO resets its decoder setup
        reduce_at_decode(image)
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise BadImage(f"{name} is {width}x{height} pixels; the limit is {MAX_PIXELS / 1e6:.0f} megapixels")
        image.load()
        image = ImageOps.exif_transpose(image)
        rgb = to_rgb(image)
    except BadImage:
        raise
    except UnidentifiedImageError:
        raise BadImage(f"{name} is not a readable image (no picture format Pillow knows)") from None
    except Image.DecompressionBombError:
        # Pillow raises it past twice its limit, and only while a limit is set (None turns it off).
        raise BadImage(
            f"{name} is over {2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} megapixels; "
            f"the limit is {MAX_PIXELS / 1e6:.0f} megapixels"
        ) from None
    except Exception as error:  # noqa: BLE001
        # Pillow's plugins signal a malformed file in many ways (OSError, SyntaxError, struct.error,
        # IndexError, EOFError, ...); every one of them means this file cannot be read.
        raise BadImage(one_line(f"{name} is not a readable image ({type(error).__name__}: {error})")) from None
    if min(rgb.shape[:2]) < MIN_SIDE:
        raise BadImage(f"{name} is {rgb.shape[1]}x{rgb.shape[0]} pixels: too small to classify")
    return rgb


def aspect_label(ratio: float) -> str:
    """A shape as people say it: 16:9, 9:16, 1:1, 4:3, otherwise 5.3:1 or 1:2.4."""
    for label, value in (
        ("16:9", 16 / 9),
        ("9:16", 9 / 16),
        ("1:1", 1.0),
        ("4:3", 4 / 3),
        ("3:4", 3 / 4),
        ("3:2", 3 / 2),
        ("2:3", 2 / 3),
    ):
        if abs(ratio / value - 1) < 0.01:
            return label
    return f"{ratio:.1f}:1" if ratio >= 1 else f"1:{1 / ratio:.1f}"


def near_aspect(width: int, height: int, aspect: float) -> bool:
    return abs(width / height / aspect - 1) <= ASPECT_TOLERANCE


def flat_run(lines: np.ndarray, chunk: int = 64) -> int:
    """How many of the first lines of (N, L, 3) are uniform (a letterbox bar), counted from line 0.
    Read in chunks, so a picture with no bar costs one chunk, not a pass over all of it."""
    for start in range(0, len(lines), chunk):
        block = lines[start : start + chunk]
        flat = (block.max(axis=1).astype(np.int16) - block.min(axis=1)).max(axis=1) <= BAR_RANGE
        if not flat.all():
            return start + int(np.argmin(flat))
    return len(lines)


def bar_bounds(rgb: np.ndarray, aspect: float) -> tuple[int, int] | None:
    """(first, last): how many lines of uniform bars `strip_bars` removes at the start (top or left)
    and at the end (bottom or right) of a picture, or None when it removes none (see strip_bars)."""
    height, width = rgb.shape[:2]
    lines = rgb if width / height < aspect else rgb.transpose(1, 0, 2)
    keep = int(round(width / aspect)) if lines is rgb else int(round(height * aspect))
    excess = len(lines) - keep
    if excess <= 0:
        return None
    lead, trail = flat_run(lines[:excess]), flat_run(lines[::-1][:excess])
    first = min(lead, excess - min(trail, excess // 2))
    last = min(trail, excess - first)
    if min(first, last) < excess / 4:
        return None
    inner = len(lines) - first - last
    inner_width, inner_height = (width, inner) if lines is rgb else (inner, height)
    return (first, last) if near_aspect(inner_width, inner_height, aspect) else None


def strip_bars(rgb: np.ndarray, aspect: float) -> np.ndarray | None:
    """The 16:9 picture inside uniform bars (a phone screenshot of a video, a letterboxed frame):
    the bars above and below a taller picture, or left and right of a wider one, are removed. None
    unless there are bars on both sides and removing them leaves a picture near `aspect`; a flat
    sky or wall inside a picture is never taken for a bar, as it does not bring it to 16:9."""
    bounds = bar_bounds(rgb, aspect)
    if bounds is None:
        return None
    first, last = bounds
    height, width = rgb.shape[:2]
    if width / height < aspect:
        return rgb[first : height - last]
    return rgb[:, first : width - last]


def pad_geometry(height: int, width: int, aspect: float) -> tuple[int, int, int, int]:
    """(height, width, left, extra) of `mirror_pad`: the picture's size after any shrink, and the
    mirror columns added, `left` of them on the left and `extra - left` on the right."""
    if height * height * aspect > MAX_PIXELS:
        # A very tall picture would grow past the decoder's own pixel limit; shrink it first (it is
        # shrunk to the model's input anyway), so fitting never needs more memory than decoding.
        scale = (MAX_PIXELS / (height * height * aspect)) ** 0.5
        width, height = max(1, int(width * scale)), max(1, int(height * scale))
    extra = int(round(height * aspect)) - width
    return height, width, extra // 2, extra


def mirror_pad(rgb: np.ndarray, aspect: float) -> np.ndarray:
    """A picture taller than `aspect` widened to it with mirror images of its left and right edges."""
    height, width, left, extra = pad_geometry(rgb.shape[0], rgb.shape[1], aspect)
    if (height, width) != rgb.shape[:2]:
        rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    # "symmetric" repeats the edge pixel (as a mirror does); numpy mirrors again when the padding is
    # wider than the picture.
    return np.pad(rgb, ((0, 0), (left, extra - left), (0, 0)), mode="symmetric")


@dataclass(frozen=True)
class FrameFit:
    """Where a picture went when `fit_to_frame` brought it to 16:9, so that anything computed on the
    model's input (a Grad-CAM map) can be put back on the picture as it was given.

    The part of the picture the model sees, `source` = (x0, y0, x1, y1) in the picture's pixels
    (end exclusive), lies at `target` = (x0, y0, x1, y1) in the fitted picture of `size` = (width,
    height); the fitted picture is then squeezed to the model's square input. Outside `source` the
    picture was cropped away or was a bar (the model never saw it); outside `target` the fitted
    picture is mirror padding (not the picture). kind: "unchanged", "bars", "crop" or "pad"."""

    picture: tuple[int, int]  # (width, height) of the picture as given
    size: tuple[int, int]  # (width, height) of the fitted 16:9 picture
    source: tuple[int, int, int, int]
    target: tuple[int, int, int, int]
    kind: str

    @property
    def sees_all(self) -> bool:
        """Whether every pixel of the picture reached the model (nothing cropped, no bars)."""
        return self.source == (0, 0, *self.picture)


def fit_of(height: int, width: int, rgb: np.ndarray | None = None, aspect: float = FRAME_ASPECT) -> FrameFit:
    """The FrameFit `fit_to_frame` applies to a (height, width) picture. Bars can only be found in
    the pixels: without `rgb` a picture is taken to have none."""
    whole = (0, 0, width, height)
    if near_aspect(width, height, aspect):
        return FrameFit((width, height), (width, height), whole, whole, "unchanged")
    bounds = bar_bounds(rgb, aspect) if rgb is not None else None
    if bounds is not None:
        first, last = bounds
        if width / height < aspect:
            box = (0, first, width, height - last)
        else:
            box = (first, 0, width - last, height)
        size = (box[2] - box[0], box[3] - box[1])
        return FrameFit((width, height), size, box, (0, 0, *size), "bars")
    if width / height > aspect:
        keep = int(round(height * aspect))
        left = (width - keep) // 2
        return FrameFit((width, height), (keep, height), (left, 0, left + keep, height), (0, 0, keep, height), "crop")
    shrunk_height, shrunk_width, left, extra = pad_geometry(height, width, aspect)
    return FrameFit(
        (width, height),
        (shrunk_width + extra, shrunk_height),
        whole,
        (left, 0, left + shrunk_width, shrunk_height),
        "pad",
    )


def fit_to_frame(rgb: np.ndarray, aspect: float = FRAME_ASPECT) -> tuple[np.ndarray, str | None]:
    """A (H, W, 3) picture brought to the training frames' shape before the square resize, and a
    sentence for the user saying what was done (None when nothing was). Where each part of the
    picture went: `fit_of`.

    The rule, chosen by measurement with the shipped model on real test frames turned into other
    shapes (benchmarks/shape_rule.py): within ASPECT_TOLERANCE of 16:9, the picture is left alone;
    a 16:9 picture inside uniform bars is cut out of them; otherwise a wider picture keeps its centre
    16:9 (squashing a 5.3:1 picture cost 80 of 300 frames, cropping none) and a taller one is padded
    with mirror copies of its sides (cropping the centre of a 9:16 picture cost 49 more frames than
    padding it: it cuts every character in half).
    """
    height, width = rgb.shape[:2]
    fit = fit_of(height, width, rgb, aspect)
    if fit.kind == "unchanged":
        return rgb, None
    shape = aspect_label(width / height)
    x0, y0, x1, y1 = fit.source
    if fit.kind == "bars":
        sides = "above and below" if width / height < aspect else "left and right of"
        return rgb[y0:y1, x0:x1], f"removed the uniform bars {sides} a {shape} picture, leaving its 16:9 middle"
    if fit.kind == "crop":
        return rgb[y0:y1, x0:x1], f"cropped the centre 16:9 of a {shape} picture"
    return mirror_pad(rgb, aspect), f"padded a {shape} picture to 16:9 with mirror copies of its left and right edges"
