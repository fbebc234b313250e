"""The accuracy issue's lever table: finished runs grouped by their `lever-<name><seed>` tag (as
`--tags lever-B42` gives them), one row per lever, printed as a Markdown table.

    .venv/bin/python scripts/lever_table.py [ARTIFACTS] [--untagged] [--no-tta DATA]

Each row: the split kind, the seeds, test exact-match accuracy per seed with its 95 % interval
(bootstrap over shots, as metrics.json stores it), the mean over seeds of test exact match and
binary accuracy and of validation exact match, the epochs trained and evaluated, and the mean
training time. With --no-tta DATA, every run that was evaluated with mirror TTA is scored again
without it (the same model and frames, tomjerry.training.scoring.score) and shown as a row of its own.
"""

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tomjerry.runs.record import read_runs  # noqa: E402

TAG = re.compile(r"^lever-(?P<lever>[A-Za-z]+?)(?P<seed>\d+|random)$")


def percent(value: float) -> str:
    return f"{value * 100:.2f}"


def row(name: str, runs: list, metrics: list[dict]) -> str:
    seeds = " / ".join(str(run.split.get("seed")) for run in runs)
    per_seed = "; ".join(
        f"{percent(m['test']['exact_match_accuracy'])} "
        f"[{percent(m['test']['exact_match_ci95'][0])}, {percent(m['test']['exact_match_ci95'][1])}]"
        for m in metrics
    )
    exact = np.mean([m["test"]["exact_match_accuracy"] for m in metrics])
    binary = np.mean([m["test"]["binary_accuracy"] for m in metrics])
    val = np.mean([m["validation"]["exact_match_accuracy"] for m in metrics])
    epochs = " / ".join(f"{m.get('epochs_run')}→{m.get('evaluated_epoch', m.get('best_epoch'))}" for m in metrics)
    minutes = np.mean([m.get("train_seconds", np.nan) for m in metrics]) / 60
    return (
        f"| {name} | {runs[0].split.get('kind')} {seeds} | {per_seed} | **{percent(exact)}** | {percent(binary)} "
        f"| {percent(val)} | {epochs} | {minutes:.1f} |"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifacts", nargs="?", default=None, help="artifacts folder (default: the project's)")
    parser.add_argument("--untagged", action="store_true", help="also list runs without a lever tag")
    parser.add_argument("--no-tta", metavar="DATA", help="also score each TTA run without TTA on this dataset")
    args = parser.parse_args()

    groups = defaultdict(list)
    for run in read_runs(args.artifacts):
        tags = (
            [match for tag in (run.config.tags or ()) if run.config and (match := TAG.match(tag))]
            if run.finished
            else []
        )
        if tags:
            groups[tags[0]["lever"], run.split.get("kind")].append(run)
        elif run.finished and args.untagged:
            groups[f"untagged, patience {run.config.patience}", run.split.get("kind")].append(run)
    print(
        "| lever | split, seeds | test exact match per seed [95 % interval] | mean exact | mean binary "
        "| mean val exact | epochs run→evaluated | train min |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for (lever, kind), runs in sorted(groups.items()):
        runs.sort(key=lambda run: str(run.split.get("seed")))
        name = f"{lever}: {runs[0].setting()}"
        print(row(name, runs, [run.metrics for run in runs]))
        if args.no_tta and runs[0].config.tta:
            print(row(f"{lever} without TTA", runs, [untta(run, args.no_tta) for run in runs]))


def untta(run, data_path: str) -> dict:
    """The run's metrics scored again without TTA (its model, split and frames)."""
    from tomjerry.data.discovery import find_dataset
    from tomjerry.inference.predict import load_model
    from tomjerry.runs.folder import RunFolder
    from tomjerry.training.rundata import RunData
    from tomjerry.training.scoring import score

    source = find_dataset(data_path, allow_demo=False)
    data = RunData(run.config, source.path, run.path, split_file=run.folder.file(RunFolder.SPLIT))
    _, metrics, _ = score(load_model(run.path), data, tta=False)
    return {**run.metrics, "test": metrics["test"], "validation": metrics["validation"]}


if __name__ == "__main__":
    main()
