"""One training run, start to finish, writing everything into its run folder."""

import os
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from tomjerry.atomic import copy_into_place, write_csv, write_json, write_text
from tomjerry.config import RunConfig
from tomjerry.dataset import label_matrix, scan
from tomjerry.discovery import find_dataset
from tomjerry.evaluation import choose_threshold, metrics, metrics_from_predictions
from tomjerry.images import load_images
from tomjerry.models import build_model
from tomjerry.pipeline import make_dataset
from tomjerry.runstore import locked, now, read_config, runs_dir, update_status
from tomjerry.splits import make_split, save_split


# Keras warns on every fit that `shuffle` is ignored for a tf.data input; ours shuffles itself.
warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")


class RunCancelled(Exception):
    pass


class RunFiles(keras.callbacks.Callback):
    """Appends history.csv after every epoch and keeps status.json's progress and ETA current."""

    def __init__(self, run_dir: Path, epochs: int, steps: int, history_name="history.csv", extra=None):
        super().__init__()
        self.run_dir, self.epochs, self.steps = run_dir, epochs, steps
        self.history_path = run_dir / history_name
        self.extra = extra or {}
        self.rows = []
        self.last_write = 0.0

    def on_train_begin(self, logs=None):
        self.start = time.time()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.time()
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if time.time() - self.last_write < 2:
            return
        self.last_write = time.time()
        done = self.epoch + (batch + 1) / max(self.steps, 1)
        elapsed = time.time() - self.start
        update_status(self.run_dir, epoch=self.epoch, batch=batch + 1, steps=self.steps,
                      progress=done / self.epochs, eta_seconds=elapsed / done * (self.epochs - done), **self.extra)

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **self.extra, **{k: float(v) for k, v in (logs or {}).items()},
               "seconds": time.time() - self.epoch_start}
        self.rows.append(row)
        write_csv(self.history_path, pd.DataFrame(self.rows))
        elapsed = time.time() - self.start
        update_status(self.run_dir, epoch=epoch + 1, batch=0, progress=(epoch + 1) / self.epochs,
                      eta_seconds=elapsed / (epoch + 1) * (self.epochs - epoch - 1), **self.extra)


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


def compile_model(model, config: RunConfig, steps_per_epoch: int):
    learning_rate = config.learning_rate
    if config.lr_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, config.epochs * steps_per_epoch)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.BinaryCrossentropy(label_smoothing=config.label_smoothing),
        metrics=[keras.metrics.BinaryAccuracy(name="binary_accuracy"),
                 keras.metrics.AUC(multi_label=True, num_labels=2, name="auc")],
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
        model = build_model(config.model, config.image_size, dropout_rate=config.dropout_rate,
                            weights=config.weights, fine_tune_from=config.fine_tune_from)
        return compile_model(model, config, steps_per_epoch)


class Prepared:
    """The data of one run: images, labels and the split, aligned row by row. An existing
    split.csv in the run folder (or `split_file`) is used as it is."""

    def __init__(self, config: RunConfig, data_path, run_dir: Path, split_file=None):
        source = find_dataset(data_path)
        self.source = source
        dataset = scan(source)
        loaded = load_images(dataset, config.image_size)
        self.table = loaded.table
        self.images = loaded.arrays
        self.labels = label_matrix(self.table)
        split_file = Path(split_file) if split_file else run_dir / "split.csv"
        if split_file.is_file():  # resuming: keep the split the run started with
            split = make_split(self.table, str(split_file))
        else:
            split = make_split(self.table, config.split, config.split_seed, config.exclude_challenges,
                               config.block_frames)
            save_split(split, split_file)
        self.split = split.split.to_numpy()
        for part in ("train", "val", "test"):
            if not (self.split == part).any():
                raise ValueError(f"the {part} split is empty: the dataset is too small for this split")

    def part(self, name):
        mask = self.split == name
        return self.images[mask], self.labels[mask]

    def datasets(self, config: RunConfig, batch_size=None, augment=None):
        batch_size = batch_size or config.batch_size
        augment = config.augment if augment is None else augment
        x_train, y_train = self.part("train")
        x_val, y_val = self.part("val")
        train = make_dataset(x_train, y_train, batch_size, training=True, augment=augment, seed=config.seed,
                             augmentation_kind=config.augmentation)
        val = make_dataset(x_val, y_val, batch_size)
        return train, val, int(np.ceil(len(x_train) / batch_size))


def predict_array(model, images: np.ndarray, batch_size: int = 64, tta: bool = False) -> np.ndarray:
    """Probabilities for uint8 images; with tta, the mean over each frame and its mirror image."""
    if len(images) == 0:
        return np.zeros((0, 2), np.float32)
    probabilities = model.predict(make_dataset(images, None, batch_size), verbose=0)
    if tta:
        mirrored = model.predict(make_dataset(np.ascontiguousarray(images[:, :, ::-1]), None, batch_size), verbose=0)
        probabilities = (probabilities + mirrored) / 2
    return probabilities


