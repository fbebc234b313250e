"""Compare: the study's tables rebuilt from run folders, work beyond the study, learning curves,
confusion matrices, a decision-threshold slider and the mistakes."""

import streamlit as st

from tomjerry import STUDY_BEST_BINARY_ACCURACY
from tomjerry.data.eda import frames_of
from tomjerry.runs.folder import RunFolder
from tomjerry.science import charts
from tomjerry.science.beyond import (
    LEVER_NOTE,
    SPLIT_TITLES,
    SUMMARY_COLUMNS,
    curve_defaults,
    interval_label,
    lever_steps,
    preset_summary,
    split_kinds,
    summary_note,
)
from tomjerry.science.results import (
    best_choice,
    comparability,
    finished,
    made_on,
    metrics_at_threshold,
    misclassified,
    paired_comparison,
    run_names,
    split_comparison,
)
from tomjerry.science.study_tables import (
    STUDY_VARIANTS,
    beyond_study,
    challenge_note,
    missing_cells,
    shipped_note,
    short_reason,
    skipped_models,
    study_cells,
    study_splits,
    study_tables,
)
from ui import (
    artifacts,
    chart,
    fingerprint_in_use,
    pick_run,
    pick_runs,
    results_table,
    runs_in_use,
    start_page,
    what_the_runs_say,
)

# The "correct" column's half frames, said where the column is shown (its title's help says it too).
HALF_FRAMES = (
    "**correct** is the study's count: binary accuracy x test frames. Binary accuracy averages a frame's "
    "two labels (tom, jerry), so a frame with one of its two labels right counts as half (hence counts "
    "ending in .5)."
)

source, dataset = start_page("Compare")
every_run = runs_in_use(source, dataset)
runs = finished(every_run)  # the untouched split's runs left out of every table (results.finished)
if not runs:
    st.info("No finished run yet: start one on the Train page, then come back.")
    st.stop()
names = run_names(runs)
table = study_tables(runs)
found = what_the_runs_say(every_run)  # says the untouched split's scores apart

st.subheader("The study's tables, rebuilt from the run folders")
st.caption(
    f"The study's grid: each model as a base model, tuned (Keras Tuner), and tuned with augmentation, all "
    f"on one split. Binary accuracy is the study's metric; exact match (both labels right) is the honest "
    f"one for a four-way answer. The study's best: {STUDY_BEST_BINARY_ACCURACY:.2%} binary accuracy (tuned "
    f"AlexNet with augmentation, random split). Hover a column title for what it means."
)
cells = study_cells(table)
if cells.empty:
    st.caption("No study cell has finished yet (runs started from a preset are listed under Beyond the study).")
else:
    split = st.selectbox(
        "Split",
        study_splits(table),
        key="study_split",
        help="The study compares its cells on one shared split. random: frames drawn at random "
        "(the study's); blocked: runs of consecutive frames kept on one side; shots: whole "
        "shots kept on one side. The number is the split's seed.",
    )
    on_split = cells[cells.split == split]
    if missing := missing_cells(cells, split):
        st.info(f"This split's grid is not complete: {missing}.")
    if pooled_apart := found.table_note(split):  # the table's vs_base is this split's, the answer's pooled
        st.caption(pooled_apart)
    st.caption(f"{challenge_note(on_split)} {shipped_note(on_split)}")
    st.caption(HALF_FRAMES)
    for variant, title in STUDY_VARIANTS.items():
        part = on_split[on_split.variant == variant]
        st.markdown(f"**{title}**")
        if part.empty:
            st.caption("no finished run on this split")
            continue
        # The model only (the table is one variant on one split): the columns fit 1280 px; F1 per label,
        # challenge frames and time are in the report and each run's metrics. The learning rate stays:
        # a tuned cell that kept its base's rate is a re-run, which the table should let a class see.
        results_table(
            part,
            ["model", "exact_match", "exact_match_ci95", "binary_accuracy", "correct", "vs_base", "learning_rate"],
        )
    chart(charts.accuracy_bars(on_split, f"Test accuracy: the study's cells ({split} split)"))
for model, reason in skipped_models(artifacts()).items():
    st.info(f"**{model} was not run**: {short_reason(reason)}.")
    with st.expander(f"Why {model} was not run, and how to run it"):
        st.markdown(reason)

beyond = beyond_study(table)
if len(beyond):
    st.subheader("Beyond the study")
    summary = preset_summary(runs)
    st.markdown(
        "Runs started from a named preset (lite0-best, quick, ...): not cells of the study's grid. "
        f"{summary_note(summary)} {shipped_note(beyond)}"
    )
    for kind in split_kinds(summary):
        st.markdown(f"**{SPLIT_TITLES.get(kind, kind)}**")
        # Without the training time (the report and the README give it): with the long setting names
        # the table was wider than the page at 1280 px and cut binary accuracy off.
        results_table(summary[summary.split == kind], [c for c in SUMMARY_COLUMNS if c != "seconds"])
    chart(charts.preset_bars(summary), key="preset_bars")
    steps = lever_steps(runs)
    if steps:
        st.markdown("**What each step adds** (exact match, paired on the same test frames)")
        st.markdown("\n".join(f"- {step.sentence()}" for step in steps))
        st.caption(LEVER_NOTE)

