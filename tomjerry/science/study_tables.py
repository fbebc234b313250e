"""The study's tables and the sentences about them, rebuilt from run folders for the Compare page,
the report and `python -m tomjerry study`: one row per finished run with the study's columns
(correct N / total, binary accuracy) and ours (exact match with its interval, the paired test
against the model's base cell), which rows are the study's cells and which are beyond it, and
the sentences said once beside a table (challenge frames in training, shipped runs). The grid
that makes these runs is tomjerry.lab.study."""

import pandas as pd

from tomjerry.atomic import read_json
from tomjerry.models.specs import SPECS
from tomjerry.runs import states
from tomjerry.runs.folder import artifacts_dir
from tomjerry.runs.record import Run
from tomjerry.science.results import learning_rate, paired_comparison, run_names


def split_name(run: Run) -> str | None:
    """'random 42', 'blocked 1', 'file' (a split CSV): the split a run was tested on (None for an
    unreadable run, which records none)."""
    split = run.split
    return split.get("kind") if split.get("seed") is None else f"{split['kind']} {split['seed']}"


def interval_text(ci) -> str | None:
    """[0.939, 0.975] -> '93.9-97.5 %' (a 95 % interval as the tables show it)."""
    if not ci or len(ci) != 2 or ci[0] is None:
        return None
    return f"{ci[0]:.1%}-{ci[1]:.1%}".replace("%-", "-")


def versus_base(run: Run, base: Run | None) -> str | None:
    """A tuned or augmented cell against its model's base cell on the same test frames: the
    exact-match difference in points with its 95 % interval (studentized bootstrap over linked shot
    groups) and the sign-flip test's p over the same groups, '*' where the interval excludes zero.
    None for a base cell, or where the two cannot be paired (no base, other test frames)."""
    if base is None or base.run_id == run.run_id:
        return None
    try:
        paired = paired_comparison(run, base)
    except (ValueError, OSError, KeyError):
        return None
    exact, p = paired["exact_match_difference"], paired["group_test"]["p_value"]
    return (
        f"{exact['difference'] * 100:+.1f} [{exact['low'] * 100:+.1f}, {exact['high'] * 100:+.1f}] "
        f"p={p:.2g}{' *' if paired['significant'] else ''}"
    )


def study_tables(runs: list[Run]) -> pd.DataFrame:
    """One row per finished run: the study's columns (correct N / total, binary accuracy) and
    ours. `preset` is empty for the study's cells (model x variant) and names the preset of
    work beyond the study (e.g. lite0-best); `split` is the split kind with its seed."""
    # (run, its config): a finished run always has one; the pair keeps that known to the type checker.
    # The untouched split's runs are in no table (tomjerry.science.results.finished says why).
    done = [
        (run, run.config)
        for run in runs
        if run.state == states.FINISHED and run.config is not None and not run.untouched
    ]
    names = run_names([run for run, _ in done])
    rows = []
    bases = {
        (config.model, split_name(run)): run for run, config in done if config.variant == "base" and run.preset is None
    }
    for run, config in done:
        metrics = run.metrics or {}
        test = metrics.get("test", {})
        challenge = metrics.get("challenge", {})
        labels = test.get("labels", {})
        rows.append(
            {
                "variant": config.variant,
                "model": config.model,
                "run": names[run.run_id],
                "split": split_name(run),
                "preset": run.preset,
                "shipped": run.reference,
                "image_size": config.image_size,
                "run_id": run.run_id,
                "correct": f"{test.get('correct_predictions', 0):.1f} / {test.get('count', 0)}",
                "binary_accuracy": test.get("binary_accuracy"),
                "exact_match": test.get("exact_match_accuracy"),
                "exact_match_ci95": interval_text(test.get("exact_match_ci95")),
                "vs_base": None if run.preset else versus_base(run, bases.get((config.model, split_name(run)))),
                "f1_tom": labels.get("tom", {}).get("f1"),
                "f1_jerry": labels.get("jerry", {}).get("f1"),
                "challenge": f"{challenge.get('exact_match_correct', 0)} / {challenge.get('count', 0)}",
                "challenge_in_training": metrics.get("challenge_in_training"),
                "learning_rate": learning_rate(run),
                "seconds": metrics.get("train_seconds"),
            }
        )
    return pd.DataFrame(rows, columns=STUDY_COLUMNS)


