"""The study's grid runner: for each model, base, tuned, and tuned with augmentation, on one shared
split, recorded cell by cell in study.json so a killed study resumes. The study's tables and the
sentences about them are tomjerry.science.study_tables (summary.csv is written from them)."""

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tomjerry.atomic import read_json, write_csv, write_json
from tomjerry.config import RunConfig
from tomjerry.lab.execute import RunCancelled, execute_run
from tomjerry.metrics.selection import add_validation_auc, collapsed, selection_order
from tomjerry.models.specs import SPECS, WeightsUnavailableError
from tomjerry.runs import states
from tomjerry.runs.folder import RunFolder, artifacts_dir
from tomjerry.runs.lifecycle import create_run
from tomjerry.runs.record import read_run
from tomjerry.science.study_tables import study_tables

STUDY_MODELS = ("alexnet", "zfnet", "inceptionv3", "efficientnet_lite0")


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    base: RunConfig
    per_model: dict


PRESETS = {
    # Faithful: 224 px and the study's settings.
    "seed": Preset(
        "seed",
        "faithful to the study: 224 px, 10 epochs, 3 trials (hours on a CPU)",
        RunConfig(image_size=224, epochs=10, batch_size=32, max_trials=3, patience=3),
        {"inceptionv3": {"tune_dropout": True}},
    ),
    # Fits 60 minutes on 2 CPU cores with the real data: small images, few epochs.
    "fast": Preset(
        "fast",
        "CPU preset: 96 px, 3 epochs, 3 trials, batch 64 (about 30 minutes on 2 cores)",
        RunConfig(image_size=96, epochs=3, batch_size=64, max_trials=3, patience=2),
        {"inceptionv3": {"tune_dropout": True, "max_trials": 2}, "efficientnet_lite0": {"learning_rate": 1e-3}},
    ),
    # Converged on 2 CPU cores: every cell trains until early stopping on validation loss (at
    # most 40 epochs), tuning gives every trial the same budget, and 136 px is the smallest size
    # at which AlexNet's last pooled feature map is 3x3 (128 px: 2x2; 96 px: 1x1). Hours.
    # EfficientNet-Lite0's frozen-base cells train their head on cached features (an epoch in
    # under a second, tomjerry.training.features), and at 1e-4 its head was still improving at epoch 40:
    # its cap is 200, which its cells reach only if validation loss keeps falling that long.
    "cpu": Preset(
        "cpu",
        "converged CPU grid: 136 px, early stopping on validation loss (patience 3, at most 40 "
        "epochs; EfficientNet-Lite0 at most 200), 3 trials (hours on 2 cores; resumable)",
        RunConfig(image_size=136, epochs=40, batch_size=32, max_trials=3, patience=3),
        {"inceptionv3": {"tune_dropout": True}, "efficientnet_lite0": {"epochs": 200}},
    ),
    # Seconds, for tests and a first look at the demo data.
    "tiny": Preset(
        "tiny",
        "smoke test: 80 px, 1 epoch, 2 trials",
        RunConfig(image_size=80, epochs=1, batch_size=32, max_trials=2, patience=0),
        {},
    ),
}


def cell_config(base: RunConfig, variant: str, tuned_run: Path | None, rank: int = 0) -> RunConfig:
    """The config of one cell. Tuned with augmentation takes the tuned search's hyperparameters:
    the trial the tuned cell kept (rank 0) or, after a divergence or a collapse, the next one in
    the search's selection order (rank 1, 2, ...; tomjerry.metrics.selection)."""
    if variant != "augmented":
        return base.replace(variant=variant)
    order = tuned_trial_order(tuned_run)
    if order.empty or rank >= len(order):
        return base.replace(variant="augmented", augment=True)
    chosen = order.iloc[rank]
    dropout = chosen["dropout"] if "dropout" in order and pd.notna(chosen.get("dropout")) else base.dropout_rate
    return base.replace(
        variant="augmented", augment=True, learning_rate=float(chosen.learning_rate), dropout_rate=float(dropout)
    )