comparison = split_comparison(runs)
if not comparison.empty:
    st.subheader("One setting on several splits")
    st.caption(
        "A random split puts near-identical neighbouring frames on both sides of train and test (measured: "
        "41-48 % of its test frames have a near-duplicate in training), so it rewards memorising shots; a "
        "blocked split keeps runs of 50 frames on one side (5-9 % still do), a shots split whole shots (none "
        "do): the closer to none, the more a score says about scenes the model never saw."
    )
    results_table(
        comparison,
        [
            "setting",
            "split",
            "seeds",
            "runs",
            "binary_accuracy",
            "exact_match",
            "exact_match_min",
            "exact_match_max",
            "test_set_scorings",
        ],
    )

st.subheader("Learning curves")
ids = [run.run_id for run in runs]
by_id = {run.run_id: run for run in runs}
# The browser sends a picker's choice back by its shown name, and names change with the set of
# runs shown (the sidebar's toggle names datasets): a new set of runs starts the pickers afresh.
fresh = f"{len(ids)}"
# The default: runs of the best run's image size only (its setting first), so curves drawn
# together were trained alike.
picked = pick_runs("Runs", ids, names, f"curve_runs.{fresh}", default=curve_defaults(runs))
metric = st.radio(
    "Metric",
    list(charts.METRIC_NAMES),
    format_func=charts.METRIC_NAMES.get,
    horizontal=True,
    key="curve_metric",
)
chart(charts.learning_curves({names[run_id]: by_id[run_id].folder.read_history() for run_id in picked}, metric))

st.subheader("One run in detail")
# The run every page and command defaults to (best_choice: chosen on validation, a run with a
# model); with no model anywhere, the same rule over every finished run.
default = best_choice(runs)
if default.run is None:
    default = best_choice(runs, with_model=False)
chosen = by_id[
    pick_run(
        "Run",
        ids,
        names,
        f"detail_run.{fresh}",
        index=ids.index(default.run.run_id) if default.run and default.run.run_id in ids else 0,
    )
]
if default.run is not None:
    st.caption(f"Default: **{names[default.run.run_id]}**, the run every page uses: {default.why}.")
metrics = chosen.metrics or {}
threshold = st.slider(
    "Decision threshold",
    0.05,
    0.95,
    0.5,
    0.05,
    key="threshold",
    help=f"A label is present when its probability reaches this. Chosen on validation for this "
    f"run: {metrics.get('threshold_from_validation', 0.5)}",
)
st.caption(
    f"Moving the threshold **explores the test set**: choosing it here would tune on the test frames. "
    f"The official figures are at 0.5 and at the threshold chosen on validation "
    f"({metrics.get('threshold_from_validation', 0.5)})."
)
scores = metrics_at_threshold(chosen, threshold)
test, challenge = scores["test"], scores["challenge"]
labels = test.get("labels", {})
st.markdown(f"**{names[chosen.run_id]}**: {test.get('count', 0)} test frames at threshold {threshold:.2f}.")
columns = st.columns(3)
columns[0].metric(
    "binary accuracy",
    f"{test.get('binary_accuracy', 0):.2%}",
    help=test.get("interval", "No interval: this run's predictions do not record shots."),
)
columns[0].markdown(f"95 % interval {interval_label(test.get('binary_accuracy_ci95'))}")
columns[1].metric(
    "exact match", f"{test.get('exact_match_accuracy', 0):.2%}", help="Both labels right. " + test.get("interval", "")
)
columns[1].markdown(f"95 % interval {interval_label(test.get('exact_match_ci95'))}")
columns[2].metric(
    "correct (the study's count)",
    f"{test.get('correct_predictions', 0):g} / {test.get('count', 0)}",
    help="Binary accuracy x test frames, as the study counted: it averages the two labels, so a "
    "frame with one label right counts as half.",
)
columns = st.columns(3)
columns[0].metric("F1 tom", f"{labels.get('tom', {}).get('f1', 0):.3f}")
columns[1].metric("F1 jerry", f"{labels.get('jerry', {}).get('f1', 0):.3f}")
columns[2].metric(
    "challenge frames right",
    f"{challenge.get('exact_match_correct', 0)} / {challenge.get('count', 0)}",
    help=f"{metrics.get('challenge_in_training', '?')} of them were in this run's training split.",
)
left, right = st.columns(2)
if "confusion_matrix" in test:
    chart(
        charts.confusion_heatmap(
            test["confusion_matrix"]["rows_true_columns_predicted"], "Test set (rows: truth, columns: predicted)"
        ),
        left,
    )
if "confusion_matrix" in challenge:
    chart(
        charts.confusion_heatmap(challenge["confusion_matrix"]["rows_true_columns_predicted"], "Challenge frames"),
        right,
    )

st.markdown("**Misclassified test frames** (most confident mistakes first)")
wrong = misclassified(chosen, threshold)
if wrong.empty:
    st.success("No test frame is wrong at this threshold.")
