"""Predict: drop in frames (or use the camera) and see Tom, Jerry, both or neither."""

import streamlit as st

from serving import allow_uploads
from tomjerry.data.decoding import MAX_BYTES, BadImage
from tomjerry.inference.explain import SCALE_CAPTION, cam_caption, colour_scale, overlay_on_picture
from tomjerry.inference.lite_runtime import AGREEMENT
from tomjerry.science.results import model_choices
from ui import (
    default_model_reason,
    load_dataset,
    load_predictor,
    predict_uploads,
    queued_heatmaps,
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
# On a phone the page opens on the uploader and the camera, the verdicts right under them; the
# settings and their explanations are folded away below (they took a whole phone screen).
uploads = st.file_uploader(
    "Frames (jpg, png, webp, gif, bmp)",
    type=["jpg", "jpeg", "png", "webp", "gif", "bmp"],
    accept_multiple_files=True,
    max_upload_size=allow_uploads(MAX_BYTES // 2**20),  # checked by the server too, where the bytes arrive
    key="frames",
)
photo = st.camera_input("...or take a photo") if st.toggle("Use the camera") else None
files = list(uploads or []) + ([photo] if photo else [])
answers = st.container()  # filled below, once the settings (drawn under it) are read

settings = st.expander("Settings: model, decision threshold, Grad-CAM")
names = list(labels)
name = settings.selectbox(
    "Model",
    names,
    index=names.index(best),
    help="Default: the best setting on validation, pooled over split seeds (real-data models first).",
)
default_model_reason(runs, settings)
chosen = labels[name]
try:
    predictor = load_predictor(chosen.path)
except ValueError as error:  # an unreadable model file or one that breaks the model contract
    answers.error(f"This run's model cannot be used: {error}")
    st.stop()
recipe = predictor.recipe
settings.caption(
    f"The run's inference recipe, as its evaluation used it: {recipe.size_text}, "
    f"{recipe.tta_text}, threshold {recipe.threshold_text}; "
    f"pictures of another shape: {recipe.shape_rule}. "
    + (
        (
            # The enlarged test-time pass runs in Keras (inference.predict): only the trained size is Lite's.
            "The trained size runs through TensorFlow Lite (probabilities equal to Keras's within "
            f"{AGREEMENT:g}); the enlarged size{'s' if len(recipe.tta_scales) > 2 else ''} in Keras (the same "
            "weights)."
            if len(recipe.tta_scales) > 1
            else f"Run through TensorFlow Lite (the same weights; probabilities equal to Keras's within {AGREEMENT:g})."
        )
        if predictor.accelerated
        else f"{predictor.acceleration_note}."
    )
)
threshold = settings.slider(
    "Decision threshold",
    0.05,
    0.95,
    float(recipe.threshold),
    0.05,
    help="A label is present when its probability reaches this. Default: the run's own.",
)
explain = settings.toggle("Show Grad-CAM", value=True)
if explain:
    settings.image(colour_scale(), width=320)
    settings.caption(SCALE_CAPTION)

# The context of every verdict stays in sight while the settings are folded.
moved = (
    ""
    if threshold == recipe.threshold
    else f", moved from the run's {recipe.threshold:g}: verdicts differ from its evaluation"
)
# The run's threshold in its context: chosen on validation, while the headline figures are at 0.5.
decided_at = recipe.threshold_text if threshold == recipe.threshold else f"{threshold:g}"
answers.caption(f"Model: {name} · decision threshold {decided_at}{moved} (settings below).")
if not files:
    answers.caption(
        f"Drop one or more images above, each up to {MAX_BYTES // 2**20} MB. A larger file is refused by the "
        "uploader (a red mark beside its name, the reason on hover) and gets no verdict."
    )
    st.stop()

# Verdicts first, for every file (one pass of the model for all); Grad-CAM (slower) fills in below
# each one afterwards.
shown = []
for upload, found in zip(files, predict_uploads(chosen.path, [(upload.getvalue(), upload.name) for upload in files])):
    with answers:
        st.divider()
        if isinstance(found, BadImage):
            st.error(f"{found}." + (" The other files are unaffected." if len(files) > 1 else ""))
            continue
        prediction, pixels = found
        prediction.threshold = threshold
        if prediction.novel:
            # The verdict itself says so; the four-label answer the model gives any picture comes smaller.
            # A heading, not a metric: a metric cut it to "Not a Tom and Jerry f..." on a phone.
            st.markdown("Verdict")
            st.header(prediction.verdict, anchor=False)
            st.markdown(
                f"The model's answer all the same: **{prediction.label}** "
                f"(p(tom) {prediction.p_tom:.3f}, p(jerry) {prediction.p_jerry:.3f} at threshold {threshold:g})."
            )
        else:
            verdict, tom, jerry, _ = st.columns([3, 2, 2, 5])
            verdict.metric("Verdict", prediction.verdict)
            tom.metric("p(tom)", f"{prediction.p_tom:.3f}")
            jerry.metric("p(jerry)", f"{prediction.p_jerry:.3f}")
        for warning in prediction.warnings:
            st.warning(warning)
        columns = st.columns(3 if explain else [1, 2])
        # The decoded picture, never the raw bytes (st.image would re-encode those with Pillow).
        preview = upload_preview(upload.getvalue(), upload.name)
        columns[0].image(preview, caption=upload.name, width="stretch")
    shown.append((preview, prediction, pixels, columns))

if explain:
    for preview, prediction, pixels, columns in shown:
        maps = queued_heatmaps(chosen.path, pixels)  # None while drawn in the background; the page reruns itself
        if maps is None:
            columns[1].caption("Grad-CAM: being drawn; it appears here by itself.")
            continue
        for column, label, p, heat in zip(columns[1:], ("tom", "jerry"), (prediction.p_tom, prediction.p_jerry), maps):
            # Drawn on the picture as uploaded: the shape rule's squeeze, crop and padding undone.
            drawn, unseen = overlay_on_picture(preview, heat, probability=p, threshold=threshold, fit=prediction.fit)
            column.image(
                drawn,
                caption=f"Grad-CAM · {cam_caption(label, p, threshold)}" + (f" · {unseen}" if unseen else ""),
                width="stretch",
            )
