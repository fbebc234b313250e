"""Train: launch a run (from a preset or field by field) in the background and watch it live;
every run below."""

import streamlit as st

from serving import role
from tomjerry.config import (
    PRESET_DESCRIPTIONS,
    RUN_PRESETS,
    RunConfig,
    config_from_form,
    describe_changes,
    options,
    preset_changes,
    preset_minutes_text,
)
from tomjerry.data.decoding import size_text
from tomjerry.lab.classroom import RUN_ACTIONS
from tomjerry.lab.launcher import RunBusy, cancel, launch, launch_study, resume
from tomjerry.lab.study import PRESETS
from tomjerry.models.specs import SPECS
from tomjerry.runs import states
from tomjerry.runs.folder import RunFolder, run_path
from tomjerry.runs.record import read_run
from tomjerry.runs.status import progress_text, read_status, run_states
from tomjerry.runs.table import runs_table
from tomjerry.science import charts
from tomjerry.science.results import run_names
from ui import (
    artifacts,
    chart,
    config_inputs,
    fingerprint_in_use,
    mark_untouched,
    pick_run,
    results_table,
    runs_in_use,
    start_page,
)

source, dataset = start_page("Train")
you = role()  # in class mode only the presenter launches, cancels or resumes (tomjerry.lab.classroom)

st.subheader("New run")
if not you.may_run:
    st.caption(you.refusal(RUN_ACTIONS))
presets = ["", *RUN_PRESETS]
preset = st.selectbox(
    "Start from",
    presets,
    # What a class would start: the demo preset on the drawings, quick (minutes) on the real frames.
    index=presets.index("demo" if source.is_demo else "quick"),
    key="train_preset",
    format_func=lambda name: (
        f"{name}: {PRESET_DESCRIPTIONS[name]}"
        if name
        else "no preset: the defaults (AlexNet, 224 px, 10 epochs, as the study's base model)"
    ),
)
base = RUN_PRESETS[preset] if preset else RunConfig()
if preset:
    st.caption(
        f"**{preset}**: {PRESET_DESCRIPTIONS[preset]}. It sets {describe_changes(preset_changes(preset))}. "
        "Change any field below before launching (the "
        "run still records the preset it started from)."
    )
descriptions = {name: spec.description[:60] for name, spec in SPECS.items()}
with st.form("new_run"):
    # One input per RunConfig field (tomjerry.config.options, the list the command line is built
    # from too); a new preset starts every input afresh (the key names it).
    key = f"cfg.{preset or 'defaults'}"
    values = config_inputs([o for o in options("run", "form") if not o.advanced], base, key, descriptions)
    st.markdown("**Tuning** (the tuned variant only)")
    values.update(config_inputs(options("tuning"), base, key))
    with st.expander("More settings"):
        values.update(config_inputs([o for o in options("run", "form") if o.advanced], base, key))
    submitted = st.form_submit_button("Launch", type="primary", key="launch", disabled=not you.may_run)

if submitted and you.may_run:
    try:
        config = config_from_form(base, values)
        if config.fine_tune_from is not None and config.learning_rate > 3e-4:
            st.warning(
                "Fine-tuning a pretrained base above a 3e-4 learning rate can wreck its features "
                "while the new head is still random (the lite0-best preset uses 3e-4)."
            )
        run_dir = launch(config, source.path, artifacts(), dataset_fingerprint=fingerprint_in_use(source, dataset))
        st.session_state["watched_run"] = run_dir.name
        st.success(f"Started {read_run(run_dir).label()} as {run_dir.name}")
    except (ValueError, TypeError, RunBusy) as error:
        st.error(str(error))

with st.expander("Run the study's grid (base, tuned, augmented for each model)"):
    study_preset = st.radio(
        "Preset", list(PRESETS), format_func=lambda p: f"{p}: {PRESETS[p].description}", key="study_preset"
    )
    models = st.multiselect("Models", list(SPECS), default=["alexnet", "efficientnet_lite0"], key="study_models")
    if st.button("Start the study", key="start_study", disabled=not you.may_run) and you.may_run:
        try:
            log = launch_study(study_preset, source.path, artifacts(), models)
            st.success(f"Study started; its runs appear below. Log: {log}")
        except (ValueError, RunBusy) as error:
            st.error(str(error))

st.subheader("Live view")
records = runs_in_use(source, dataset)
# Distinct names (a repeated label gets its id's hash): the browser answers with the name. The
# untouched split's runs say so (the picker may open on one).
names = mark_untouched(run_names(records), records)
runs = runs_table(records)
runs["label"] = runs.run_id.map(names)
if runs.empty:
    st.info("No runs on this dataset yet: launch one above.")
    st.stop()
