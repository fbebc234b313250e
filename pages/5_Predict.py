"""Predict: drop in frames (or use the camera) and see Tom, Jerry, both or neither."""

import streamlit as st

from tomjerry.data.decoding import MAX_BYTES, BadImage
from tomjerry.data.images import to_float
from tomjerry.inference.explain import SCALE_CAPTION, cam_caption, colour_scale, overlay
from tomjerry.science.results import model_choices
from ui import (
    default_model_reason,
    heatmap,
    load_dataset,
    load_predictor,
    predict_upload,
    runs_in_use,
    start_page,
    upload_preview,
)

source, dataset = start_page("Predict")  # with the demo banner, as every page
runs = runs_in_use(source, load_dataset(source))
labels, best = model_choices(runs)
if not labels:
    st.info("No trained model yet: train one on the Train page.")
    st.stop()
names = list(labels)
chosen = labels[
    st.selectbox(
        "Model",
        names,
        index=names.index(best),
        help="Default: the best setting on validation, pooled over split seeds (real-data models first).",
    )
]
default_model_reason(runs)
try:
    predictor = load_predictor(chosen.path)
except ValueError as error:  # an unreadable model file or one that breaks the model contract
    st.error(f"This run's model cannot be used: {error}")
    st.stop()
recipe = predictor.recipe
st.caption(
    f"The run's inference recipe, as its evaluation used it: {recipe.input_size} px, "
    f"{'mirror-image TTA' if recipe.tta else 'no TTA'}, threshold {recipe.threshold:g} "
    f"({'chosen on validation' if recipe.threshold_source == 'validation' else recipe.threshold_source}); "
    f"pictures of another shape: {recipe.shape_rule}."
)
left, right = st.columns(2)
threshold = left.slider(
    "Decision threshold",
    0.05,
    0.95,
    float(recipe.threshold),
    0.05,
    help="A label is present when its probability reaches this. Default: the run's own.",
)
if threshold != recipe.threshold:
    st.caption(f"Threshold moved from the run's {recipe.threshold:g}: verdicts differ from its evaluation.")
explain = right.toggle("Show Grad-CAM", value=True)
if explain:
    right.image(colour_scale(), width=320)
    right.caption(SCALE_CAPTION)

uploads = st.file_uploader(
    "Frames (jpg, png, webp, gif, bmp)",
    type=["jpg", "jpeg", "png", "webp", "gif", "bmp"],
    accept_multiple_files=True,
    max_upload_size=MAX_BYTES // 2**20,
)
photo = st.camera_input("...or take a photo") if st.toggle("Use the camera") else None
files = list(uploads or []) + ([photo] if photo else [])
if not files:
    st.caption("Drop one or more images above.")
    st.stop()

# Verdicts first, for every file; Grad-CAM (slower) fills in below each one afterwards.
shown = []
for upload in files:
    st.divider()
    try:
        prediction, pixels = predict_upload(chosen.path, upload.getvalue(), upload.name)
    except BadImage as error:
        st.error(f"{error}." + (" The other files are unaffected." if len(files) > 1 else ""))
        continue
    prediction.threshold = threshold
    columns = st.columns([2, 1, 2, 2] if explain else [2, 1])
    # The decoded picture, never the raw bytes (st.image would re-encode those with Pillow).
    columns[0].image(upload_preview(upload.getvalue(), upload.name), caption=upload.name, width="stretch")
    columns[1].metric("Verdict", prediction.verdict)
    columns[1].metric("p(tom)", f"{prediction.p_tom:.3f}")
    columns[1].metric("p(jerry)", f"{prediction.p_jerry:.3f}")
    for warning in prediction.warnings:
        columns[1].warning(warning)
    shown.append((pixels, prediction, columns))

if explain:
    for pixels, prediction, columns in shown:
        image = to_float(pixels)
        for column, label, p in zip(columns[2:], ("tom", "jerry"), (prediction.p_tom, prediction.p_jerry)):
            column.image(
                overlay(image, heatmap(chosen.path, pixels, label), probability=p, threshold=threshold),
                caption=f"Grad-CAM · {cam_caption(label, p, threshold)}",
                width="stretch",
            )
