"""Streamlit helpers shared by the pages: the dataset picker and cached loaders. Logic stays in
the tomjerry package; this file only holds what needs streamlit."""

import os
from pathlib import Path

import streamlit as st

from tomjerry.dataset import scan
from tomjerry.discovery import find_dataset
from tomjerry.runs.folder import RunFolder, artifacts_dir
from tomjerry.runs.provenance import dataset_fingerprint
from tomjerry.runs.record import read_runs
from tomjerry.runs.table import on_dataset


def dataset_source():
    """The dataset in use: the path chosen in the sidebar, else the discovery order (demo last).
    Shows which one it is in the sidebar, and a banner for demo data."""
    chosen = st.session_state.get("data_path") or None
    with st.sidebar:
        typed = st.text_input("Dataset folder", value=chosen or "", key="data_path_input",
                              placeholder="auto: $TOMJERRY_DATA, data/, ../shared, kagglehub, demo",
                              help="A folder with ground_truth.csv (the Kaggle layout).")
        if typed.strip() != (chosen or ""):
            st.session_state["data_path"] = typed.strip() or None
            chosen = st.session_state["data_path"]
    try:
        source = find_dataset(chosen)
    except ValueError as error:
        st.sidebar.error(str(error))
        source = find_dataset()
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


def demo_banner(source):
    if source.is_demo:
        st.info("Showing **demo data**: generated cat and mouse drawings, not frames of the cartoon. "
                "Get the real dataset with `python -m tomjerry download`.")


@st.cache_resource(show_spinner="Loading the model...", max_entries=6)
def cached_model(path: str, stamp: float):
    from tomjerry.predict import load_model

    return load_model(path)


def load_model(run_dir):
    model_path = RunFolder(run_dir).model_path
    return cached_model(str(model_path), model_path.stat().st_mtime)


@st.cache_resource(show_spinner="Loading the model...", max_entries=6)
def cached_predictor(path: str, model_stamp: float, recipe_stamp: float):
    from tomjerry.predict import Predictor

    return Predictor.from_path(path, model=cached_model(str(RunFolder(path).model_path), model_stamp))


def load_predictor(run_dir):
    """The run's Predictor (model and inference recipe), cached until the model file changes.
    ValueError (UnreadableModelError, ModelContractError) for a model that cannot be used."""
    model_path = RunFolder(run_dir).model_path
    stamp = model_path.stat().st_mtime if model_path.is_file() else 0.0
    recipe = RunFolder(run_dir).file(RunFolder.INFERENCE)
    return cached_predictor(str(run_dir), stamp, recipe.stat().st_mtime if recipe.is_file() else 0.0)


@st.cache_resource(max_entries=6)
def cached_explainer(path: str, stamp: float, plus_plus: bool):
    from tomjerry.explain import Explainer

    return Explainer(cached_model(path, stamp), plus_plus=plus_plus)


def load_explainer(run_dir, plus_plus=False):
    model_path = RunFolder(run_dir).model_path
    return cached_explainer(str(model_path), model_path.stat().st_mtime, plus_plus)


def artifacts():
    return artifacts_dir(os.environ.get("TOMJERRY_ARTIFACTS"))


@st.cache_data(show_spinner=False)
def cached_fingerprint(path: str, stamp: float, _dataset) -> str:
    return dataset_fingerprint(_dataset.usable)


def runs_in_use(source, dataset) -> list:
    """The runs made on the dataset in use (matched by fingerprint), or every run when the
    sidebar's toggle says so; the sidebar says how many are hidden."""
    csv = Path(source.path) / "ground_truth.csv"
    fingerprint = cached_fingerprint(str(source.path), csv.stat().st_mtime, dataset)
    show_all = st.sidebar.toggle("Runs from every dataset", key="all_runs",
                                 help="Off: only runs trained on the dataset in use. On: every run "
                                      "in the artifacts folder, each with the dataset it was made on.")
    runs = read_runs(artifacts())
    shown = on_dataset(runs, fingerprint, include_all=show_all)
    hidden = len(runs) - len(shown)
    if hidden:
        st.sidebar.caption(f"{hidden} run(s) made on other datasets (or unreadable) are hidden.")
    return shown
