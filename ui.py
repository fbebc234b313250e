"""Streamlit helpers shared by the pages: the dataset picker and cached loaders. Logic stays in
the tomjerry package; this file only holds what needs streamlit."""

import copy
import dataclasses
import hashlib
import os
from pathlib import Path

import numpy as np
import streamlit as st

import serving
from tomjerry import quiet
from tomjerry.data.dataset import dataset_fingerprint, scan
from tomjerry.data.decoding import BadImage
from tomjerry.data.discovery import find_dataset
from tomjerry.inference.workers import Batcher, Worker, predict_batch
from tomjerry.lab.classroom import DATASET_ACTION
from tomjerry.runs.folder import RunFolder, artifacts_dir
from tomjerry.runs.record import read_runs
from tomjerry.runs.table import on_dataset
from tomjerry.science.results import COLUMNS

# The app's entry point for the package: TensorFlow's start-up lines filtered (tomjerry.quiet); importing
# tomjerry alone does not do it.
quiet.install()


def dataset_source():
    """The dataset in use: the path chosen in the sidebar, else the discovery order (demo last).
    Shows which one it is in the sidebar, and a banner for demo data. In class mode
    (tomjerry.lab.classroom) the audience types no folder: it sees the presenter's dataset (the
    folder the presenter chose, else the server's configured one)."""
    you = serving.role()
    serving.presenter_box(you)
    changed = False
    if you.may_pick_dataset:
        if you.class_mode and "data_path" not in st.session_state:
            # A presenter's new session (a reload, a second tab) starts from the class's dataset:
            # starting from the default reset what the whole audience sees.
            st.session_state["data_path"] = serving.CLASS_DATASET.get()
        chosen = st.session_state.get("data_path") or None
        with st.sidebar:
            typed = st.text_input(
                "Dataset folder",
                value=chosen or "",
                key="data_path_input",
                placeholder="auto: $TOMJERRY_DATA, data/, ../shared, kagglehub, demo",
                help="A folder with ground_truth.csv (the Kaggle layout).",
            )
            if typed.strip() != (chosen or ""):
                st.session_state["data_path"] = typed.strip() or None
                chosen = st.session_state["data_path"]
                changed = True
    else:
        chosen = serving.CLASS_DATASET.get()
        st.sidebar.caption(you.refusal(DATASET_ACTION))
    try:
        source = find_dataset(chosen)
        if chosen and source.origin == "argument":  # said as a user reads it, not as the discovery code names it
            source = dataclasses.replace(
                source, origin="chosen by the presenter" if you.class_mode else "typed in the sidebar"
            )
        if you.class_mode and you.presenter and changed:
            serving.CLASS_DATASET.set(chosen)  # what the audience sees from now on
    except ValueError as error:
        st.sidebar.error(str(error))
        try:  # the discovery order without the typed folder, then without $TOMJERRY_DATA too
            source = find_dataset() if chosen else find_dataset(use_environment=False)
        except ValueError:
            source = find_dataset(use_environment=False)
        where = "The folder typed in the sidebar" if chosen else "$TOMJERRY_DATA"
        st.warning(f"{where} holds no dataset, so this page shows {source.describe()} instead.")
    with st.sidebar:
        if source.is_demo:
            st.warning("**Demo data** (generated drawings, not the real frames)")
        else:
            st.caption(f"Dataset: `{source.path}` ({source.origin})")
    return source


@st.cache_data(show_spinner="Reading the dataset...")
def cached_scan(path: str, stamp: float):
    return scan(path)


def load_dataset(source):
    """The scanned dataset; a dataset that cannot be read at all stops the page with the reason."""
    csv = Path(source.path) / "ground_truth.csv"
    try:
        return cached_scan(str(source.path), csv.stat().st_mtime)
    except (ValueError, OSError) as error:
        st.error(f"This dataset cannot be read: {error}")
        st.caption("Fix the file, or pick another dataset folder in the sidebar.")
        st.stop()