def tuned_trial_order(tuned_run: Path | None) -> pd.DataFrame:
    """The tuned run's completed trials in its selection order (empty without a search). A search
    recorded before the selection guard gets its validation AUC from its trials' histories."""
    if tuned_run is None or not RunFolder(tuned_run).file(RunFolder.TRIALS).is_file():
        return pd.DataFrame()
    folder = RunFolder(tuned_run)
    trials = pd.read_csv(folder.file(RunFolder.TRIALS))
    if "val_auc" not in trials:
        trials = add_validation_auc(trials, folder.file(RunFolder.TUNER_HISTORY))
    return selection_order(trials)


def diverged(result: dict) -> bool:
    """A run whose validation loss never improved after its first epoch (what a too-high
    learning rate does under augmentation): the study retries it with the next best rate."""
    return bool(result.get("best_epoch") == 1 and (result.get("epochs_run") or 0) > 1)


def retry_reason(result: dict) -> str | None:
    """Why an augmented cell is retried with the tuned search's next rate, or None."""
    if diverged(result):
        return "validation loss never improved after epoch 1"
    if collapsed(result):
        return "its validation predictions do not rank the frames (validation AUC below the selection guard's)"
    return None


def retry_left(tuned_run: Path | None, rank: int) -> bool:
    """Whether the tuned search has a rate after selection rank `rank` worth a retry: only rates
    whose trial ranked the frames (they come first in the selection order); a cell with none left
    stays as it is."""
    order = tuned_trial_order(tuned_run)
    return not order.empty and rank + 1 < int(order.ranks_frames.sum())


def reuse_trials(source: Path, run_dir: Path) -> None:
    """Give a new tuned run the finished trials of an earlier search with the same config, so that
    Keras Tuner resumes that search (it has no trial left to run) and only the selection and the
    evaluation run again. Checkpoints are hard-linked (copied across file systems); the small
    files are copied, so the earlier run's record is never written to."""

    def link_or_copy(src, dst):
        if str(src).endswith(".h5"):
            try:
                os.link(src, dst)
                return dst
            except OSError:
                pass
        return shutil.copy2(src, dst)

    for name in (RunFolder.TUNER, RunFolder.TUNER_HISTORY):
        if (source / name).is_dir():
            shutil.copytree(source / name, run_dir / name, copy_function=link_or_copy)


def redo_cells(record: dict, redo, when: str) -> list[dict]:
    """Take the cells named in `redo` ("MODEL:VARIANT") out of a study record, into
    record["replaced"], so that a resumed study runs them again. A tuned cell takes its model's
    augmented cells with it (they inherit its rates). ValueError for a cell the study lacks."""
    replaced = []
    for item in redo:
        model, _, variant = item.partition(":")
        if variant not in ("base", "tuned", "augmented"):
            raise ValueError(f"--redo takes MODEL:VARIANT (variant base, tuned or augmented), not {item!r}")
        variants = {"tuned", "augmented"} if variant == "tuned" else {variant}
        cells = [c for c in record["cells"] if c["model"] == model and c["variant"] in variants]
        if not any(c["variant"] == variant for c in cells):
            raise ValueError(f"the study has no {variant} cell of {model} to run again")
        for cell in cells:
            record["cells"].remove(cell)
            replaced.append({**cell, "replaced": when, "reason": f"run again (--redo {item})"})
    record.setdefault("replaced", []).extend(replaced)
    return replaced


class StudyBusy(RuntimeError):
    """A cell of the study is still running in another process."""


def run_cell(config: RunConfig, cell: dict | None, artifacts: Path, data_path) -> tuple[Path, dict | None]:
    """Run one cell to the end: reuse its finished run, resume its stopped one, or start it.
    Returns (run folder, its metrics); the metrics are None for a run just created, which the caller
    executes once the cell is recorded."""
    if cell and cell.get("run_id"):
        run = read_run(artifacts / "runs" / cell["run_id"])
        if run.state == states.FINISHED:
            return run.path, run.metrics
        if run.state in states.RESUMABLE:
            return run.path, execute_run(run.path, data_path)
        if run.state in states.ACTIVE:
            raise StudyBusy(
                f"the study's run {run.run_id} is still {run.state} (another process runs this study): stop it first"
            )
    run_dir = create_run(config, artifacts, data_path)
    return run_dir, None


