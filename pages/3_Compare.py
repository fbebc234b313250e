"""Compare: the study's tables rebuilt from run folders, learning curves, confusion matrices,
a decision-threshold slider and the mistakes."""

import streamlit as st

from tomjerry import STUDY_BEST_BINARY_ACCURACY, charts
from tomjerry.eda import sample
from tomjerry.results import (comparability, finished, metrics_at_threshold, misclassified, paired_comparison,
                              run_label, split_comparison)
from tomjerry.runs.folder import RunFolder
from tomjerry.runs.study import skipped_models, study_tables
from ui import artifacts, dataset_source, demo_banner, load_dataset, runs_in_use

st.set_page_config(page_title="Compare · tomjerry", layout="wide")
st.title("Compare")
source = dataset_source()
demo_banner(source)
dataset = load_dataset(source)
runs = finished(runs_in_use(source, dataset))
if not runs:
    st.info("No finished run yet: start one on the Train page, then come back.")
    st.stop()

table = study_tables(runs)
st.subheader("The study's tables, rebuilt from the run folders")
st.caption(f"Correct predictions counted as the study did (binary accuracy x test images), beside "
           f"exact-match accuracy (both labels right) and per-label F1. The study's best: "
           f"{STUDY_BEST_BINARY_ACCURACY:.2%} binary accuracy (tuned AlexNet with augmentation, random split).")
percent = st.column_config.NumberColumn(format="percent")
for variant, title in (("base", "Base models"), ("tuned", "Tuned (Keras Tuner)"), ("augmented", "Tuned with augmentation")):
    part = table[table.variant == variant]
    st.markdown(f"**{title}**")
    if part.empty:
        st.caption("no finished runs")
        continue
    st.dataframe(part.drop(columns=["variant"]), width="stretch", hide_index=True,
                 column_config={"binary_accuracy": percent, "exact_match": percent,
                                "f1_tom": st.column_config.NumberColumn(format="%.3f"),
                                "f1_jerry": st.column_config.NumberColumn(format="%.3f")})
for model, reason in skipped_models(artifacts()).items():
    st.warning(f"**{model} was not run**: {reason}")
st.plotly_chart(charts.accuracy_bars(table), width="stretch")

splits = split_comparison(runs)
if not splits.empty and set(splits.split) >= {"random", "blocked"}:
    st.subheader("Random split against blocked split")
    st.caption("A random split puts near-identical neighbouring frames on both sides of train and test, "
               "so it rewards memorising shots; the blocked split keeps each run of frames on one side "
               "and measures what a model does on scenes it has never seen.")
    st.dataframe(splits, width="stretch", hide_index=True,
                 column_config={c: percent for c in ("binary_accuracy", "exact_match", "exact_match_min", "exact_match_max")})

st.subheader("Learning curves")
labels = {run_label(r): r for r in runs}
picked = st.multiselect("Runs", list(labels), default=list(labels)[:4])
metric = st.radio("Metric", ["val_loss", "val_binary_accuracy", "loss", "binary_accuracy", "val_auc"], horizontal=True)
st.plotly_chart(charts.learning_curves({label: labels[label].folder.read_history() for label in picked}, metric),
                width="stretch")

st.subheader("One run in detail")
chosen = labels[st.selectbox("Run", list(labels))]
metrics = chosen.metrics or {}
threshold = st.slider("Decision threshold", 0.05, 0.95, 0.5, 0.05,
                      help=f"Chosen on validation for this run: {metrics.get('threshold_from_validation', 0.5)}")
st.caption(f"Moving the threshold **explores the test set**: choosing it here would tune on the test frames. "
           f"The official figures are at 0.5 and at the threshold chosen on validation "
           f"({metrics.get('threshold_from_validation', 0.5)}).")
scores = metrics_at_threshold(chosen, threshold)
test, challenge = scores["test"], scores["challenge"]
columns = st.columns(5)
columns[0].metric("binary accuracy", f"{test.get('binary_accuracy', 0):.2%}")
columns[1].metric("correct (study's count)", f"{test.get('correct_predictions', 0)} / {test.get('count', 0)}")
columns[2].metric("exact match", f"{test.get('exact_match_accuracy', 0):.2%}")
columns[3].metric("F1 tom / jerry", f"{test.get('labels', {}).get('tom', {}).get('f1', 0):.3f} / "
                                     f"{test.get('labels', {}).get('jerry', {}).get('f1', 0):.3f}")
