"""Prediction on user images: decoding uploads safely and scoring them with a saved model."""

import io
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from PIL import UnidentifiedImageError

from tomjerry import COMBINATION_OF
from tomjerry.images import resize_rgb

MAX_PIXELS = 40_000_000  # refuse to fully decode bigger images (8000x8000 RGB would be 192 MB)
MAX_BYTES = 20 * 2**20   # the same cap as server.maxUploadSize in .streamlit/config.toml
DRAFT_SIDE = 2048        # big JPEGs are decoded straight at a reduced scale (bounded memory)


class BadImage(ValueError):
    """The upload is not an image we can read; the message says why."""


@dataclass
class Prediction:
    p_tom: float
    p_jerry: float
    threshold: float

    @property
    def verdict(self) -> str:
        return COMBINATION_OF[(int(self.p_tom >= self.threshold), int(self.p_jerry >= self.threshold))]


def reason(error: Exception) -> str:
    """The decoder's complaint for a person: Pillow names the file it failed on by the repr of its
    in-memory buffer ("cannot identify image file <_io.BytesIO object at 0x7f...>"), which means
    nothing to the one who uploaded it."""
    text = re.sub(r"\s*<[^<>]* object at 0x[0-9a-fA-F]+>", "", str(error)).strip()
    if isinstance(error, UnidentifiedImageError) or text == "cannot identify image file":
        return "not a picture format Pillow knows: JPEG, PNG, WebP, GIF or BMP"
    return text[:120] or type(error).__name__


def decode_upload(data: bytes, name: str = "upload") -> np.ndarray:
    """Image bytes to RGB uint8 at full size, or BadImage with a clear reason. The size is read
    from the header before decoding, so a huge image is refused without using its memory."""
    from PIL import Image, ImageOps

    if not data:
        raise BadImage(f"{name} is empty (0 bytes)")
    if len(data) > MAX_BYTES:
        raise BadImage(f"{name} is {len(data) / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB")
    try:
        image = Image.open(io.BytesIO(data))  # reads the header only
        width, height = image.size
        if image.format == "JPEG" and max(width, height) > DRAFT_SIDE:
            # libjpeg scales by 1/2, 1/4 or 1/8 while decoding: a huge photo never exists at full size.
            image.draft("RGB", (DRAFT_SIDE, DRAFT_SIDE))
            width, height = image.size
        if width * height > MAX_PIXELS:
            raise BadImage(f"{name} is {width}x{height} pixels; the limit is {MAX_PIXELS / 1e6:.0f} megapixels")
        image.seek(0)  # the first frame of an animated image
        image.load()
        image = ImageOps.exif_transpose(image)  # respect the camera's orientation
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = Image.alpha_composite(background, rgba)
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            array = np.asarray(image, dtype=np.float64)
            peak = array.max() or 1
            image = Image.fromarray((array / max(peak, 255) * 255).astype(np.uint8))
        rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except BadImage:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError,
            MemoryError) as error:
        raise BadImage(f"{name} is not a readable image ({reason(error)})") from None
    if rgb.ndim != 3 or rgb.shape[0] < 2 or rgb.shape[1] < 2:
        raise BadImage(f"{name} is too small to classify")
    return rgb


def prepare(rgb: np.ndarray, size: int) -> np.ndarray:
    """Full-size RGB to the model's input: the dataset's INTER_AREA resize, float32 in [0, 1]."""
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    return resize_rgb(bgr, size).astype(np.float32) / 255.0


def load_model(path):
    """A run folder or a .keras file, loaded with Keras safe_mode (no arbitrary code)."""
    import keras

    path = Path(path)
    if path.is_dir():
        path = path / "model.keras"
    if not path.is_file():
        raise ValueError(f"no model at {path}: pick a finished run or a .keras file")
    # Importing the registry makes every custom object the models use known to Keras.
    import tomjerry.models  # noqa: F401

    return keras.models.load_model(path, compile=False, safe_mode=True)


def input_size(model) -> int:
    return int(model.input_shape[1])


def predict_arrays(model, images: np.ndarray) -> np.ndarray:
    """(N, size, size, 3) float32 to (N, 2) probabilities. predict_on_batch runs the compiled
    graph: about 10 ms for one image against about 90 ms for an eager call."""
    return np.asarray(model.predict_on_batch(images), dtype=np.float32)


def predict_bytes(model, data: bytes, name: str = "upload", threshold: float = 0.5) -> Prediction:
    rgb = decode_upload(data, name)
    p = predict_arrays(model, prepare(rgb, input_size(model))[None])[0]
    return Prediction(float(p[0]), float(p[1]), threshold)
