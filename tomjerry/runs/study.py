"""The study's grid: for each model, base, tuned, and tuned with augmentation, on one shared
split; then the study's three tables (base, tuned, augmentation) rebuilt from the run folders."""

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tomjerry.atomic import read_json, write_csv, write_json
from tomjerry.config import RunConfig
from tomjerry.model_specs import SPECS, WeightsUnavailableError
from tomjerry.runs import states
from tomjerry.runs.execute import execute_run
from tomjerry.runs.folder import RunFolder, artifacts_dir
from tomjerry.runs.lifecycle import create_run
from tomjerry.runs.record import Run, read_run

STUDY_MODELS = ("alexnet", "zfnet", "inceptionv3", "efficientnet_lite0")


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    base: RunConfig
    per_model: dict


PRESETS = {
    # Faithful: 224 px and the study's settings.
    "seed": Preset("seed", "faithful to the study: 224 px, 10 epochs, 3 trials (hours on a CPU)",
                   RunConfig(image_size=224, epochs=10, batch_size=32, max_trials=3, patience=3), {
                       "inceptionv3": {"tune_dropout": True}}),
    # Fits 60 minutes on 2 CPU cores with the real data: small images, few epochs.
    "fast": Preset("fast", "CPU preset: 96 px, 3 epochs, 3 trials, batch 64 (about 30 minutes on 2 cores)",
                   RunConfig(image_size=96, epochs=3, batch_size=64, max_trials=3, patience=2), {
                       "inceptionv3": {"tune_dropout": True, "max_trials": 2},
                       "efficientnet_lite0": {"learning_rate": 1e-3}}),
    # Seconds, for tests and a first look at the demo data.
    "tiny": Preset("tiny", "smoke test: 80 px, 1 epoch, 2 trials", RunConfig(
        image_size=80, epochs=1, batch_size=32, max_trials=2, patience=0), {}),
}


def study_tables(runs: list[Run]) -> pd.DataFrame:
    """One row per finished run: the study's columns (correct N / total, binary accuracy) and ours."""
    rows = []
    for run in runs:
        if run.state != states.FINISHED:
            continue
        config, metrics = run.config, run.metrics or {}
        test = metrics.get("test", {})
        challenge = metrics.get("challenge", {})
        labels = test.get("labels", {})
        rows.append({
            "variant": config.variant, "model": config.model, "split": config.split,
            "shipped": run.reference, "label": run.label(),
            "image_size": config.image_size, "run_id": run.run_id,
            "correct": f"{test.get('correct_predictions', 0):.1f} / {test.get('count', 0)}",
            "binary_accuracy": test.get("binary_accuracy"), "exact_match": test.get("exact_match_accuracy"),
            "f1_tom": labels.get("tom", {}).get("f1"), "f1_jerry": labels.get("jerry", {}).get("f1"),
            "challenge": f"{challenge.get('exact_match_correct', 0)} / {challenge.get('count', 0)}",
            "challenge_in_training": metrics.get("challenge_in_training"),
            "learning_rate": (metrics.get("tuning") or {}).get("best_learning_rate", config.learning_rate),
            "seconds": metrics.get("train_seconds"),
        })
    return pd.DataFrame(rows)


def format_table(table: pd.DataFrame, variant: str) -> str:
    part = table[table.variant == variant]
    if part.empty:
        return f"{variant}: no finished runs"
    lines = [f"{variant.upper()}", f"{'model':<20}{'correct':>16}{'binary':>9}{'exact':>9}{'F1 tom':>8}{'F1 jerry':>9}{'challenge':>11}{'time':>8}"]
    for row in part.itertuples():
        lines.append(f"{row.model:<20}{row.correct:>16}{row.binary_accuracy:>9.2%}{row.exact_match:>9.2%}"
                     f"{row.f1_tom:>8.3f}{row.f1_jerry:>9.3f}{row.challenge:>11}{row.seconds or 0:>7.0f}s")
    return "\n".join(lines)


def run_study(data_path=None, preset: str = "fast", models=STUDY_MODELS, artifacts=None, split="random",
              split_seed: int = 42, log=print) -> Path:
    """Run the grid in this process; returns the study folder (summary.csv, study.json)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    unknown = [m for m in models if m not in SPECS]
    if unknown:
        raise ValueError(f"unknown model(s): {', '.join(unknown)}")
    chosen = PRESETS[preset]
    artifacts = artifacts_dir(artifacts)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = artifacts / "studies" / f"{stamp}-{preset}"
    folder.mkdir(parents=True)
    record = {"preset": preset, "description": chosen.description, "split": split, "runs": [], "skipped": []}
    started = time.time()
    for model in models:
        base = chosen.base.replace(model=model, split=split, split_seed=split_seed, **chosen.per_model.get(model, {}))
        config = base.replace(variant="base")
        for variant in ("base", "tuned", "augmented"):
            run_dir = create_run(config, artifacts, data_path)
            record["runs"].append(run_dir.name)
            write_json(folder / "study.json", record)
            try:
                result = execute_run(run_dir, data_path)
            except WeightsUnavailableError as error:
                log(f"{model:<20} {variant:<10} skipped: {error}")
                record["skipped"].append({"model": model, "reason": str(error)})
                break
            except Exception as error:
                log(f"{model:<20} {variant:<10} FAILED: {type(error).__name__}: {error}")
                break
            test = result["test"]
            log(f"{model:<20} {variant:<10} binary {test['binary_accuracy']:.2%}  exact {test['exact_match_accuracy']:.2%}"
                f"  ({result.get('train_seconds', 0):.0f} s)  {run_dir.name}")
            if variant == "base":
                config = base.replace(variant="tuned")
            elif variant == "tuned":
                # Tuned with augmentation: the tuned hyperparameters, trained on augmented batches.
                best = RunFolder(run_dir).read_json(RunFolder.BEST_HYPERPARAMETERS) or {}
                config = base.replace(variant="augmented", augment=True,
                                      learning_rate=best.get("learning_rate", base.learning_rate),
                                      dropout_rate=best.get("dropout_rate", base.dropout_rate))
    record["seconds"] = round(time.time() - started, 1)
    write_json(folder / "study.json", record)
    table = study_tables([read_run(artifacts / "runs" / r) for r in record["runs"]])
    write_csv(folder / "summary.csv", table)
    return folder


def skipped_models(artifacts=None) -> dict:
    """Models a study could not run, with the reason (e.g. no ImageNet weights offline)."""
    skipped = {}
    for record in sorted((artifacts_dir(artifacts) / "studies").glob("*/study.json")):
        for entry in (read_json(record) or {}).get("skipped", []):
            skipped[entry["model"]] = entry["reason"]
    return skipped