def score(model, data: Prepared, tta: bool = False) -> tuple[pd.DataFrame, dict]:
    """Predictions for validation, test and challenge rows, and their metrics. The decision
    threshold is also chosen on validation; the test set is only scored."""
    # Frames a split leaves out ("unused") are neither trained on nor scored.
    keep = np.isin(data.split, ("val", "test")) | data.table.challenge.to_numpy()
    probabilities = predict_array(model, data.images[keep], tta=tta)
    rows = data.table[keep]
    predictions = pd.DataFrame({
        "filename": rows.filename.to_numpy(), "split": data.split[keep], "challenge": rows.challenge.to_numpy(),
        "tom": rows.tom.to_numpy(), "jerry": rows.jerry.to_numpy(),
        "p_tom": probabilities[:, 0].round(6), "p_jerry": probabilities[:, 1].round(6),
    })
    truth, probs = predictions[["tom", "jerry"]].to_numpy(), predictions[["p_tom", "p_jerry"]].to_numpy()
    test = (predictions.split == "test").to_numpy()
    val = (predictions.split == "val").to_numpy()
    threshold = choose_threshold(truth[val], probs[val])
    result = {
        **metrics_from_predictions(predictions),  # test and challenge, as the pages recompute them
        "validation": metrics(truth[val], probs[val]),
        "challenge_total": int(data.table.challenge.sum()),
        "challenge_in_training": int((data.table.challenge.to_numpy() & (data.split == "train")).sum()),
        "challenge_in_validation": int((data.table.challenge.to_numpy() & (data.split == "val")).sum()),
        "threshold_from_validation": threshold,
        "test_at_validation_threshold": metrics(truth[test], probs[test], threshold),
        "dataset": {"path": str(data.source.path), "demo": data.source.is_demo, "images": len(data.table)},
        "split_counts": {p: int((data.split == p).sum()) for p in ("train", "val", "test")},
    }
    return predictions, result


def evaluate_model(model, data: Prepared, run_dir: Path, extra: dict | None = None, tta: bool = False) -> dict:
    """Score the model and write predictions.csv and metrics.json into the run folder."""
    predictions, result = score(model, data, tta)
    result.update(extra or {})
    write_csv(run_dir / "predictions.csv", predictions)
    write_json(run_dir / "metrics.json", result)
    return result


def save_model(model, run_dir: Path):
    copy_into_place(run_dir / "model.keras", lambda tmp: model.save(tmp))


def fit_and_save(config: RunConfig, data: Prepared, run_dir: Path) -> dict:
    strategy = choose_strategy(config.strategy)
    # batch_size is per replica; the global batch grows with the GPUs in sync.
    replicas = strategy.num_replicas_in_sync
    train, val, steps = data.datasets(config, batch_size=config.batch_size * replicas)
    model = new_model(config, steps, strategy)
    callbacks = [RunFiles(run_dir, config.epochs, steps)]
    if config.patience:
        callbacks.append(keras.callbacks.EarlyStopping("val_loss", patience=config.patience,
                                                       restore_best_weights=True))
    start = time.time()
    history = model.fit(train, validation_data=val, epochs=config.epochs, callbacks=callbacks, verbose=2)
    seconds = time.time() - start
    val_loss = history.history.get("val_loss", [])
    best_epoch = int(np.argmin(val_loss)) + 1 if val_loss else None
    save_model(model, run_dir)
    return evaluate_model(model, data, run_dir, {"train_seconds": round(seconds, 1), "replicas": replicas,
                                                 "epochs_run": len(val_loss), "best_epoch": best_epoch},
                          tta=config.tta)


def install_cancel_handler():
    def handler(signum, frame):
        raise RunCancelled(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def execute_run(run_dir, data_path=None) -> dict:
    """Run the configured training (or tuning) in this process and record the outcome. Only one
    run trains at a time per artifacts folder (a lock that dies with its holder)."""
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    install_cancel_handler()
    keras.utils.set_random_seed(config.seed)
    with locked(runs_dir(run_dir.parent.parent) / ".training.lock"):
        started = time.time()
        update_status(run_dir, state="running", pid=os.getpid(), started=now(), error=None)
        try:
            data = Prepared(config, data_path, run_dir)
            update_status(run_dir, data=str(data.source.path), demo=data.source.is_demo)
            if config.variant == "tuned":
                from tomjerry.tuning import tune_and_save

                result = tune_and_save(config, data, run_dir)
            else:
                result = fit_and_save(config, data, run_dir)
        except (RunCancelled, KeyboardInterrupt) as error:
            update_status(run_dir, state="cancelled", finished=now(), error=str(error) or "cancelled")
            raise
        except BaseException as error:
            message = f"{type(error).__name__}: {error}"
            write_text(run_dir / "error.txt", traceback.format_exc())
            update_status(run_dir, state="failed", finished=now(), error=message[:2000])
            raise
        update_status(run_dir, state="finished", finished=now(), progress=1.0, eta_seconds=0,
                      train_seconds=round(time.time() - started, 1),
                      test_binary_accuracy=result["test"].get("binary_accuracy"),
                      test_exact_match=result["test"].get("exact_match_accuracy"))
    return result


def main(argv=None):
    """Entry point of a background run: python -m tomjerry.training RUN_DIR [DATA_PATH]."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        execute_run(argv[0], argv[1] if len(argv) > 1 and argv[1] else None)
    except (RunCancelled, KeyboardInterrupt):
        return 143
    except BaseException as error:
        print(f"run failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