def run_study(
    data_path=None,
    preset: str = "fast",
    models=STUDY_MODELS,
    artifacts=None,
    split="random",
    split_seed: int = 42,
    log=print,
    resume_folder=None,
    redo=(),
) -> Path:
    """Run the grid in this process; returns the study folder (study.json, summary.csv).

    The study records every cell as it goes (study.json), so a killed study continues with
    `resume_folder`: finished cells are kept, a stopped cell resumes after its last finished epoch
    (or trial), the rest start. `redo` ("MODEL:VARIANT", with `resume_folder`) runs finished cells
    again (after a change of the selection rule, say); a tuned cell run again reuses its search's
    finished trials when its config is unchanged, and takes its augmented cell with it."""
    artifacts = artifacts_dir(artifacts)
    if redo and not resume_folder:
        raise ValueError("--redo runs cells of an existing study again: give it with --resume STUDY_DIR")
    if resume_folder:
        study = Study.resume(resume_folder)
    else:
        study = Study.start(artifacts, preset, models, split, split_seed)
    if redo:
        for cell in redo_cells(study.record, redo, time.strftime("%Y-%m-%d %H:%M:%S")):
            log(f"{cell['model']:<20} {cell['variant']:<10} runs again (was {cell['run_id']})")
        write_json(study.folder / "study.json", study.record)
    for model in study.record["models"]:
        if not any(entry["model"] == model for entry in study.record["skipped"]):
            run_model(study, model, artifacts, data_path, log)
    study.save()
    cells = [c for c in study.record["cells"] if not c.get("superseded")]
    write_csv(study.folder / "summary.csv", study_tables([read_run(artifacts / "runs" / c["run_id"]) for c in cells]))
    return study.folder


@dataclass
class Study:
    """A study in progress: its folder and its record (study.json), saved after every cell."""

    folder: Path
    record: dict
    started: float  # time.time() at the start, less the seconds of earlier sessions

    @classmethod
    def start(cls, artifacts: Path, preset: str, models, split, split_seed: int) -> "Study":
        """A new study folder under <artifacts>/studies. ValueError for an unknown preset or model."""
        check_grid(preset, models)
        folder = artifacts / "studies" / f"{time.strftime('%Y%m%d-%H%M%S')}-{preset}"
        folder.mkdir(parents=True)
        record = {
            "preset": preset,
            "description": PRESETS[preset].description,
            "split": split,
            "split_seed": split_seed,
            "models": list(models),
            "cells": [],
            "runs": [],
            "skipped": [],
            "retries": [],
        }
        return cls(folder, record, time.time())

    @classmethod
    def resume(cls, folder) -> "Study":
        """The study recorded in `folder` (its preset, split and models), to go on with."""
        folder = Path(folder)
        record = study_record(folder)
        record.setdefault("split_seed", 42)
        record.setdefault("cells", [])
        record.setdefault("retries", [])
        check_grid(record["preset"], record["models"])
        return cls(folder, record, time.time() - record.get("seconds", 0))

    def base_config(self, model: str) -> RunConfig:
        """The preset's config for `model` on the study's split (the base cell's config)."""
        preset, record = PRESETS[self.record["preset"]], self.record
        overrides = preset.per_model.get(model, {})
        return preset.base.replace(model=model, split=record["split"], split_seed=record["split_seed"], **overrides)

    def cell(self, model: str, variant: str, rank: int) -> dict | None:
        return next(
            (c for c in self.record["cells"] if (c["model"], c["variant"], c.get("rank", 0)) == (model, variant, rank)),
            None,
        )

    def save(self) -> None:
        self.record["runs"] = [cell["run_id"] for cell in self.record["cells"]]
        self.record["seconds"] = round(time.time() - self.started, 1)
        write_json(self.folder / "study.json", self.record)


def check_grid(preset: str, models) -> None:
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    unknown = [m for m in models if m not in SPECS]
    if unknown:
        raise ValueError(f"unknown model(s): {', '.join(unknown)}")


def run_model(study: Study, model: str, artifacts: Path, data_path, log) -> None:
    """One model's cells in order: base, tuned, then tuned with augmentation on the tuned search's
    rates. A cell that fails or is skipped stops the model's later cells."""
    tuned_run = None
    for variant in ("base", "tuned", "augmented"):
        cell = run_variant(study, model, variant, tuned_run, artifacts, data_path, log)
        study.save()
        if cell is None:
            return
        if variant == "tuned":
            tuned_run = artifacts / "runs" / cell["run_id"]