def start_page(title: str, caption: str | None = None, tab: str | None = None, icon: str | None = None):
    """The opening every page shares, written once: the browser tab's title (`tab`, else
    "<title> · tomjerry"), the heading and its caption, the dataset in use (the sidebar picker),
    the demo-data banner, and the scanned dataset (one that cannot be read stops the page with the
    reason). Returns (source, dataset): the DataSource and its tomjerry.data.dataset.Dataset."""
    st.set_page_config(page_title=tab or f"{title} · tomjerry", page_icon=icon, layout="wide")
    serving.page_started()  # an upload limit another page set is withdrawn
    st.title(title)
    if caption:
        st.caption(caption)
    source = dataset_source()
    demo_banner(source)
    return source, load_dataset(source)


def demo_banner(source):
    if source.is_demo:
        st.info(
            "Showing **demo data**: generated cat and mouse drawings, not frames of the cartoon. "
            "Get the real dataset with `.venv/bin/python -m tomjerry download`."
        )


def _keep_compiled_kernels():
    """After every script run Streamlit calls `keras.backend.clear_session()` (script_runner.
    _clean_problem_modules, meant for apps that build a model per rerun). With TensorFlow 2 that
    also clears TensorFlow's kernel cache, so the first model call of every rerun compiled the
    cached model's kernels again: 0.5-0.7 s of the 1.4 s from an upload to its verdict (measured
    on Predict, Lite0 at 224 px, 2 cores). This app builds no model per rerun (models are cached
    below; training and tuning run in their own processes), so in the app's process the call
    is made to keep the kernels (what else it resets is Keras's layer-name counters, and Streamlit
    collects garbage after each run itself)."""
    import keras

    if getattr(keras.backend.clear_session, "_tomjerry_kept", False):
        return

    def keep(free_memory=True):
        """Streamlit's per-rerun clear_session, made a no-op in the app's process (see above)."""

    keep._tomjerry_kept = True
    keras.backend.clear_session = keep


def _model_key(run_dir) -> tuple[str, float]:
    """(the run's model file, its mtime): the key of everything cached from that model."""
    model_path = RunFolder(run_dir).model_path
    return str(model_path), model_path.stat().st_mtime


@st.cache_resource(show_spinner="Loading the model...", max_entries=6)
def cached_model(path: str, stamp: float):
    from tomjerry.inference.predict import load_model

    _keep_compiled_kernels()
    return load_model(path)


def load_model(run_dir):
    return cached_model(*_model_key(run_dir))


@st.cache_resource(
    show_spinner="Preparing the model for a whole clip (TensorFlow Lite, once per model)...", max_entries=3
)
def cached_video_model(path: str, stamp: float):
    from tomjerry.inference.lite_runtime import accelerated

    return accelerated(path, cached_model(path, stamp))


def load_video_model(run_dir):
    """(model, note): the run's model through TensorFlow Lite for the Video page (same answers,
    about twice as fast), or the Keras model with the reason where it cannot be converted."""
    return cached_video_model(*_model_key(run_dir))


@st.cache_resource(show_spinner="Loading the model...", max_entries=6)
def cached_predictor(path: str, model_stamp: float, recipe_stamp: float):
    """The run's Predictor, its forward passes through TensorFlow Lite where the conversion agrees
    with Keras (Predictor.accelerate: half the server's time per verdict; converted once per model
    file, about 10 s for Lite1, then read from the cache); `predictor.acceleration_note` says why not."""
    from tomjerry.inference.predict import Predictor

    predictor = Predictor.from_path(path, model=cached_model(str(RunFolder(path).model_path), model_stamp))
    predictor.acceleration_note = predictor.accelerate()
    return predictor


def _predictor_key(run_dir) -> tuple[str, float, float]:
    """(run folder, model file's mtime, recipe file's mtime): what a cached answer depends on."""
    model_path = RunFolder(run_dir).model_path
    stamp = model_path.stat().st_mtime if model_path.is_file() else 0.0
    recipe = RunFolder(run_dir).file(RunFolder.INFERENCE)
    return str(run_dir), stamp, recipe.stat().st_mtime if recipe.is_file() else 0.0


def load_predictor(run_dir):
    """The run's Predictor (model and inference recipe), cached until the model file changes.
    ValueError (UnreadableModelError, ModelContractError) for a model that cannot be used."""
    return cached_predictor(*_predictor_key(run_dir))


