"""Grad-CAM: where each model looks for Tom and for Jerry, side by side."""

from pathlib import Path

import streamlit as st

from tomjerry.data.images import read_frame, to_float
from tomjerry.inference.explain import SCALE_CAPTION, cam_caption, colour_scale, overlay
from tomjerry.science.results import made_on, model_choices
from ui import (
    default_model_reason,
    fingerprint_in_use,
    heatmap,
    load_predictor,
    runs_in_use,
    start_page,
)

source, dataset = start_page(
    "Grad-CAM", "The regions that raise a label's score most (tf-keras-vis, one score per label), over the frame."
)
runs = runs_in_use(source, dataset)
labels, best = model_choices(runs)
if not labels:
    st.info("No finished run with a saved model yet: train one on the Train page.")
    st.stop()

# Only names on offer: the browser answers with names, and they change with the runs shown.
picked = [
    name
    for name in st.multiselect("Models", list(labels), default=[best], max_selections=3, key="cam_models")
    if name in labels
]
default_model_reason(runs)
if not picked:
    st.stop()
letters = "ABC"
st.markdown("  \n".join(f"**{letter}**: {name}" for letter, name in zip(letters, picked)))
table = dataset.usable
left, right = st.columns(2)
kind = left.radio("Frames", ["challenge frames", "test frames of model A"], horizontal=True, key="cam_frames")
method = right.radio("Method", ["Grad-CAM", "Grad-CAM++"], horizontal=True, key="cam_method")
first = labels[picked[0]]
if kind == "challenge frames":
    pool = table[table.challenge]
elif made_on(first, fingerprint_in_use(source, dataset)):
    predictions = first.folder.read_predictions()
    pool = table[table.filename.isin(predictions.filename[predictions.split == "test"])]
else:
    st.info(
        f"Model A was made on other data ({first.dataset.get('name')}), so its test frames are not in the "
        "dataset in use: pick the challenge frames, or a model made on this dataset."
    )
    st.stop()
if pool.empty:
    st.info("No such frames in the dataset in use.")
    st.stop()
names = [
    name
    for name in st.multiselect(
        "Images", list(pool.filename), default=list(pool.filename[:2]), max_selections=6, key="cam_images"
    )
    if name in set(pool.filename)
]
st.image(colour_scale(), width=320)
st.caption(SCALE_CAPTION)

for name in names:
    row = pool[pool.filename == name].iloc[0]
    st.markdown(f"**{name}** — truth: {row.combination}")
    columns = st.columns(1 + 2 * len(picked))
    columns[0].image(read_frame(row.path, 224), caption="frame", width="stretch")
    for i, (letter, label) in enumerate(zip(letters, picked)):
        run = labels[label]
        try:
            predictor = load_predictor(run.path)
        except ValueError as error:  # an unusable model file: say so, keep the other runs
            columns[1 + 2 * i].error(f"{letter}: {error}")
            continue
        # The run's own recipe (input size, shape rule, TTA, threshold): the answers its evaluation gives.
        threshold = predictor.recipe.threshold
        prediction, pixels = predictor.predict_with_pixels(Path(row.path), name)
        image = to_float(pixels)
        for j, (target, p) in enumerate((("tom", prediction.p_tom), ("jerry", prediction.p_jerry))):
            heat = heatmap(run.path, pixels, target, plus_plus=method == "Grad-CAM++")
            columns[1 + 2 * i + j].image(
                overlay(image, heat, probability=p, threshold=threshold),
                width="stretch",
                caption=f"{letter} · {cam_caption(target, p, threshold)}",
            )
