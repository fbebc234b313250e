"""Shots and near-duplicates: what makes a frame-level split leak.

The frames are sampled about once a second from cartoons, so consecutive frames of one shot
(one continuous camera take) look alike, and a few stretches of footage appear twice in the
dataset, far apart in time. A split that keeps whole shots on one side, and links the shots that
share near-identical frames, keeps those look-alikes out of the test set.

Every measure here works on small grey thumbnails (THUMBNAIL_SIDE x THUMBNAIL_SIDE, luma in grey
levels 0-255, area-averaged from whatever size the images are), so the thresholds below do not
depend on the size the images were decoded at. `SHOT_IMAGE_SIZE` is the size to decode at
(`load_images(dataset, SHOT_IMAGE_SIZE)`): the smallest the image cache accepts.
"""

import cv2
import numpy as np
import pandas as pd

SHOT_IMAGE_SIZE = 32
THUMBNAIL_SIDE = 16

# ITU-R BT.601 luma weights: the usual RGB to grey conversion.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)

# Cut threshold, in grey levels of mean absolute difference between neighbouring thumbnails.
# Measured on the real dataset (5,478 frames): 91 % of neighbouring differences fall below 33
# (their median is 7.6, but characters move a lot in one second, so differences inside a shot reach
# 30), while 85 % of random pairs of frames more than 300 frames apart (unrelated content) lie above
# it (their median is 56). It finds 472 shots (median 6 frames, longest 130). The two distributions overlap, so the threshold errs high: a missed cut only merges two shots
# (they then stay on one side together, which is harmless for leakage), whereas a false cut splits
# one shot and can put near-identical halves on two sides.
CUT_THRESHOLD = 33.0

# Near-duplicate threshold rule: frames whose nearest "unrelated" frame (another label combination,
# more than NEAR_DUPLICATE_MIN_GAP frames away, so it cannot be the same image) is closer than the
# threshold are NEAR_DUPLICATE_QUANTILE of all frames. The nearest of thousands of unrelated frames
# is the right null for a nearest-neighbour test: the 1st percentile of single random pairs would
# be met by chance by almost every frame searched against ~4,400 training frames.
NEAR_DUPLICATE_QUANTILE = 0.01
NEAR_DUPLICATE_MIN_GAP = 50
NEAR_DUPLICATE_RULE = (
    f"{NEAR_DUPLICATE_QUANTILE:.0%} quantile of each frame's distance to its nearest "
    f"frame with another label combination more than {NEAR_DUPLICATE_MIN_GAP} frames away "
    f"(mean absolute difference of {THUMBNAIL_SIDE}x{THUMBNAIL_SIDE} grey thumbnails, "
    f"grey levels 0-255)"
)

_ROWS_PER_CHUNK = 512  # distance rows computed at once: 512 x 5,478 float64 is 22 MB


def _cdist():
    """scipy's cdist, imported on first use: the pages that never cut shots (Home) skip scipy's
    import (about 0.5 s)."""
    from scipy.spatial.distance import cdist

    return cdist


def thumbnails(images: np.ndarray, side: int = THUMBNAIL_SIDE) -> np.ndarray:
    """(N, H, W, 3) uint8 RGB images -> (N, side * side) float32 grey thumbnails, grey levels 0-255.

    Area-averaged (cv2.INTER_AREA), so a thumbnail is the mean of the pixels it covers."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must have the shape (N, height, width, 3), not {images.shape}")
    grey = images.astype(np.float32) @ LUMA
    if grey.shape[1:] != (side, side):
        grey = (
            np.stack([cv2.resize(frame, (side, side), interpolation=cv2.INTER_AREA) for frame in grey])
            if len(grey)
            else np.zeros((0, side, side), np.float32)
        )
    return grey.reshape(len(grey), side * side)


def frame_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Perceptual distance of two (H, W, 3) uint8 RGB frames: the mean absolute difference of their
    grey thumbnails, in grey levels (0: identical, 255: black against white)."""
    pair = thumbnails(np.stack([a, b]))
    return float(np.abs(pair[0] - pair[1]).mean())