# Every session's verdicts through one batching thread, every Predict page's Grad-CAM maps through
# a process at a lower priority (tomjerry.inference.workers: why, and what was measured). The
# verdicts kept (256 pictures, about 45 MB of model inputs at 240 px) are also the pages' cache.
VERDICTS = Batcher("tomjerry-verdicts", predict_batch, max_batch=8, max_entries=256)
MAPS = Worker("tomjerry-gradcam", max_entries=128, nice=10, process=True)


def predict_uploads(run_dir, uploads) -> list:
    """For each (image bytes, name) of `uploads`, (Prediction, (h, w, 3) uint8 model input) through
    the run's Predictor, or the BadImage reading it raised. All are queued before any is waited
    for, so the pictures of one page (and of other sessions meanwhile) share a pass of the model;
    each answer is kept per run and picture, so a rerun (one more upload, the threshold slider)
    does not classify the pictures already shown again. Each Prediction is the session's own copy.
    ValueError as load_predictor."""
    key = _predictor_key(run_dir)
    predictor = cached_predictor(*key)  # load_predictor, with the key it would read again
    futures = [
        VERDICTS.submit((*key, hashlib.sha1(data).hexdigest(), name), (predictor, data, name)) for data, name in uploads
    ]
    found = []
    for future, (data, name) in zip(futures, uploads):
        try:
            prediction, pixels = future.result()
        except BadImage as error:
            found.append(error)
            continue
        serving.shown("verdict", name, len(data), pixels=pixels)
        found.append((copy.copy(prediction), pixels))
    return found


def queued_heatmaps(run_dir, pixels, plus_plus: bool = False):
    """(tom map, jerry map), each (h, w) float in [0, 1], of one (h, w, 3) uint8 model input, or
    None while they are being drawn: the maps of every session are computed one picture at a time
    in a low-priority worker process (MAPS; tomjerry.inference.workers says why), each picture once,
    and the page reruns by itself when its maps are ready, so no page run (and no verdict) waits
    for a map. Where the page cannot be rerun from the server (AppTest) they are drawn here."""
    from tomjerry.inference.workers import draw_maps

    path, stamp = _model_key(run_dir)
    if not serving.can_rerun():
        return tuple(heatmap(run_dir, pixels, label, plus_plus) for label in ("tom", "jerry"))
    key = (path, stamp, plus_plus, hashlib.sha1(pixels.tobytes()).hexdigest())
    future = MAPS.submit(key, draw_maps, path, stamp, plus_plus, np.ascontiguousarray(pixels))
    if not future.done():
        serving.rerun_when_done(future)
        return None
    maps = future.result()
    serving.shown("maps", pixels=pixels)
    return maps


PREVIEW_SIDE = 960  # px: wider than any column the pages draw a picture in


@st.cache_data(show_spinner=False, max_entries=256)
def upload_preview(data: bytes, name: str):
    """An upload as the page draws it: its decoded pixels (tomjerry.data.decoding, the decoder the
    model's input comes from), (H, W, 3) uint8 RGB at most PREVIEW_SIDE px a side. Never the raw
    bytes: st.image re-encodes those with Pillow, which cannot write some modes it reads (a 16-bit
    grey PNG raised "cannot write mode I;16 as JPEG"). BadImage as decode_image."""
    import cv2

    from tomjerry.data.decoding import decode_image

    rgb = decode_image(data, name)
    scale = PREVIEW_SIDE / max(rgb.shape[:2])
    if scale < 1:  # a 40-megapixel photo is drawn from a small copy, and cached small
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return rgb


@st.cache_resource(max_entries=6)
def cached_explainer(path: str, stamp: float, plus_plus: bool):
    from tomjerry.inference.explain import Explainer

    return Explainer(cached_model(path, stamp), plus_plus=plus_plus)


def load_explainer(run_dir, plus_plus=False):
    return cached_explainer(*_model_key(run_dir), plus_plus)


@st.cache_data(show_spinner=False, max_entries=512)
def cached_heatmap(path: str, stamp: float, plus_plus: bool, pixels, label: str):
    from tomjerry.data.images import to_float

    return cached_explainer(path, stamp, plus_plus).heatmaps(to_float(pixels[None]), label)[0]


