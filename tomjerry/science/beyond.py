"""Work beyond the study's grid, as Compare and the Report show it (and which runs Compare draws
learning curves of by default): the runs started from a preset,
one row per split kind and setting, pooled over the split seeds it ran on, with one interval.

A random split puts near-copies of test frames in training and a shots split does not, so a
random-split score sits far above a shots-split one of the same setting (97.7 % against 86-89 %
exact match for lite1-best): rows are grouped by split kind first (most leakage-resistant first,
results.SPLIT_ORDER), never ranked together, and within a kind sorted by their pooled exact match."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tomjerry.metrics.stats import holm
from tomjerry.runs.record import Run
from tomjerry.science.answer import verdict
from tomjerry.science.results import (
    SPLIT_ORDER,
    best_run,
    finished,
    pooled_comparison,
    pooled_interval,
    seed_order,
    test_frames,
)

# What a summary row shows in the app and the report: few and narrow, so it fits 1280 px.
SUMMARY_COLUMNS = ["setting", "seeds", "exact_match", "exact_match_ci95", "binary_accuracy", "seconds"]

SPLIT_TITLES = {
    "shots": "Shots split: whole shots on one side (the fair test of scenes never seen)",
    "blocked": "Blocked split: runs of 50 consecutive frames on one side",
    "random": "Random split (the study's): frames of one shot on both sides, so it rewards memorising shots",
    "file": "A split file",
}


def preset_runs(runs: list[Run]) -> list[Run]:
    """Finished runs started from a named preset (lite0-best, quick, ...) with test scores: the
    runs that are not cells of the study's grid."""
    return [run for run in finished(runs) if run.preset and run.test]


def pooled_exact_match(runs: list[Run]) -> dict:
    """One estimate and one 95 % interval of exact match over several runs of one setting, each on
    its own split seed: every test frame of every run pooled, the interval a studentized cluster
    bootstrap over (seed, linked shot group) clusters with the seeds as strata
    (results.pooled_interval, the one Home's headline uses, so the two never disagree). Returns
    estimate, low, high (fractions), groups (clusters), frames, and per_seed (seed -> exact match).
    ValueError when a run's predictions cannot be read."""
    if not runs:
        raise ValueError("pooled_exact_match needs at least one run")
    runs = sorted(runs, key=seed_order)
    pooled = pooled_interval(runs)
    if pooled is None:
        raise ValueError(f"the predictions of {', '.join(run.run_id for run in runs)} cannot all be read")
    exact = pooled["exact_match"]
    frames = [test_frames(run) for run in runs]
    return {
        "estimate": exact.estimate,
        "low": exact.low,
        "high": exact.high,
        "groups": exact.groups,
        "frames": int(sum(len(f) for f in frames)),
        "per_seed": {run.split.get("seed"): float(f.exact.mean()) for run, f in zip(runs, frames)},
    }


def interval_text(low: float, high: float) -> str:
    """'84.1-89.0 %' for fractions 0.841 and 0.890."""
    return f"{low * 100:.1f}-{high * 100:.1f} %"


def interval_label(ci) -> str:
    """interval_text of a [low, high] list as metrics.json stores it; 'not recorded' for None."""
    return interval_text(*ci) if ci else "not recorded"


def preset_summary(runs: list[Run]) -> pd.DataFrame:
    """One row per (split kind, setting) of the preset runs: `split`, `setting`, `seeds` ('1, 2,
    42'), `runs`, `exact_match` (pooled over the seeds' test frames), `exact_match_low/high` and
    `exact_match_ci95` (its 95 % interval, text), `groups` (the clusters it rests on), `frames`,
    `binary_accuracy` (frame-weighted mean over the seeds), `seconds` (mean training time) and
    `run_ids`. Sorted by split kind (shots, blocked, random, file) and, within one, by exact match,
    best first. Empty (with these columns) when no preset run has finished."""
    columns = [
        "split",
        "setting",
        "seeds",
        "runs",
        "exact_match",
        "exact_match_low",
        "exact_match_high",
        "exact_match_ci95",
        "groups",
        "frames",
        "binary_accuracy",
        "seconds",
        "run_ids",
    ]
    groups: dict[tuple[str, str], list[Run]] = {}
    for run in preset_runs(runs):
        groups.setdefault((run.split.get("kind") or "file", run.setting()), []).append(run)
    rows = []
    for (kind, setting), members in groups.items():
        members = sorted(members, key=seed_order)
        pooled = pooled_exact_match(members)
        counts = np.array([run.test.get("count") or 0 for run in members], float)
        binary = np.array([run.test.get("binary_accuracy") or 0 for run in members], float)
        timed = [(run.metrics or {}).get("train_seconds") for run in members]
        seconds = [float(s) for s in timed if s is not None]
        rows.append(
            {
                "split": kind,
                "setting": setting,
                "seeds": ", ".join(str(run.split.get("seed")) for run in members),
                "runs": len(members),
                "exact_match": pooled["estimate"],
                "exact_match_low": pooled["low"],
                "exact_match_high": pooled["high"],
                "exact_match_ci95": interval_text(pooled["low"], pooled["high"]),
                "groups": pooled["groups"],
                "frames": pooled["frames"],
                "binary_accuracy": float((binary * counts).sum() / counts.sum()) if counts.sum() else float("nan"),
                "seconds": float(np.mean(seconds)) if seconds else float("nan"),
                "run_ids": [run.run_id for run in members],
            }
        )
    frame = pd.DataFrame(rows, columns=columns)
    if frame.empty:
        return frame
    order = {kind: i for i, kind in enumerate((*SPLIT_ORDER, "file"))}
    frame["order"] = frame.split.map(order).fillna(len(order))
    frame = frame.sort_values(["order", "exact_match", "setting"], ascending=[True, False, True], kind="stable")
    return frame.drop(columns="order").reset_index(drop=True)


