"""Home: which data is in use, the latest results at a glance, and what to do next."""

import streamlit as st

from tomjerry import STUDY_BEST_BINARY_ACCURACY
from tomjerry.results import best_run, run_label
from ui import artifacts, dataset_source, demo_banner, load_dataset, runs_in_use

st.set_page_config(page_title="tomjerry", page_icon="🐱", layout="wide")
st.title("Tom, Jerry, both or neither?")
st.caption("Train, compare and explain CNNs on frames of the cartoon: two sigmoid outputs, tom and jerry.")

source = dataset_source()
demo_banner(source)
dataset = load_dataset(source)
counts = dataset.counts()
runs = runs_in_use(source, dataset)

st.subheader("Dataset")
st.write(f"`{source.path}` — {'**demo data**' if source.is_demo else source.origin}")
columns = st.columns(6)
columns[0].metric("images", f"{counts['images']:,}")
for column, (name, value) in zip(columns[1:5], counts["combinations"].items()):
    column.metric(name, f"{value:,}")
columns[5].metric("challenge frames", counts["challenges"])
if counts["problems"]["errors"]:
    st.warning(f"{counts['problems']['errors']} problem(s) leave images out: see the Data page's report.")
if source.is_demo:
    st.markdown("**Get the real frames** (5,478 images, needs Kaggle credentials):")
    st.code("python -m tomjerry download\nexport TOMJERRY_DATA=<the path it prints>", language="bash")

st.subheader("Results at a glance")
best = best_run(runs)
if best is None:
    st.info("No finished run yet. Start one on the **Train** page (a tiny EfficientNet-Lite0 run "
            "takes under a minute on the demo data).")
else:
    test = best.test
    st.write(f"Best model (chosen on validation): **{run_label(best)}**")
    left, middle, right = st.columns(3)
    left.metric("test binary accuracy", f"{test.get('binary_accuracy', 0):.2%}",
                f"{(test.get('binary_accuracy', 0) - STUDY_BEST_BINARY_ACCURACY) * 100:+.2f} pts vs the study")
    middle.metric("test exact-match accuracy", f"{test.get('exact_match_accuracy', 0):.2%}",
                  help="Both labels right: the honest number for a 4-way answer.")
    right.metric("the study's best (binary)", f"{STUDY_BEST_BINARY_ACCURACY:.2%}",
                 help="Tuned AlexNet with augmentation, random split.")
    st.caption(f"{len(runs)} run(s) on this dataset in `{artifacts()}`; "
               f"{sum(run.finished for run in runs)} finished.")

st.subheader("What next")
st.markdown(
    "- **Data**: the label balance, the splits, samples, the challenge frames and the validation report.\n"
    "- **Train**: launch a run (base, tuned or augmented) and watch it live.\n"
    "- **Compare**: the study's tables rebuilt from your runs, learning curves, confusion matrices.\n"
    "- **Grad-CAM**: where each model looks for Tom and for Jerry.\n"
    "- **Predict**: drop in your own frames.\n"
    "- **Report**: the whole story as one HTML file for class.\n"
    "- **Video**: a whole clip classified, as a timeline of Tom and Jerry."
)
