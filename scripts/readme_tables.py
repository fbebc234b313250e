"""The figures of the README's Results section, printed from the shipped run folders (artifacts/runs/ref-*),
so every number there comes from code: nothing here is typed in.

    .venv/bin/python scripts/readme_tables.py [ARTIFACTS] [--coverage]

Prints, as Markdown:
1. every shipped setting per split: test exact match and binary accuracy, per seed and pooled over its
   seeds, with 95 % studentized cluster-bootstrap intervals over (seed, linked shot group) clusters
   (tomjerry.science.results.pooled_interval), the number of groups, validation exact match pooled
   over the same seeds, and how often each test set has been scored (tomjerry.runs.ledger);
2. the study grid's contrasts (tomjerry.science.answer): difference in exact match with its interval,
   the sign-flip p over shot groups and Holm's p, the verdict;
3. paired comparisons of the shipped presets on the same frames (Lite1 against Lite0, the 16:9 input
   against the square, quick against the best), per seed and pooled, with the group-level p;
4. the facts the README states about the AlexNet cells (how often they answer "Tom alone", frames
   trained on, training accuracy) and the shots splits (frames left unused);
5. with --coverage: the simulated coverage of the three interval methods with each shots split's real
   group sizes (tomjerry.metrics.stats.simulated_coverage; a minute).
"""

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tomjerry.metrics.stats import INTERVAL_METHODS, simulated_coverage  # noqa: E402
from tomjerry.runs.ledger import test_set_scorings  # noqa: E402
from tomjerry.runs.record import read_runs  # noqa: E402
from tomjerry.science.answer import answer  # noqa: E402
from tomjerry.science.results import (  # noqa: E402
    _validation,
    finished,
    pooled_comparison,
    pooled_interval,
    test_frames,
    untouched_results,
    untouched_sentence,
)


def seed_key(seed):
    return (seed is None, seed if seed != 42 else -1)  # 42 first, as the README lists seeds


def pct(value: float) -> str:
    return f"{value * 100:.2f}"


def interval(iv) -> str:
    return f"{iv.estimate * 100:.2f} [{iv.low * 100:.1f}, {iv.high * 100:.1f}]"


def settings_table(runs, scorings) -> None:
    print("### Shipped settings: test scores per seed and pooled\n")
    print(
        "| setting | split | per seed: exact match [95 %] | pooled exact match [95 %] (groups) | pooled binary [95 %] "
        "| pooled val exact | test set scored |"
    )
    print("|---|---|---|---|---|---|---|")
    groups = defaultdict(list)
    for run in finished(runs):
        groups[(run.setting(), run.split.get("kind"))].append(run)
    for (setting, kind), members in sorted(groups.items(), key=lambda item: (item[0][1] != "shots", item[0])):
        members.sort(key=lambda run: seed_key(run.split.get("seed")))
        per_seed = "; ".join(
            f"{run.split.get('seed')}: {interval(pooled_interval([run])['exact_match'])}" for run in members
        )
        pooled = pooled_interval(members)
        validation = np.mean([_validation(run)[0] for run in members])
        counts = ", ".join(str(scorings.get(run.run_id)) for run in members)
        print(
            f"| {setting} | {kind} {' / '.join(str(run.split.get('seed')) for run in members)} | {per_seed} "
            f"| {interval(pooled['exact_match'])} ({pooled['exact_match'].groups}) "
            f"| {interval(pooled['binary_accuracy'])} | {pct(validation)} | {counts} |"
        )
    print()


def untouched_table(runs) -> None:
    """The settings scored once on the untouched split (shots, UNTOUCHED_SEED), apart from the rest."""
    found = untouched_results(runs)
    if not found:
        return
    print("### The untouched split (scored once, never chosen on)\n")
    for result in found:
        print(f"- {untouched_sentence(result)} Test set scored {', '.join(map(str, result.test_set_scorings))} times.")
    print()


def grid_table(runs, scorings) -> None:
    found = answer(runs, scorings=scorings)
    print(f"### The study grid's contrasts ({found.split} split)\n")
    print("| model | contrast | points [95 %] | p (shot groups) | p (Holm) | verdict | seeds | groups | coverage |")
    print("|---|---|---|---|---|---|---|---|---|")
    for c in found.contrasts:
        covered = "" if c.coverage is None else f"{c.coverage:.0%}" + (" (approximate)" if c.approximate else "")
        print(
            f"| {c.model} | {c.contrast} | {c.difference:+.1f} [{c.ci95[0]:+.1f}, {c.ci95[1]:+.1f}] | {c.p_group:.2g} "
            f"| {c.p_holm:.2g} | {c.verdict} | {', '.join(map(str, c.seeds))} | {c.groups} | {covered} |"
        )
    print()
    for sentence in found.said:
        print(f"- {sentence}")
    if found.leader:
        print(f"- {found.leader.sentence}")
    print()


