"""Reading a video clip as a bounded stream of sampled frames (OpenCV; PyAV for what OpenCV cannot decode).

`open_video(path, fps)` checks the file (size, container signature, frame rate, length) and returns a
`VideoReader` whose `frames()` is a generator of `SampledFrame`s: one frame per 1/fps seconds of
video, each taken as the first decoded frame at or after its sampling time (the dataset holds one
frame per second of video, hence the default of 1). Every frame is decoded, since inter-frame codecs
need it, but only the sampled ones are converted to RGB and handed on, one at a time: memory stays
bounded whatever the clip's length.

Formats, measured with this wheel (opencv-python-headless 5.0.0.93): OpenCV's bundled FFmpeg decodes
H.264, HEVC, MPEG-4 part 2 (mp4v, XVID), MJPEG, VP8, VP9, ProRes and animated GIF in mp4, mov,
mkv/webm, avi and gif; it has no AV1 decoder (it opens AV1 files and decodes no frame), so AV1 goes
to PyAV (libdav1d) when it is installed. Any file OpenCV opens but cannot decode is retried there.

Errors are `VideoError` (a ValueError) with one sentence saying what is wrong and, for limits, what
the limits are.
"""

import contextlib
import math
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from tomjerry.data.decoding import MAX_PIXELS

# FFmpeg's and OpenCV's own log lines ("moov atom not found", "[ WARN:0] ... VIDEOIO(FFMPEG) ...")
# would come before the one-line message a bad clip gets, which says what they meant. FFmpeg reads
# its level when a capture opens (-8: quiet); OpenCV's level is set here, errors still shown.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

# A 2-hour clip at 480p in H.264 is about 300-700 MB; a file above this is more likely the wrong file
# than a cartoon, and it has to sit on disk in full while it is read.
MAX_FILE_BYTES = 500 * 2**20
# Through the browser (the Video page) a clip travels in one request and sits in memory: 200 MB is
# about 10 minutes of 480p H.264; longer clips go through `python -m tomjerry video`.
MAX_UPLOAD_MB = 200
# Two hours at the default 1 frame a second is 7,200 frames: 3 minutes of classification at 40
# frames/s, 7-14 minutes at the 9-17 frames/s measured on a busy 2-core machine (benchmarks/video.py).
# Longer is a film, not a clip; cut it first.
MAX_DURATION_S = 2 * 3600.0
# Sampled frames classified in one go: 8 minutes at 40 frames/s, about half an hour at the busy
# machine's rate, while the per-frame table and shot thumbnails stay a few MB.
MAX_SAMPLED_FRAMES = 20_000
# The sampling rate a user may ask for, frames per second of video: below 0.1 a shot (median 6 s in
# the dataset) can pass unseen; above 10 neighbouring frames are near-identical and only cost time.
MIN_SAMPLE_FPS, MAX_SAMPLE_FPS = 0.1, 10.0
DEFAULT_SAMPLE_FPS = 1.0  # the dataset's own rate: one frame per second of video
# A source frame rate outside this range is a broken header: a slide-show GIF can hold each frame
# for minutes (a user's two-slide GIF measured 0.05 fps), so the floor is one frame per 10 minutes;
# the fastest phone slow motion records 960 fps.
MIN_SOURCE_FPS, MAX_SOURCE_FPS = 1 / 600, 1000.0
# Two timestamps closer than this are the same instant (pts rounding); frames are >= 1 ms apart.
TIME_TOLERANCE_S = 1e-3
# A file that decodes fewer frames than its header announces, by more than this share (or 2 frames:
# an estimated count can be off by one at either end), is truncated or corrupt.
MISSING_FRAMES_SHARE = 0.02

