"""Pictures the tests make: encoded in any format, and cartoon-like frames (smooth colour fields
with edges; noise would be a poor JPEG test)."""

import io

import cv2
import numpy as np
from PIL import Image


def predict_bytes(model, data: bytes, name: str = "upload"):
    """A bare model's Prediction for image bytes through the one Predictor, with the documented
    defaults of a model file outside a run (no TTA, threshold 0.5); BadImage for unreadable bytes."""
    from tomjerry.inference.predict import InferenceRecipe, Predictor

    return Predictor(model, InferenceRecipe.for_model(model)).predict(data, name)


def encode(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def cartoon(width=160, height=90, seed=0) -> np.ndarray:
    """(height, width, 3) uint8 RGB made of flat blocks of random colour."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(1, height // 8), max(1, width // 8), 3), dtype=np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
