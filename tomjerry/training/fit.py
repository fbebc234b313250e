"""Fitting one model on a run's data: the Keras callbacks that keep the run folder current and
make a killed run resumable, the optimiser and loss, tf.distribute, and the final evaluation.
Orchestration (locks, states, the background entry point) lives in tomjerry.lab.execute."""

import os
import shutil
import sys
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from tomjerry.atomic import copy_into_place, kill_point, read_json, write_csv, write_json
from tomjerry.config import RunConfig
from tomjerry.models.builders import build_model
from tomjerry.models.specs import SPECS
from tomjerry.runs.folder import RunFolder
from tomjerry.runs.status import set_phase, update_status
from tomjerry.training.features import feature_datasets, split_model, uses_cached_features
from tomjerry.training.rundata import RunData
from tomjerry.training.scoring import evaluate_model

# Keras warns on every fit that `shuffle` is ignored for a tf.data input; ours shuffles itself.
warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")


class RunFiles(keras.callbacks.Callback):
    """Appends the history file after every epoch and keeps status.json's progress and ETA
    current. On a resumed fit the first epoch tells where training restarts: rows of that
    epoch and later (written before the kill but not backed up) are dropped, so every epoch is
    in the history once."""

    def __init__(self, run_dir, epochs: int, steps: int, history_path=None, extra=None):
        super().__init__()
        self.folder = RunFolder(run_dir)
        self.epochs, self.steps = epochs, steps
        self.history_path = history_path or self.folder.file(RunFolder.HISTORY)
        self.extra = extra or {}
        self.rows = None
        self.last_write = 0.0

    def _previous_rows(self, first_epoch: int) -> list:
        if first_epoch == 0 or not self.history_path.is_file():
            return []
        try:
            previous = pd.read_csv(self.history_path)
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            return []
        return previous[previous.epoch <= first_epoch].to_dict("records")

    def on_train_begin(self, logs=None):
        self.start = time.time()
        update_status(self.folder.path, phase="training", eta_seconds=None, **self.extra)

    def on_epoch_begin(self, epoch, logs=None):
        if self.rows is None:
            self.rows = self._previous_rows(epoch)
            self.first_epoch = epoch
        self.epoch_start = time.time()
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if time.time() - self.last_write < 2:
            return
        self.last_write = time.time()
        done = self.epoch + (batch + 1) / max(self.steps, 1)
        # No ETA until an epoch of this fit is timed: the first batches include building the
        # graph and warming caches, and extrapolating them read 1367 s for a 5-minute run.
        eta = None
        if self.epoch > self.first_epoch:
            rate = (time.time() - self.start) / max(done - self.first_epoch, 1e-9)
            eta = rate * (self.epochs - done)
        update_status(
            self.folder.path,
            epoch=self.epoch,
            batch=batch + 1,
            steps=self.steps,
            progress=done / self.epochs,
            eta_seconds=eta,
            **self.extra,
        )

    def on_epoch_end(self, epoch, logs=None):
        kill_point("epoch_end")
        row = {
            "epoch": epoch + 1,
            **self.extra,
            **{k: float(v) for k, v in (logs or {}).items()},
            "seconds": time.time() - self.epoch_start,
        }
        self.rows.append(row)
        # Written before the backup records the epoch (EpochBackup, last in the callbacks): a kill
        # between the two resumes at this epoch, whose row the resumed fit drops and writes again.
        # The other order lost the epoch: backed up, never written (history 1, 2, 4, 5, 6).
        write_csv(self.history_path, pd.DataFrame(self.rows))
        kill_point("history_written")
        rate = (time.time() - self.start) / (epoch + 1 - self.first_epoch)
        update_status(
            self.folder.path,
            epoch=epoch + 1,
            batch=0,
            progress=(epoch + 1) / self.epochs,
            eta_seconds=rate * (self.epochs - epoch - 1),
            **self.extra,
        )


