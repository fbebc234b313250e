"""Predict: drop in frames (or use the camera) and see Tom, Jerry, both or neither."""

import streamlit as st

from tomjerry.explain import SCALE_CAPTION, cam_caption, colour_scale, overlay
from tomjerry.predict import BadImage, decode_upload, input_size, predict_arrays, prepare, Prediction
from tomjerry.results import model_choices
from ui import dataset_source, load_dataset, load_explainer, load_model, runs_in_use

st.set_page_config(page_title="Predict · tomjerry", layout="wide")
st.title("Predict")
source = dataset_source()
labels, best = model_choices(runs_in_use(source, load_dataset(source)))
if not labels:
    st.info("No trained model yet: train one on the Train page.")
    st.stop()
names = list(labels)
chosen = labels[st.selectbox("Model", names, index=names.index(best),
                             help="Default: the best finished run on validation (real-data models first).")]
suggested = float((chosen.metrics or {}).get("threshold_from_validation", 0.5))
left, right = st.columns(2)
threshold = left.slider("Decision threshold", 0.05, 0.95, suggested, 0.05,
                        help="A label is present when its probability reaches this. Default: chosen on validation.")
explain = right.toggle("Show Grad-CAM", value=True)
if explain:
    right.image(colour_scale(), width=320)
    right.caption(SCALE_CAPTION)

uploads = st.file_uploader("Frames (jpg, png, webp, gif, bmp)", type=["jpg", "jpeg", "png", "webp", "gif", "bmp"],
                           accept_multiple_files=True)
photo = st.camera_input("...or take a photo") if st.toggle("Use the camera") else None
files = list(uploads or []) + ([photo] if photo else [])
if not files:
    st.caption("Drop one or more images above.")
    st.stop()

model = load_model(chosen.path)
size = input_size(model)
for upload in files:
    st.divider()
    try:
        rgb = decode_upload(upload.getvalue(), upload.name)
    except BadImage as error:
        st.error(f"{error}. The other files are unaffected.")
        continue
    image = prepare(rgb, size)[None]
    p_tom, p_jerry = predict_arrays(model, image)[0]
    prediction = Prediction(float(p_tom), float(p_jerry), threshold)
    columns = st.columns([2, 1, 2, 2] if explain else [2, 1])
    columns[0].image(rgb, caption=upload.name, width="stretch")
    columns[1].metric("Verdict", prediction.verdict)
    columns[1].metric("p(tom)", f"{prediction.p_tom:.3f}")
    columns[1].metric("p(jerry)", f"{prediction.p_jerry:.3f}")
    if explain:
        explainer = load_explainer(chosen.path)
        for column, label, p in zip(columns[2:], ("tom", "jerry"), (prediction.p_tom, prediction.p_jerry)):
            column.image(overlay(image[0], explainer.heatmaps(image, label)[0], probability=p, threshold=threshold),
                         caption=f"Grad-CAM · {cam_caption(label, p, threshold)}", width="stretch")
