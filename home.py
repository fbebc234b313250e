"""Home: which data is in use, the latest results at a glance, and what to do next."""

import streamlit as st

from tomjerry import STUDY_BEST_BINARY_ACCURACY
from tomjerry.science.results import best_choice, headline
from ui import artifacts, fingerprint_in_use, runs_in_use, start_page

source, dataset = start_page(
    "Tom, Jerry, both or neither?",
    "Train, compare and explain CNNs on frames of the cartoon: two sigmoid outputs, tom and jerry.",
    tab="tomjerry",
    icon="🐱",
)
counts = dataset.counts()
runs = runs_in_use(source, dataset)

st.subheader("Dataset")
st.write(f"`{source.path}` — {'**demo data**' if source.is_demo else source.origin}")
# A row that wraps (not six columns, which a phone stacks one under another): on a 390 px screen
# the counts take two rows and the results stay near the top.
counts_row = st.container(horizontal=True, gap="medium")
counts_row.metric("images", f"{counts['images']:,}", width="content")
for name, value in counts["combinations"].items():
    counts_row.metric(name, f"{value:,}", width="content")
counts_row.metric("challenge frames", counts["challenges"], width="content")
if counts["problems"]["errors"]:
    st.warning(f"{counts['problems']['errors']} problem(s) leave images out: see the Data page's report.")
if source.is_demo:
    st.markdown("**Get the real frames** (5,478 images, needs Kaggle credentials):")
    st.code(".venv/bin/python -m tomjerry download\nexport TOMJERRY_DATA=<the path it prints>", language="bash")


def scores(result, setting=None):
    """One row of numbers for one split: exact match, binary accuracy, each labelled with its
    split; under each, its seeds and its interval (one run) or its range over the seeds."""
    if setting:
        st.caption(f"Best on the random split: **{setting}**")
    left, right, last = st.columns(3)
    for column, metric, title, value, ci in (
        (left, "exact_match_accuracy", "exact match", result.exact_match, result.exact_match_ci95),
        (right, "binary_accuracy", "binary accuracy", result.binary_accuracy, result.binary_accuracy_ci95),
    ):
        # "test": the reason above quotes the validation score that chose the setting, a near-equal number.
        column.metric(
            f"test {title} · {result.kind} split",
            f"{value:.2%}",
            help="Both labels right."
            if title == "exact match"
            else "Share of label decisions (two per frame) that are right: the study's metric.",
        )
        seeds = result.describe().split(", ", 1)[1]  # 'seed 42' or 'mean of 3 seeds (1, 2, 42)'
        spread = result.spread(metric)
        # Written at full contrast, not as a light caption: the seeds and the interval are what a
        # projected number needs beside it.
        if ci:
            over = f" over {result.groups} shot groups" if result.groups else ""
            column.markdown(f"{seeds}; 95 % interval {ci[0]:.1%} to {ci[1]:.1%}{over}")
        elif spread:
            column.markdown(f"{seeds}; from {spread[0]:.1%} to {spread[1]:.1%}")
        else:
            column.markdown(seeds)
    if result.scorings_text():
        # What reusing a test set costs (tomjerry.runs.ledger), said beside the number.
        st.caption(result.scorings_text()[0].upper() + result.scorings_text()[1:] + ".")
    return last


def beside_the_study(column, ours, help_text):
    """The study's best binary accuracy in `column`, and under it how ours (a Result on a random
    split) stands against it, in words: a green arrow on the study's number read as the study's
    figure rising, so the difference is said as ours against theirs, never as a delta."""
    column.metric("the study's best · random split", f"{STUDY_BEST_BINARY_ACCURACY:.2%}", help=help_text)
    points = (ours.binary_accuracy - STUDY_BEST_BINARY_ACCURACY) * 100
    if round(points, 2) == 0:
        column.markdown(f"Ours ({ours.binary_accuracy:.2%} binary) is level with the study's.")
    else:
        column.markdown(
            f"Ours ({ours.binary_accuracy:.2%} binary) is **{abs(points):.2f} points "
            f"{'above' if points > 0 else 'below'}** the study's."
        )


st.subheader("Results at a glance")
found = headline(runs)
if found is None:
    st.info(
        "No finished run yet. Start one on the **Train** page (the demo preset takes under a minute on the demo data)."
    )
else:
    # With "Runs from every dataset" on, the headline may come from another dataset than the one
    # in use (real frames while the demo set is loaded): it says so before any number.
    in_use = fingerprint_in_use(source, dataset)
    shown_runs = list(found.lead.runs) + (list(found.random.runs) if found.random is not None else [])
    elsewhere = sorted(
        {run.dataset.get("name") or "unknown" for run in shown_runs if run.dataset.get("fingerprint") != in_use}
    )
    if elsewhere:
        st.warning(
            f"These results come from runs on **{', '.join(elsewhere)}** data, not the "
            f"{'demo data' if source.is_demo else 'dataset'} in use: 'Runs from every dataset' is on in the sidebar."
        )
    where_from = f" · trained on {', '.join(elsewhere)} data" if elsewhere else ""
    st.write(f"Best setting (chosen on validation): **{found.setting}**{where_from}")
    chosen = best_choice(runs)
    # The setting was just named: the reason goes on from there (a different default is named).
    st.caption(f"Why: {chosen.why}." if chosen.setting == found.setting else f"Default of the pages: {chosen.reason}.")
    last = scores(found.lead)
    if found.untouched is not None:
        # The split no choice has seen: the honest estimate of the chosen setting on new shots.
        st.caption(
            f"On the **untouched** split (shots, seed {found.untouched.seeds[0]}): no preset, rule or model was chosen "
            "on it; each setting tried there was scored on it once (so its test set counts one scoring per "
            "setting), apart from every mean and table."
        )
        scores(found.untouched)
    if found.lead.kind == "random":
        beside_the_study(
            last,
            found.lead,
            "Tuned AlexNet with augmentation, binary accuracy on a random split: the same kind of split.",
        )
    else:
        leak = "none" if found.lead.kind == "shots" else "5-9 %"
        st.caption(
            f"The {found.lead.kind} split keeps "
            + ("whole shots" if found.lead.kind == "shots" else "runs of 50 consecutive frames")
            + f" on one side of train and test. Measured (`python -m tomjerry splits`), {leak} of its test "
            "frames have a near-duplicate in training, against 41-48 % on the random split: the closer to "
            "none, the more the score says about scenes the model never saw. Beside it, the random split "
            "(the study's), where neighbours straddle train and test and scores read higher."
        )
        if found.random is not None:
            last = scores(found.random, found.random_setting)
            beside_the_study(
                last,
                found.random,
                "Tuned AlexNet with augmentation, binary accuracy on a random split: compare it with "
                "the random-split number beside it.",
            )
    where = "from every dataset" if st.session_state.get("all_runs") else "on this dataset"
    st.caption(f"{len(runs)} run(s) {where} in `{artifacts()}`; {sum(run.finished for run in runs)} finished.")

st.subheader("What next")
st.markdown(
    "- **Data**: the label balance, the splits, samples, the challenge frames and the validation report.\n"
    "- **Train**: launch a run (base, tuned, augmented, or a preset such as best) and watch it live.\n"
    "- **Compare**: the study's tables rebuilt from your runs, learning curves, confusion matrices.\n"
    "- **Grad-CAM**: where each model looks for Tom and for Jerry.\n"
    "- **Predict**: drop in your own frames.\n"
    "- **Report**: the whole story as one HTML file for class.\n"
    "- **Video**: a whole clip classified, as a timeline of Tom and Jerry."
)