def heatmap(run_dir, pixels, label: str, plus_plus: bool = False):
    """The run's Grad-CAM (or Grad-CAM++) map, (h, w) float in [0, 1], of one (h, w, 3) uint8 model
    input (the run's input shape, square or 16:9) for `label` ("tom" or "jerry"), cached per model and
    pixels: each map costs about 0.4 s on 2 cores, and without the cache every upload recomputed the
    maps of all earlier ones."""
    return cached_heatmap(*_model_key(run_dir), plus_plus, pixels, label)


def artifacts():
    return artifacts_dir(os.environ.get("TOMJERRY_ARTIFACTS"))


@st.cache_data(show_spinner=False)
def cached_fingerprint(path: str, stamp: float, _dataset) -> str:
    return dataset_fingerprint(_dataset.usable)


def fingerprint_in_use(source, dataset) -> str:
    """The fingerprint of the dataset in use: a run's predictions belong to these images only
    when its own dataset fingerprint is this one."""
    csv = Path(source.path) / "ground_truth.csv"
    return cached_fingerprint(str(source.path), csv.stat().st_mtime, dataset)


def _keep_all_runs():
    st.session_state["_all_runs"] = st.session_state["all_runs"]


def runs_in_use(source, dataset) -> list:
    """The runs made on the dataset in use (matched by fingerprint), or every run when the
    sidebar's toggle says so; the sidebar says how many are hidden."""
    fingerprint = fingerprint_in_use(source, dataset)
    # Streamlit forgets a widget's value when another page is shown; the choice is kept in a key of
    # its own and given back to the toggle on every page (Streamlit's multipage-widget pattern).
    st.session_state["all_runs"] = st.session_state.get("_all_runs", False)
    show_all = st.sidebar.toggle(
        "Runs from every dataset",
        key="all_runs",
        on_change=_keep_all_runs,
        help="Off: only runs trained on the dataset in use. On: every run "
        "in the artifacts folder, each with the dataset it was made on.",
    )
    runs = read_runs(artifacts())
    shown = on_dataset(runs, fingerprint, include_all=show_all)
    hidden = len(runs) - len(shown)
    if hidden:
        st.sidebar.caption(
            f"{hidden} run(s) made on other datasets (or unreadable) are hidden: 'Runs from every dataset' shows them."
        )
    return shown


def chart(figure, container=st, key=None):
    """A figure as it is built: theme=None keeps Streamlit's theme from restyling it, so it looks
    the same here as in the downloaded report (the figures carry their own template)."""
    container.plotly_chart(figure, theme=None, width="stretch", key=key)


COLUMN_KINDS = {
    # Shown as percent with one decimal (results_table multiplies by 100): "percent" would print
    # 88% beside 95.8%.
    "percent": lambda c: st.column_config.NumberColumn(c.title, help=c.help or None, format="%.1f%%", width=c.width),
    "f1": lambda c: st.column_config.NumberColumn(c.title, help=c.help or None, format="%.3f", width=c.width),
    "rate": lambda c: st.column_config.NumberColumn(c.title, help=c.help or None, format="%.0e", width=c.width),
    "seconds": lambda c: st.column_config.NumberColumn(c.title, help=c.help or None, format="%.0f", width=c.width),
    "number": lambda c: st.column_config.NumberColumn(c.title, help=c.help or None, width=c.width),
    "check": lambda c: st.column_config.CheckboxColumn(c.title, help=c.help or None, width=c.width),
    "text": lambda c: st.column_config.TextColumn(c.title, help=c.help or None, width=c.width),
}


