"""Shipping finished runs as the reference results a fresh clone shows."""

import shutil
from pathlib import Path

from tomjerry.atomic import copy_into_place, write_text
from tomjerry.runs import states
from tomjerry.runs.folder import RunFolder, run_path
from tomjerry.runs.status import read_status

# Files that stay behind: the model unless asked, the log, locks, resumable training state.
LEFT_BEHIND = (RunFolder.MODEL, RunFolder.LOG, RunFolder.STATUS_LOCK, RunFolder.BEST_WEIGHTS)
# Only the model reads the novelty reference (features of its own layers): without it, 1.6 MB of nothing.
WITH_THE_MODEL = (RunFolder.NOVELTY,)


def ship_reference(run_dir, artifacts=None, keep_model: bool = False) -> Path:
    """Copy a finished run into <artifacts>/runs/ref-<run_id>/ as shipped reference results:
    every table file, no tuner checkpoints, and the model only when asked (re-saved without the
    optimizer's state, which halves its size). ValueError for a path that is not a folder or a run
    that is not finished."""
    import keras  # only to re-save a model

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"no run folder at {run_dir}")
    status = read_status(run_dir)
    if status.get("state") != states.FINISHED:
        raise ValueError(f"run {run_dir.name} is {status.get('state')}, not finished")
    name = run_dir.name if run_dir.name.startswith("ref-") else f"ref-{run_dir.name}"
    dest = run_path(name, artifacts)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for item in run_dir.iterdir():
        kept = item.name not in LEFT_BEHIND and (keep_model or item.name not in WITH_THE_MODEL)
        if item.is_file() and kept and not item.name.startswith("."):
            shutil.copy2(item, dest / item.name)
    if (run_dir / RunFolder.TUNER_HISTORY).is_dir():
        shutil.copytree(run_dir / RunFolder.TUNER_HISTORY, dest / RunFolder.TUNER_HISTORY)
    if keep_model:
        model = keras.models.load_model(RunFolder(run_dir).model_path, compile=False, safe_mode=True)
        copy_into_place(RunFolder(dest).model_path, lambda tmp: model.save(tmp))
    write_text(
        RunFolder(dest).file(RunFolder.REFERENCE),
        "Shipped reference results, trained on the real dataset; shown beside your own runs.\n",
    )
    return dest


def ship_study(study_folder, artifacts=None, note: str | None = None) -> Path:
    """Ship a finished study: each of its kept cells (not superseded or replaced) as a reference
    run (ship_reference, no models), and its record as <artifacts>/studies/ref-<name>/ with the
    shipped run ids and a summary.csv rebuilt from the shipped folders. A skipped model's cells
    (the record's "skipped", e.g. InceptionV3 without its ImageNet weights) stay behind: their run
    failed for the reason the record keeps and ships with it. ValueError for a folder without a
    study.json or with another cell that has not finished."""
    from tomjerry.atomic import write_csv, write_json
    from tomjerry.lab.study import study_record
    from tomjerry.runs.folder import artifacts_dir
    from tomjerry.runs.record import read_run
    from tomjerry.science.study_tables import study_tables

    study_folder = Path(study_folder)
    record = study_record(study_folder)
    runs_folder = study_folder.parent.parent / "runs"
    skipped = {entry["model"] for entry in record.get("skipped", [])}
    kept = [cell for cell in record.get("cells", []) if not cell.get("superseded") and cell["model"] not in skipped]
    shipped = [ship_reference(runs_folder / cell["run_id"], artifacts) for cell in kept]
    renamed = {cell["run_id"]: path.name for cell, path in zip(kept, shipped)}
    record = {
        **record,
        "runs": [renamed[cell["run_id"]] for cell in kept],
        "cells": [{**cell, "run_id": renamed[cell["run_id"]]} for cell in kept],
        "note": note or record.get("note") or f"Shipped reference study from {study_folder}.",
    }
    dest = (
        artifacts_dir(artifacts)
        / "studies"
        / (study_folder.name if study_folder.name.startswith("ref-") else f"ref-{study_folder.name}")
    )
    dest.mkdir(parents=True, exist_ok=True)
    write_json(dest / "study.json", record)
    write_csv(dest / "summary.csv", study_tables([read_run(path) for path in shipped]))
    return dest