columns[4].metric("challenge frames right", f"{challenge.get('exact_match_correct', 0)} / {challenge.get('count', 0)}",
                  help=f"{metrics.get('challenge_in_training', '?')} of them were in this run's training split.")
left, right = st.columns(2)
if "confusion_matrix" in test:
    left.plotly_chart(charts.confusion_heatmap(test["confusion_matrix"]["rows_true_columns_predicted"],
                                               "Test set (rows: truth, columns: predicted)"), width="stretch")
if "confusion_matrix" in challenge:
    right.plotly_chart(charts.confusion_heatmap(challenge["confusion_matrix"]["rows_true_columns_predicted"],
                                                "Challenge frames"), width="stretch")

st.markdown("**Misclassified test frames** (most confident mistakes first)")
wrong = misclassified(chosen, threshold)
if wrong.empty:
    st.success("No test frame is wrong at this threshold.")
else:
    rows = dataset.usable[dataset.usable.filename.isin(wrong.filename.head(12))]
    if rows.empty:
        st.dataframe(wrong.head(20), hide_index=True)
        st.caption("The images are not in the dataset in use, so only the table is shown.")
    else:
        probabilities = wrong.set_index("filename")
        rows, images = sample(rows, None, count=12)
        st.image(images, width=160, caption=[
            f"{r.filename} · truth {r.combination} · p_tom {probabilities.p_tom[r.filename]:.2f} "
            f"p_jerry {probabilities.p_jerry[r.filename]:.2f}" for r in rows.itertuples()])

left, right = st.columns(2)
if chosen.has_model:
    # A callable: the (possibly 250 MB) file is read only when the button is clicked.
    left.download_button("Download model (.keras)", chosen.folder.model_path.read_bytes,
                         file_name=f"{chosen.run_id}.keras", mime="application/octet-stream")
right.download_button("Download metrics (.json)", chosen.folder.file(RunFolder.METRICS).read_bytes,
                      file_name=f"{chosen.run_id}-metrics.json", mime="application/json")

st.subheader("Two runs, paired")
st.caption("The same test frames scored by both runs: the difference with its 95 % interval (a bootstrap "
           "over shots, so near-copy frames count once) and an exact McNemar test on exact match. Runs "
           "tested on different frames are never compared.")
left, right = st.columns(2)
first = labels[left.selectbox("Run A", list(labels), key="paired_a")]
second = labels[right.selectbox("Run B", list(labels), index=min(1, len(labels) - 1), key="paired_b")]
reason = comparability(first, second) if first.run_id != second.run_id else "pick two different runs"
if reason:
    st.info(f"Not compared: {reason}.")
else:
    paired = paired_comparison(first, second)
    exact, binary = paired["exact_match_difference"], paired["binary_accuracy_difference"]
    mcnemar = paired["mcnemar_exact_match"]
    columns = st.columns(3)
    columns[0].metric("exact match, A − B", f"{exact['difference'] * 100:+.1f} pts",
                      help=f"95 % interval {exact['low'] * 100:+.1f} to {exact['high'] * 100:+.1f} points")
    columns[0].caption(f"95 % interval {exact['low'] * 100:+.1f} to {exact['high'] * 100:+.1f} points")
    columns[1].metric("binary accuracy, A − B", f"{binary['difference'] * 100:+.1f} pts")
    columns[1].caption(f"95 % interval {binary['low'] * 100:+.1f} to {binary['high'] * 100:+.1f} points")
    columns[2].metric("McNemar p (exact match)", f"{mcnemar['p_value']:.2g}")
    columns[2].caption(f"A right where B is wrong: {mcnemar['a_only']} frames; B right where A is wrong: "
                       f"{mcnemar['b_only']}")
    verdict = "differ" if paired["significant"] else "do not differ measurably"
    st.markdown(f"On these {paired['frames']} test frames the two runs **{verdict}** in exact match "
                f"(the interval {'excludes' if paired['significant'] else 'includes'} zero).")