def results_table(frame, columns):
    """`columns` of a results frame under their human titles and widths (tomjerry.science.results.COLUMNS,
    the same the report uses)."""
    columns = [c for c in columns if c in frame]
    shown = frame[columns].copy()
    for column in columns:
        if COLUMNS[column].kind == "percent":
            shown[column] = shown[column] * 100
        elif COLUMNS[column].kind == "text":
            shown[column] = shown[column].astype(object).where(shown[column].notna(), "")  # blank, not "None"
    # A number column with a gap (a run not scored yet) would print a literal "None": such a
    # column is shown as text, formatted as its kind would be, with the gap blank.
    written = {"percent": "{:.1f}%", "f1": "{:.3f}", "seconds": "{:.0f}", "number": "{:g}"}
    gapped = [c for c in columns if COLUMNS[c].kind in written and shown[c].isna().any()]
    for column in gapped:
        shown[column] = [
            "" if value is None or value != value else written[COLUMNS[column].kind].format(value)
            for value in shown[column]
        ]
    config = {}
    for column in columns:
        spec = COLUMNS[column]
        if spec.kind == "text" and (spec.width or 0) >= 250 and len(shown):
            # A name column as wide as its longest name (about 6 px a character), within reason.
            longest = int(shown[column].fillna("").astype(str).str.len().max())
            spec = dataclasses.replace(spec, width=min(max(spec.width, 6 * longest + 20), 420))
        config[column] = COLUMN_KINDS["text" if column in gapped else spec.kind](spec)
    st.dataframe(shown, width="stretch", hide_index=True, column_config=config)


def config_inputs(options, base, key: str, model_descriptions=None) -> dict:
    """One input per RunConfig option (tomjerry.config.options), starting at `base`'s values,
    laid out four to a row; returns {field name: value}. `key` prefixes every
    widget key (a new prefix starts the inputs afresh, e.g. when another preset is picked)."""
    values = {}
    # Row by row, four to a row (rows line up); check boxes after the inputs, being shorter.
    ordered = [o for o in options if o.kind != "bool"] + [o for o in options if o.kind == "bool"]
    for index, option in enumerate(ordered):
        if index % 4 == 0:
            columns = st.columns(4)
        where = columns[index % 4]
        value = getattr(base, option.name)
        common = {"help": option.help, "key": f"{key}.{option.name}"}
        if option.kind == "choice":
            choices = list(option.choices or option.suggest)
            if value not in choices:  # a split CSV path from a config: offered as it is
                choices.append(value)
            describe = (
                (lambda name: f"{name} — {model_descriptions[name]}")
                if (option.name == "model" and model_descriptions)
                else str
            )
            values[option.name] = where.selectbox(
                option.label, choices, index=choices.index(value), format_func=describe, **common
            )
        elif option.kind == "bool":
            values[option.name] = where.checkbox(option.label, value=bool(value), **common)
        elif option.kind in ("int", "float"):
            number = int if option.kind == "int" else float
            step = number(option.step or 1)
            values[option.name] = where.number_input(
                option.label,
                min_value=number(option.minimum),
                max_value=number(option.maximum),
                value=None if value is None else number(value),
                step=step,
                format="%d" if option.kind == "int" else "%g",
                placeholder="none" if option.optional else None,
                **common,
            )
        elif option.kind == "tags":
            text = where.text_input(option.label, value=", ".join(value), **common)
            values[option.name] = option.parse(text)
        elif option.kind == "scales":
            text = where.text_input(option.label, value=", ".join(f"{scale:g}" for scale in value), **common)
            try:
                values[option.name] = option.parse(text)
            except ValueError as error:  # kept as it was, and said why
                where.error(f"{error}; kept {', '.join(f'{scale:g}' for scale in value)}")
                values[option.name] = value
        else:
            values[option.name] = where.text_input(option.label, value=value or "", **common)
    return values


def pick_run(label, ids, names, key, container=st, **options):
    """A selectbox of run ids shown by their names. The browser answers with the shown name, and
    a name can change between reruns (the sidebar's toggle names datasets): a name no longer on
    offer falls back to the first run instead of failing."""
    choice = container.selectbox(
        label, ids, format_func=lambda run_id: names.get(run_id, str(run_id)), key=key, **options
    )
    return choice if choice in ids else ids[0]


def mark_untouched(names: dict, runs) -> dict:
    """run_id -> name as `names`, the untouched split's runs (Run.untouched: scored once, never chosen
    on) marked '(untouched split)': a picker that opened on one showed only 'shots 3', a split like any."""
    untouched = {run.run_id for run in runs if run.untouched}
    return {run_id: f"{name} (untouched split)" if run_id in untouched else name for run_id, name in names.items()}