STUDY_COLUMNS = [
    "variant",
    "model",
    "run",
    "split",
    "preset",
    "shipped",
    "image_size",
    "run_id",
    "correct",
    "binary_accuracy",
    "exact_match",
    "exact_match_ci95",
    "vs_base",
    "f1_tom",
    "f1_jerry",
    "challenge",
    "challenge_in_training",
    "learning_rate",
    "seconds",
]
# The study's three tables, in its order.
STUDY_VARIANTS = {
    "base": "Base models",
    "tuned": "Tuned (Keras Tuner)",
    "augmented": "Tuned with augmentation (the tuned search's hyperparameters)",
}
SPLIT_RESISTANCE = ("shots", "blocked", "random")  # most leakage-resistant first
# The columns the app and the report show. A study table holds one split, whose challenge frames
# in training are the same for every cell (said once, in a sentence); beyond the study they differ.
# Which runs are shipped is said once, in a sentence, too (shipped_note): the tables fit a page.
CELL_COLUMNS = [
    "run",
    "correct",
    "binary_accuracy",
    "exact_match",
    "exact_match_ci95",
    "vs_base",
    "f1_tom",
    "f1_jerry",
    "challenge",
    "learning_rate",
    "seconds",
]
# Beyond the study, no study's count ("correct"): the names are longer, the room goes to them.
BEYOND_COLUMNS = [
    "run",
    "binary_accuracy",
    "exact_match",
    "exact_match_ci95",
    "f1_tom",
    "f1_jerry",
    "challenge",
    "challenge_in_training",
    "seconds",
]


def study_cells(table: pd.DataFrame) -> pd.DataFrame:
    """The study's cells: runs that started from no preset (a preset is work beyond the study), in one
    fixed order, the model registry's (AlexNet, ZFNet, InceptionV3, EfficientNet-Lite0) and then base,
    tuned, augmented: every table and chart of any split seed lists them alike (the run folders' order
    had moved the bars when a class switched seeds)."""
    cells = table[table.preset.isna()]
    models, variants = list(SPECS), list(STUDY_VARIANTS)

    def rank(column: pd.Series) -> pd.Series:
        order = models if column.name == "model" else variants
        return column.map(lambda value: order.index(value) if value in order else len(order))

    return cells.sort_values(["model", "variant"], key=rank, kind="stable")


def beyond_study(table: pd.DataFrame) -> pd.DataFrame:
    """Runs that are not a study cell: those started from a preset (lite0-best, demo, ...)."""
    return table[table.preset.notna()]


def challenge_note(cells: pd.DataFrame) -> str:
    """'24 of the 32 challenge frames are in training on this split.' (every cell of one split
    shares its split, so they agree; runs with other settings, such as exclude_challenges, are
    named by their count)."""
    counts = sorted({int(n) for n in cells.challenge_in_training.dropna()})
    total = cells.challenge.iloc[0].split(" / ")[-1] if len(cells) else "?"
    if not counts:
        return ""
    if len(counts) == 1:
        return f"{counts[0]} of the {total} challenge frames are in training on this split."
    return f"{' or '.join(str(n) for n in counts)} of the {total} challenge frames are in training, by run."


def shipped_note(rows: pd.DataFrame) -> str:
    """Which of these runs are the reference results shipped with the project."""
    shipped = int(rows.shipped.sum())
    if shipped == 0:
        return ""
    which = "All" if shipped == len(rows) else f"{shipped} of the {len(rows)}"
    return (
        f"{which} of these runs are shipped with the project (artifacts/runs/ref-*): reference results "
        "measured on the real frames on 2 CPU cores, not re-run here."
    )


