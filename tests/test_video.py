"""A whole clip classified (tomjerry.inference.video, tomjerry.inference.timeline, the `video` command, the Video page).

The clips are written here from demo frames with known segments: 5 s each of Tom, Jerry, both and
neither, written at 10 frames per second, with a red band painted over the top of every frame that
shows Tom and a green band over the bottom of every frame that shows Jerry. The model is a fixed
Keras network that answers exactly that (a 1x1 convolution measuring pure red and pure green,
averaged, through a steep sigmoid), so every expected verdict, time and cut is known."""

import json
import math
import os
import re
import subprocess
import sys
import time

import cv2
import numpy as np
import pandas as pd
import pytest
from conftest import REAL_DATA, ROOT, scaled

from tomjerry.config import RunConfig
from tomjerry.data.dataset import dataset_record, scan
from tomjerry.data.shots import CUT_THRESHOLD, frame_distance
from tomjerry.inference import timeline, video
from tomjerry.inference.timeline import CSV_COLUMNS, ThumbnailStrip, classify_batch, classify_video, inference_settings
from tomjerry.inference.video import VideoError, open_video, read_frame
from tomjerry.runs.folder import RunFolder, now
from tomjerry.runs.lifecycle import create_run

SIZE = 64  # the test model's input
WIDTH, HEIGHT = 480, 270  # the real dataset's frame size
WRITTEN_FPS = 10
SEGMENT_SECONDS = 5
SEGMENTS = ("tom", "jerry", "both", "neither")
EXPECTED = [verdict for verdict in SEGMENTS for _ in range(SEGMENT_SECONDS)]  # one verdict per second
BAND = 0.4  # share of the frame's height each painted band covers
RED, GREEN = (255, 0, 0), (0, 255, 0)
CANDIDATES = 12  # demo frames tried per segment
CUT_MARGIN = 8  # grey levels past shots.CUT_THRESHOLD between neighbouring segments
TIMEOUT = scaled(180)
SHIPPED = ROOT / "artifacts" / "runs" / "ref-20261129-163932-efficientnet_lite0-augmented-eef09d"


def colour_model():
    """(SIZE, SIZE, 3) float [0, 1] -> (tom, jerry): relu(R - G - B - 0.5) and relu(G - R - B - 0.5)
    per pixel (only pure red or pure green pass), averaged over the frame, then sigmoid(100 x - 5):
    a frame whose area is 40 % pure red scores 0.2 -> p(tom) ~ 1; an unpainted frame ~0 -> 0.007."""
    import keras

    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(2, 1, activation="relu", name="colour_conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(2, activation="sigmoid", name="labels")(x)
    model = keras.Model(inputs, outputs, name="colour_probe")
    kernel = np.array([[1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]], np.float32).reshape(1, 1, 3, 2)
    model.get_layer("colour_conv").set_weights([kernel, np.full(2, -0.5, np.float32)])
    model.get_layer("labels").set_weights([np.eye(2, dtype=np.float32) * 100, np.full(2, -5.0, np.float32)])
    return model


def painted(rgb, verdict):
    frame = cv2.resize(rgb, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    band = int(HEIGHT * BAND)
    if verdict in ("tom", "both"):
        frame[:band] = RED
    if verdict in ("jerry", "both"):
        frame[HEIGHT - band :] = GREEN
    return frame


def write_clip(path, frames, fps=WRITTEN_FPS, fourcc="mp4v"):
    frames = list(frames)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (frames[0].shape[1], frames[0].shape[0]))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} to {path}"
    for rgb in frames:
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="module")
def segment_frames(demo_root):
    """One painted frame per segment (a demo frame of that combination), held for the segment: of a few
    candidates, the one that differs most from the segment before, so every boundary is a real cut."""
    table = scan(demo_root).usable
    frames, before = {}, None
    for verdict in SEGMENTS:
        candidates = [
            painted(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), verdict)
            for path in table[table.combination == verdict].path[:CANDIDATES]
        ]
        frames[verdict] = before = (
            candidates[0] if before is None else max(candidates, key=lambda frame: frame_distance(before, frame))
        )
    for a, b in zip(SEGMENTS, SEGMENTS[1:]):
        assert frame_distance(frames[a], frames[b]) > CUT_THRESHOLD + CUT_MARGIN, (a, b)
    return frames


