"""The accuracy issue's ensemble lever, measured from finished runs' own predictions: for each split
(kind and seed) on which every named preset has a finished run, the frame-by-frame mean of the
runs' probabilities (each run's own TTA as it was evaluated), scored on the test frames at 0.5.

    .venv/bin/python scripts/ensemble_lever.py [ARTIFACTS ...] [--presets lite0-best,lite1-best]

Prints a Markdown row per split: each member's test exact match, the ensemble's with its 95 %
interval (bootstrap over shots, tomjerry.metrics.evaluation.metrics), and the ensemble minus the best
member on the same frames (studentized interval and sign-flip p over linked shot groups,
tomjerry.metrics.stats.cluster_interval and sign_flip_test). The runs' test
frames must be the same frames with the same labels; a split where they are not is an error.
Nothing is trained and no model is loaded: predictions.csv holds every validation and test frame.
"""

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tomjerry.config import changes_from_preset  # noqa: E402
from tomjerry.metrics.evaluation import metrics  # noqa: E402
from tomjerry.metrics.stats import cluster_interval, sign_flip_test  # noqa: E402
from tomjerry.runs.record import read_runs  # noqa: E402


def test_rows(run):
    rows = run.folder.read_predictions()
    rows = rows[rows.split == "test"].set_index("filename").sort_index()
    if rows.empty:
        raise ValueError(f"{run.run_id}: predictions.csv has no test frames")
    return rows


def exact_correct(probabilities: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(N,) True where both labels at 0.5 match the truth: exact match, frame by frame."""
    return ((probabilities >= 0.5).astype(int) == truth).all(axis=1)


def ensemble_row(key, members) -> str:
    tables = [test_rows(run) for run in members]
    first = tables[0]
    for run, table in zip(members[1:], tables[1:]):
        if not table.index.equals(first.index) or not (table[["tom", "jerry"]] == first[["tom", "jerry"]]).all().all():
            raise ValueError(f"{run.run_id} and {members[0].run_id} were not scored on the same test frames")
    truth = first[["tom", "jerry"]].to_numpy()
    shots = first["shot"].to_numpy()
    probabilities = np.mean([table[["p_tom", "p_jerry"]].to_numpy() for table in tables], axis=0)
    ensemble = metrics(truth, probabilities, 0.5, shots)
    exact = exact_correct(probabilities, truth)
    member_exact = [exact_correct(table[["p_tom", "p_jerry"]].to_numpy(), truth) for table in tables]
    best = int(np.argmax([correct.mean() for correct in member_exact]))
    difference = cluster_interval(exact.astype(float) - member_exact[best].astype(float), shots)
    test = sign_flip_test(exact, member_exact[best], shots)
    low, high = ensemble["exact_match_ci95"]
    members_text = " / ".join(f"{correct.mean() * 100:.2f}" for correct in member_exact)
    return (
        f"| {key[0]} {key[1]} | {members_text} | **{ensemble['exact_match_accuracy'] * 100:.2f}** "
        f"[{low * 100:.1f}, {high * 100:.1f}] | {ensemble['binary_accuracy'] * 100:.2f} "
        f"| {difference.estimate * 100:+.1f} [{difference.low * 100:+.1f}, {difference.high * 100:+.1f}], "
        f"p {test.p_value:.2g} |"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifacts", nargs="*", help="artifacts folders (default: the project's)")
    parser.add_argument(
        "--presets",
        default="lite0-best,lite1-best",
        help="comma-separated presets whose runs are averaged (default: lite0-best,lite1-best)",
    )
    parser.add_argument("--tag", help="only runs with this tag")
    args = parser.parse_args()
    presets = [name.strip() for name in args.presets.split(",") if name.strip()]
    if len(presets) < 2:
        raise SystemExit("--presets needs at least two presets to average")

    by_split = defaultdict(dict)
    for folder in args.artifacts or [None]:
        for run in read_runs(folder):
            config = run.config
            # A run that changes its preset's settings is not that preset (config.changes_from_preset).
            if not run.finished or config is None or config.preset not in presets or changes_from_preset(config):
                continue
            if args.tag and args.tag not in (config.tags or ()):
                continue
            by_split[run.split.get("kind"), run.split.get("seed")].setdefault(config.preset, run)
    print(
        f"| split | test exact match of {' / '.join(presets)} | ensemble exact match [95 % interval] "
        "| ensemble binary | ensemble - best member (paired) |"
    )
    print("|---|---|---|---|---|")
    for key, runs in sorted(by_split.items(), key=lambda item: (str(item[0][0]), str(item[0][1]))):
        if all(name in runs for name in presets):
            print(ensemble_row(key, [runs[name] for name in presets]))


if __name__ == "__main__":
    main()