choices = list(runs.run_id)
active = runs[runs.state.isin(states.ACTIVE)]
if st.session_state.get("watched_run") not in choices:
    st.session_state["watched_run"] = active.run_id.iloc[0] if len(active) else choices[0]
watched = pick_run("Run", choices, names, "watched_run")
seen_states = run_states(artifacts())
# The live view refreshes itself only while a run is active: an idle page that reran every two
# seconds kept Streamlit's running indicator on for good.
any_active = any(state in states.ACTIVE for state in seen_states.values())


def duration_text(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def live(run_id):
    run_dir = run_path(run_id, artifacts())
    status = read_status(run_dir)
    state = status.get("state", "unknown")
    progress = float(status.get("progress") or 0)
    eta = status.get("eta_seconds")
    metrics = RunFolder(run_dir).read_metrics() if state == states.FINISHED else None
    text = progress_text(status, metrics)
    if state == states.RUNNING and eta and status.get("phase") == "training":
        text += f" · about {duration_text(eta)} of training left"
    st.progress(min(progress, 1.0), text=text)
    phase = status.get("phase")
    if state == states.RUNNING and phase:
        line = f"**Now:** {phase}"
        if phase == "training" and status.get("steps"):
            line += f", batch {status.get('batch', 0)} of {status['steps']} of this epoch"
        if phase == "training" and not eta:
            preset = read_run(run_dir).preset
            expected = preset_minutes_text(preset) if preset else ""
            line += ". The time left is measured once the first epoch is done" + (
                f"; this preset takes {expected}." if expected else "."
            )
        st.markdown(line)
    elif state in (states.QUEUED, states.WAITING):
        st.markdown(
            "**Now:** starting its process" if state == states.QUEUED else "**Now:** waiting for the run before it"
        )
    if state == states.CANCELLED:
        st.warning("Cancelled. Resume continues it after its last finished epoch.")
    elif status.get("message"):
        st.info(status["message"])
    if status.get("error") and state not in (states.FINISHED, states.CANCELLED):
        st.error(status["error"])
    history = RunFolder(run_dir).read_history()
    if not history.empty:
        left, right = st.columns(2)
        chart(charts.train_val_curves(history, "loss"), left, key=f"loss{run_id}")
        chart(charts.train_val_curves(history, "binary_accuracy"), right, key=f"acc{run_id}")
    if state in states.ACTIVE:
        if st.button("Cancel this run", key=f"cancel{run_id}", disabled=not you.may_run) and you.may_run:
            cancel(run_dir)
            st.rerun()
    elif state in states.RESUMABLE:
        if (
            st.button(
                "Resume this run",
                key=f"resume{run_id}",
                help="Training continues after its last finished epoch; a tuning search with the trials it has.",
                disabled=not you.may_run,
            )
            and you.may_run
        ):
            try:
                resume(run_dir)
                st.rerun()
            except (ValueError, RunBusy) as error:
                st.error(str(error))
    elif state == states.FINISHED:
        # A bare figure invites comparison across splits: say whose test frames (and at what size) it is.
        finished_run = read_run(run_dir)
        split = finished_run.split
        tested_on = f"{split.get('kind', 'its')} split" + (f" {split['seed']}" if split.get("seed") is not None else "")
        size = f", {size_text(finished_run.config.input_shape)}" if finished_run.config else ""
        st.success(
            f"Finished: on the test frames of the {tested_on}{size}, binary accuracy "
            f"{status.get('test_binary_accuracy', 0):.2%}, exact match {status.get('test_exact_match', 0):.2%}. "
            "Compare gives their 95 % intervals over shot groups and the paired tests."
        )
        if st.session_state.get("finished_seen") != run_id:
            st.session_state["finished_seen"] = run_id
            st.cache_resource.clear()  # a new model: let the other pages load it fresh
    if run_states(artifacts()) != seen_states:
        st.rerun()  # a run started, finished or stopped: the picker and the table below refresh too


st.fragment(live, run_every=2 if any_active else None)(watched)
if not any_active:
    st.caption("No run is active: this view refreshes itself while one is.")

st.subheader("All runs")
results_table(
    runs,
    [
        "label",
        "dataset_name",
        "progress",
        "test_binary_accuracy",
        "test_exact_match",
        "reference",
        "created",
        "run_id",
        "error",
        "model_error",
    ],
)
