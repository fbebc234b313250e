"""Keras Tuner random search with the study's spaces: learning rate in {1e-2, 1e-3, 1e-4} for
every model, and dropout 0.1-0.5 (step 0.1) where asked (InceptionV3 in the study); objective
val_loss, with one guard (tomjerry.metrics.selection): a trial whose validation AUC is at chance is not kept
while another trial ranks the frames. The tuner's folder lives inside the run folder with overwrite=False, so a killed
search resumes where it stopped. Failed trials are errors the user sees.
"""

import os
import time
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np
import pandas as pd

from tomjerry.atomic import write_csv
from tomjerry.config import RunConfig
from tomjerry.metrics.selection import RULE, add_validation_auc, passed_over, selection_order
from tomjerry.runs.folder import RunFolder
from tomjerry.runs.status import set_phase
from tomjerry.training.features import graft_head, uses_cached_features
from tomjerry.training.fit import RunFiles, cached_head, new_model, save_model
from tomjerry.training.rundata import RunData
from tomjerry.training.scoring import evaluate_model

LEARNING_RATES = [1e-2, 1e-3, 1e-4]


class TuningFailed(RuntimeError):
    pass


def hyperparameters(hp: kt.HyperParameters, config: RunConfig) -> RunConfig:
    changes = {"learning_rate": hp.Choice("learning_rate", LEARNING_RATES)}
    if config.tune_dropout:
        changes["dropout_rate"] = hp.Float("dropout", 0.1, 0.5, step=0.1)
    return config.replace(**changes)


class RecordingRandomSearch(kt.RandomSearch):
    """RandomSearch that writes every trial's epochs into the run folder (trials_history.csv)
    and keeps status.json current with the trial number."""

    def __init__(self, run_dir: Path, config: RunConfig, steps: int, **kwargs):
        super().__init__(**kwargs)
        self.run_dir, self.config, self.steps = run_dir, config, steps

    def run_trial(self, trial, *args, **kwargs):
        number = int(trial.trial_id) + 1 if str(trial.trial_id).isdigit() else trial.trial_id
        # In a distributed search the worker's id says which machine ran the trial.
        worker = os.environ.get("KERASTUNER_TUNER_ID", "local")
        history = RunFolder(self.run_dir).trial_history(trial.trial_id)
        history.parent.mkdir(exist_ok=True)
        recorder = RunFiles(
            self.run_dir,
            self.config.epochs,
            self.steps,
            history_path=history,
            extra={"trial": number, "trials": self.config.max_trials, "worker": worker},
        )
        kwargs["callbacks"] = list(kwargs.get("callbacks", [])) + [recorder]
        return super().run_trial(trial, *args, **kwargs)


def trial_table(tuner: kt.Tuner) -> pd.DataFrame:
    rows = []
    for trial in tuner.oracle.trials.values():
        rows.append(
            {
                "trial_id": trial.trial_id,
                "status": trial.status,
                "val_loss": trial.score,
                **trial.hyperparameters.values,
                "message": (trial.message or "")[:500] if hasattr(trial, "message") else "",
            }
        )
    return pd.DataFrame(rows).sort_values("trial_id") if rows else pd.DataFrame()


def make_tuner(
    config: RunConfig, run_dir: Path, steps: int, heads_only: bool = False, **extra
) -> RecordingRandomSearch:
    """The search; with `heads_only` (a frozen base's cached features, tomjerry.training.features) each
    trial builds and trains only the model's head."""

    def build(hp):
        trial_config = hyperparameters(hp, config)
        model = new_model(trial_config, steps)
        return cached_head(model, trial_config, None, steps, features=False)[0] if heads_only else model

    return RecordingRandomSearch(
        run_dir,
        config,
        steps,
        hypermodel=build,
        objective="val_loss",
        max_trials=config.max_trials,
        seed=config.seed,
        directory=str(run_dir),
        project_name=RunFolder.TUNER,
        overwrite=False,
        # Fail fast: keras-tuner otherwise only logs a failed trial and moves on.
        max_consecutive_failed_trials=1,
        **extra,
    )


def search_inputs(config: RunConfig, data: RunData) -> tuple:
    """(train, val, steps, cached) for a search: frame batches, or for a frozen base without
    augmentation the features it maps them to, extracted once for every trial (cached holds
    their record for metrics.json, {} otherwise)."""
    train, val, steps = data.datasets(config)
    if not uses_cached_features(config):
        return train, val, steps, {}
    _, cached = cached_head(new_model(config, steps), config, data, steps)
    return cached["train"], cached["val"], steps, cached["record"]


