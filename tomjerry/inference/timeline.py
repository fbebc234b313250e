"""A whole clip classified: one row per sampled frame (p_tom, p_jerry, verdict, shot), the seconds
on screen of each verdict, and a bounded strip of thumbnails.

Frames come from `tomjerry.inference.video` one at a time and are classified in batches, so memory is bounded
by the batch, the per-frame table (a few dozen bytes a frame) and at most MAX_THUMBNAILS small
pictures, whatever the clip's length. Every model call goes through `classify_batch` and every
run setting through `inference_settings`: the one place to put a run's own inference recipe.
"""

import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pandas as pd

from tomjerry import COMBINATION_OF
from tomjerry.data.shots import CUT_THRESHOLD, SHOT_IMAGE_SIZE, thumbnails
from tomjerry.inference.predict import DEFAULT_THRESHOLD, InferenceRecipe, Predictor, input_shape, saved_recipe
from tomjerry.inference.video import DEFAULT_SAMPLE_FPS, VideoInfo, open_video

# Frames per model call: predict_on_batch pays a fixed cost per call (~10 ms on 2 cores), which a
# batch of 32 spreads thin; more frames per call measured no faster.
BATCH_SIZE = 32
# The raw RGB frames one batch may hold before it is classified: 32 frames of 480x270 are 12 MB, so
# dataset-sized clips get full batches, and a 4K clip (25 MB a frame) gets batches of 2.
MAX_BATCH_BYTES = 64 * 2**20
# The strip under the timeline: 96 px wide (54 px high at 16:9) is enough to recognise a scene, and
# 300 of them are under 5 MB, whatever the clip's length.
THUMBNAIL_WIDTH = 96
MAX_THUMBNAILS = 300
PROBABILITY_DECIMALS = 6  # float32 carries ~7 significant digits; more would be noise in the CSV
TIME_DECIMALS = 3  # milliseconds: frames are at least 1 ms apart
# The order the summary lists the verdicts in (each frame has exactly one: "tom" is Tom alone).
SUMMARY_ORDER = ("tom", "jerry", "both", "neither")
CSV_COLUMNS = ["time_s", "p_tom", "p_jerry", "verdict"]
# span_s: how long the sampled frame stands for, from its time to the next sampled frame's (the
# last one: to the end of the clip). Sampling at 1 per second it is 1 s, except in a clip with fewer
# frames than that (a GIF frame held for 3 s stands for 3 s) and for the last, shorter one.
TABLE_COLUMNS = ["frame_index", "time_s", "span_s", "p_tom", "p_jerry", "verdict", "shot"]


@dataclass(frozen=True)
class InferenceSettings:
    """How a run's model is applied: mirror-image TTA or not, and the decision threshold (0-1)."""

    tta: bool
    threshold: float
    name: str
    tta_text: str = "no TTA"  # InferenceRecipe.tta_text: the mirror and the test-time scales in words


def inference_settings(path) -> InferenceSettings:
    """The settings of a run folder from its inference recipe, read by the code every page and
    command uses (tomjerry.inference.predict.saved_recipe: inference.json, else its config's tta and
    its metrics' threshold_from_validation), also for the model.keras inside one; a bare .keras file
    gets no TTA and DEFAULT_THRESHOLD. ValueError when the run's config cannot be read."""
    path = Path(path)
    recipe = saved_recipe(path)
    if recipe is None:
        return InferenceSettings(False, DEFAULT_THRESHOLD, path.name)
    name = (path if path.is_dir() else path.parent).name
    return InferenceSettings(bool(recipe.tta), float(recipe.threshold), name, recipe.tta_text)


def classify_batch(model, frames_rgb_uint8, tta: bool, recipe: InferenceRecipe | None = None) -> np.ndarray:
    """Frames (a sequence of (H, W, 3) uint8 RGB arrays, any size) to (N, 2) float32 probabilities
    (tom, jerry) through the run's Predictor: each frame fitted to 16:9 and resized the dataset's
    way, with tta the mean over the frame and its horizontal mirror. recipe: the run's inference
    recipe (tomjerry.inference.predict.saved_recipe), whose TTA then replaces `tta`."""
    if len(frames_rgb_uint8) == 0:
        return np.zeros((0, 2), np.float32)
    predictor = Predictor(model, recipe or InferenceRecipe.for_shape(input_shape(model), tta=tta))
    return predictor.probabilities(np.stack([predictor.pixels(frame)[0] for frame in frames_rgb_uint8]))