elif made_on(chosen, fingerprint_in_use(source, dataset)):
    rows, images = frames_of(wrong.filename.head(12), dataset.usable)
    called = wrong.set_index("filename")
    left_out = len(wrong) - len(rows)
    st.markdown(
        f"{len(wrong)} of {test.get('count', 0)} test frames are wrong at this threshold: the {len(rows)} most "
        "confident mistakes are shown" + (f", {left_out} more are not." if left_out else ".")
    )
    st.image(
        images,  # the frames as they are (their own shape), not the model's input
        width=250,  # three to a row at 1280 px: at their own width, twelve frames stacked 2,500 px tall
        caption=[
            f"{r.filename} · truth {r.combination}, called {called.predicted[r.filename]} · "
            f"p(tom) {called.p_tom[r.filename]:.2f}, p(jerry) {called.p_jerry[r.filename]:.2f}"
            for r in rows.itertuples()
        ],
    )
else:
    results_table(wrong.head(20), ["filename", "tom", "jerry", "predicted", "p_tom", "p_jerry", "confidence"])
    if len(wrong) > 20:
        st.markdown(f"The 20 most confident of {len(wrong)} wrong test frames; {len(wrong) - 20} more are not listed.")
    st.caption(
        f"This run was made on other data ({chosen.dataset.get('name')}), not the dataset in use, so its "
        "frames are not shown: file names repeat across datasets and would show other pictures."
    )

left, right = st.columns(2)
# Bytes, not a callable: a callable's file is registered anew on every rerun, and a click after
# the slider moved asked for the old one ("Deferred file ... not found").
right.download_button(
    "Download metrics (.json)",
    chosen.folder.file(RunFolder.METRICS).read_bytes(),
    file_name=f"{chosen.run_id}-metrics.json",
    mime="application/json",
    on_click="ignore",
    key="download_metrics",
)
if chosen.has_model:
    # The model can be hundreds of MB: read only after a click, and offered while this run stays chosen.
    if st.session_state.get("model_download") != chosen.run_id:
        if left.button("Prepare the model download (.keras)", key="prepare_model"):
            st.session_state["model_download"] = chosen.run_id
            st.rerun()
    else:
        left.download_button(
            "Download model (.keras)",
            chosen.folder.model_path.read_bytes(),
            file_name=f"{chosen.run_id}.keras",
            mime="application/octet-stream",
            on_click="ignore",
            key="download_model",
        )

st.subheader("Two runs, paired")
st.caption(
    "The same test frames scored by both runs: the difference with its 95 % interval (a bootstrap "
    "over linked shot groups, so near-copy frames count once) and a sign-flip test over the same groups on "
    "exact match. Runs "
    "tested on different frames are never compared."
)
left, right = st.columns(2)
by_id = {run.run_id: run for run in runs}
ids = list(by_id)
first = by_id[left.selectbox("Run A", ids, index=ids.index(chosen.run_id), format_func=names.get, key="paired_a")]
# Run B defaults to a run tested on the same frames as A, when there is one.
comparable = [run_id for run_id in ids if run_id != first.run_id and comparability(first, by_id[run_id]) is None]
default_b = ids.index(comparable[0]) if comparable else min(1, len(ids) - 1)
second = by_id[right.selectbox("Run B", ids, index=default_b, format_func=names.get, key="paired_b")]
reason = comparability(first, second) if first.run_id != second.run_id else "pick two different runs"
if reason:
    st.info(f"Not compared: {reason}.")
else:
    paired = paired_comparison(first, second)
    exact, binary = paired["exact_match_difference"], paired["binary_accuracy_difference"]
    group_test = paired["group_test"]
    columns = st.columns(3)
    columns[0].metric(
        "exact match, A − B",
        f"{exact['difference'] * 100:+.1f} pts",
        help=f"95 % interval {exact['low'] * 100:+.1f} to {exact['high'] * 100:+.1f} points",
    )
    columns[0].caption(f"95 % interval {exact['low'] * 100:+.1f} to {exact['high'] * 100:+.1f} points")
    columns[1].metric("binary accuracy, A − B", f"{binary['difference'] * 100:+.1f} pts")
    columns[1].caption(f"95 % interval {binary['low'] * 100:+.1f} to {binary['high'] * 100:+.1f} points")
    columns[2].metric(
        "p over shot groups (exact match)",
        f"{group_test['p_value']:.2g}",
        help=f"{group_test['method']}: the frames of a shot move together, so the shot group is the unit.",
    )
    columns[2].caption(
        f"A right where B is wrong: {group_test['a_only']} frames; B right where A is wrong: "
        f"{group_test['b_only']}; in {group_test['discordant_groups']} of {group_test['groups']} shot groups "
        "the two differ"
    )
    verdict = "differ" if paired["significant"] else "do not differ measurably"
    st.markdown(
        f"On these {paired['frames']} test frames the two runs **{verdict}** in exact match "
        f"(the interval {'excludes' if paired['significant'] else 'includes'} zero)."
    )