class EpochBackup(keras.callbacks.BackupAndRestore):
    """Keras's BackupAndRestore with a backup that a kill at any instant leaves whole: the weights
    go to a new file per epoch (`epoch-0003.weights.h5`, written under a temporary name and
    renamed), then training_metadata.json, written atomically, names that file and the epoch. The
    metadata is the commit: before it is replaced the previous backup is the one restored, after
    it the new one. (Keras writes latest.weights.h5 and then the metadata in place: a kill between
    them resumed an epoch's weights under the previous epoch's number, and a kill inside the
    metadata write left a file Keras cannot parse.) Older weights are removed after the commit."""

    WEIGHTS = "epoch-{:04d}.weights.h5"
    METADATA = "training_metadata.json"

    def __init__(self, backup_dir):
        super().__init__(str(backup_dir), save_freq="epoch", delete_checkpoint=False)
        self.folder = Path(backup_dir)

    @classmethod
    def saved_epoch(cls, backup_dir) -> int:
        """How many epochs the backup in `backup_dir` holds (0: none)."""
        metadata = read_json(Path(backup_dir) / cls.METADATA)
        return int(metadata.get("epoch", 0)) if isinstance(metadata, dict) else 0

    def on_train_begin(self, logs=None):
        metadata = read_json(self.folder / self.METADATA)
        if not isinstance(metadata, dict) or "weights" not in metadata:
            # None yet, or one written by Keras's own callback (an older run): Keras reads it.
            return super().on_train_begin(logs)
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(str(self.folder / metadata["weights"]))
        self.model._initial_epoch = int(metadata["epoch"])

    def _save_model(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        name = self.WEIGHTS.format(self._current_epoch)
        temporary = self.folder / f".tmp-{name}"  # save_weights wants the .weights.h5 ending
        self.model.save_weights(str(temporary), overwrite=True)
        kill_point("backup_weights_written")
        os.replace(temporary, self.folder / name)
        kill_point("backup_weights_in_place")
        write_json(self.folder / self.METADATA, {"epoch": self._current_epoch, "batch": 0, "weights": name})
        kill_point("backup_committed")
        for stale in self.folder.iterdir():
            if stale.name != name and stale.name != self.METADATA:
                stale.unlink(missing_ok=True)  # earlier epochs, Keras's latest.weights.h5(.bkp), leftovers


def sweep_leftovers(run_dir) -> list[Path]:
    """Remove what a killed process left half-written in the run folder: the temporary files of
    atomic writes (`.history.csv.<random>.tmp`, `.model.tmp.keras`, ...) and of EpochBackup.
    Called at the start of a fit, when no other process writes this run's files but status.json,
    whose temporary files are swept under its lock. Returns what was removed."""
    from filelock import FileLock

    folder = RunFolder(run_dir)
    removed = []
    with FileLock(folder.file(RunFolder.STATUS_LOCK), timeout=30):
        for pattern in (".*.tmp", ".*.tmp.*", f"{RunFolder.BACKUP}/.tmp-*", f"{RunFolder.BACKUP}/.*.tmp"):
            for path in folder.path.glob(pattern):
                if path.is_file():
                    path.unlink(missing_ok=True)
                    removed.append(path)
    return removed


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras's EarlyStopping on val_loss that, when a fit resumes at epoch k, first replays the
    validation losses of epochs 1..k from the run's history, so patience counts across the
    interruption as if the run had never stopped."""

    def __init__(self, history_path, **kwargs):
        super().__init__(**kwargs)
        self.history_path = history_path
        self.replayed = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.replayed:
            return
        self.replayed = True
        if epoch == 0 or not self.history_path.is_file():
            return
        if self.monitor_op is None:  # Keras sets it lazily at the first epoch's end
            self._set_monitor_op()
        history = pd.read_csv(self.history_path)
        # The same bookkeeping as EarlyStopping.on_epoch_end, for the epochs already trained.
        for value in history[history.epoch <= epoch][self.monitor]:
            current = float(value)
            if self.best is None or self._is_improvement(current, self.best):
                self.best, self.wait = current, 0
            else:
                self.wait += 1


def choose_strategy(name: str):
    """tf.distribute: auto takes MirroredStrategy when several GPUs are visible."""
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "auto" and len(tf.config.list_physical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def visible_gpus() -> list[str]:
    import tensorflow as tf

    return [device.name for device in tf.config.list_physical_devices("GPU")]


def compile_model(model, config: RunConfig, steps_per_epoch: int):
    learning_rate = config.learning_rate
    if config.lr_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, config.epochs * steps_per_epoch)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.BinaryCrossentropy(label_smoothing=config.label_smoothing),
        metrics=[
            keras.metrics.BinaryAccuracy(name="binary_accuracy"),
            keras.metrics.AUC(multi_label=True, num_labels=2, name="auc"),
        ],
    )
    return model


def new_model(config: RunConfig, steps_per_epoch: int, strategy=None):
    if config.mixed_precision:
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            keras.mixed_precision.set_global_policy("mixed_float16")
        else:  # float16 on a CPU is slower, not faster
            print("mixed precision needs a GPU: training in float32", file=sys.stderr)
    strategy = strategy or choose_strategy(config.strategy)
    with strategy.scope():
        model = build_model(
            config.model,
            config.input_shape,
            dropout_rate=config.dropout_rate,
            weights=config.weights,
            fine_tune_from=config.fine_tune_from,
        )
        return compile_model(model, config, steps_per_epoch)


def cached_head(model, config: RunConfig, data: RunData | None, steps: int, strategy=None, features=True):
    """(model, {}) to train the whole model on frames; or, for a frozen base without
    augmentation (tomjerry.training.features), (head, {"train", "val", "record"}): the head of `model`,
    compiled, with feature batches of the run's frames (not extracted when `features` is
    False). The record (layer, seconds) goes into metrics.json."""
    layer = SPECS[config.model].feature_layer
    if layer is None or not uses_cached_features(config):  # the first implies the second
        return model, {}
    strategy = strategy or choose_strategy(config.strategy)
    with strategy.scope():
        extractor, head = split_model(model, layer)
        compile_model(head, config, steps)
    if not features:
        return head, {}
    batch_size = config.batch_size * strategy.num_replicas_in_sync
    train, val, seconds = feature_datasets(extractor, data, config, batch_size)
    print(
        f"frozen base: {layer!r} features of the training and validation frames extracted once "
        f"({seconds:.0f} s); only the head trains",
        file=sys.stderr,
    )
    return head, {"train": train, "val": val, "record": {"layer": layer, "seconds": round(seconds, 1)}}


def save_model(model, run_dir):
    copy_into_place(RunFolder(run_dir).model_path, lambda tmp: model.save(tmp))


def fit_and_save(config: RunConfig, data: RunData, run_dir) -> dict:
    """Fit, save model.keras, score. A killed fit resumes after its last finished epoch: Keras's
    BackupAndRestore keeps the weights, optimiser state and epoch in the run folder, the history
    keeps each epoch once, and with early stopping the best epoch so far is kept on disk (its
    patience replayed from the history). With early stopping the evaluated weights are those of
    the epoch with the lowest validation loss; without it, the last epoch's."""
    folder = RunFolder(run_dir)
    strategy = choose_strategy(config.strategy)
    # batch_size is per replica; the global batch grows with the GPUs in sync.
    replicas = strategy.num_replicas_in_sync
    train, val, steps = data.datasets(config, batch_size=config.batch_size * replicas)
    model = new_model(config, steps, strategy)
    # `fitted` is what trains: the model, or only its head on the frozen base's features.
    if uses_cached_features(config):
        set_phase(run_dir, "extracting the frozen base's features of the training and validation frames")
    fitted, cached = cached_head(model, config, data, steps, strategy)
    if cached:
        train, val = cached["train"], cached["val"]
    # BackupAndRestore first: it restores the epoch before the others see their first epoch.
    # The backup is deleted only once the run's metrics exist: a kill between the fit and the
    # evaluation resumes straight to the evaluation instead of training again from epoch 1.
    backup = folder.file(RunFolder.BACKUP)
    sweep_leftovers(run_dir)
    # The history row and the status of an epoch are written before its backup (EpochBackup, last
    # at an epoch's end), so the history always holds every epoch the backup does.
    callbacks = [RunFiles(run_dir, config.epochs, steps)]
    best_path = folder.file(RunFolder.BEST_WEIGHTS)
    if config.patience:
        history = folder.read_history()
        if "epoch" in history:  # rows past the backup are trained again: not "best so far" yet
            history = history[history.epoch <= EpochBackup.saved_epoch(backup)]
        best_so_far = float(history.val_loss.min()) if "val_loss" in history and len(history) else None
        callbacks += [
            ResumableEarlyStopping(
                folder.file(RunFolder.HISTORY), monitor="val_loss", mode="min", patience=config.patience
            ),
            keras.callbacks.ModelCheckpoint(
                str(best_path),
                monitor="val_loss",
                save_best_only=True,
                save_weights_only=True,
                initial_value_threshold=best_so_far,
            ),
        ]
    callbacks.append(EpochBackup(backup))  # last: it restores at train begin, commits at epoch end
    start = time.time()
    fitted.fit(train, validation_data=val, epochs=config.epochs, callbacks=callbacks, verbose=2)
    seconds = time.time() - start
    set_phase(run_dir, "saving the model")
    history = folder.read_history()
    val_loss = history.val_loss.to_numpy() if "val_loss" in history else np.array([])
    best_epoch = int(history.epoch.iloc[int(np.argmin(val_loss))]) if len(val_loss) else None
    evaluated_epoch = int(history.epoch.iloc[-1]) if len(history) else None
    if config.patience and best_path.is_file():
        fitted.load_weights(str(best_path))
        evaluated_epoch = best_epoch
    save_model(model, run_dir)
    trained = float(history.seconds.sum()) if "seconds" in history else seconds
    extra = {"cached_features": cached["record"]} if cached else {}
    result = evaluate_model(
        model,
        data,
        run_dir,
        {
            "train_seconds": round(trained + (cached["record"]["seconds"] if cached else 0), 1),
            "replicas": replicas,
            "epochs_run": len(history),
            "best_epoch": best_epoch,
            "evaluated_epoch": evaluated_epoch,
            **extra,
        },
        tta=config.tta,
        tta_scales=config.tta_scales,
    )
    shutil.rmtree(backup, ignore_errors=True)
    best_path.unlink(missing_ok=True)
    return result