def split_kinds(summary: pd.DataFrame) -> list[str]:
    """The split kinds of a summary in its order (shots first)."""
    return list(dict.fromkeys(summary.split)) if len(summary) else []


def summary_note(summary: pd.DataFrame) -> str:
    """What a row is, in words: 'One row per preset and split kind: the test frames of every split
    seed it ran on pooled (1,646 frames of 3 seeds for the first row), its 95 % interval a
    bootstrap over 152 (seed, shot group) clusters.'"""
    if summary.empty:
        return ""
    first = summary.iloc[0]
    return (
        "One row per preset and split kind, best first within a kind: exact match over the test frames of every "
        f"split seed it ran on, pooled (the first row: {first.frames:,} frames of {first.runs} seed(s)); its 95 % "
        f"interval is a bootstrap over (seed, shot group) clusters ({first.groups} for the first row), since the "
        "frames of one shot are near-copies. Scores of different split kinds are not comparable."
    )


def curve_defaults(runs: list[Run], limit: int = 4) -> list[str]:
    """Run ids to draw learning curves of by default: the best run (on validation) and runs of
    its image size only, its own setting first, so curves drawn together were trained alike (a
    136 px grid cell beside a 224 px preset run compares two things at once)."""
    best = best_run(runs, with_model=False)
    if best is None or best.config is None:
        return [run.run_id for run in runs[:limit]]
    size, setting = best.config.input_shape, best.setting()
    alike = [run for run in runs if run.config is not None and run.config.input_shape == size]
    alike.sort(key=lambda run: (run.run_id != best.run_id, run.setting() != setting, run.run_id))
    return [run.run_id for run in alike[:limit]]


# The accuracy work as steps, each one lever against the preset it changed (README, "What raises
# accuracy on unseen shots"): (preset, the preset it is compared with, the lever in words).
LEVER_STEPS = (
    ("lite1-best", "lite0-best", "EfficientNet-Lite1 at 240 px instead of Lite0 at 224"),
    ("lite1-wide", "lite1-best", "the frame's own 16:9 shape instead of a square"),
    ("lite1-wide-ms", "lite1-wide", "multi-scale test-time augmentation"),
    ("quick", "lite0-best", "2 epochs instead of 5"),
)


@dataclass(frozen=True)
class LeverStep:
    """One lever, paired on the same test frames of every shots seed both presets ran on."""

    preset: str
    against: str
    lever: str
    difference: float  # points of exact match, pooled over the seeds
    ci95: tuple  # (low, high) points: studentized bootstrap over (seed, linked shot group) clusters
    p_group: float  # sign-flip test over the same clusters
    p_holm: float  # adjusted over every step shown (Holm)
    verdict: str  # answer.verdict's fixed rule
    seeds: list
    groups: int

    def sentence(self) -> str:
        """'The frame's own 16:9 shape (lite1-wide - lite1-best): +3.5 points [+1.6, +5.9] over 192
        shot groups of shots seeds 1, 2, 42; p 0.00055, 0.0017 after Holm: helps.'"""
        low, high = self.ci95
        seeds = ", ".join(str(seed) for seed in self.seeds)
        return (
            f"{self.lever[0].upper() + self.lever[1:]} ({self.preset} - {self.against}): {self.difference:+.1f} points [{low:+.1f}, {high:+.1f}] "
            f"over {self.groups} shot groups of shots seed{'s' if len(self.seeds) > 1 else ''} {seeds}; "
            f"p {self.p_group:.2g} over shot groups, {self.p_holm:.2g} after Holm: {self.verdict}."
        )


def lever_steps(runs: list[Run]) -> list[LeverStep]:
    """Each of LEVER_STEPS whose two presets both ran on at least one shots split seed (the
    untouched split's runs left out), as one paired estimate over their common seeds
    (results.pooled_comparison), Holm-adjusted over the steps found and judged by the study
    answer's verdict rule. [] when no step has both presets."""
    by = {
        (run.preset, run.split.get("seed")): run
        for run in sorted(preset_runs(runs), key=lambda run: (run.reference, run.run_id))
        if run.split.get("kind") == "shots" and not run.untouched
    }
    found = []
    for preset, against, lever in LEVER_STEPS:
        pairs = sorted(
            (
                (run, by[(against, seed)])
                for (name, seed), run in by.items()
                if name == preset and (against, seed) in by
            ),
            key=lambda pair: seed_order(pair[0]),
        )
        if not pairs:
            continue
        seeds = [run.split.get("seed") for run, _ in pairs]
        result = pooled_comparison(pairs)
        exact = result["exact_match_difference"]
        found.append((preset, against, lever, exact, result, seeds))
    adjusted: list = list(holm([result["group_test"]["p_value"] for *_, result, _ in found])) if found else []
    steps = []
    for (preset, against, lever, exact, result, seeds), p_holm in zip(found, adjusted):
        low, high = exact["low"] * 100, exact["high"] * 100
        steps.append(
            LeverStep(
                preset,
                against,
                lever,
                exact["difference"] * 100,
                (low, high),
                float(result["group_test"]["p_value"]),
                float(p_holm),
                verdict(low, high, float(p_holm)),
                seeds,
                int(exact["groups"]),
            )
        )
    return steps


LEVER_NOTE = (
    "Each step changes one thing against the preset before it and is paired on the same test frames of every "
    "shots seed both ran on; p over linked shot groups, then Holm's correction over the steps shown, and the "
    "study answer's verdict rule ('helps' only when the adjusted p is below 0.05 and the interval excludes 0)."
)