@dataclass(frozen=True)
class Thumbnail:
    """One picture of the strip: the frame's index and time (s), (h, THUMBNAIL_WIDTH, 3) uint8 RGB."""

    frame_index: int
    time_s: float
    image: np.ndarray


def shot_thumbnail(rgb: np.ndarray) -> np.ndarray:
    """(shots.THUMBNAIL_SIDE ** 2,) float32 grey thumbnail of a frame, made as shots.CUT_THRESHOLD was
    measured: the frame decoded at SHOT_IMAGE_SIZE (INTER_AREA, square), then shots.thumbnails."""
    small = cv2.resize(rgb, (SHOT_IMAGE_SIZE, SHOT_IMAGE_SIZE), interpolation=cv2.INTER_AREA)
    return thumbnails(small[None])[0]


def thumbnail_of(rgb: np.ndarray, width: int = THUMBNAIL_WIDTH) -> np.ndarray:
    height = max(1, round(rgb.shape[0] * width / rgb.shape[1]))
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)


class ThumbnailStrip:
    """At most `limit` thumbnails, evenly spaced over the sampled frames: every stride-th is kept, and
    when more than `limit` are held, every other one is dropped and the stride doubles. The stride
    starts from the expected number of frames, so a clip whose length is announced fills the strip
    in one pass."""

    def __init__(self, limit: int = MAX_THUMBNAILS, expected: int | None = None):
        if limit < 1:
            raise ValueError(f"a strip holds at least 1 thumbnail, not {limit}")
        self.limit = limit
        self.stride = max(1, math.ceil(expected / limit)) if expected else 1
        self.kept: list[tuple[int, Thumbnail]] = []

    def offer(self, number: int, frame_index: int, time_s: float, rgb: np.ndarray):
        """Sampled frame `number` (0, 1, ...) is kept when it falls on the stride."""
        if number % self.stride:
            return
        self.kept.append((number, Thumbnail(frame_index, time_s, thumbnail_of(rgb))))
        while len(self.kept) > self.limit:
            self.stride *= 2
            self.kept = [(n, thumb) for n, thumb in self.kept if n % self.stride == 0]

    @property
    def thumbnails(self) -> list[Thumbnail]:
        return [thumb for _, thumb in self.kept]


@dataclass
class VideoTimeline:
    """A classified clip. table: one row per sampled frame with TABLE_COLUMNS (frame_index, time_s in
    seconds, p_tom and p_jerry in 0-1, verdict one of tom/jerry/both/neither at `threshold`, shot
    0, 1, ... a new one at each cut); duration_s: the seconds of video decoded; decode_seconds and
    classify_seconds: wall time spent decoding and in the model (with resizing)."""

    info: VideoInfo
    fps_sampled: float
    threshold: float
    tta: bool
    table: pd.DataFrame
    thumbnails: list[Thumbnail]
    duration_s: float
    warnings: list[str] = field(default_factory=list)
    decode_seconds: float = 0.0
    classify_seconds: float = 0.0

    def seconds_on_screen(self) -> dict[str, float]:
        """Seconds of each verdict, in SUMMARY_ORDER: the sum of span_s over the sampled frames with
        it. They add up to the clip's duration (duration_s), to the millisecond."""
        spans = self.table.groupby("verdict").span_s.sum()
        return {verdict: round(float(spans.get(verdict, 0.0)), TIME_DECIMALS) for verdict in SUMMARY_ORDER}

    def cut_times(self) -> list[float]:
        """Times (s) of the sampled frames that start a new shot (never the first frame)."""
        starts = self.table.shot.diff().fillna(0).to_numpy() > 0
        return self.table.time_s[starts].tolist()

    def csv(self) -> str:
        """One row per sampled frame, exactly CSV_COLUMNS (time_s, p_tom, p_jerry, verdict)."""
        rows = self.table[CSV_COLUMNS].copy()
        rows["time_s"] = rows.time_s.map(f"{{:.{TIME_DECIMALS}f}}".format)
        for column in ("p_tom", "p_jerry"):
            rows[column] = rows[column].map(f"{{:.{PROBABILITY_DECIMALS}f}}".format)
        buffer = io.StringIO()
        rows.to_csv(buffer, index=False)
        return buffer.getvalue()

    def to_dict(self, file: str, model: str) -> dict:
        """The JSON the CLI prints (plain Python types)."""
        return {
            "file": file,
            "model": model,
            "fps_sampled": self.fps_sampled,
            "duration_s": round(self.duration_s, 3),
            "frames": len(self.table),
            "threshold": self.threshold,
            "tta": self.tta,
            "seconds_on_screen": self.seconds_on_screen(),
            "cuts_s": self.cut_times(),
            "frames_table": self.table[TABLE_COLUMNS].to_dict(orient="records"),
            "warnings": list(self.warnings),
        }


