"""Prediction on user images: decoding uploads with the dataset's own decoder and scoring them
with a saved model."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tomjerry import COMBINATION_OF
from tomjerry.decoding import MAX_BYTES, MAX_PIXELS, BadImage, decode_image  # noqa: F401 (re-exported)
from tomjerry.images import model_input, to_float


@dataclass
class Prediction:
    p_tom: float
    p_jerry: float
    threshold: float
    note: str | None = None  # how the picture's shape was fitted to 16:9, to show beside the verdict

    @property
    def verdict(self) -> str:
        return COMBINATION_OF[(int(self.p_tom >= self.threshold), int(self.p_jerry >= self.threshold))]


def decode_upload(data: bytes, name: str = "upload") -> np.ndarray:
    """Image bytes to (H, W, 3) uint8 RGB at full size, exactly as a dataset frame of the same bytes
    is decoded, or BadImage with a one-line reason (see tomjerry.decoding.decode_image)."""
    return decode_image(data, name)


def prepare(rgb: np.ndarray, size: int) -> np.ndarray:
    """Full-size RGB to the model's input: fitted to 16:9, the dataset's INTER_AREA resize to
    (size, size, 3), float32 in [0, 1]."""
    return to_float(model_input(rgb, size)[0])


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


def predict_image(model, source, name: str | None = None, threshold: float = 0.5) -> Prediction:
    """Image bytes or an image file's path to a Prediction (with the shape note), or BadImage."""
    pixels, note = model_input(decode_image(source, name), input_size(model))
    p = predict_arrays(model, to_float(pixels[None]))[0]
    return Prediction(float(p[0]), float(p[1]), threshold, note)


def predict_bytes(model, data: bytes, name: str = "upload", threshold: float = 0.5) -> Prediction:
    return predict_image(model, data, name, threshold)