def clip_frames(segment_frames, fps=WRITTEN_FPS):
    return [segment_frames[verdict] for verdict in SEGMENTS for _ in range(SEGMENT_SECONDS * fps)]


@pytest.fixture(scope="module")
def clip(segment_frames, tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("clip") / "segments.mp4", clip_frames(segment_frames))


@pytest.fixture(scope="module")
def model():
    return colour_model()


def make_run(artifacts, model, demo_root, tta=False, threshold=0.5):
    """A finished run folder holding `model`, made on the demo data, as the pages and CLI read it."""
    run_dir = create_run(
        RunConfig(model="efficientnet_lite0", image_size=SIZE, epochs=1, tta=tta), artifacts, demo_root
    )
    folder = RunFolder(run_dir)
    model.save(folder.model_path)
    folder.write_metrics(
        {
            "threshold_from_validation": threshold,
            "validation": {"exact_match_accuracy": 1.0, "binary_accuracy": 1.0},
            "test": {"exact_match_accuracy": 1.0, "binary_accuracy": 1.0},
        }
    )
    folder.write_predictions(pd.DataFrame(columns=["filename", "split", "tom", "jerry", "p_tom", "p_jerry"]))
    pd.DataFrame({"filename": ["frame0.jpg"], "split": ["test"]}).to_csv(folder.file(RunFolder.SPLIT), index=False)
    folder.write_json(RunFolder.PROVENANCE, {"dataset": dataset_record(demo_root, True, scan(demo_root).usable)})
    status = folder.read_json(RunFolder.STATUS)
    folder.write_json(RunFolder.STATUS, {**status, "state": "finished", "finished": now()})
    return run_dir


@pytest.fixture(scope="module")
def run_artifacts(model, demo_root, tmp_path_factory):
    artifacts = tmp_path_factory.mktemp("artifacts")
    make_run(artifacts, model, demo_root, threshold=0.5)
    return artifacts


# --- the timeline -------------------------------------------------------------------------------


def test_the_timeline_finds_every_segment_with_its_times_verdicts_and_cuts(clip, model):
    result = classify_video(clip, model, threshold=0.5)
    table = result.table
    assert list(table.columns) == ["frame_index", "time_s", "span_s", "p_tom", "p_jerry", "verdict", "shot"]
    assert table.time_s.tolist() == [float(t) for t in range(20)] and table.span_s.tolist() == [1.0] * 20
    assert table.frame_index.tolist() == list(range(0, 200, WRITTEN_FPS))
    assert table.verdict.tolist() == EXPECTED
    assert result.cut_times() == [5.0, 10.0, 15.0]
    assert table.shot.tolist() == [shot for shot in range(4) for _ in range(SEGMENT_SECONDS)]
    assert result.seconds_on_screen() == {"tom": 5.0, "jerry": 5.0, "both": 5.0, "neither": 5.0}
    assert math.isclose(result.duration_s, 20.0) and sum(result.seconds_on_screen().values()) == result.duration_s
    tom_rows = table[table.verdict.isin(["tom", "both"])]
    assert (tom_rows.p_tom > 0.99).all() and (table[table.verdict == "neither"].p_tom < 0.05).all()
    assert result.warnings == []


def test_a_threshold_moves_the_verdicts(clip, model):
    """At a threshold above every probability nothing is on screen; the table is the same."""
    result = classify_video(clip, model, threshold=1.0)
    assert set(result.table.verdict) == {"neither"} and result.seconds_on_screen()["neither"] == 20.0


def test_sampling_twice_a_second_takes_every_fifth_frame(clip, model):
    result = classify_video(clip, model, fps=2)
    assert result.fps_sampled == 2.0
    assert result.table.time_s.tolist() == [t / 2 for t in range(40)]
    assert result.table.frame_index.tolist() == list(range(0, 200, 5))
    assert result.table.verdict.tolist() == [v for v in EXPECTED for _ in range(2)]
    assert sum(result.seconds_on_screen().values()) == 20.0


