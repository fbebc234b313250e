"""Grad-CAM: where each model looks for Tom and for Jerry, side by side."""

from pathlib import Path

import streamlit as st

from tomjerry.explain import overlay
from tomjerry.images import read_frame, to_float
from tomjerry.results import model_choices
from ui import dataset_source, demo_banner, load_dataset, load_explainer, load_predictor, runs_in_use

st.set_page_config(page_title="Grad-CAM · tomjerry", layout="wide")
st.title("Grad-CAM")
st.caption("Red: the regions that raise a label's score most (tf-keras-vis, one CategoricalScore per label).")
source = dataset_source()
demo_banner(source)
dataset = load_dataset(source)
labels, best = model_choices(runs_in_use(source, dataset))
if not labels:
    st.info("No finished run with a saved model yet: train one on the Train page.")
    st.stop()

picked = st.multiselect("Models", list(labels), default=[best], max_selections=3)
if not picked:
    st.stop()
table = dataset.usable
left, right = st.columns(2)
kind = left.radio("Frames", ["challenge frames", "test frames of the first model"], horizontal=True)
method = right.radio("Method", ["Grad-CAM", "Grad-CAM++"], horizontal=True)
if kind == "challenge frames":
    pool = table[table.challenge]
else:
    predictions = labels[picked[0]].folder.read_predictions()
    pool = table[table.filename.isin(predictions.filename[predictions.split == "test"])]
if pool.empty:
    st.info("No such frames in the dataset in use.")
    st.stop()
names = st.multiselect("Images", list(pool.filename), default=list(pool.filename[:2]), max_selections=6)

for name in names:
    row = pool[pool.filename == name].iloc[0]
    st.markdown(f"**{name}** — truth: {row.combination}")
    columns = st.columns(1 + 2 * len(picked))
    columns[0].image(read_frame(row.path, 224), caption="frame", width="stretch")
    for i, label in enumerate(picked):
        run_dir = labels[label].path
        try:
            predictor = load_predictor(run_dir)
        except ValueError as error:  # an unusable model file: say so, keep the other runs
            columns[1 + 2 * i].error(f"{label.split(' · ')[0]}: {error}")
            continue
        # The run's own recipe (input size, shape rule, TTA): the probabilities its evaluation gives.
        prediction, pixels = predictor.predict_with_pixels(Path(row.path), name)
        image = to_float(pixels[None])
        explainer = load_explainer(run_dir, plus_plus=method == "Grad-CAM++")
        for j, (target, p) in enumerate((("tom", prediction.p_tom), ("jerry", prediction.p_jerry))):
            heat = explainer.heatmaps(image, target)[0]
            columns[1 + 2 * i + j].image(overlay(image[0], heat), width="stretch",
                                         caption=f"{label.split(' · ')[0]} — {target} p={p:.2f}")