def run_variant(study: Study, model: str, variant: str, tuned_run, artifacts: Path, data_path, log) -> dict | None:
    """One cell of the grid to its end, retried with the tuned search's next rate while an
    augmented cell diverges or collapses (retry_reason). Returns the cell kept, or None when the
    model was skipped (no weights) or the cell failed (logged); a cancel or a busy cell propagates."""
    rank = 0
    while True:
        cell = study.cell(model, variant, rank)
        config = cell_config(study.base_config(model), variant, tuned_run, rank)
        try:
            cell, run_dir, result = run_recorded_cell(
                study, cell, config, (model, variant, rank), artifacts, data_path, log
            )
        except WeightsUnavailableError as error:
            log(f"{model:<20} {variant:<10} skipped: {error}")
            study.record["skipped"].append({"model": model, "reason": str(error)})
            return None
        except (RunCancelled, StudyBusy):
            study.save()
            raise  # a cancelled or doubly started study stops; resume continues it
        except Exception as error:
            log(f"{model:<20} {variant:<10} FAILED: {type(error).__name__}: {error}")
            return None
        test = result["test"]
        log(
            f"{model:<20} {variant:<10} binary {test['binary_accuracy']:.2%}  exact "
            f"{test['exact_match_accuracy']:.2%}  ({result.get('train_seconds', 0):.0f} s)  {run_dir.name}"
        )
        reason = retry_reason(result) if variant == "augmented" else None
        if reason is None or not retry_left(tuned_run, rank):
            return cell
        study.record["retries"].append(
            {"model": model, "run_id": run_dir.name, "learning_rate": config.learning_rate, "reason": reason}
        )
        cell["superseded"] = True
        log(
            f"{model:<20} {variant:<10} at learning rate {config.learning_rate}: {reason}; "
            "retrying with the next rate of the tuned search"
        )
        rank += 1


def run_recorded_cell(study: Study, cell, config: RunConfig, key, artifacts: Path, data_path, log):
    """Run one cell, recording a new one in the study first (a tuned cell reuses the finished
    trials of a replaced search with the same config). Returns (cell, run folder, metrics)."""
    model, variant, rank = key
    run_dir, result = run_cell(config, cell, artifacts, data_path)
    if cell is None:
        cell = {"model": model, "variant": variant, "rank": rank, "run_id": run_dir.name}
        earlier = reusable_search(study.record, model, config, artifacts) if variant == "tuned" else None
        if earlier is not None:
            reuse_trials(earlier, run_dir)
            cell["trials_from"] = earlier.name
            log(f"{model:<20} {variant:<10} reuses the finished trials of {earlier.name}")
        study.record["cells"].append(cell)
        study.save()
    if result is None:
        result = execute_run(run_dir, data_path)
    return cell, run_dir, result


def study_record(folder: Path) -> dict:
    """The study.json of a study folder; ValueError naming the problem (a file given instead of
    the folder, no readable record)."""
    folder = Path(folder)
    if folder.is_file():
        raise ValueError(f"{folder} is a file: give the study's folder (the one holding study.json)")
    record = read_json(folder / "study.json")
    if not record:
        raise ValueError(f"{folder} holds no readable study.json")
    return record


def reusable_search(record: dict, model: str, config: RunConfig, artifacts: Path) -> Path | None:
    """The run folder of a replaced tuned cell of `model` whose config equals `config` and whose
    search finished every trial (its tuner folder is still there), or None."""
    for cell in reversed(record.get("replaced", [])):
        if (cell["model"], cell["variant"]) != (model, "tuned"):
            continue
        path = artifacts / "runs" / cell["run_id"]
        try:
            same = RunFolder(path).read_config() == config
        except (OSError, ValueError):
            continue
        if same and (path / RunFolder.TUNER).is_dir() and (path / RunFolder.TRIALS).is_file():
            trials = pd.read_csv(path / RunFolder.TRIALS)
            if len(trials) >= config.max_trials and (trials.status == "COMPLETED").all():
                return path
    return None
