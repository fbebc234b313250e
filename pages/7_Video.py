"""Video: a whole clip classified, as a timeline of Tom and Jerry."""

import bisect
import hashlib
from pathlib import Path

import streamlit as st

from serving import allow_uploads
from tomjerry.inference.explain import SCALE_CAPTION, cam_caption, colour_scale, overlay_on_picture
from tomjerry.inference.timeline import classify_video
from tomjerry.inference.video import (
    DEFAULT_SAMPLE_FPS,
    MAX_FILE_BYTES,
    MAX_SAMPLE_FPS,
    MAX_UPLOAD_MB,
    MIN_SAMPLE_FPS,
    UPLOAD_TYPES,
    VideoError,
    megabytes,
    plural,
    read_frame,
    temporary_copy,
)
from tomjerry.science import charts
from tomjerry.science.results import model_choices
from ui import (
    default_model_reason,
    load_dataset,
    load_predictor,
    load_video_model,
    queued_heatmaps,
    runs_in_use,
    start_page,
)

source, dataset = start_page(
    "Video",
    "A whole clip, sampled like the dataset (one frame per second by default), each sampled frame "
    "classified as Tom, Jerry, both or neither.",
)
runs = runs_in_use(source, load_dataset(source))
labels, best = model_choices(runs)
if not labels:
    st.info("No trained model yet: train one on the Train page.")
    st.stop()
names = list(labels)
left, right = st.columns([3, 1])
chosen = labels[
    left.selectbox(
        "Model",
        names,
        index=names.index(best),
        help="Default: the best setting on validation, pooled over split seeds (real-data models first).",
    )
]
default_model_reason(runs, left)
fps = right.number_input(
    "Frames sampled per second",
    MIN_SAMPLE_FPS,
    MAX_SAMPLE_FPS,
    DEFAULT_SAMPLE_FPS,
    0.5,
    help="The dataset holds one frame per second of video.",
)
try:
    # The run's Predictor, cached and shared with Predict: its saved inference recipe classifies the
    # clip, and its model input is what Grad-CAM explains below.
    predictor = load_predictor(chosen.path)
except ValueError as error:  # an unreadable model file or one that breaks the model contract
    st.error(f"This run's model cannot be used: {error}")
    st.stop()
recipe = predictor.recipe
st.caption(
    f"Decision threshold {recipe.threshold_text}"
    f"{f'; {recipe.tta_text}, as the run was scored' if recipe.tta or len(recipe.tta_scales) > 1 else ''}."
)

upload = st.file_uploader(
    f"Clip (mp4, webm, avi, mov, mkv or animated gif; up to {MAX_UPLOAD_MB} MB)",
    type=list(UPLOAD_TYPES),
    max_upload_size=allow_uploads(MAX_UPLOAD_MB),  # checked by the server too, where the bytes arrive
    key="clip",
)
if upload is None:
    st.caption(
        f"Drop a clip above. A larger file is refused by the uploader (a red mark beside its name): cut it, "
        f"or classify it with `python -m tomjerry video FILE` (up to {megabytes(MAX_FILE_BYTES)})."
    )
    st.stop()

data = upload.getvalue()
key = (hashlib.sha256(data).hexdigest(), str(chosen.path), float(fps))
if st.session_state.get("video_key") != key:
    model, note = load_video_model(chosen.path)
    if note:
        st.caption(note)
    bar = st.progress(0.0, text="Classifying the clip...")

    def progress(done, expected):
        told = f"{done:,} of about {expected:,}" if expected else f"{done:,}"
        bar.progress(min(done / expected, 1.0) if expected else 0.0, text=f"Classified {told} frames...")

    try:
        with temporary_copy(data, upload.name) as path:
            result = classify_video(path, model, recipe=recipe, fps=fps, progress=progress)
    except VideoError as error:
        bar.empty()
        st.error(str(error))
        st.stop()
    bar.empty()
    st.session_state["video_key"], st.session_state["video_result"] = key, result
