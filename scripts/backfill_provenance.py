"""Give run folders written before provenance.json existed (schema 1) their provenance (and their
inference recipe, inference.json, when they have none), from
what they recorded: the dataset they name (which must still hold exactly the frames their split
covers), their split.csv and config. Package versions, commit and hardware were not recorded
then and stay null, with a note saying so.

    python scripts/backfill_provenance.py RUN_DIR... [--preset NAME]
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tomjerry.data.dataset import dataset_record, scan  # noqa: E402
from tomjerry.data.discovery import find_dataset  # noqa: E402
from tomjerry.data.splits import read_split_csv  # noqa: E402
from tomjerry.inference.predict import InferenceRecipe  # noqa: E402
from tomjerry.runs.folder import RunFolder  # noqa: E402
from tomjerry.runs.provenance import split_record  # noqa: E402


def write_recipe(folder: RunFolder) -> None:
    """The run's inference recipe, from its config and its validation threshold, if it has none."""
    if not folder.file(RunFolder.INFERENCE).is_file():
        recipe = InferenceRecipe.for_run(folder.read_config(), folder.read_metrics())
        folder.write_json(RunFolder.INFERENCE, recipe.to_dict())


def backfill(run_dir: Path, preset: str | None) -> dict:
    folder = RunFolder(run_dir)
    config = folder.read_config()
    if preset:
        config = config.replace(preset=preset)
    metrics = folder.read_metrics() or {}
    status = folder.read_json(RunFolder.STATUS) or {}
    data_path = (metrics.get("dataset") or {}).get("path") or status.get("data")
    source = find_dataset(data_path)
    dataset = scan(source)
    split = read_split_csv(folder.file(RunFolder.SPLIT), dataset.usable)  # every frame must have its side
    if (metrics.get("dataset") or {}).get("images") not in (None, len(dataset.usable)):
        raise ValueError(f"{run_dir.name}: the dataset at {source.path} no longer has the run's frames")
    record = {
        "dataset": dataset_record(source.path, source.is_demo, dataset.usable),
        "split": split_record(config, folder.split_sha256(), pd.Series(split.to_numpy())),
        "preset": config.preset,
        "versions": None,
        "git": None,
        "hardware": {"replicas": metrics.get("replicas", 1)},
        "note": "backfilled after the run from its config, metrics and split.csv; package versions, "
        "commit and hardware were not recorded then",
    }
    folder.write_json(RunFolder.PROVENANCE, record)
    write_recipe(folder)
    folder.write_config(config)
    folder.write_json(RunFolder.STATUS, status)
    return record


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", type=Path)
    parser.add_argument("--preset", help="the preset the runs were started from")
    args = parser.parse_args()
    for run_dir in args.run_dirs:
        record = backfill(run_dir, args.preset)
        print(
            f"{run_dir.name}: dataset {record['dataset']['fingerprint']}, split {record['split']['kind']} "
            f"{record['split']['seed']} {record['split']['sizes']}"
        )


if __name__ == "__main__":
    main()