def test_a_rate_above_the_clips_own_samples_each_frame_once_for_its_whole_span(segment_frames, model, tmp_path):
    slow = write_clip(tmp_path / "slow.avi", clip_frames(segment_frames, fps=2), fps=2, fourcc="MJPG")
    result = classify_video(slow, model, fps=5)
    assert len(result.table) == 40 and result.table.frame_index.tolist() == list(range(40))
    assert result.table.span_s.tolist() == [0.5] * 40
    assert any("each of its frames is classified once" in warning for warning in result.warnings)
    assert result.seconds_on_screen() == {"tom": 5.0, "jerry": 5.0, "both": 5.0, "neither": 5.0}


def test_a_slide_show_gif_counts_each_slide_for_as_long_as_it_is_shown(segment_frames, model, tmp_path):
    """Two slides of 20 s and 9 s (0.07 frames per second on average): read, not refused as a broken
    header; each slide counts for its own delay, and the last one to the end of the clip."""
    from PIL import Image

    path = tmp_path / "slides.gif"
    slides = [Image.fromarray(segment_frames[verdict]) for verdict in ("tom", "jerry")]
    slides[0].save(path, save_all=True, append_images=slides[1:], duration=[20_000, 9_000], loop=0)
    result = classify_video(path, model)
    assert result.table.verdict.tolist() == ["tom", "jerry"] and result.table.time_s.tolist() == [0.0, 20.0]
    assert math.isclose(result.duration_s, 29.0)
    assert result.seconds_on_screen() == {"tom": 20.0, "jerry": 9.0, "both": 0.0, "neither": 0.0}


def test_a_clip_shorter_than_a_sampling_step_counts_only_its_own_length(segment_frames, model, tmp_path):
    short = write_clip(tmp_path / "short.mp4", [segment_frames["tom"]] * 5, fps=25)  # 0.2 s
    result = classify_video(short, model)
    assert len(result.table) == 1 and math.isclose(result.duration_s, 0.2)
    assert result.seconds_on_screen() == {"tom": 0.2, "jerry": 0.0, "both": 0.0, "neither": 0.0}


def test_the_csv_has_exactly_the_four_columns_and_agrees_with_the_table(clip, model):
    result = classify_video(clip, model)
    text = result.csv()
    assert text.splitlines()[0] == "time_s,p_tom,p_jerry,verdict"
    rows = pd.read_csv(pd.io.common.StringIO(text))
    assert list(rows.columns) == CSV_COLUMNS and len(rows) == 20
    assert rows.verdict.tolist() == EXPECTED
    assert np.allclose(rows.p_tom, result.table.p_tom, atol=1e-6)
    assert ((rows.p_tom >= 0.5) == rows.verdict.isin(["tom", "both"])).all()


def test_progress_is_reported_after_every_batch(clip, model):
    calls = []
    classify_video(clip, model, batch_size=6, progress=lambda done, expected: calls.append((done, expected)))
    assert calls == [(6, 20), (12, 20), (18, 20), (20, 20)]


