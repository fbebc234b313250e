"""Grad-CAM: where each model looks for Tom and for Jerry, side by side."""

from pathlib import Path

import streamlit as st

from tomjerry.data.decoding import BadImage, decode_image
from tomjerry.data.splits import read_split_csv
from tomjerry.inference.explain import SCALE_CAPTION, cam_caption, colour_scale, overlay_on_picture
from tomjerry.runs.folder import RunFolder
from tomjerry.science.results import made_on, misclassified, model_choices
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
kind = left.radio(
    "Frames",
    ["challenge frames", "test frames of model A", "mistakes of model A"],
    horizontal=True,
    key="cam_frames",
    help="Mistakes: the test frames model A gets wrong at its own threshold, the most confident mistake first.",
)
method = right.radio("Method", ["Grad-CAM", "Grad-CAM++"], horizontal=True, key="cam_method")
first = labels[picked[0]]
if kind == "challenge frames":
    pool = table[table.challenge]
elif not made_on(first, fingerprint_in_use(source, dataset)):
    st.info(
        f"Model A was made on other data ({first.dataset.get('name')}), so its test frames are not in the "
        "dataset in use: pick the challenge frames, or a model made on this dataset."
    )
    st.stop()
elif kind == "test frames of model A":
    predictions = first.folder.read_predictions()
    pool = table[table.filename.isin(predictions.filename[predictions.split == "test"])]
else:
    try:
        threshold_a = load_predictor(first.path).recipe.threshold  # the threshold its answers use
    except ValueError as error:
        st.error(f"A: {error}")
        st.stop()
    wrong = misclassified(first, threshold_a)
    # In the ranking's order (the most confident mistake first), as Compare lists them.
    pool = wrong[["filename"]].merge(table, on="filename", how="inner")
    tested = int((first.test or {}).get("count") or 0)
    st.markdown(
        f"Model A gets **{len(wrong)}** of {tested} test frames wrong at its threshold {threshold_a:.2f} "
        "(at least one label); the most confident mistake first."
    )
if pool.empty:
    st.info(
        "Model A gets every test frame right."
        if kind == "mistakes of model A"
        else "No such frames in the dataset in use."
    )
    st.stop()
# Which of these frames each model trained on: its maps there show what it learned, not how it
# generalises. Only a model made on the dataset in use has its split over these files.
fingerprint = fingerprint_in_use(source, dataset)
trained_on = {}
for letter, label in zip(letters, picked):
    run = labels[label]
    if not made_on(run, fingerprint):
        continue
    try:
        splits = read_split_csv(RunFolder(run.path).file(RunFolder.SPLIT), pool)
    except ValueError:  # no split file, or one for other files: nothing to say
        continue
    trained_on[letter] = set(pool.filename[(splits == "train").to_numpy()])
if trained_on:
    st.markdown(
        "In the training split: "
        + "; ".join(f"**{letter}** {len(seen)} of these {len(pool)} frames" for letter, seen in trained_on.items())
        + ". A model's maps on frames it trained on show what it learned there, not how it generalises."
    )

PAGE = 8  # frames a page: 8 x 2 maps x a model is about 6 s of Grad-CAM on 2 cores, once (cached after)
pages = [f"frames {start + 1}-{min(start + PAGE, len(pool))} of {len(pool)}" for start in range(0, len(pool), PAGE)]
view = st.selectbox("Show", ["frames picked below", *pages], key="cam_view", help="Every frame, a page at a time.")
if view == "frames picked below":
    names = [
        name
        # A key per kind of frames: names picked among the challenge frames are no test frames, and a
        # shared key kept them, which left nothing picked (only the colour scale) after a switch.
        for name in st.multiselect(
            "Images", list(pool.filename), default=list(pool.filename[:2]), key=f"cam_images:{kind}"
        )
        if name in set(pool.filename)
    ]
else:
    start = pages.index(view) * PAGE
    names = list(pool.filename[start : start + PAGE])
if not names:
    st.info("Pick frames under **Images**, or a page of frames under **Show**.")
    st.stop()
st.image(colour_scale(), width=320)
st.caption(SCALE_CAPTION)
for letter, label in zip(letters, picked):
    try:
        recipe = load_predictor(labels[label].path).recipe
    except ValueError:  # said beside its maps below
        continue
    st.caption(
        f"{letter}: probabilities from the run's recipe ({recipe.tta_text}, threshold {recipe.threshold:.2f}); "
        f"maps computed on its {recipe.size_text} input and drawn on the frame as it is."
    )

# Maps are computed once per model, method and frame (cached): a progress line while they are.
total, done = len(names) * len(picked), 0
progress = st.progress(0.0, text=f"{method} maps: 0 of {total} frames x models...") if total else None
for name in names:
    row = pool[pool.filename == name].iloc[0]
    marks = [
        f"{letter}: in its training split" if name in seen else f"{letter}: held out from its training"
        for letter, seen in trained_on.items()
    ]
    st.markdown(f"**{name}** — truth: {row.combination}" + (f" · {', '.join(marks)}" if marks else ""))
    columns = st.columns(1 + 2 * len(picked))
    try:
        rgb = decode_image(row.path, name)
    except BadImage as error:
        columns[0].error(str(error))
        continue
    columns[0].image(rgb, caption="frame", width="stretch")
    for i, (letter, label) in enumerate(zip(letters, picked)):
        run = labels[label]
        done += 1
        progress.progress(done / total, text=f"{method} maps: model {letter}, {name} ({done} of {total})")
        try:
            predictor = load_predictor(run.path)
        except ValueError as error:  # an unusable model file: say so, keep the other runs
            columns[1 + 2 * i].error(f"{letter}: {error}")
            continue
        # The run's own recipe (input size, shape rule, TTA, threshold): the answers its evaluation gives.
        threshold = predictor.recipe.threshold
        prediction, pixels = predictor.predict_with_pixels(Path(row.path), name)
        for j, (target, p) in enumerate((("tom", prediction.p_tom), ("jerry", prediction.p_jerry))):
            heat = heatmap(run.path, pixels, target, plus_plus=method == "Grad-CAM++")
            # On the frame as it is, not the model's input (a squeezed square, or a smaller 16:9 copy).
            drawn, unseen = overlay_on_picture(rgb, heat, probability=p, threshold=threshold, fit=prediction.fit)
            columns[1 + 2 * i + j].image(
                drawn,
                width="stretch",
                caption=f"{letter} · {cam_caption(target, p, threshold)}" + (f" · {unseen}" if unseen else ""),
            )
if progress is not None:
    progress.empty()