# Container signatures: only these are handed to FFmpeg, which would otherwise also read playlists
# (HLS .m3u8 can make it open other files and URLs), image sequences and dozens of other formats.
ISO_BOXES = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}  # mp4, mov (QuickTime)
EBML = b"\x1a\x45\xdf\xa3"  # Matroska: webm, mkv
SUPPORTED = "MP4, MOV, WebM (or MKV), AVI or animated GIF"
UPLOAD_TYPES = ("mp4", "webm", "avi", "mov", "gif", "mkv")
# OpenCV's FFmpeg opens these codecs but has no decoder for them (measured): straight to PyAV.
OPENCV_CANNOT_DECODE = {"av01"}
STILL_IMAGE = "{name} holds a single frame, a still image: classify images with the Predict page or `predict`"
PYAV_PIN = "av==18.1.0"  # the version requirements.txt pins
SAFE_NAME_CHARS = 100  # an upload's name, kept for messages, is cut to this many characters


class VideoError(ValueError):
    """The file is not a clip we can read, or breaks a limit; the message says which, in one line."""


@dataclass(frozen=True)
class VideoInfo:
    """What the file's header says. fps: source frames per second; frame_count and duration_s
    (seconds) are None when the container does not say; backend: "opencv" or "pyav"."""

    path: Path
    container: str
    size_bytes: int
    width: int
    height: int
    fps: float
    frame_count: int | None
    duration_s: float | None
    codec: str
    backend: str
    truncated: bool = False  # known before decoding (a GIF without its trailer byte)


@dataclass(frozen=True)
class SampledFrame:
    """One sampled frame: its position in the decoded stream (0-based), its time in seconds from the
    first frame, and the picture as (height, width, 3) uint8 RGB."""

    index: int
    time_s: float
    rgb: np.ndarray


def container_of(head: bytes) -> str | None:
    """The container named by a file's first 12 bytes ("mp4", "webm", "avi", "gif"), else None."""
    if len(head) >= 8 and head[4:8] in ISO_BOXES:
        return "mp4"
    if head.startswith(EBML):
        return "webm"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def megabytes(count: int) -> str:
    """A byte count as MB (MiB) for messages: 500 MB, 0.25 MB."""
    return f"{count / 2**20:,.2f}".rstrip("0").rstrip(".") + " MB"


def plural(count: int, noun: str) -> str:
    """'1 frame', '2 frames', '1,200 frames' (nouns that take an s)."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def span(seconds: float) -> str:
    """A duration for messages: 45 s, 12 minutes, 2 hours."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:g} hours"