def pick_runs(label, ids, names, key, default, container=st, **options) -> list:
    """The multiselect of pick_run; names no longer on offer are dropped."""
    chosen = container.multiselect(
        label, ids, default=default, key=key, format_func=lambda run_id: names.get(run_id, str(run_id)), **options
    )
    return [run_id for run_id in chosen if run_id in ids]


@st.cache_data(show_spinner="Testing the study's contrasts over shot groups...", max_entries=8)
def cached_answer(runs_state: str, _runs):
    from tomjerry.science.answer import answer

    return answer(_runs)


def what_the_runs_say(runs, container=st):
    """'What the runs say' (tomjerry.science.answer), where Compare and the Report open: a sentence per
    question, computed from the verdicts; the table of every model x contrast with its pooled
    difference, interval, group-level p and Holm's p; the model that leads; the study's own figures
    labelled with their split. Cached per set of runs (the coverage simulation takes seconds).
    Returns the Answer shown (tomjerry.science.answer.Answer)."""
    import pandas as pd

    from tomjerry.science.answer import split_question
    from tomjerry.science.results import best_choice, sorted_seeds, untouched_results, untouched_sentence

    state = ",".join(f"{run.run_id}:{run.state}" for run in runs)
    found = cached_answer(state, runs)
    container.subheader("What the runs say")
    if not found.contrasts:
        container.caption(
            "No study cells to compare yet: the answer needs a model's base, tuned and augmented runs tested on "
            "the same frames (`python -m tomjerry study`)."
        )
    for sentence in found.said:
        # The question in bold, its answer in plain text: a wall of bold read as one block on a projector.
        question, rest = split_question(sentence)
        container.markdown(f"**{question}** {rest}" if question else f"**{sentence}**")
    if found.contrasts:
        # Six short columns fit at 1280 px: the seeds each row rests on stay in the table (they differ
        # while a seed's grid is still running); an approximate interval is marked and explained
        # beneath, and how often each test set was scored goes to a line beneath.
        rows = []
        for c in found.contrasts:
            rows.append(
                {
                    "model": c.model,
                    "contrast": c.contrast,
                    "points [95 % interval]": f"{c.difference:+.1f} [{c.ci95[0]:+.1f}, {c.ci95[1]:+.1f}]"
                    + (" *" if c.approximate else ""),
                    "p: groups / Holm": f"{c.p_group:.2g} / {c.p_holm:.2g}",
                    # 'inconclusive: anywhere from a to b points' repeats the interval beside it: the
                    # table gives the verdict's word, the sentences above its range.
                    "verdict": c.verdict.split(":")[0],
                    "seeds (groups)": f"{', '.join(str(s) for s in c.seeds)} ({c.groups})",
                }
            )
        container.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        notes = []
        covered = sorted({f"{c.coverage:.0%}" for c in found.contrasts if c.approximate})
        if covered:
            notes.append(
                f"\\* approximate: a simulation with these rows' shot-group sizes covers {', '.join(covered)} "
                "for a nominal 95 % interval (93 % required)."
            )
        scored = {}
        for c in found.contrasts:
            scored.update({seed: count for seed, count in zip(c.seeds, c.test_set_scorings) if count})
        if scored:
            said = ", ".join(f"seed {seed} {scored[seed]} times" for seed in sorted_seeds(scored))
            notes.append(f"Test sets scored ({found.split} split): {said}.")
        if notes:
            container.markdown(" ".join(notes))
    if found.leader is not None:
        container.markdown(found.leader.sentence)
    for result in untouched_results(runs):  # scored once on a split no choice has seen
        container.markdown(untouched_sentence(result))
    container.caption(f"{found.method()} {found.study} Default model of the pages: {best_choice(runs).reason}.")
    return found


def default_model_reason(runs, container=st):
    """One caption under a model picker: which model the page picked by default and why
    (tomjerry.science.results.best_choice, the one 'best' of every page and command)."""
    from tomjerry.science.results import best_choice

    chosen = best_choice(runs)
    if chosen.run is not None:
        container.caption(f"Default: {chosen.reason}.")