result = st.session_state["video_result"]
table = result.table
for warning in result.warnings:
    st.warning(warning)

info = result.info
cuts = result.cut_times()
st.caption(
    f"{upload.name}: {info.codec}, {info.width}x{info.height}, {info.fps:.3g} "
    f"frame{'' if f'{info.fps:.3g}' == '1' else 's'} per second, "
    f"{result.duration_s:.1f} s; {plural(len(table), 'frame')} sampled at {result.fps_sampled:g} per second, "
    f"{plural(len(cuts) + 1, 'shot')}; decoding {result.decode_seconds:.1f} s, classifying {result.classify_seconds:.1f} s."
)
columns = st.columns(4)
names_of = {"tom": "Tom alone", "jerry": "Jerry alone", "both": "Both", "neither": "Neither"}
for column, (verdict, seconds) in zip(columns, result.seconds_on_screen().items()):
    column.metric(f"{names_of[verdict]} on screen", f"{seconds:.1f} s" if seconds < 100 else f"{seconds:,.0f} s")

st.plotly_chart(charts.video_timeline(table, result.threshold, cuts), width="stretch", theme=None)
verdict_at = dict(zip(table.frame_index, table.verdict))
# Above one frame a second, neighbouring thumbnails are under a second apart: their times get a decimal.
decimals = 1 if result.fps_sampled > 1 or any(thumb.time_s % 1 for thumb in result.thumbnails) else 0
with st.container(height=280 if len(result.thumbnails) > 20 else "content"):  # a scrolling strip for long clips
    st.image(
        [thumb.image for thumb in result.thumbnails],
        caption=[f"{thumb.time_s:.{decimals}f} s · {verdict_at[thumb.frame_index]}" for thumb in result.thumbnails],
        width=96,
    )

st.subheader("One frame")
times = table.time_s.tolist()
if len(times) > 1:
    at = st.slider(
        "Time (s)", float(times[0]), float(times[-1]), float(times[0]), 1.0 / result.fps_sampled, format="%.1f s"
    )
else:
    at = times[0]
# The frame on screen at that time: the last sampled frame at or before it (it stands for its span).
row = table.iloc[max(bisect.bisect_right(times, at + 1e-6) - 1, 0)]
explain = st.toggle("Show Grad-CAM", value=True)
try:
    with temporary_copy(data, upload.name) as path:
        rgb = read_frame(path, int(row.frame_index))
except VideoError as error:
    st.error(str(error))
    st.stop()
parts = st.columns([2, 1, 2, 2] if explain else [2, 1])
parts[0].image(rgb, caption=f"{row.time_s:.1f} s (frame {row.frame_index})", width="stretch")
parts[1].metric("Verdict", row.verdict)
parts[1].metric("p(tom)", f"{row.p_tom:.3f}")
parts[1].metric("p(jerry)", f"{row.p_jerry:.3f}")
if explain:
    # Predict's path: the run's model input, the maps cached per model and picture, drawn on the frame
    # as decoded, the map of an absent label faded, under the same colour scale.
    maps = queued_heatmaps(chosen.path, predictor.pixels(rgb)[0])  # None while drawn; the page reruns itself
    if maps is None:
        parts[2].caption("Grad-CAM: being drawn; it appears here by itself.")
    else:
        for part, label, p, heat in zip(parts[2:], ("tom", "jerry"), (row.p_tom, row.p_jerry), maps):
            drawn, unseen = overlay_on_picture(rgb, heat, probability=p, threshold=result.threshold)
            part.image(
                drawn,
                caption=f"Grad-CAM · {cam_caption(label, p, result.threshold)}" + (f" · {unseen}" if unseen else ""),
                width="stretch",
            )
    st.image(colour_scale(), width=320)
    st.caption(SCALE_CAPTION)

st.download_button(
    "Download the per-frame CSV (time_s, p_tom, p_jerry, verdict)",
    result.csv(),
    file_name=f"{Path(upload.name).stem}-timeline.csv",
    mime="text/csv",
)
