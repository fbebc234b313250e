"""Train: launch a run in the background and watch it live; past runs below."""


import streamlit as st

from tomjerry import charts
from tomjerry.config import RunConfig
from tomjerry.model_specs import SPECS
from tomjerry.runs import states
from tomjerry.runs.folder import RunFolder, run_path
from tomjerry.runs.launcher import RunBusy, cancel, launch, launch_study, resume
from tomjerry.runs.status import read_status
from tomjerry.runs.study import PRESETS
from tomjerry.runs.table import runs_table
from ui import artifacts, dataset_source, demo_banner, load_dataset, runs_in_use

st.set_page_config(page_title="Train · tomjerry", layout="wide")
st.title("Train")
source = dataset_source()
demo_banner(source)
dataset = load_dataset(source)

with st.form("new_run"):
    st.subheader("New run")
    left, middle, right = st.columns(3)
    model = left.selectbox("Model", list(SPECS), index=list(SPECS).index("efficientnet_lite0"),
                           format_func=lambda name: f"{name} — {SPECS[name].description[:60]}")
    variant = middle.radio("Variant", ["base", "tuned", "augmented"], horizontal=True,
                           help="tuned: Keras Tuner random search over the learning rate; "
                                "augmented: the study's augmentation on training batches.")
    split = right.radio("Split", ["random", "blocked", "shots"], horizontal=True,
                        help="shots: whole shots on one side, sides stratified, gaps at the borders")
    left, middle, right, last = st.columns(4)
    epochs = left.number_input("Epochs", 1, 200, 3)
    image_size = middle.number_input("Image size", 32, 512, 96 if source.is_demo else 224, step=16)
    batch_size = right.number_input("Batch size", 1, 512, 32)
    learning_rate = last.select_slider("Learning rate", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], value=1e-3)
    left, middle, right, last = st.columns(4)
    max_trials = left.number_input("Tuning trials (tuned)", 1, 20, 3)
    fine_tune_from = middle.number_input("Fine-tune from block (EfficientNet; 16 = frozen)", 0, 16, 16)
    split_seed = right.number_input("Split seed", 0, 10_000, 42)
    patience = last.number_input("Early-stopping patience (0: off)", 0, 50, 3)
    submitted = st.form_submit_button("Launch", type="primary")

if submitted:
    try:
        config = RunConfig(
            model=model, variant=variant, augment=variant == "augmented", split=split, epochs=int(epochs),
            image_size=int(image_size), batch_size=int(batch_size), learning_rate=float(learning_rate),
            max_trials=int(max_trials), split_seed=int(split_seed), patience=int(patience),
            fine_tune_from=None if fine_tune_from >= 16 else int(fine_tune_from),
            tune_dropout=model == "inceptionv3" and variant == "tuned")
        if config.fine_tune_from is not None and config.learning_rate > 3e-4:
            st.warning("Fine-tuning a pretrained base above a 3e-4 learning rate can wreck its features "
                       "while the new head is still random (the lite0-best preset uses 3e-4).")
        run_dir = launch(config, source.path, artifacts())
        st.session_state["watch"] = run_dir.name
        st.success(f"Started {config.label()} as {run_dir.name}")
    except (ValueError, RunBusy) as error:
        st.error(str(error))

with st.expander("Run the study's grid (base, tuned, augmented for each model)"):
    preset = st.radio("Preset", list(PRESETS), format_func=lambda p: f"{p}: {PRESETS[p].description}")
    models = st.multiselect("Models", list(SPECS), default=["alexnet", "efficientnet_lite0"])
    if st.button("Start the study"):
        try:
            log = launch_study(preset, source.path, artifacts(), models)
            st.success(f"Study started; its runs appear below. Log: {log}")
        except (ValueError, RunBusy) as error:
            st.error(str(error))

st.subheader("Live view")
runs = runs_table(runs_in_use(source, dataset))
if runs.empty:
    st.info("No runs on this dataset yet: launch one above.")
    st.stop()
active = runs[runs.state.isin(states.ACTIVE)]
default = st.session_state.get("watch") or (active.run_id.iloc[0] if len(active) else runs.run_id.iloc[0])
choices = list(runs.run_id)
labels = dict(zip(runs.run_id, runs.label))
watched = st.selectbox("Run", choices, index=choices.index(default) if default in choices else 0,
                       format_func=lambda r: f"{labels[r]} · {r}")


@st.fragment(run_every=2)
def live(run_id):
    run_dir = run_path(run_id, artifacts())
    status = read_status(run_dir)
    state = status.get("state", "unknown")
    progress = float(status.get("progress") or 0)
    eta = status.get("eta_seconds")
    trial = f" · trial {status['trial']}/{status['trials']}" if status.get("trial") else ""
    text = (f"{state} · epoch {status.get('epoch', 0)}/{status.get('epochs', '?')}{trial}"
            + (f" · ETA {eta:.0f} s" if eta and state == states.RUNNING else ""))
    st.progress(min(progress, 1.0), text=text)
    if status.get("message"):
        st.info(status["message"])
    if status.get("error") and state not in (states.FINISHED, states.CANCELLED):
        st.error(status["error"])
    history = RunFolder(run_dir).read_history()
    if not history.empty:
        left, right = st.columns(2)
        left.plotly_chart(charts.train_val_curves(history, "loss"), width="stretch", key=f"loss{run_id}")
        right.plotly_chart(charts.train_val_curves(history, "binary_accuracy"), width="stretch", key=f"acc{run_id}")
    if state in states.ACTIVE:
        if st.button("Cancel this run", key=f"cancel{run_id}"):
            cancel(run_dir)
            st.rerun()
    elif state in states.RESUMABLE:
        if st.button("Resume this run", key=f"resume{run_id}",
                     help="Training continues after its last finished epoch; a tuning search with the trials it has."):
            try:
                resume(run_dir)
                st.rerun()
            except (ValueError, RunBusy) as error:
                st.error(str(error))
    elif state == states.FINISHED:
        st.success(f"Finished: test binary accuracy {status.get('test_binary_accuracy', 0):.2%}, "
                   f"exact match {status.get('test_exact_match', 0):.2%}. See Compare.")
        if st.session_state.get("finished_seen") != run_id:
            st.session_state["finished_seen"] = run_id
            st.cache_resource.clear()  # a new model: let the other pages load it fresh


live(watched)

st.subheader("All runs")
shown = runs[["label", "state", "dataset_name", "epoch", "epochs", "test_binary_accuracy", "test_exact_match",
              "created", "reference", "run_id", "error", "model_error"]]
st.dataframe(shown, width="stretch", hide_index=True, column_config={
    "label": "run", "state": "state", "dataset_name": "dataset", "epoch": "epoch", "epochs": "of",
    "test_binary_accuracy": st.column_config.NumberColumn("test binary accuracy", format="percent"),
    "test_exact_match": st.column_config.NumberColumn("test exact match", format="percent"),
    "created": "created", "reference": st.column_config.CheckboxColumn("shipped", help="Shipped reference result"),
    "run_id": "run id", "error": "why (failed or unreadable)",
    "model_error": "model file problem"})
