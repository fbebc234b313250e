"""Scoring a finished run's trained weights again under another test-time recipe, as a run of its
own: `python -m tomjerry rescore RUN_DIR --preset NAME` (or --tta-scales ...).

Test-time choices (mirror TTA, multi-scale TTA) change no weight, so a preset that differs from a
run's only in them does not need the run trained again: the new run folder holds the source run's
model, split and history (its provenance.json says which run they came from) and a scoring of its
own (predictions, metrics, the threshold chosen on validation again, the recipe). Its test frames
count once more in the test set's ledger (tomjerry.runs.ledger), as every scoring does.
"""

import os
import shutil
import time
from pathlib import Path

from tomjerry.config import RUN_PRESETS, RunConfig
from tomjerry.runs import states
from tomjerry.runs.folder import RunFolder, now
from tomjerry.runs.lifecycle import create_run
from tomjerry.runs.status import HOST, Heartbeat, mark_finished, read_status, update_status

# What a scoring may change: the test-time recipe and the names a run goes by.
TEST_TIME_FIELDS = ("tta", "tta_scales")
NAME_FIELDS = ("preset", "notes", "tags")
# The source run's files the new run keeps: its weights, the split they were trained on, how they trained.
KEPT = (
    RunFolder.MODEL,
    RunFolder.SPLIT,
    RunFolder.HISTORY,
    RunFolder.TRIALS,
    RunFolder.BEST_HYPERPARAMETERS,
)


def rescored_config(config: RunConfig, preset: str | None = None, **changes) -> RunConfig:
    """`config` with another test-time recipe: a preset's (its tta, tta_scales and name, when
    everything it trains is the same as `config`'s) and/or explicit TEST_TIME_FIELDS / NAME_FIELDS.
    ValueError for an unknown preset, a preset that trains differently (the fields named), any
    other field, or no change at all."""
    other = sorted(set(changes) - set(TEST_TIME_FIELDS) - set(NAME_FIELDS))
    if other:
        raise ValueError(f"scoring again changes only the test-time recipe, not {', '.join(other)}")
    updated = config
    if preset is not None:
        if preset not in RUN_PRESETS:
            raise ValueError(f"unknown preset {preset!r}: one of {', '.join(RUN_PRESETS)}")
        target = RUN_PRESETS[preset]
        ignored = set(TEST_TIME_FIELDS) | set(NAME_FIELDS) | {"split", "split_seed", "data"}
        differs = [
            name
            for name, value in target.to_dict().items()
            if name not in ignored and config.to_dict().get(name) != value
        ]
        if differs:
            raise ValueError(
                f"preset {preset} trains differently from this run ({', '.join(sorted(differs))}): train it instead"
            )
        updated = updated.replace(tta=target.tta, tta_scales=target.tta_scales, preset=preset)
    updated = updated.replace(**changes)
    if updated == config:
        raise ValueError("nothing to change: the run was scored with this recipe")
    return updated


def rescore(run_dir, data_path=None, artifacts=None, preset: str | None = None, **changes) -> Path:
    """Score the finished run at `run_dir` again under another test-time recipe (rescored_config)
    as a new run folder under `artifacts`; returns its path. The dataset must be the one the run
    trained on (RunData checks the split's frames). ValueError for a run that is not finished, has
    no model file, or a change scoring cannot make; a failure while scoring leaves the new run
    marked failed with its reason."""
    source = RunFolder(run_dir)
    status = read_status(run_dir)
    if status.get("state") != states.FINISHED:
        raise ValueError(f"run {source.run_id} is {status.get('state')}, not finished")
    if not source.model_path.is_file():
        raise ValueError(f"run {source.run_id} kept no model file to score")
    trained = source.read_config()
    config = rescored_config(trained, preset, **changes)
    path = create_run(config, artifacts, data_path)
    target = RunFolder(path)
    for name in KEPT:
        if source.file(name).is_file():
            shutil.copy2(source.file(name), target.file(name))
    started = time.time()
    # Alive as a training run is (pid and heartbeat), so the pages show it scoring, not stalled.
    update_status(path, state=states.WAITING, pid=os.getpid(), host=HOST, heartbeat=now())
    try:
        with Heartbeat(path):
            update_status(path, state=states.RUNNING, started=now(), phase=f"scoring again ({source.run_id})")
            result = _score(source, target, trained, config, data_path)
    except BaseException as error:
        update_status(path, state=states.FAILED, finished=now(), error=f"{type(error).__name__}: {error}"[:2000])
        raise
    mark_finished(
        path,
        result,
        epoch=status.get("epoch"),
        epochs=status.get("epochs"),
        train_seconds=status.get("train_seconds"),
        rescore_seconds=round(time.time() - started, 1),
    )
    return path


def _score(source: RunFolder, target: RunFolder, trained: RunConfig, config: RunConfig, data_path) -> dict:
    from tomjerry.inference.predict import load_model
    from tomjerry.training.rundata import RunData
    from tomjerry.training.scoring import evaluate_model

    data = RunData(config, data_path, target.path, split_file=target.file(RunFolder.SPLIT))
    record = source.read_json(RunFolder.PROVENANCE) or {}
    before = trained.to_dict()
    changed = {name: value for name, value in config.to_dict().items() if before.get(name) != value}
    record["rescored_from"] = {"run_id": source.run_id, "at": now(), "changed": changed}
    target.write_json(RunFolder.PROVENANCE, record)
    kept = source.read_metrics() or {}
    extra = {key: kept[key] for key in ("train_seconds", "replicas", "epochs_run", "best_epoch") if key in kept}
    extra["evaluated_epoch"] = kept.get("evaluated_epoch")
    extra["rescored_from"] = source.run_id
    model = load_model(target.path)
    return evaluate_model(model, data, target.path, extra, tta=config.tta, tta_scales=config.tta_scales)
