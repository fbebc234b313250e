"""Decoding frames the way the study did (the one decoder of tomjerry.data.decoding, a picture of another
shape fitted to 16:9, INTER_AREA resize to the model's input: a square, or 16:9 itself), in parallel, with an on-disk cache of the
resized uint8 arrays.

The whole set is kept as uint8 (5,478 x 224 x 224 x 3 is 0.8 GB; as float32 it would be 3.3 GB)
and converted to float32 in [0, 1] one batch at a time.
"""

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
import pandas as pd

from tomjerry.atomic import write_json, write_npy
from tomjerry.data.dataset import Dataset, Problem, identical_images, scan
from tomjerry.data.decoding import BadImage, FrameFit, ImageSize, decode_image, fit_to_frame, height_width
from tomjerry.paths import cache_dir

# 2: one decoder for dataset and uploads. The real frames' arrays are unchanged (tested byte for
# byte), but transparent, 16-bit, truncated or non-16:9 files in other datasets now decode differently.
CACHE_VERSION = 2


@dataclass
class Images:
    arrays: np.ndarray  # (N, height, width, 3) uint8, RGB
    table: pd.DataFrame  # the rows of dataset.usable the arrays belong to, same order
    from_cache: bool


def model_input(rgb: np.ndarray, size: ImageSize) -> tuple[np.ndarray, str | None]:
    """Full-size (H, W, 3) uint8 RGB to the model's (height, width, 3) uint8 input (`size`: a
    square's side or (height, width)) and the note saying how its shape was fitted to 16:9 (None
    when it was already 16:9)."""
    fitted, note = fit_to_frame(rgb)
    height, width = height_width(size)
    return cv2.resize(fitted, (width, height), interpolation=cv2.INTER_AREA), note