def test_tta_is_the_mean_of_the_frame_and_its_mirror():
    """A model that tells left from right (the colour model cannot), so the mirror matters."""
    import keras

    keras.utils.set_random_seed(3)
    inputs = keras.Input((SIZE, SIZE, 3))
    outputs = keras.layers.Dense(2, activation="sigmoid")(keras.layers.Flatten()(inputs))
    lopsided = keras.Model(inputs, outputs)
    frame = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    frame[:, : WIDTH // 3] = (250, 200, 30)
    x = np.stack([cv2.resize(frame, (SIZE, SIZE), interpolation=cv2.INTER_AREA).astype(np.float32) / 255])
    plain = lopsided.predict_on_batch(x)
    mirrored = lopsided.predict_on_batch(x[:, :, ::-1])
    assert np.abs(plain - mirrored).max() > 0.01  # otherwise the test could not tell
    assert np.allclose(classify_batch(lopsided, [frame], tta=False), plain, atol=1e-6)
    assert np.allclose(classify_batch(lopsided, [frame], tta=True), (plain + mirrored) / 2, atol=1e-6)


def test_frames_are_streamed_not_read_up_front(clip):
    reader = open_video(clip)
    frames = reader.frames()
    first = next(frames)
    assert (first.index, first.time_s, first.rgb.shape) == (0, 0.0, (HEIGHT, WIDTH, 3))
    assert reader.decoded == 1  # nothing past the first frame has been decoded yet
    second = next(frames)
    assert second.index == WRITTEN_FPS and reader.decoded == WRITTEN_FPS + 1
    frames.close()


def test_the_thumbnail_strip_is_bounded_and_evenly_spaced(clip, model):
    result = classify_video(clip, model, max_thumbnails=7)
    indices = [thumb.frame_index for thumb in result.thumbnails]
    assert 4 <= len(indices) <= 7 and indices[0] == 0
    assert len(set(np.diff(indices))) == 1
    assert result.thumbnails[0].image.shape == (54, 96, 3)
    strip = ThumbnailStrip(limit=10)  # no announced length: the stride grows as frames come
    for number in range(1000):
        strip.offer(number, number, float(number), np.zeros((27, 48, 3), np.uint8))
    kept = [thumb.frame_index for thumb in strip.thumbnails]
    assert 5 <= len(kept) <= 10 and kept[0] == 0 and len(set(np.diff(kept))) == 1


def test_container_timestamps_are_used_for_a_gif_with_uneven_frame_times(segment_frames, model, tmp_path):
    from PIL import Image

    frames = []
    for number, verdict in enumerate(("tom",) * 10 + ("jerry",) * 10):
        frame = segment_frames[verdict].copy()
        frame[HEIGHT // 2 : HEIGHT // 2 + 6, 10 * number : 10 * number + 6] = 128  # Pillow merges equal frames
        frames.append(Image.fromarray(frame))
    path = tmp_path / "uneven.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=[100] * 10 + [500] * 10, loop=0)
    result = classify_video(path, model)
    assert result.info.backend == "opencv"
    # Frames 0-9 last 0.1 s each, frames 10-19 0.5 s each: seconds 1, 2, 3 ... fall on frames 10, 12, 14 ...
    assert result.table.frame_index.tolist() == [0, 10, 12, 14, 16, 18]
    assert result.table.time_s.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert result.table.verdict.tolist() == ["tom"] + ["jerry"] * 5


@pytest.mark.parametrize("fourcc, suffix", [("MJPG", "avi"), ("VP90", "webm"), ("mp4v", "mov")])
def test_other_containers_give_the_same_timeline(fourcc, suffix, segment_frames, model, tmp_path):
    path = write_clip(tmp_path / f"segments.{suffix}", clip_frames(segment_frames, fps=2), fps=2, fourcc=fourcc)
    result = classify_video(path, model)
    assert result.table.verdict.tolist() == EXPECTED and result.cut_times() == [5.0, 10.0, 15.0]


def write_av1(path, frames, fps):
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libsvtav1", rate=fps)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "12"}  # the fastest
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_av1_which_opencv_cannot_decode_goes_through_pyav(segment_frames, model, tmp_path, monkeypatch):
    pytest.importorskip("av")
    path = write_av1(tmp_path / "segments_av1.mp4", clip_frames(segment_frames, fps=2), fps=2)
    capture = cv2.VideoCapture(str(path))
    assert not capture.grab(), "OpenCV decodes AV1 now: PyAV is no longer needed for it"
    result = classify_video(path, model)
    assert result.info.backend == "pyav"
    assert result.table.verdict.tolist() == EXPECTED and result.cut_times() == [5.0, 10.0, 15.0]
    assert np.array_equal(read_frame(path, 12), next(f.rgb for f in open_video(path).frames() if f.index == 12))
    monkeypatch.setattr(video, "_pyav", lambda: None)  # without PyAV: a clear sentence
    with pytest.raises(VideoError, match=r"av1.*install PyAV"):
        open_video(path)


def test_read_frame_gives_the_frame_the_timeline_classified(clip):
    sampled = {frame.index: frame.rgb for frame in open_video(clip).frames()}
    for index in (0, 50, 130):
        assert np.array_equal(read_frame(clip, index), sampled[index])
    with pytest.raises(VideoError, match="has no frame 500"):
        read_frame(clip, 500)


# --- bad input --------------------------------------------------------------------------------


def test_a_text_file_renamed_mp4_is_not_a_video(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("these are not frames\n" * 20)
    with pytest.raises(VideoError, match=r"^notes.mp4 is not a video file \(expected MP4"):
        open_video(path)


def test_a_playlist_is_never_handed_to_ffmpeg(tmp_path):
    """FFmpeg would follow an HLS playlist to other files: only known container signatures get through."""
    path = tmp_path / "clip.mp4"
    path.write_text("#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n")
    with pytest.raises(VideoError, match="is not a video file"):
        open_video(path)


def test_a_truncated_mp4_is_refused_with_the_reason(clip, tmp_path):
    path = tmp_path / "cut.mp4"
    path.write_bytes(clip.read_bytes()[: clip.stat().st_size * 6 // 10])  # mp4v keeps its index at the end
    with pytest.raises(VideoError, match="cut.mp4 cannot be opened as a video: the file is corrupt or truncated"):
        open_video(path)


def test_a_truncated_avi_keeps_what_decoded_and_says_so(segment_frames, model, tmp_path):
    whole = write_clip(tmp_path / "whole.avi", clip_frames(segment_frames), fourcc="MJPG")
    path = tmp_path / "cut.avi"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    result = classify_video(path, model)
    assert 8 <= len(result.table) <= 11  # about half of the 20 s
    assert result.table.verdict.tolist() == EXPECTED[: len(result.table)]
    assert len(result.warnings) == 1 and "of the 200 it announces" in result.warnings[0]
    assert "truncated or corrupt" in result.warnings[0]


def test_a_truncated_gif_is_called_truncated_not_a_still_image(tmp_path):
    """Five noise frames (equal sizes in the file): cut at 15 % only the first decodes, at 45 % three."""
    from PIL import Image

    noise = np.random.default_rng(0).integers(0, 255, (5, 54, 96, 3), dtype=np.uint8)
    frames = [Image.fromarray(frame) for frame in noise]
    whole = tmp_path / "whole.gif"
    frames[0].save(whole, save_all=True, append_images=frames[1:], duration=1000, loop=0)
    cut = tmp_path / "cut.gif"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 15 // 100])
    with pytest.raises(VideoError, match=r"^cut.gif: only its first frame could be decoded: the file is truncated"):
        open_video(cut)
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 45 // 100])
    reader = open_video(cut)
    assert len(list(reader.frames())) == 3
    assert reader.warnings == [
        "cut.gif: only 3 frames decoded: the file is truncated or corrupt, so the timeline stops at 3.0 s"
    ]


def test_a_folder_given_as_the_clip_is_named_a_folder(tmp_path):
    with pytest.raises(VideoError, match="is a folder, not a clip"):
        open_video(tmp_path)


def test_files_without_frames_are_refused(tmp_path):
    for fourcc, name in (("MJPG", "zero.avi"), ("mp4v", "zero.mp4")):
        writer = cv2.VideoWriter(str(tmp_path / name), cv2.VideoWriter_fourcc(*fourcc), 10, (WIDTH, HEIGHT))
        writer.release()
        with pytest.raises(VideoError, match=f"{name} holds no video frames"):
            open_video(tmp_path / name)
    (tmp_path / "empty.webm").write_bytes(b"")
    with pytest.raises(VideoError, match=r"empty.webm is empty \(0 bytes\)"):
        open_video(tmp_path / "empty.webm")


def test_a_single_frame_is_a_still_image(segment_frames, tmp_path):
    from PIL import Image

    Image.fromarray(segment_frames["tom"]).save(tmp_path / "still.gif")
    with pytest.raises(VideoError, match="single frame, a still image"):
        open_video(tmp_path / "still.gif")


def test_the_limits_are_enforced_and_named(clip, model, monkeypatch):
    monkeypatch.setattr(video, "MAX_FILE_BYTES", clip.stat().st_size - 1)
    with pytest.raises(
        VideoError, match=re.escape(f"MB; the limit is {video.megabytes(clip.stat().st_size - 1)} (and")
    ):
        open_video(clip)
    monkeypatch.undo()
    monkeypatch.setattr(video, "MAX_DURATION_S", 10.0)
    with pytest.raises(VideoError, match=r"^segments.mp4 lasts 20 s; the limit is 10 s \(and 500 MB\): cut the clip$"):
        open_video(clip)
    monkeypatch.undo()
    monkeypatch.setattr(video, "MAX_SAMPLED_FRAMES", 12)
    with pytest.raises(VideoError, match=r"would give 20 frames at 1 per second; the limit is 12"):
        open_video(clip)
    monkeypatch.undo()
    monkeypatch.setattr(video, "MAX_SOURCE_FPS", 5.0)
    with pytest.raises(VideoError, match=r"runs at 10 frames per second; a readable clip runs at 0.0017-5 "):
        open_video(clip)
    monkeypatch.undo()
    for fps in (0, 50, float("nan"), "fast"):
        with pytest.raises(VideoError, match="the sampling rate must be"):
            classify_video(clip, model, fps=fps)


def test_a_clip_that_runs_past_its_announced_length_is_stopped_at_the_limit(clip, monkeypatch):
    """The duration limit also holds for a file whose header does not say how long it is."""
    reader = open_video(clip)
    monkeypatch.setattr(video, "MAX_DURATION_S", 7.0)
    with pytest.raises(VideoError, match="segments.mp4 runs past 7 s, the limit"):
        list(reader.frames())


def test_the_temporary_copy_is_deleted_whatever_happens(clip):
    with pytest.raises(VideoError):
        with video.temporary_copy(clip.read_bytes(), "../../My clip!.mp4") as path:
            assert path.name == "My_clip_.mp4" and path.read_bytes() == clip.read_bytes()
            copied = path
            raise VideoError("stop")
    assert not copied.exists() and not copied.parent.exists()


# --- the inference settings of a run ------------------------------------------------------------


def test_inference_settings_come_from_the_run(model, demo_root, tmp_path):
    run_dir = make_run(tmp_path, model, demo_root, tta=True, threshold=0.35)
    assert inference_settings(run_dir) == timeline.InferenceSettings(True, 0.35, run_dir.name, "mirror TTA")
    assert inference_settings(run_dir / "model.keras").threshold == 0.35
    bare = tmp_path / "bare.keras"
    model.save(bare)
    assert inference_settings(bare) == timeline.InferenceSettings(False, 0.5, "bare.keras")
    shipped = inference_settings(SHIPPED)
    assert shipped.tta is True and shipped.threshold == 0.4


# --- the chart ---------------------------------------------------------------------------------


def test_the_timeline_chart_has_its_own_template_colours_threshold_and_cuts(clip, model):
    from tomjerry.science.charts import video_timeline

    result = classify_video(clip, model)
    figure = video_timeline(result.table, 0.5, result.cut_times())
    assert figure.layout.template.layout.paper_bgcolor == "white"  # plotly_white, not the app's theme
    # Readable on a projector: the legend and every axis's ticks and title at 16 px or more.
    assert figure.layout.legend.font.size >= 16 and figure.layout.template.layout.font.size >= 16
    for axis in (figure.layout.xaxis, figure.layout.xaxis2, figure.layout.yaxis):
        assert axis.tickfont.size >= 16 and axis.title.font.size >= 16
    traces = {trace.name: trace for trace in figure.data}
    tom, times = traces["p(tom)"], result.table.time_s.tolist()
    # every sampled frame, then the last value held for one step: the line ends where the band ends
    assert list(tom.y) == result.table.p_tom.tolist() + result.table.p_tom.tolist()[-1:]
    assert list(tom.x) == times + [result.duration_s]
    band_end = max(x + w / 2 for trace in figure.data if trace.type == "bar" for x, w in zip(trace.x, trace.width))
    assert tom.x[-1] == pytest.approx(band_end) and list(tom.marker.size)[-1] == 0
    assert set(traces["threshold 0.50"].y) == {0.5}
    assert [x for x in traces["shot cut"].x if x is not None] == [5.0, 5.0, 10.0, 10.0, 15.0, 15.0]
    for verdict in SEGMENTS:
        assert len(traces[verdict].x) == SEGMENT_SECONDS
    for trace in figure.data:
        colour = trace.line.color if trace.type == "scatter" else trace.marker.color
        assert isinstance(colour, str) and colour.startswith("#"), trace.name


# --- the command line --------------------------------------------------------------------------


def run_cli(*args, artifacts=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if artifacts:
        env["TOMJERRY_ARTIFACTS"] = str(artifacts)
    return subprocess.run(
        [sys.executable, "-m", "tomjerry", "video", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=TIMEOUT,
    )


@pytest.mark.slow
def test_the_cli_refuses_bad_input_in_one_line(clip, tmp_path):
    (tmp_path / "notes.mp4").write_text("not a video")
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(5000))  # FFmpeg: "moov atom not found"
    for args in (
        [tmp_path / "notes.mp4"],
        [tmp_path / "missing.mp4"],
        [tmp_path / "notes.mp4", "--fps", "0"],
        [truncated],
        [tmp_path],
        [clip, "--csv", tmp_path / "no" / "out.csv"],
        [clip, "--csv", tmp_path],
    ):
        done = run_cli(*args)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and done.stderr.strip().count("\n") == 0
        assert done.stderr.startswith("error: ")


@pytest.mark.slow
def test_the_cli_writes_the_csv_and_the_json_with_the_best_run_by_default(clip, run_artifacts, tmp_path):
    out = tmp_path / "timeline.csv"
    done = run_cli(clip, "--csv", out, "--json", artifacts=run_artifacts)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "classified 20 / 20 frames (100%)" in done.stderr
    rows = pd.read_csv(out)
    assert list(rows.columns) == ["time_s", "p_tom", "p_jerry", "verdict"] and rows.verdict.tolist() == EXPECTED
    result = json.loads(done.stdout)
    assert {
        "file",
        "model",
        "fps_sampled",
        "duration_s",
        "frames",
        "threshold",
        "seconds_on_screen",
        "frames_table",
        "warnings",
    } <= set(result)
    run_dir = next((run_artifacts / "runs").iterdir())
    assert result["model"] == str(run_dir) and result["threshold"] == 0.5
    assert result["frames"] == 20 and result["duration_s"] == 20.0 and result["fps_sampled"] == 1.0
    assert result["seconds_on_screen"] == {"tom": 5.0, "jerry": 5.0, "both": 5.0, "neither": 5.0}
    assert [row["verdict"] for row in result["frames_table"]] == EXPECTED and result["warnings"] == []


# --- the page ----------------------------------------------------------------------------------


def open_video_page(monkeypatch, demo_root, artifacts):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TOMJERRY_DATA", str(demo_root))
    monkeypatch.setenv("TOMJERRY_ARTIFACTS", str(artifacts))
    monkeypatch.syspath_prepend(str(ROOT))  # the page imports ui from the app's root
    return AppTest.from_file(str(ROOT / "pages" / "7_Video.py"), default_timeout=TIMEOUT).run()


def test_the_page_classifies_an_uploaded_clip(clip, monkeypatch, demo_root, run_artifacts):
    app = open_video_page(monkeypatch, demo_root, run_artifacts)
    assert not app.exception, app.exception
    assert "demo data" in " ".join(str(info.value) for info in app.info).lower()
    app.file_uploader(key="clip").set_value(("segments.mp4", clip.read_bytes(), "video/mp4"))
    app.run()
    assert not app.exception, app.exception
    assert not app.error, [error.value for error in app.error]
    assert len(app.get("plotly_chart")) == 1
    metrics = {metric.label: metric.value for metric in app.metric}
    assert [metrics[f"{name} on screen"] for name in ("Tom alone", "Jerry alone", "Both", "Neither")] == ["5.0 s"] * 4
    assert metrics["Verdict"] == "tom"  # the frame opened first: 0 s
    app.slider[0].set_value(17.0).run()
    assert not app.exception, app.exception
    assert {metric.label: metric.value for metric in app.metric}["Verdict"] == "neither"
    assert len(app.get("download_button")) == 1


def test_the_pages_slider_opens_the_frame_on_screen_at_that_time(
    segment_frames, monkeypatch, demo_root, run_artifacts, tmp_path
):
    """A slide show of 20 s and 9 s: at 11 s the first slide is still on screen, not the nearer second."""
    from PIL import Image

    path = tmp_path / "slides.gif"
    slides = [Image.fromarray(segment_frames[verdict]) for verdict in ("tom", "jerry")]
    slides[0].save(path, save_all=True, append_images=slides[1:], duration=[20_000, 9_000], loop=0)
    app = open_video_page(monkeypatch, demo_root, run_artifacts)
    app.file_uploader(key="clip").set_value(("slides.gif", path.read_bytes(), "image/gif"))
    app.run()
    assert not app.exception, app.exception
    for at, verdict in ((11.0, "tom"), (19.0, "tom"), (20.0, "jerry")):
        app.slider[0].set_value(at).run()
        assert {metric.label: metric.value for metric in app.metric}["Verdict"] == verdict, at


def test_the_page_without_a_model_says_so(monkeypatch, demo_root, tmp_path):
    app = open_video_page(monkeypatch, demo_root, tmp_path)
    assert not app.exception, app.exception
    assert any("No trained model yet" in info.value for info in app.info)
    assert not app.file_uploader


def test_the_page_says_what_is_wrong_with_a_bad_upload(monkeypatch, demo_root, run_artifacts):
    app = open_video_page(monkeypatch, demo_root, run_artifacts)
    app.file_uploader(key="clip").set_value(("notes.mp4", b"certainly not a video" * 10, "video/mp4"))
    app.run()
    assert not app.exception, app.exception
    assert [error.value for error in app.error] == [
        "notes.mp4 is not a video file (expected MP4, MOV, WebM (or MKV), AVI or animated GIF)"
    ]


# --- the real frames ---------------------------------------------------------------------------


@pytest.mark.slow  # ~40 s on a busy 2-core machine: 317 frames through EfficientNet-Lite0 at 224 px, twice (TTA)
@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="the real dataset is not on this machine")
def test_a_clip_of_real_test_frames_is_classified_right(tmp_path):
    """Test frames of the shipped random-split run (never trained on): Tom alone, then Jerry alone,
    one frame a second, through the shipped model with its TTA and threshold."""
    from tomjerry.inference.predict import load_model

    table = scan(REAL_DATA).usable
    split = pd.read_csv(SHIPPED / "split.csv")
    test = table.merge(split[split.split == "test"], on="filename").sort_values("frame")
    frames, truth = [], []
    for verdict in ("tom", "jerry"):
        for path in test[test.combination == verdict].path:
            frames.append(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
            truth.append(verdict)
    clip = write_clip(tmp_path / "real.mp4", frames, fps=1)
    settings = inference_settings(SHIPPED)
    result = classify_video(clip, load_model(SHIPPED), tta=settings.tta, threshold=settings.threshold)
    assert len(result.table) == len(truth) > 200
    right = float((result.table.verdict.to_numpy() == np.array(truth)).mean())
    print(f"real test frames: {right:.1%} of {len(truth)} right")
    assert right >= 0.9


def test_the_temporary_copy_is_deleted_on_every_way_out(clip):
    """A Streamlit rerun or stop is an exception raised inside the page run (RerunException,
    StopException); a closed generator, KeyboardInterrupt and SystemExit are BaseExceptions."""
    from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException

    data = clip.read_bytes()
    for raised in (RerunException(None), StopException(), KeyboardInterrupt(), SystemExit(1), ValueError("x")):
        with pytest.raises(type(raised)):
            with video.temporary_copy(data, "clip.mp4") as path:
                copied = path
                raise raised
        assert not copied.parent.exists(), type(raised).__name__
    copy = video.temporary_copy(data, "clip.mp4")
    path = copy.__enter__()
    copy.gen.close()  # what the garbage collector does to a generator left mid-way
    assert not path.parent.exists()


def test_stale_clip_copies_are_swept_and_fresh_ones_and_others_kept(tmp_path):
    old, fresh = tmp_path / f"{video.TEMPORARY_PREFIX}old", tmp_path / f"{video.TEMPORARY_PREFIX}fresh"
    foreign = tmp_path / "someone-else-old"
    for folder in (old, fresh, foreign):
        folder.mkdir()
        (folder / "clip.mp4").write_bytes(b"x")
    long_ago = time.time() - (video.STALE_HOURS + 1) * 3600
    for folder in (old, foreign):
        os.utime(folder, (long_ago, long_ago))
    assert video.sweep_stale_copies(folder=tmp_path) == [old]
    assert not old.exists() and fresh.exists() and foreign.exists()


def test_the_app_sweeps_stale_clip_copies_when_it_starts(monkeypatch, demo_root, tmp_path):
    import tempfile

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    st.cache_resource.clear()  # the sweep runs once per process: an earlier app test may have run it
    stale = tmp_path / f"{video.TEMPORARY_PREFIX}left-by-a-killed-server"
    stale.mkdir()
    long_ago = time.time() - (video.STALE_HOURS + 1) * 3600
    os.utime(stale, (long_ago, long_ago))
    monkeypatch.setenv("TOMJERRY_DATA", str(demo_root))
    monkeypatch.setenv("TOMJERRY_ARTIFACTS", str(tmp_path / "artifacts"))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not app.exception, app.exception
    assert not stale.exists()