def missing_cells(cells: pd.DataFrame, split: str) -> str:
    """'' when `split` holds every cell (model x variant) that the study's cells hold on any split;
    else which are missing, in words: 'zfnet base, tuned and augmented; alexnet tuned and augmented
    have no finished run on it (a grid still running, or stopped: `study --resume` continues it)'.
    `cells`: study_cells' frame (columns model, variant, split)."""
    on_split = set(zip(cells.model[cells.split == split], cells.variant[cells.split == split]))
    anywhere = set(zip(cells.model, cells.variant))
    wanted = [(m, v) for m in dict.fromkeys(cells.model) for v in STUDY_VARIANTS if (m, v) in anywhere]
    gone: dict = {}
    for model, variant in wanted:
        if (model, variant) not in on_split:
            gone.setdefault(model, []).append(variant)
    if not gone:
        return ""
    said = "; ".join(
        f"{model} " + (variants[0] if len(variants) == 1 else f"{', '.join(variants[:-1])} and {variants[-1]}")
        for model, variants in gone.items()
    )
    return (
        f"{said} ha{'s' if len(gone) == 1 and len(next(iter(gone.values()))) == 1 else 've'} no finished run on it "
        "(a grid still running, or stopped: `study --resume` continues it)"
    )


def study_splits(table: pd.DataFrame) -> list[str]:
    """The splits the study's cells ran on, the one with the most cells first (ties: the more
    leakage-resistant kind first, then the split the grid ran on first, by its earliest run's
    start): the study's tables show one split at a time. Once a second seed's grid is complete
    the first one (shots 42, the audited grid) still opens the page."""
    cells = study_cells(table)
    counts = cells.split.value_counts()
    # A run id starts with its start time (YYYYMMDD-HHMMSS), after "ref-" when shipped.
    started = cells.run_id.str.removeprefix("ref-").groupby(cells.split).min()

    def order(split: str):
        kind = split.split()[0]
        return -counts[split], SPLIT_RESISTANCE.index(kind) if kind in SPLIT_RESISTANCE else 9, started[split], split

    return sorted(counts.index, key=order)


def format_table(table: pd.DataFrame, variant: str) -> str:
    part = table[table.variant == variant]
    if part.empty:
        return f"{variant}: no finished runs"
    lines = [
        f"{variant.upper()}",
        f"{'model':<20}{'correct':>16}{'binary':>9}{'exact':>9}{'F1 tom':>8}{'F1 jerry':>9}{'challenge':>11}{'time':>8}",
    ]
    for row in part.itertuples():
        # The ignore: pandas-stubs types an itertuples field as any scalar, bytes included.
        lines.append(
            f"{row.model:<20}{row.correct:>16}{row.binary_accuracy:>9.2%}{row.exact_match:>9.2%}"
            f"{row.f1_tom:>8.3f}{row.f1_jerry:>9.3f}{row.challenge:>11}{row.seconds or 0:>7.0f}s"  # type: ignore[str-bytes-safe]
        )
    return "\n".join(lines)


def short_reason(reason: str) -> str:
    """A skipped model's reason cut to its opening clause, for a page projected in class (the full text,
    with the exception, the file's md5 and folder, goes beside it on request): 'InceptionV3's ImageNet
    weights are not on this machine and could not be downloaded (URL fetch failure ...; no network?).
    Put ...' gives 'InceptionV3's ImageNet weights are not on this machine and could not be downloaded'."""
    cut = min((i for i in (reason.find(" ("), reason.find("; "), reason.find(". ")) if i > 0), default=len(reason))
    return reason[:cut].rstrip(".")


def skipped_models(artifacts=None) -> dict:
    """Models a study could not run, with the reason (e.g. no ImageNet weights offline)."""
    skipped = {}
    for record in sorted((artifacts_dir(artifacts) / "studies").glob("*/study.json")):
        for entry in (read_json(record) or {}).get("skipped", []):
            skipped[entry["model"]] = entry["reason"]
    return skipped