def frame_differences(images: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 frames in time order -> (N - 1,) float: the distance between each frame and
    the next, in grey levels (see frame_distance)."""
    small = thumbnails(images)
    return np.abs(np.diff(small, axis=0)).mean(axis=1)


def time_order(table: pd.DataFrame) -> np.ndarray:
    """Row positions of `table` sorted by frame number (stable); raises when frame numbers are missing."""
    frames = table.frame.to_numpy()
    if (frames < 0).any():
        raise ValueError("shot detection needs frame numbers in the file names (frame123.jpg)")
    return np.argsort(frames, kind="stable")


def shot_ids(table: pd.DataFrame, images: np.ndarray, threshold: float = CUT_THRESHOLD) -> np.ndarray:
    """(N,) int shot number of every row of `table` (images: (N, H, W, 3) uint8, same row order).

    Shots are numbered 0, 1, ... in time order. A new shot starts where the distance to the previous
    frame exceeds `threshold` (grey levels), and wherever frame numbers skip (a missing frame hides
    whatever happened in between)."""
    if len(images) != len(table):
        raise ValueError(f"{len(images)} images for {len(table)} table rows: they must be aligned")
    if len(table) == 0:
        return np.zeros(0, int)
    order = time_order(table)
    frames = table.frame.to_numpy()[order]
    starts = (frame_differences(images[order]) > threshold) | (np.diff(frames) > 1)
    ids = np.empty(len(table), int)
    ids[order] = np.concatenate([[0], np.cumsum(starts)])
    return ids


def _distance_blocks(queries: np.ndarray, references: np.ndarray, rows: int = _ROWS_PER_CHUNK):
    """Yields (start, block): block[i, j] is the distance of thumbnail queries[start + i] to references[j]."""
    for start in range(0, len(queries), rows):
        yield start, _cdist()(queries[start : start + rows], references, "cityblock") / queries.shape[1]


def near_duplicate_threshold(
    table: pd.DataFrame,
    images: np.ndarray,
    quantile: float = NEAR_DUPLICATE_QUANTILE,
    min_gap: int = NEAR_DUPLICATE_MIN_GAP,
) -> float:
    """The distance (grey levels) below which two frames count as near-duplicates, taken from
    unrelated frames (see NEAR_DUPLICATE_RULE): the `quantile` of the distance from each frame to its
    nearest frame with another label combination more than `min_gap` frame numbers away.

    images: (N, H, W, 3) uint8, aligned with `table` (needs the columns frame and combination).
    Every frame is measured against every other: 8-18 s for the 5,478 real frames on a busy 2-core machine."""
    if len(images) != len(table):
        raise ValueError(f"{len(images)} images for {len(table)} table rows: they must be aligned")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be between 0 and 1, not {quantile}")
    frames, combinations = table.frame.to_numpy(), table.combination.to_numpy()
    small = thumbnails(images)
    nearest = np.full(len(table), np.inf)
    for start, block in _distance_blocks(small, small):
        rows = np.arange(start, start + len(block))
        related = (combinations[rows, None] == combinations[None, :]) | (
            np.abs(frames[rows, None] - frames[None, :]) <= min_gap
        )
        nearest[start : start + len(block)] = np.where(related, np.inf, block).min(axis=1)
    nearest = nearest[np.isfinite(nearest)]
    if len(nearest) == 0:
        raise ValueError("no unrelated frame pairs (another combination, far apart in time) to set the threshold from")
    return float(np.quantile(nearest, quantile))


def nearest_distances(images: np.ndarray, split, query: str = "test", reference: str = "train") -> np.ndarray:
    """(Q,) float: for each frame whose split is `query`, the distance (grey levels) to the nearest
    frame whose split is `reference`. images: (N, H, W, 3) uint8; split: (N,) side names, aligned."""
    split = np.asarray(split)
    if len(split) != len(images):
        raise ValueError(f"{len(split)} split values for {len(images)} images: they must be aligned")
    is_query, is_reference = split == query, split == reference
    if not is_query.any() or not is_reference.any():
        raise ValueError(f"the split needs both {query} and {reference} frames")
    small = thumbnails(images)
    queries, references = small[is_query], small[is_reference]
    return np.concatenate([block.min(axis=1) for _, block in _distance_blocks(queries, references)])


def near_duplicate_fraction(
    images: np.ndarray, split, threshold: float, query: str = "test", reference: str = "train"
) -> float:
    """Fraction (0-1) of `query` frames whose nearest `reference` frame is closer than `threshold`
    grey levels: how much of the test set has a near-identical twin in training.

    images: (N, H, W, 3) uint8; split: (N,) side names, aligned."""
    return float((nearest_distances(images, split, query, reference) < threshold).mean())


def linked_shot_ids(shots: np.ndarray, images: np.ndarray, threshold: float) -> np.ndarray:
    """(N,) int: shots merged into groups wherever a frame of one is closer than `threshold` grey
    levels to a frame of another (repeated footage, or a cut detected inside a shot). A split that
    keeps every group on one side has, by construction, no near-duplicate across its sides.

    shots: (N,) int shot ids; images: (N, H, W, 3) uint8, aligned. Groups are numbered 0, 1, ...
    in the order of their first shot."""
    shots = np.asarray(shots)
    if len(shots) != len(images):
        raise ValueError(f"{len(shots)} shot ids for {len(images)} images: they must be aligned")
    if len(shots) == 0:
        return np.zeros(0, int)
    _, shot_index = np.unique(shots, return_inverse=True)
    small = thumbnails(images)
    edges = []
    for start in range(0, len(small), _ROWS_PER_CHUNK):
        # Distance is symmetric: each row block only against itself and the rows after it.
        rows = small[start : start + _ROWS_PER_CHUNK]
        block = _cdist()(rows, small[start:], "cityblock") / small.shape[1]
        i, j = np.nonzero(block < threshold)
        i, j = i + start, j + start
        keep = shot_index[i] != shot_index[j]
        edges.append((shot_index[i[keep]], shot_index[j[keep]]))
    a = np.concatenate([e[0] for e in edges])
    b = np.concatenate([e[1] for e in edges])
    count = shot_index.max() + 1
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(count, count))
    _, component = connected_components(graph, directed=False)
    # Renumber the components in the order of their first shot, so the ids read in time order.
    _, first = np.unique(component, return_index=True)
    rank = np.empty(len(first), int)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[component][shot_index]


def shot_groups(table: pd.DataFrame, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The units a leak-free split keeps whole: (groups, shots, threshold), where shots are
    `shot_ids`, groups are those shots linked by near-duplicates (`linked_shot_ids`), both (N,) int
    aligned with `table`, and threshold is `near_duplicate_threshold` in grey levels."""
    shots = shot_ids(table, images)
    threshold = near_duplicate_threshold(table, images)
    return linked_shot_ids(shots, images, threshold), shots, threshold


def run_lengths(ids: np.ndarray) -> np.ndarray:
    """(number of distinct ids,) int: how many frames carry each id (shot or group lengths)."""
    return np.unique(np.asarray(ids), return_counts=True)[1]