def _check_file(path: Path) -> tuple[str, int]:
    name = path.name
    if path.is_dir():
        raise VideoError(f"{name} is a folder, not a clip: give the path of one video file")
    if not path.is_file():
        raise VideoError(f"{name}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise VideoError(f"{name} is empty (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise VideoError(
            f"{name} is {size / 2**20:,.2f} MB; the limit is {megabytes(MAX_FILE_BYTES)} "
            f"(and {span(MAX_DURATION_S)}): cut the clip or lower its resolution"
        )
    with path.open("rb") as handle:
        container = container_of(handle.read(12))
    if container is None:
        raise VideoError(f"{name} is not a video file (expected {SUPPORTED})")
    return container, size


def _fourcc(value: float) -> str:
    code = int(value) if math.isfinite(value) and value > 0 else 0
    return "".join(chr((code >> 8 * i) & 0xFF) for i in range(4)).strip("\x00 ") or "unknown"


def _pyav():
    try:
        import av
    except ImportError:
        return None
    return av


def _probe_opencv(path: Path, container: str, size: int) -> VideoInfo | None:
    """The header as OpenCV's FFmpeg backend reads it, or None when it cannot decode a first frame."""
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)  # never the image-sequence backend
    try:
        if not capture.isOpened():
            return None
        codec = _fourcc(capture.get(cv2.CAP_PROP_FOURCC))
        if codec.lower() in OPENCV_CANNOT_DECODE or not capture.grab():
            return None
        fps = capture.get(cv2.CAP_PROP_FPS)
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        capture.release()
    # FFmpeg reports a negative or absurd count (-2^63) when the container has no index.
    frame_count = int(count) if math.isfinite(count) and 0 < count < 2**40 else None
    duration = frame_count / fps if frame_count and math.isfinite(fps) and fps > 0 else None
    return VideoInfo(path, container, size, width, height, fps, frame_count, duration, codec, "opencv")


def _probe_pyav(path: Path, container: str, size: int) -> VideoInfo | None:
    av = _pyav()
    if av is None:
        return None
    try:
        with av.open(str(path)) as source:
            if not source.streams.video:
                return None
            stream = source.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            fps = float(rate) if rate else float("nan")
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif source.duration is not None:
                duration = source.duration / 1e6  # microseconds (av.time_base)
            else:
                duration = None
            frame_count = int(stream.frames) or (round(duration * fps) if duration and fps > 0 else None)
            first = next(source.decode(stream), None)
            if first is None:
                return None
            codec = stream.codec_context.name
            width, height = first.width, first.height
    except (av.error.FFmpegError, StopIteration, ValueError, OSError):
        return None
    return VideoInfo(path, container, size, width, height, fps, frame_count, duration, codec, "pyav")


def _gif_duration(path: Path) -> float | None:
    """A GIF's length in seconds, the sum of its frames' own delays, as PyAV reads it (OpenCV gives
    frame count / a rate it guesses, 34.5 s for two slides of 20 s and 9 s); None without PyAV."""
    av = _pyav()
    if av is None:
        return None
    try:
        with av.open(str(path)) as source:
            stream = source.streams.video[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
    except (av.error.FFmpegError, IndexError, ValueError, OSError):
        pass
    return None


def _gif_is_truncated(path: Path) -> bool:
    """A complete GIF ends with its trailer byte, ';' (0x3B); a cut one does not."""
    with path.open("rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1) != b"\x3b"


def _why_unreadable(path: Path) -> str:
    """The sentence for a file neither backend decodes a frame of."""
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    opened, codec = capture.isOpened(), _fourcc(capture.get(cv2.CAP_PROP_FOURCC))
    announced = capture.get(cv2.CAP_PROP_FRAME_COUNT) if opened else -1
    capture.release()
    av = _pyav()
    if av is not None:
        try:
            with av.open(str(path)) as source:
                streams = source.streams.video
                opened = True
                announced = streams[0].frames if streams else 0
                codec = streams[0].codec_context.name if streams else codec
        except (av.error.FFmpegError, ValueError, OSError):
            pass
    if not opened:
        return f"{path.name} cannot be opened as a video: the file is corrupt or truncated"
    if announced == 0:
        return f"{path.name} holds no video frames"
    hint = "" if av else f" (install PyAV, `pip install {PYAV_PIN}`, to decode more codecs)"
    return (
        f"{path.name}: no frame of its {codec} video could be decoded{hint}; the file is corrupt, "
        "or re-encode it as H.264 or VP9"
    )


def probe(path) -> VideoInfo:
    """Checks a clip and reads its header: VideoInfo, or VideoError saying why it cannot be read
    (missing, empty, over MAX_FILE_BYTES, not one of the SUPPORTED containers, no decodable frame,
    frame rate outside MIN_SOURCE_FPS-MAX_SOURCE_FPS, longer than MAX_DURATION_S, a single frame,
    frames over MAX_PIXELS). Reads the header and decodes one frame; nothing else."""
    path = Path(path)
    container, size = _check_file(path)
    info = _probe_opencv(path, container, size) or _probe_pyav(path, container, size)
    if info is None:
        raise VideoError(_why_unreadable(path))
    if container == "gif":
        if _gif_is_truncated(path):
            info = replace(info, truncated=True)
            if info.frame_count == 1:
                raise VideoError(
                    f"{path.name}: only its first frame could be decoded: the file is truncated or corrupt"
                )
        info = replace(info, duration_s=_gif_duration(path) or info.duration_s)
    if not (math.isfinite(info.fps) and MIN_SOURCE_FPS <= info.fps <= MAX_SOURCE_FPS):
        raise VideoError(
            f"{path.name} says it runs at {info.fps:g} frames per second; a readable clip runs at "
            f"{MIN_SOURCE_FPS:.4f}-{MAX_SOURCE_FPS:g} (one frame per 10 minutes to 1,000 a second): "
            f"the file's header is broken"
        )
    if info.duration_s is not None and info.duration_s > MAX_DURATION_S:
        raise VideoError(
            f"{path.name} lasts {span(info.duration_s)}; the limit is {span(MAX_DURATION_S)} "
            f"(and {megabytes(MAX_FILE_BYTES)}): cut the clip"
        )
    if info.frame_count == 1:
        raise VideoError(STILL_IMAGE.format(name=path.name))
    if info.width * info.height > MAX_PIXELS:
        raise VideoError(
            f"{path.name} has {info.width}x{info.height} frames; the limit is {MAX_PIXELS / 1e6:.0f} megapixels"
        )
    return info


def check_sample_fps(fps: float) -> float:
    """fps as a float, or VideoError when outside MIN_SAMPLE_FPS-MAX_SAMPLE_FPS."""
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        raise VideoError(f"the sampling rate must be a number of frames per second, not {fps!r}") from None
    if not (math.isfinite(fps) and MIN_SAMPLE_FPS <= fps <= MAX_SAMPLE_FPS):
        raise VideoError(
            f"the sampling rate must be {MIN_SAMPLE_FPS:g}-{MAX_SAMPLE_FPS:g} frames per second, not {fps:g}"
        )
    return fps


# A decoded frame before conversion: (stream index, time in seconds as the container says or None,
# a function returning the RGB picture). Converting only the sampled frames halves the decoding cost.
Decoded = tuple[int, float | None, Callable[[], np.ndarray]]


def _opencv_decoded(path: Path) -> Iterator[Decoded]:
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        index = 0
        while capture.grab():
            milliseconds = capture.get(cv2.CAP_PROP_POS_MSEC)
            yield index, milliseconds / 1000.0, lambda: cv2.cvtColor(capture.retrieve()[1], cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        capture.release()


def _pyav_decoded(path: Path, on_error: Callable[[str], None]) -> Iterator[Decoded]:
    av = _pyav()
    with av.open(str(path)) as source:
        stream = source.streams.video[0]
        stream.thread_type = "AUTO"  # frame and slice threads: about twice as fast on 2 cores
        frames = source.decode(stream)
        index = 0
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                return
            except av.error.FFmpegError as error:  # a damaged packet: keep what decoded before it
                on_error(f"{type(error).__name__}: {error}")
                return
            yield index, frame.time, partial(frame.to_ndarray, format="rgb24")  # bound now, called if sampled
            index += 1


@dataclass
class VideoReader:
    """A checked clip and its sampling rate. `frames()` streams the sampled frames; afterwards
    `decoded` says how many frames were decoded and `warnings` lists what went wrong on the way
    (a truncated file, a sampling rate above the clip's own)."""

    info: VideoInfo
    fps_sampled: float
    warnings: list[str] = field(default_factory=list)
    decoded: int = 0
    sampled: int = 0
    last_time_s: float = 0.0
    complete: bool = True  # False once the clip turned out truncated or corrupt

    @property
    def expected_samples(self) -> int | None:
        """How many frames sampling the announced duration gives (None when it is not announced):
        at most one per source frame, so a clip slower than the sampling rate gives one per frame."""
        if self.fps_sampled > self.info.fps and self.info.frame_count:
            return self.info.frame_count  # each frame once (a GIF's frames need not be evenly spaced)
        if self.info.duration_s is None:
            return None
        return max(1, math.ceil(self.info.duration_s * self.fps_sampled - TIME_TOLERANCE_S))

    @property
    def duration_s(self) -> float:
        """Seconds of video read so far: the last decoded frame's time plus its display time. That is
        the length the header announces when the clip decoded completely (a GIF's last frame lasts
        its own delay, not the average one), else one source frame at the clip's average rate."""
        if not self.decoded:
            return 0.0
        end = self.last_time_s + 1.0 / self.info.fps
        announced = self.info.duration_s
        if self.complete and announced is not None and announced > self.last_time_s + TIME_TOLERANCE_S:
            end = announced
        return round(end, 6)  # microseconds

    def frames(self) -> Iterator[SampledFrame]:
        """Yields SampledFrame in time order, the first at 0 s, then the first frame at or after each
        multiple of 1 / fps_sampled seconds. Raises VideoError when the clip turns out longer than
        MAX_DURATION_S or yields more than MAX_SAMPLED_FRAMES, or decodes no frame at all."""
        name, info = self.info.path.name, self.info
        errors: list[str] = []
        decoded = _opencv_decoded(info.path) if info.backend == "opencv" else _pyav_decoded(info.path, errors.append)
        interval, next_time, start, previous = 1.0 / self.fps_sampled, 0.0, None, -math.inf
        self.decoded = self.sampled = 0
        for index, stamp, convert in decoded:
            # Times count from the first frame; a missing or backwards stamp is replaced by the
            # frame's place at the nominal rate, so times always increase.
            if stamp is not None and math.isfinite(stamp):
                start = stamp if start is None else start
                time_s = stamp - start
            else:
                time_s = index / info.fps
            if time_s <= previous:
                time_s = previous + 1.0 / info.fps
            previous = time_s
            self.decoded, self.last_time_s = index + 1, time_s
            if time_s > MAX_DURATION_S:
                raise VideoError(f"{name} runs past {span(MAX_DURATION_S)}, the limit: cut the clip")
            if time_s + TIME_TOLERANCE_S < next_time:
                continue
            self.sampled += 1
            if self.sampled > MAX_SAMPLED_FRAMES:
                raise VideoError(
                    f"{name} gives more than {MAX_SAMPLED_FRAMES:,} frames at {self.fps_sampled:g} "
                    f"per second, the limit: lower the sampling rate or cut the clip"
                )
            yield SampledFrame(index, round(time_s, 6), convert())
            next_time = (math.floor(time_s / interval + TIME_TOLERANCE_S) + 1) * interval
        if self.decoded == 0:
            raise VideoError(f"{name}: no frame could be decoded (the file is corrupt or truncated)")
        if self.decoded == 1:
            if errors or (info.frame_count or 0) > 1:  # a damaged clip, not a picture
                told = f" of the {info.frame_count:,} it announces" if (info.frame_count or 0) > 1 else ""
                raise VideoError(
                    f"{name}: only its first frame could be decoded{told}: the file is truncated or corrupt"
                )
            raise VideoError(STILL_IMAGE.format(name=name))
        self._check_complete(errors)

    def _check_complete(self, errors: list[str]):
        announced = self.info.frame_count
        missing = (announced or 0) - self.decoded
        if errors or self.info.truncated or (announced and missing > max(2, MISSING_FRAMES_SHARE * announced)):
            self.complete = False
            told = f" of the {announced:,} it announces" if announced and announced > self.decoded else ""
            reason = f" ({errors[0]})" if errors else ""
            self.warnings.append(
                f"{self.info.path.name}: only {plural(self.decoded, 'frame')} decoded{told}{reason}: "
                f"the file is truncated or corrupt, so the timeline stops at "
                f"{self.duration_s:.1f} s"
            )


def open_video(path, fps: float = DEFAULT_SAMPLE_FPS) -> VideoReader:
    """A VideoReader for the clip at `path`, sampled at `fps` frames per second of video.

    VideoError for a bad file (see probe) or an fps outside MIN_SAMPLE_FPS-MAX_SAMPLE_FPS. A clip
    with fewer frames per second than `fps` (on average: a GIF's frames can last different times)
    gives each frame once, and each counts for as long as it is shown (VideoTimeline's span_s), with
    a warning."""
    fps = check_sample_fps(fps)
    info = probe(path)
    reader = VideoReader(info, fps)
    if fps > info.fps + TIME_TOLERANCE_S:
        reader.warnings.append(
            f"{info.path.name} has {info.fps:.3g} frames per second on average, fewer than the "
            f"{fps:g} asked for: each of its frames is classified once and counts for as long as "
            f"it is shown"
        )
    if reader.expected_samples and reader.expected_samples > MAX_SAMPLED_FRAMES:
        raise VideoError(
            f"{info.path.name} would give {reader.expected_samples:,} frames at "
            f"{reader.fps_sampled:g} per second; the limit is {MAX_SAMPLED_FRAMES:,}: lower the "
            f"sampling rate or cut the clip"
        )
    return reader


def read_frame(path, index: int) -> np.ndarray:
    """Frame number `index` (0-based, as SampledFrame.index) of a clip, as (H, W, 3) uint8 RGB.
    OpenCV seeks to it (measured frame-exact on H.264, VP9, MPEG-4 and GIF); PyAV decodes up to it.
    VideoError when the clip has no such frame."""
    info = probe(path)
    if index < 0:
        raise VideoError(f"frame numbers start at 0, not {index}")
    if info.backend == "opencv":
        capture = cv2.VideoCapture(str(info.path), cv2.CAP_FFMPEG)
        try:
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, bgr = capture.read()
        finally:
            capture.release()
        if ok:
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    else:
        for decoded_index, _, convert in _pyav_decoded(info.path, lambda error: None):
            if decoded_index == index:
                return convert()
    raise VideoError(f"{info.path.name} has no frame {index}")


# The prefix of every temporary folder a clip is copied into: what sweep_stale_copies may remove.
TEMPORARY_PREFIX = "tomjerry-video-"
# A copy lives as long as one page run reads the clip (seconds to minutes); one this old was left by
# a process killed while reading it (a killed server skips every `finally`).
STALE_HOURS = 6


@contextlib.contextmanager
def temporary_copy(data: bytes, name: str = "upload.mp4"):
    """Writes uploaded bytes to a private temporary folder (OpenCV reads only from disk) under the
    upload's own file name (so messages name it), and yields the file's Path; the folder is deleted
    on leaving, whatever happens. VideoError when over MAX_FILE_BYTES."""
    if len(data) > MAX_FILE_BYTES:
        raise VideoError(f"{name} is {len(data) / 2**20:,.2f} MB; the limit is {megabytes(MAX_FILE_BYTES)}")
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name)[-SAFE_NAME_CHARS:].lstrip(".") or "upload"
    # TemporaryDirectory removes the folder on every way out of the block: a return, an exception,
    # a Streamlit rerun or stop (exceptions raised inside the page run), the generator closed.
    with tempfile.TemporaryDirectory(prefix=TEMPORARY_PREFIX) as folder:
        path = Path(folder) / safe
        path.write_bytes(data)
        yield path


def sweep_stale_copies(max_age_hours: float = STALE_HOURS, folder=None) -> list[Path]:
    """Remove the temporary clip folders (TEMPORARY_PREFIX) in the system temporary folder (or
    `folder`) last changed over `max_age_hours` ago: what a killed process left. Called once when
    the app starts. Another live process's copy is younger than that and is kept; anything else in
    the folder is never touched. Returns the folders removed."""
    import shutil
    import time

    base = Path(folder or tempfile.gettempdir())
    cutoff = time.time() - max_age_hours * 3600
    removed: list[Path] = []
    try:
        candidates = list(base.glob(f"{TEMPORARY_PREFIX}*"))
    except OSError:
        return removed
    for path in candidates:
        try:
            if path.is_dir() and not path.is_symlink() and path.stat().st_mtime < cutoff:
                shutil.rmtree(path)
                removed.append(path)
        except OSError:  # another user's folder, or removed meanwhile: not ours to insist on
            continue
    return removed