def tune_and_save(config: RunConfig, data: RunData, run_dir: Path, **tuner_options) -> dict:
    folder = RunFolder(run_dir)
    if uses_cached_features(config):
        set_phase(run_dir, "extracting the frozen base's features of the training and validation frames")
    train, val, steps, cached = search_inputs(config, data)
    tuner = make_tuner(config, run_dir, steps, heads_only=bool(cached), **tuner_options)
    callbacks = []
    if config.patience:
        callbacks.append(keras.callbacks.EarlyStopping("val_loss", patience=config.patience, restore_best_weights=True))
    start = time.time()
    error = None
    try:
        tuner.search(train, validation_data=val, epochs=config.epochs, callbacks=callbacks, verbose=2)
    except RuntimeError as raised:  # keras-tuner raises after max_consecutive_failed_trials
        error = raised
    seconds = time.time() - start
    set_phase(run_dir, "keeping the trial chosen on validation and saving its model")
    trials = trial_table(tuner)
    if not trials.empty:
        trials = add_validation_auc(trials, folder.file(RunFolder.TUNER_HISTORY))
    write_csv(folder.file(RunFolder.TRIALS), trials)
    failed = trials[trials.status.isin(["FAILED", "INVALID"])] if not trials.empty else trials
    if error is not None or len(failed):
        detail = failed.message.iloc[0] if len(failed) and "message" in failed else str(error)
        raise TuningFailed(f"{len(failed)} tuning trial(s) failed: {detail}".strip())
    order = selection_order(trials) if not trials.empty else trials
    if order.empty:
        raise TuningFailed("no tuning trial completed")
    trials = trials.merge(order[["trial_id", "ranks_frames", "selection_rank"]], on="trial_id", how="left")
    write_csv(folder.file(RunFolder.TRIALS), trials)
    best_trial = tuner.oracle.get_trial(str(order.iloc[0].trial_id))
    best_hp = best_trial.hyperparameters
    chosen = hyperparameters(best_hp, config)
    skipped = passed_over(order)
    folder.write_json(
        RunFolder.BEST_HYPERPARAMETERS,
        {
            "learning_rate": chosen.learning_rate,
            "dropout_rate": chosen.dropout_rate,
            "trial_id": best_trial.trial_id,
            "val_loss": best_trial.score,
            "values": best_hp.values,
            "selection": RULE,
            "passed_over": skipped,
        },
    )
    history = folder.trial_history(best_trial.trial_id)
    epochs = {}
    if history.is_file():  # the chosen trial's learning curves are the run's learning curves
        curves = pd.read_csv(history)
        folder.write_history(curves)
        epochs = kept_epochs(curves)
    model = tuner.load_model(best_trial)
    if cached:  # the trials trained heads: the saved model is the whole network
        model = graft_head(model, new_model(chosen, steps))
    save_model(model, run_dir)
    # A search resumed in another process (or one whose trials were reused) spent its training
    # time before this process: the trials' recorded epochs hold it.
    seconds = max(seconds, trial_seconds(folder) + (cached["seconds"] if cached else 0))
    return evaluate_model(
        model,
        data,
        run_dir,
        {
            "train_seconds": round(seconds, 1),
            **epochs,
            **({"cached_features": cached} if cached else {}),
            "tuning": {
                "trials": len(trials),
                "best_learning_rate": chosen.learning_rate,
                "best_dropout_rate": chosen.dropout_rate,
                "best_val_loss": float(np.round(best_trial.score, 6)),
                "best_val_auc": None if pd.isna(order.iloc[0].get("val_auc")) else float(order.iloc[0].val_auc),
                "selection": RULE,
                "passed_over": skipped,
            },
        },
        tta=config.tta,
        tta_scales=config.tta_scales,
    )


def kept_epochs(curves: pd.DataFrame) -> dict:
    """epochs_run, best_epoch and evaluated_epoch of a trial from its curves (one row per epoch
    with `epoch` and `val_loss`): Keras Tuner keeps each trial's checkpoint of its best epoch on
    the objective, so the evaluated epoch is the one with the lowest validation loss. Empty
    without validation loss."""
    if "val_loss" not in curves or curves.val_loss.isna().all():
        return {}
    best = int(curves.epoch.iloc[int(np.nanargmin(curves.val_loss.to_numpy()))])
    return {"epochs_run": len(curves), "best_epoch": best, "evaluated_epoch": best}


def trial_seconds(folder: RunFolder) -> float:
    """Seconds of training the search's trials recorded, epoch by epoch (0 where none did)."""
    total = 0.0
    for path in folder.file(RunFolder.TUNER_HISTORY).glob("trial_*.csv"):
        try:
            total += float(pd.read_csv(path, usecols=["seconds"]).seconds.sum())
        except (ValueError, OSError, pd.errors.EmptyDataError, pd.errors.ParserError):
            continue
    return total


def distributed_environment(role: str, oracle: str, worker_id: str | None = None) -> dict:
    """The environment Keras Tuner's own chief/worker mode reads (its gRPC oracle)."""
    if role not in ("chief", "worker"):
        raise ValueError("role must be chief or worker")
    host, _, port = oracle.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--oracle must be HOST:PORT, not {oracle!r}")
    if role == "worker" and not worker_id:
        worker_id = f"tuner-{os.uname().nodename}-{os.getpid()}"
    return {
        "KERASTUNER_TUNER_ID": "chief" if role == "chief" else worker_id,
        "KERASTUNER_ORACLE_IP": host,
        "KERASTUNER_ORACLE_PORT": port,
    }


def run_worker(run_dir: Path, data_path=None) -> int:
    """A worker of a distributed search: runs the trials the chief's oracle hands out, writing
    them into the shared run folder, until the oracle says the search is over. The chief alone
    evaluates the best model and marks the run finished."""
    config = RunFolder(run_dir).read_config()
    data = RunData(config, data_path, run_dir)
    train, val, steps, cached = search_inputs(config, data)
    tuner = make_tuner(config, run_dir, steps, heads_only=bool(cached))
    callbacks = []
    if config.patience:
        callbacks.append(keras.callbacks.EarlyStopping("val_loss", patience=config.patience, restore_best_weights=True))
    tuner.search(train, validation_data=val, epochs=config.epochs, callbacks=callbacks, verbose=2)
    return len(list(RunFolder(run_dir).file(RunFolder.TUNER_HISTORY).glob("trial_*.csv")))