# progress(done, expected): sampled frames classified so far, and how many the clip should give
# (None when its length is not announced). Called after every batch.
Progress = Callable[[int, int | None], None]


def classify_video(
    path,
    model,
    *,
    tta: bool = False,
    threshold: float = DEFAULT_THRESHOLD,
    fps: float = DEFAULT_SAMPLE_FPS,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    max_thumbnails: int = MAX_THUMBNAILS,
    recipe: InferenceRecipe | None = None,
) -> VideoTimeline:
    """Classifies a clip sampled at `fps` frames per second of video with a Keras model of two sigmoid
    outputs (tom, jerry). threshold: the decision threshold (0-1). Shots are cut where the grey
    thumbnails of neighbouring sampled frames differ by more than shots.CUT_THRESHOLD (tuned on
    frames one second apart, as sampled by default). recipe: the run's inference recipe (what the
    Predict page's Predictor holds); its TTA and threshold then replace `tta` and `threshold`.

    VideoError (a ValueError) for a file that cannot be read or breaks a limit (see tomjerry.inference.video);
    a truncated file is classified as far as it decodes, with a warning."""
    if recipe is not None:
        tta, threshold = bool(recipe.tta), float(recipe.threshold)
    if not 0 <= threshold <= 1:
        raise ValueError(f"the threshold must be between 0 and 1, not {threshold}")
    if batch_size < 1:
        raise ValueError(f"the batch size must be at least 1, not {batch_size}")
    reader = open_video(path, fps)
    strip = ThumbnailStrip(max_thumbnails, reader.expected_samples)
    rows: list[tuple[int, float, int]] = []  # (frame index, time in seconds, shot number)
    batch: list[np.ndarray] = []
    batch_bytes, probabilities = 0, []
    shot, previous = 0, None
    decode_seconds = classify_seconds = 0.0

    def flush():
        nonlocal batch, batch_bytes, classify_seconds
        started = time.perf_counter()
        probabilities.append(classify_batch(model, batch, tta, recipe))
        classify_seconds += time.perf_counter() - started
        batch, batch_bytes = [], 0
        if progress:
            progress(len(rows), reader.expected_samples)

    started = time.perf_counter()
    for number, frame in enumerate(reader.frames()):
        decode_seconds += time.perf_counter() - started
        small = shot_thumbnail(frame.rgb)
        if previous is not None and np.abs(small - previous).mean() > CUT_THRESHOLD:
            shot += 1
        previous = small
        strip.offer(number, frame.index, frame.time_s, frame.rgb)
        rows.append((frame.index, frame.time_s, shot))
        batch.append(frame.rgb)
        batch_bytes += frame.rgb.nbytes
        if len(batch) >= batch_size or batch_bytes >= MAX_BATCH_BYTES:
            flush()
        started = time.perf_counter()
    decode_seconds += time.perf_counter() - started
    if batch:
        flush()
    p = np.concatenate(probabilities) if probabilities else np.zeros((0, 2), np.float32)
    table = pd.DataFrame(rows, columns=["frame_index", "time_s", "shot"])
    ends = np.append(table.time_s.to_numpy()[1:], max(reader.duration_s, rows[-1][1] if rows else 0.0))
    table["span_s"] = np.round(ends - table.time_s.to_numpy(), 6)
    # Rounded once, and the verdict taken from the rounded values, so every CSV row agrees with itself.
    p = np.round(p.astype(np.float64), PROBABILITY_DECIMALS)
    table["p_tom"], table["p_jerry"] = p[:, 0], p[:, 1]
    present = p >= threshold
    table["verdict"] = [COMBINATION_OF[(int(tom), int(jerry))] for tom, jerry in present]
    return VideoTimeline(
        reader.info,
        reader.fps_sampled,
        float(threshold),
        bool(tta),
        table[TABLE_COLUMNS],
        strip.thumbnails,
        reader.duration_s,
        list(reader.warnings),
        decode_seconds,
        classify_seconds,
    )