def preset_pairs(runs) -> None:
    by = {(run.preset, run.split.get("kind"), run.split.get("seed")): run for run in finished(runs) if run.preset}
    print("### Presets paired on the same frames (exact match, points)\n")
    print("| a - b | split seed | points [95 %] | p (shot groups) | groups |")
    print("|---|---|---|---|---|")
    pairs = (
        ("lite1-best", "lite0-best"),
        ("lite1-wide", "lite1-best"),
        ("lite1-wide-ms", "lite1-wide"),
        ("lite1-wide-ms", "lite1-best"),
        ("quick", "lite1-best"),
        ("quick", "lite1-wide"),
        ("quick", "lite1-wide-ms"),
        ("quick", "lite0-best"),
    )
    for a, b in pairs:
        seeds = sorted(
            {seed for (preset, kind, seed) in by if preset == a and kind == "shots" and (b, "shots", seed) in by},
            key=seed_key,
        )
        for chosen in [[seed] for seed in seeds] + ([seeds] if len(seeds) > 1 else []):
            result = pooled_comparison([(by[(a, "shots", s)], by[(b, "shots", s)]) for s in chosen])
            exact = result["exact_match_difference"]
            print(
                f"| {a} - {b} | shots {' + '.join(map(str, chosen))} | {exact['difference'] * 100:+.1f} "
                f"[{exact['low'] * 100:+.1f}, {exact['high'] * 100:+.1f}] | {result['group_test']['p_value']:.2g} "
                f"| {exact['groups']} |"
            )
    print()


def facts(runs) -> None:
    print("### Facts\n")
    for run in sorted(finished(runs), key=lambda run: run.label()):
        config = run.config
        if config.model == "alexnet" and run.preset is None:
            test = test_frames(run)
            called_tom_alone = ((test.p_tom >= 0.5) & (test.p_jerry < 0.5)).mean()
            history = run.folder.read_history()
            best_train = history.binary_accuracy.max() if "binary_accuracy" in history else float("nan")
            counts = (run.metrics or {}).get("split_counts", {})
            print(
                f"- {run.label()}: answers 'Tom alone' on {called_tom_alone:.1%} of test frames (truth: "
                f"{((test.tom == 1) & (test.jerry == 0)).mean():.1%}); trained on {counts.get('train')} frames; "
                f"highest training binary accuracy {best_train:.1%} over {len(history)} epochs"
            )
    unused = {}
    for run in finished(runs):
        if run.split.get("kind") == "shots" and run.split.get("seed") not in unused:
            frame = pd.read_csv(run.folder.file("split.csv"))  # the split file holds the unused frames
            unused[run.split.get("seed")] = (frame.split == "unused").mean()
    print(
        "- frames left unused by the shots splits: "
        + ", ".join(f"seed {seed} {share:.1%}" for seed, share in sorted(unused.items(), key=lambda i: seed_key(i[0])))
    )
    print()


def coverage(runs) -> None:
    print("### Simulated coverage of a nominal 95 % interval with the real group sizes (300 test sets)\n")
    print("| split seed | groups | largest | kind | " + " | ".join(INTERVAL_METHODS) + " |")
    print("|---|---|---|---|" + "---|" * len(INTERVAL_METHODS))
    seen = {}
    for run in finished(runs):
        if run.split.get("kind") == "shots" and run.split.get("seed") not in seen:
            test = test_frames(run)
            seen[run.split.get("seed")] = test.groupby("shot").size().to_numpy()
    for seed in sorted(seen, key=seed_key):
        sizes = seen[seed]
        for kind in ("score", "difference"):
            found = simulated_coverage(sizes, kind=kind, n_sim=300)
            print(
                f"| {seed} | {len(sizes)} | {sizes.max()} | {kind} | "
                + " | ".join(f"{found[method]:.1%}" for method in INTERVAL_METHODS)
                + " |"
            )
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifacts", nargs="?", default=None, help="artifacts folder (default: the project's)")
    parser.add_argument("--coverage", action="store_true", help="also simulate the intervals' coverage (a minute)")
    args = parser.parse_args()
    every = read_runs(args.artifacts)
    runs = [run for run in every if run.reference and run.finished]
    scorings = test_set_scorings(every)
    settings_table(runs, scorings)
    untouched_table(runs)
    grid_table(runs, scorings)
    preset_pairs(runs)
    facts(runs)
    if args.coverage:
        coverage(runs)


if __name__ == "__main__":
    main()