def map_to_picture(
    square: np.ndarray, fit: FrameFit, out_size: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A map over the model's (h, w) input (a Grad-CAM map) put back on the picture as it was
    given, inverting `model_input`: the map is stretched back to the fitted 16:9 picture (undoing a
    square input's squeeze), the mirror padding is dropped, and the rest is placed where it came from
    in the picture (fit: tomjerry.data.decoding.fit_of). Returns ((H, W) float32 map, (H, W) bool
    `seen`: the pixels the model saw); parts cropped away or removed as bars get 0 and False.
    out_size: (width, height) to draw at, default the picture's own; it should keep the picture's
    shape (a smaller copy for the screen)."""
    square = np.asarray(square, np.float32)
    if square.ndim != 2:
        raise ValueError(f"a map is (height, width), not {square.shape}")
    width, height = out_size or fit.picture
    scale_x, scale_y = width / fit.picture[0], height / fit.picture[1]
    fitted = cv2.resize(square, fit.size, interpolation=cv2.INTER_LINEAR)
    tx0, ty0, tx1, ty1 = fit.target
    sx0, sy0, sx1, sy1 = fit.source
    # The source box on the output's scale (a smaller copy for the screen), at least one pixel.
    x0, y0 = int(round(sx0 * scale_x)), int(round(sy0 * scale_y))
    x1, y1 = max(x0 + 1, int(round(sx1 * scale_x))), max(y0 + 1, int(round(sy1 * scale_y)))
    x1, y1 = min(x1, width), min(y1, height)
    result = np.zeros((height, width), np.float32)
    seen = np.zeros((height, width), bool)
    result[y0:y1, x0:x1] = cv2.resize(fitted[ty0:ty1, tx0:tx1], (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    seen[y0:y1, x0:x1] = True
    return result, seen


# A frame shown as a picture (a sample, a mistake), not as a model's input, keeps its own shape: this
# many pixels high and as wide as its own aspect makes it (16:9 frames: 213 px), whatever model is picked.
THUMBNAIL_HEIGHT = 120


def thumbnail(rgb: np.ndarray, height: int = THUMBNAIL_HEIGHT) -> np.ndarray:
    """A (H, W, 3) uint8 picture as a smaller copy of the same shape: (height, W * height / H rounded,
    3), INTER_AREA (a picture smaller than `height` is enlarged, bilinear). ValueError for a height
    below 1."""
    if height < 1:
        raise ValueError(f"a thumbnail is at least 1 pixel high, not {height}")
    width = max(1, int(round(rgb.shape[1] * height / rgb.shape[0])))
    method = cv2.INTER_AREA if height <= rgb.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(rgb, (width, height), interpolation=method)


def read_thumbnail(path, height: int = THUMBNAIL_HEIGHT) -> np.ndarray | None:
    """One dataset frame as it is (not fitted, squeezed or cropped to any model's input), `height`
    pixels high with its own aspect (`thumbnail`); None when it cannot be decoded."""
    try:
        return thumbnail(decode_image(path), height)
    except BadImage:
        return None


def read_frame(path, size: ImageSize) -> np.ndarray | None:
    """One dataset frame as a model's (height, width, 3) uint8 RGB input (`model_input`: fitted to 16:9,
    then resized to `size`), or None when it cannot be decoded. For a frame shown as a picture, use
    `read_thumbnail`: a square `size` squeezes a 16:9 frame."""
    try:
        return model_input(decode_image(path), size)[0]
    except BadImage:
        return None


def to_float(batch: np.ndarray) -> np.ndarray:
    """uint8 RGB to float32 in [0, 1], the input every model takes."""
    return batch.astype(np.float32) / 255.0


def fingerprint(table: pd.DataFrame, size: ImageSize) -> str:
    """Changes whenever a file is added, removed, relabelled or rewritten (size or mtime)."""
    height, width = height_width(size)
    # A square keeps its old key (its side alone), so the caches already made stay valid.
    shape = f"{height}" if height == width else f"{height}x{width}"
    digest = hashlib.sha256(f"v{CACHE_VERSION}|{shape}".encode())
    for path, tom, jerry in zip(table.path, table.tom, table.jerry):
        try:
            stat = os.stat(path)
        except OSError:  # a broken link: still part of what the cache entry describes
            stat = os.lstat(path)
        digest.update(f"{path}|{tom}{jerry}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def decode_all(paths: list, size: ImageSize, workers: int | None = None) -> tuple[np.ndarray, list]:
    """All frames into one preallocated (N, height, width, 3) uint8 array (no per-image list and no
    final stack copy); returns (arrays, reasons) where reasons[i] is None for a frame that decoded,
    else why not."""
    arrays = np.empty((len(paths), *height_width(size), 3), np.uint8)
    reasons: list[str | None] = [None] * len(paths)

    def work(index):
        try:
            arrays[index] = model_input(decode_image(paths[index]), size)[0]
        except BadImage as error:
            reasons[index] = str(error)

    # Pillow and OpenCV release the GIL while decoding and resizing, so threads use every core.
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        list(pool.map(work, range(len(paths)), chunksize=64))
    return arrays, reasons


def load_images(dataset: Dataset, size: ImageSize = 224, use_cache: bool = True) -> Images:
    """Arrays (N, height, width, 3) for every usable image (`size`: a square's side or (height,
    width)). Unreadable images are added to dataset.problems (and so leave dataset.usable), never
    dropped silently."""
    if not all(16 <= side <= 2048 for side in height_width(size)):
        raise ValueError(f"image sides must be between 16 and 2048 pixels, not {size}")
    table = dataset.usable
    key = fingerprint(table, size)
    folder = cache_dir() / "arrays"
    array_path, meta_path = folder / f"{key}.npy", folder / f"{key}.json"
    if use_cache and array_path.is_file() and meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        arrays = np.load(array_path)
        from_cache = True
        unreadable = meta["unreadable"]
    else:
        arrays, reasons = decode_all(list(table.path), size)
        ok = np.array([reason is None for reason in reasons], bool)
        unreadable = {name: reason for name, reason in zip(table.filename, reasons) if reason is not None}
        if not ok.all():
            arrays = arrays[ok]
        from_cache = False
        if use_cache:
            # The arrays go first: a crash between the two writes leaves no usable entry.
            write_npy(array_path, arrays)
            write_json(meta_path, {"unreadable": unreadable, "size": list(height_width(size)), "images": len(arrays)})
    known = {(p.kind, p.filename) for p in dataset.problems}
    for name, reason in unreadable.items():
        if ("unreadable", name) not in known:
            dataset.problems.append(Problem("unreadable", "error", name, f"the image cannot be decoded: {reason}"))
    kept = table[~table.filename.isin(list(unreadable))].reset_index(drop=True)
    return Images(arrays, kept, from_cache)


def validate(source, image_size: int = 224) -> Dataset:
    """The full report: structural problems (`scan`), identical duplicates and the images that
    cannot be decoded, found by decoding every frame at `image_size` (which fills the cache)."""
    dataset = scan(source)
    dataset.problems.extend(identical_images(dataset.usable))
    load_images(dataset, image_size)  # adds "unreadable" problems
    return dataset
