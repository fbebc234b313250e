"""Reading results back from run records for the Home, Compare, Grad-CAM, Predict and Report
pages: run names, the best run, the headline numbers per split, mistakes, and the titles of the
table columns (shared by the pages and the HTML report)."""

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tomjerry import COMBINATION_OF
from tomjerry.metrics.evaluation import metrics_from_predictions
from tomjerry.metrics.stats import cluster_interval, sign_flip_test
from tomjerry.runs.ledger import scorings_sentence, test_set_scorings
from tomjerry.runs.record import Run

# Most leakage-resistant first: whole shots on one side, then blocks of frames, then frames.
SPLIT_ORDER = ("shots", "blocked", "random")
UNTOUCHED = "untouched"  # the split kind its results are shown under ("untouched split, seed 3")


def finished(runs: list[Run], with_model: bool = False, untouched: bool = False) -> list[Run]:
    """The finished runs (with a model, `with_model`); runs on the untouched split
    (tomjerry.data.splits.UNTOUCHED_SEED) only with `untouched`: every table, mean, contrast and
    choice is built from this list, so none of them sees that split's scores."""
    return [
        run for run in runs if run.finished and (run.has_model or not with_model) and (untouched or not run.untouched)
    ]


def untouched_sentence(result: "SplitResult") -> str:
    """'lite1-best ... on the untouched split, seed 3 (scored there once, never chosen on):
    exact match 90.1 % [87.0, 92.9] over 51 shot groups, binary accuracy 95.0 % [...].'"""
    exact, binary = result.exact_match_ci95, result.binary_accuracy_ci95
    over = f" over {result.groups} shot groups" if result.groups else ""
    return (
        f"{result.runs[0].setting()} on the {result.describe()} (scored there once, never "
        f"chosen on): exact match {result.exact_match:.1%}"
        + (f" [{exact[0]:.1%}, {exact[1]:.1%}]{over}" if exact else "")
        + f", binary accuracy {result.binary_accuracy:.1%}"
        + (f" [{binary[0]:.1%}, {binary[1]:.1%}]" if binary else "")
        + "."
    )


def untouched_results(runs: list[Run], scorings: dict | None = None) -> list["SplitResult"]:
    """Per setting, its runs on the untouched split (each scored there once), best on validation
    first; [] where none ran there. scorings: as split_result's, counted here when not given."""
    spare = [run for run in finished(runs, untouched=True) if run.untouched and run.test]
    scorings = test_set_scorings(runs) if scorings is None else scorings
    settings = sorted({run.setting() for run in spare})
    # Named apart ("untouched split, seed 3"): Home shows it beside the pooled shots seeds.
    results = [split_result(UNTOUCHED, [run for run in spare if run.setting() == s], scorings) for s in settings]
    return sorted(results, key=lambda result: _validation(result.runs[0]), reverse=True)


def run_names(runs: list[Run]) -> dict[str, str]:
    """run_id -> the name pickers, tables and charts show: `Run.label()` (model, variant or
    preset, split with seed, image size, TTA). Runs from several datasets also name theirs; runs
    that would still share a name get the hash at the end of their id, so no two merge."""
    names = {run.run_id: run.label() for run in runs}
    if len({run.dataset.get("fingerprint") for run in runs}) > 1:
        # Runs from several datasets: the demo ones say so; real ones name theirs only when
        # there are several real datasets.
        real = {run.dataset.get("fingerprint") for run in runs if not run.dataset.get("demo")}
        names = {
            run.run_id: f"{names[run.run_id]} · {run.dataset.get('name')} data"
            if run.dataset.get("demo") or len(real) > 1
            else names[run.run_id]
            for run in runs
        }
    counts = Counter(names.values())
    return {
        run_id: name if counts[name] == 1 else f"{name} · {run_id.rsplit('-', 1)[-1]}" for run_id, name in names.items()
    }


def made_on(run: Run, fingerprint: str | None) -> bool:
    """Whether the run was trained and scored on the dataset with this fingerprint: only then do
    its predictions.csv rows belong to that dataset's images (file names repeat across datasets)."""
    return bool(fingerprint) and run.dataset.get("fingerprint") == fingerprint


@dataclass(frozen=True)
class Best:
    """The one 'best' every page and command defaults to (best_choice): the run to use, the setting
    it stands for, and a one-line reason that says what was picked and why."""

    run: Run | None
    setting: str | None
    reason: str

    @property
    def why(self) -> str:
        """The reason without the setting's name it opens with, for a line that has just named it."""
        opening = f"{self.setting}: "
        return self.reason[len(opening) :] if self.setting and self.reason.startswith(opening) else self.reason


def _validation(run: Run) -> tuple[float, float]:
    validation = (run.metrics or {}).get("validation", {})
    return validation.get("exact_match_accuracy", 0) or 0, validation.get("binary_accuracy", 0) or 0


def _seeds_text(runs: list[Run]) -> str:
    seeds = sorted_seeds({run.split.get("seed") for run in runs})
    if len(seeds) == 1:
        return "seed" if seeds[0] is None else f"seed {seeds[0]}"
    return f"seeds {', '.join(str(seed) for seed in seeds)}"


def best_choice(runs: list[Run], with_model: bool = True) -> Best:
    """The best setting and the run to use for it, chosen on validation, never on test:

    1. finished runs on the real frames if there are any (the demo drawings say nothing about cartoons);
    2. on the headline split kind: the most leakage-resistant present (SPLIT_ORDER: shots, blocked, random);
    3. among the settings (Run.setting: model, preset or variant, image size, TTA) with a run that ships a
       model (with_model), the one with the best validation exact match pooled over its split seeds
       (the mean over its runs; then binary accuracy);
    4. its run: the one with a model (with_model) on that split kind if any, else on any split, the best
       on validation first.
    When no setting on that kind has a model, the settings with a model are ranked over all kinds."""
    done = finished(runs)
    if not done:
        return Best(None, None, "no finished run yet")
    real = [run for run in done if run.dataset.get("demo") is False]
    pool = real or done
    with_a_model = {run.setting() for run in pool if run.has_model}
    if with_model and not with_a_model:
        return Best(None, None, "no finished run with a saved model")
    kinds = [kind for kind in SPLIT_ORDER if any(run.split.get("kind") == kind for run in pool)]
    kind = kinds[0] if kinds else None
    on_kind = [run for run in pool if run.split.get("kind") == kind] if kind else pool
    candidates = [run for run in on_kind if not with_model or run.setting() in with_a_model]
    where = f"{kind} splits" if kind else "its splits"
    if not candidates:  # no setting on the headline kind ships a model: rank those that do, on any split
        candidates = [run for run in pool if run.setting() in with_a_model]
        where = "all splits (none with a model was run on " + (f"a {kind} split)" if kind else "one split kind)")
    by_setting: dict[str, list[Run]] = {}
    for run in candidates:
        by_setting.setdefault(run.setting(), []).append(run)

    def pooled(setting: str) -> tuple:
        scores = np.array([_validation(run) for run in by_setting[setting]])
        return (*scores.mean(axis=0), len(scores), setting)

    setting = max(by_setting, key=pooled)
    exact, _, count, _ = pooled(setting)
    same = [run for run in pool if run.setting() == setting and (run.has_model or not with_model)]
    same.sort(key=lambda run: (run.split.get("kind") == kind, *_validation(run), run.run_id), reverse=True)
    chosen = same[0]
    reason = (
        f"{setting}: the best validation exact match on {where}, {exact:.1%} pooled over "
        f"{_seeds_text(by_setting[setting])} ({len(by_setting)} setting{'s' if len(by_setting) != 1 else ''}"
        f"{' with a saved model' if with_model else ''} compared; test frames never choose)"
    )
    if with_model and chosen.split.get("kind") != kind or (with_model and len(same) > 1):
        split = chosen.split
        reason += f"; its model is the one trained on {split.get('kind')} {split.get('seed')}"
        if chosen.split.get("kind") != kind:
            reason += f" (no {kind}-split run of it ships a model)"
    return Best(chosen, setting, reason)


def best_run(runs: list[Run], with_model: bool = True) -> Run | None:
    """The run of best_choice: the one 'best' of every page and command."""
    return best_choice(runs, with_model).run


def model_choices(runs: list[Run]) -> tuple[dict, str | None]:
    """Runs with a saved model by their name (run_names), and the name of the best one (best_choice)."""
    with_model = finished(runs, with_model=True)
    names = run_names(with_model)
    best = best_choice(runs).run
    return {names[run.run_id]: run for run in with_model}, names[best.run_id] if best else None


@dataclass(frozen=True)
class SplitResult:
    """One setting's test scores on one split kind, averaged over the split seeds it ran on."""

    kind: str
    runs: tuple
    binary_accuracy: float
    exact_match: float
    binary_accuracy_ci95: list | None = None  # over (seed, linked shot group) clusters, see pooled_interval
    exact_match_ci95: list | None = None
    groups: int | None = None  # the clusters the intervals rest on
    test_set_scorings: tuple = ()  # per run (seed order): how many runs were scored on its test set

    @property
    def seeds(self) -> list:
        return [run.split.get("seed") for run in self.runs]

    def describe(self) -> str:
        """'blocked split, mean of 3 seeds (42, 1, 2)' or 'random split, seed 42'."""
        if len(self.runs) == 1:
            seed = self.seeds[0]
            return f"{self.kind} split" + ("" if seed is None else f", seed {seed}")
        return f"{self.kind} split, mean of {len(self.runs)} seeds ({', '.join(str(s) for s in self.seeds)})"

    def scorings_text(self) -> str:
        """'this test set has been scored 11 times' or, over seeds, 'the test sets of seeds 42, 1, 2
        have been scored 11, 3, 3 times' (tomjerry.runs.ledger)."""
        counts = [count for count in self.test_set_scorings if count]
        if not counts:
            return ""
        if len(self.runs) == 1:
            return scorings_sentence(counts[0])
        seeds = ", ".join(str(seed) for seed in self.seeds)
        return (
            f"the test sets of seeds {seeds} have been scored "
            f"{', '.join(str(count) for count in self.test_set_scorings)} times"
        )

    def spread(self, metric: str) -> tuple[float, float] | None:
        """(lowest, highest) over the seeds; None for one run."""
        if len(self.runs) < 2:
            return None
        values = [run.test.get(metric) for run in self.runs]
        return min(values), max(values)


def sorted_seeds(seeds) -> list:
    """Split seeds in the order every table and sentence lists them: ascending, no seed (None) last."""
    return sorted(seeds, key=lambda seed: (seed is None, seed or 0))


def learning_rate(run: Run) -> float | None:
    """The learning rate a run trained with: its search's kept rate for a tuned cell, else its config's."""
    tuning = (run.metrics or {}).get("tuning") or {}
    rate = tuning.get("best_learning_rate", run.config.learning_rate if run.config else None)
    return None if rate is None else float(rate)


def seed_order(run: Run) -> tuple:
    """Sort key of runs by split seed (no seed last, then the run id): the one order in which pooled
    intervals resample, so the same runs always give the same interval."""
    seed = run.split.get("seed")
    return (seed is None, seed if isinstance(seed, (int, float)) else 0, str(seed), run.run_id)


def pooled_interval(runs: list[Run], threshold: float = 0.5) -> dict | None:
    """One setting's test scores over its split seeds as one estimate each (exact match, binary
    accuracy: frame-pooled means) with 95 % studentized cluster-bootstrap intervals over (seed,
    linked shot group) clusters, resampled within each seed (stats.cluster_interval); None when a
    run's predictions cannot be read. The runs are taken in seed order whatever order they come in,
    so every page, table and script gets the same resamples and the same interval."""
    runs = sorted(runs, key=seed_order)
    try:
        frames = [test_frames(run, threshold) for run in runs]
    except (OSError, ValueError, KeyError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    groups = np.concatenate([_groups_of(frame) for frame in frames])
    strata = np.concatenate([np.full(len(frame), index) for index, frame in enumerate(frames)])
    exact = cluster_interval(np.concatenate([frame.exact.to_numpy() for frame in frames]), groups, strata)
    labels = np.concatenate([frame[["tom_ok", "jerry_ok"]].to_numpy() for frame in frames]).astype(float)
    binary = cluster_interval(labels, groups, strata)
    return {"exact_match": exact, "binary_accuracy": binary}


def split_result(kind: str, runs: list[Run], scorings: dict | None = None) -> SplitResult:
    """scorings: run_id -> test_set_scorings (tomjerry.runs.ledger), counted here when not given."""
    runs = sorted(runs, key=seed_order)
    test = [run.test for run in runs]
    scorings = test_set_scorings(runs) if scorings is None else scorings
    pooled = pooled_interval(runs)
    single = test[0] if len(test) == 1 else {}
    if pooled is None:
        intervals = (single.get("binary_accuracy_ci95"), single.get("exact_match_ci95"), None)
    else:
        exact, binary = pooled["exact_match"], pooled["binary_accuracy"]
        intervals = ([binary.low, binary.high], [exact.low, exact.high], exact.groups)
    return SplitResult(
        kind,
        tuple(runs),
        float(np.mean([t.get("binary_accuracy", 0) for t in test])),
        float(np.mean([t.get("exact_match_accuracy", 0) for t in test])),
        *intervals,
        tuple(scorings.get(run.run_id) for run in runs),
    )


@dataclass(frozen=True)
class Headline:
    setting: str  # e.g. 'efficientnet_lite0 lite0-best · 224 px · TTA'
    lead: SplitResult  # on the most leakage-resistant split kind among the runs
    random: SplitResult | None  # the random split (the study's), beside it; None when lead is random
    random_setting: str | None  # the random split's setting when it is another one
    untouched: SplitResult | None = None  # the setting on the untouched split (scored there once), if it ran there


def headline(runs: list[Run]) -> Headline | None:
    """What Home leads with: the best setting (on validation) on the most leakage-resistant
    split kind present (shots > blocked > random), averaged over its split seeds, and the random
    split beside it (the same setting where it ran there, else the best random-split run); and
    the setting's score on the untouched split where it was scored there."""
    done = [run for run in finished(runs) if run.test and run.split.get("kind") in SPLIT_ORDER]
    if not done:
        return None
    kind = next(k for k in SPLIT_ORDER if any(run.split.get("kind") == k for run in done))
    on_kind = [run for run in done if run.split.get("kind") == kind]
    # The one best (best_choice), the setting every page defaults to, when it ran on this kind;
    # else the best on validation among this kind's settings.
    setting = best_choice(done).setting
    if setting is None or not any(run.setting() == setting for run in on_kind):
        setting = best_choice(on_kind, with_model=False).setting
    if setting is None:  # cannot happen: on_kind holds finished runs only
        return None
    scorings = test_set_scorings(runs)  # over every run given, not only the setting's
    lead = split_result(kind, [run for run in on_kind if run.setting() == setting], scorings)
    untouched = next(
        (result for result in untouched_results(runs, scorings) if result.runs[0].setting() == setting), None
    )
    if kind == "random":
        return Headline(setting, lead, None, None, untouched)
    random = [run for run in done if run.split.get("kind") == "random"]
    same = [run for run in random if run.setting() == setting]
    if same:
        return Headline(setting, lead, split_result("random", same, scorings), None, untouched)
    other = best_run(random, with_model=False)  # None when no run used a random split
    if other is not None:
        return Headline(setting, lead, split_result("random", [other], scorings), other.setting(), untouched)
    return Headline(setting, lead, None, None, untouched)


def metrics_at_threshold(run: Run, threshold: float) -> dict:
    return metrics_from_predictions(run.folder.read_predictions(), threshold)


def misclassified(run: Run, threshold: float = 0.5) -> pd.DataFrame:
    """Test rows where at least one label is wrong, the most confident mistake first. A mistake's
    `confidence` is the probability the model gave its wrong answer, on the label it got most
    wrong: p for a label it called present that is absent, 1 - p for the other way round."""
    predictions = run.folder.read_predictions()
    test = predictions[predictions.split == "test"].copy()
    confidence = np.zeros(len(test))
    for label in ("tom", "jerry"):
        p, truth = test[f"p_{label}"].to_numpy(), test[label].to_numpy()
        wrong = (p >= threshold).astype(int) != truth
        confidence = np.maximum(confidence, np.where(wrong, np.abs(p - truth), 0))
    test["confidence"] = confidence
    test["predicted"] = [
        COMBINATION_OF[(int(t >= threshold), int(j >= threshold))] for t, j in zip(test.p_tom, test.p_jerry)
    ]
    wrong = test[confidence > 0]
    return wrong.sort_values(["confidence", "filename"], ascending=[False, True], kind="stable").reset_index(drop=True)


def split_comparison(runs: list[Run]) -> pd.DataFrame:
    """Finished runs of the same setting on each split kind, side by side (mean over seeds), with
    how often each seed's test set has been scored (test_set_scorings, in seed order)."""
    rows = []
    scorings = test_set_scorings(runs)
    for run in finished(runs):
        rows.append(
            {
                "setting": run.setting(),
                "split": run.split.get("kind"),
                "split_seed": run.split.get("seed"),
                "binary_accuracy": run.test.get("binary_accuracy"),
                "exact_match": run.test.get("exact_match_accuracy"),
                "test_set_scorings": scorings.get(run.run_id),
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    # Seed order, so the joined scorings read in the order of the joined seeds.
    order = sorted(range(len(frame)), key=lambda i: (frame.split_seed[i] is None, frame.split_seed[i] or 0))
    frame = frame.iloc[order]
    frame = frame.groupby(["setting", "split"], as_index=False, sort=False).agg(
        runs=("binary_accuracy", "count"),
        seeds=("split_seed", lambda seeds: ", ".join(str(s) for s in sorted_seeds(seeds))),
        binary_accuracy=("binary_accuracy", "mean"),
        exact_match=("exact_match", "mean"),
        exact_match_min=("exact_match", "min"),
        exact_match_max=("exact_match", "max"),
        test_set_scorings=("test_set_scorings", lambda counts: ", ".join(str(c) for c in counts)),
    )
    kind_order = {kind: i for i, kind in enumerate(SPLIT_ORDER)}
    # Only settings tested on more than one split kind compare anything.
    kinds = frame.groupby("setting").split.transform("nunique")
    frame = frame[kinds > 1].copy()
    frame["order"] = frame.split.map(kind_order)
    return frame.sort_values(["setting", "order"]).drop(columns="order").reset_index(drop=True)


@dataclass(frozen=True)
class Column:
    """How a results column is titled and shown, in the app (st.column_config) and the report.
    Titles are short so a table fits a page; `help` (a tooltip) says the rest."""

    title: str
    help: str = ""
    kind: str = "text"  # text | percent | f1 | number | seconds | check | rate
    width: int | None = None  # pixels in the app; titles fit, the run name may be cut (hover shows it)


COLUMNS = {
    "run": Column("run", "Model, variant or preset, split with its seed, image size, TTA.", width=280),
    "setting": Column("setting", "What was trained, whichever split it was tested on.", width=250),
    "model": Column("model", width=130),
    "split": Column(
        "split",
        "Which frames were held out: random (the study's), blocked (runs of 50 frames kept "
        "together) or shots (whole shots kept together).",
        width=80,
    ),
    "seeds": Column("split seeds", "The split seeds averaged over.", width=85),
    "runs": Column("runs", "How many runs (split seeds) the row averages.", kind="number", width=55),
    "correct": Column(
        "correct",
        "The study's count: binary accuracy x test frames. It averages the two labels, "
        "so a frame with one label right counts as half (hence numbers like 374.5).",
        width=80,
    ),
    "binary_accuracy": Column(
        "binary acc.",
        "Binary accuracy: the share of label decisions (tom and jerry, two "
        "per frame) that are right; the study's metric.",
        kind="percent",
        width=85,
    ),
    "exact_match": Column(
        "exact match",
        "Share of test frames with both labels right: the honest score for a "
        "four-way answer (neither, tom, jerry, both).",
        kind="percent",
        width=88,
    ),
    "exact_match_ci95": Column(
        # Names its metric (a table may hold binary accuracy beside it) and fits its column at 1280 px,
        # where "exact match, 95 % interval" was cut.
        "exact match 95 % CI",
        "Exact match's 95 % interval: a bootstrap over shots (frames of one "
        "shot are resampled together, as they are not independent).",
        width=140,
    ),
    "vs_base": Column(
        "vs base (points)",
        "Exact match minus the same model's base cell on the same test frames, in "
        "points, with its 95 % interval (studentized bootstrap over linked shot groups) and the p-value of "
        "a sign-flip test over those groups (frames of one shot move together); * where the interval "
        "excludes zero (a difference the test set can tell).",
        width=170,
    ),
    "test_set_scorings": Column(
        "test set scored",
        "How many runs have been scored on this test set (tomjerry.runs.ledger). Each look at a test "
        "score can steer a choice, so the more often a test set has been scored, the less its score "
        "says about footage nobody has looked at. Over several split seeds: one count per seed.",
        width=80,
    ),
    "exact_match_min": Column("lowest", "Exact match of the worst split seed.", kind="percent", width=70),
    "exact_match_max": Column("highest", "Exact match of the best split seed.", kind="percent", width=70),
    "f1_tom": Column("F1 tom", "Harmonic mean of precision and recall for the tom label.", kind="f1", width=65),
    "f1_jerry": Column("F1 jerry", "Harmonic mean of precision and recall for the jerry label.", kind="f1", width=70),
    "challenge": Column("challenge", "Distorted challenge frames with both labels right, of all of them.", width=80),
    "challenge_in_training": Column(
        "in training",
        "How many challenge frames this run's split put in training (so they are no fair test).",
        kind="number",
        width=85,
    ),
    "learning_rate": Column(
        "learning rate", "The rate trained with (a tuned run: the search's best).", kind="rate", width=85
    ),
    "seconds": Column(
        "time (s)", "Seconds to train and evaluate (the shipped runs: 2 CPU cores).", kind="seconds", width=70
    ),
    "shipped": Column(
        "shipped",
        "A reference result shipped with the project (artifacts/runs/ref-*), measured "
        "on the real frames; not re-run here.",
        kind="check",
        width=70,
    ),
    "confidence": Column(
        "confidence",
        "The probability the model gave its wrong answer, on the label it got most wrong.",
        kind="f1",
        width=95,
    ),
    "filename": Column("frame", width=160),
    "combination": Column("truth", width=80),
    "tom": Column("tom", "The truth: 1 when Tom is in the frame.", kind="number", width=55),
    "jerry": Column("jerry", "The truth: 1 when Jerry is in the frame.", kind="number", width=55),
    # The runs table (tomjerry.runs.table) on the Train page.
    "label": Column("run", "Model, variant or preset, split with its seed, image size, TTA.", width=280),
    "state": Column(
        "state",
        "queued, waiting (for the one training slot), running, finished, failed, cancelled; "
        "interrupted: its process ended without finishing (resume it).",
        width=85,
    ),
    "dataset_name": Column("dataset", "The dataset the run was trained on.", width=110),
    "epoch": Column("epoch", "Epochs finished.", kind="number", width=60),
    "epochs": Column("of", "Epochs planned.", kind="number", width=45),
    "progress": Column(
        "progress",
        "Its state and where it stands: epochs done (a tuned run: its trials, and the epochs of the trial it "
        "kept); queued, waiting (for the one training slot), running, finished, failed, cancelled; interrupted: "
        "its process ended without finishing (resume it).",
        width=300,
    ),
    "test_binary_accuracy": Column("binary acc.", "Test binary accuracy.", kind="percent", width=85),
    "test_exact_match": Column("exact match", "Test exact match: both labels right.", kind="percent", width=88),
    "reference": Column(
        "shipped",
        "A reference result shipped with the project (artifacts/runs/ref-*), measured on the real frames.",
        kind="check",
        width=70,
    ),
    "created": Column("created", "When the run was created (UTC).", width=180),
    "run_id": Column("run id", "The run's folder under artifacts/runs/ (for resume, evaluate, predict).", width=300),
    "error": Column("why (failed or unreadable)", width=300),
    "model_error": Column(
        "model file problem", "Why the run's model.keras cannot be used (e.g. a Git LFS pointer).", width=260
    ),
    "predicted": Column("called", "What the model answered at this threshold.", width=80),
    "p_tom": Column("p(tom)", kind="f1", width=75),
    "p_jerry": Column("p(jerry)", kind="f1", width=75),
}


def test_frames(run: Run, threshold: float = 0.5) -> pd.DataFrame:
    """The run's test rows from predictions.csv with per-frame correctness: `tom_ok`, `jerry_ok`
    and `exact` (both right), indexed by file name."""
    predictions = run.folder.read_predictions()
    test = predictions[predictions.split == "test"].set_index("filename")
    test["tom_ok"] = (test.p_tom >= threshold).astype(int) == test.tom
    test["jerry_ok"] = (test.p_jerry >= threshold).astype(int) == test.jerry
    test["exact"] = test.tom_ok & test.jerry_ok
    return test


def comparability(a: Run, b: Run) -> str | None:
    """None when the two runs were tested on the same frames of the same dataset; otherwise the
    reason they cannot be put side by side."""
    fingerprint_a, fingerprint_b = a.dataset.get("fingerprint"), b.dataset.get("fingerprint")
    if not fingerprint_a or fingerprint_a != fingerprint_b:
        return "they were made on different datasets (or one does not record its dataset)"
    frames_a, frames_b = set(test_frames(a).index), set(test_frames(b).index)
    if frames_a != frames_b:
        return (
            f"their test sets differ ({len(frames_a)} and {len(frames_b)} frames, "
            f"{len(frames_a & frames_b)} shared): split {a.split.get('kind')} {a.split.get('seed')} against "
            f"{b.split.get('kind')} {b.split.get('seed')}"
        )
    return None


def _groups_of(frames: pd.DataFrame) -> np.ndarray:
    """(N,) linked shot group of each test frame (predictions.csv's `shot`); one group per frame
    for runs older than the column (then every frame counts as independent, which is optimistic)."""
    return (frames["shot"] if "shot" in frames else pd.Series(range(len(frames)), index=frames.index)).to_numpy()


def _paired_frames(pairs: list[tuple[Run, Run]], threshold: float):
    """Per-frame correctness of run a and run b on the frames both were tested on, pair by pair:
    (a_exact, b_exact, a_labels, b_labels, groups, strata) with strata the pair's index, so the
    same group id on two split seeds is two clusters."""
    parts = []
    for index, (a, b) in enumerate(pairs):
        reason = comparability(a, b)
        if reason:
            raise ValueError(f"{a.label()} and {b.label()} cannot be compared: {reason}")
        frames_a, frames_b = test_frames(a, threshold), test_frames(b, threshold)
        frames_b = frames_b.loc[frames_a.index]
        parts.append((frames_a, frames_b, np.full(len(frames_a), index)))
    a_exact = np.concatenate([fa.exact.to_numpy() for fa, _, _ in parts]).astype(float)
    b_exact = np.concatenate([fb.exact.to_numpy() for _, fb, _ in parts]).astype(float)
    a_labels = np.concatenate([fa[["tom_ok", "jerry_ok"]].to_numpy() for fa, _, _ in parts]).astype(float)
    b_labels = np.concatenate([fb[["tom_ok", "jerry_ok"]].to_numpy() for _, fb, _ in parts]).astype(float)
    groups = np.concatenate([_groups_of(fa) for fa, _, _ in parts])
    strata = np.concatenate([stratum for _, _, stratum in parts])
    grouped = all("shot" in fa for fa, _, _ in parts)
    return a_exact, b_exact, a_labels, b_labels, groups, strata, grouped


def _difference(interval) -> dict:
    return {
        "difference": interval.estimate,
        "low": interval.low,
        "high": interval.high,
        "groups": interval.groups,
        "method": interval.method,
    }


def pooled_comparison(pairs: list[tuple[Run, Run]], threshold: float = 0.5) -> dict:
    """Runs a against runs b, each pair tested on the same frames (one pair per split seed), as one
    estimate: the frame-pooled difference in exact match and in binary accuracy with 95 %
    studentized cluster-bootstrap intervals over (seed, linked shot group) clusters, resampled within
    each seed (tomjerry.metrics.stats.cluster_interval), and the sign-flip test over the same clusters
    (stats.sign_flip_test). ValueError (with the reason) when a pair was not tested on the same frames."""
    if not pairs:
        raise ValueError("no pair of runs to compare")
    pairs = sorted(pairs, key=lambda pair: seed_order(pair[0]))  # one interval whatever the callers' order
    a_exact, b_exact, a_labels, b_labels, groups, strata, grouped = _paired_frames(pairs, threshold)
    exact = cluster_interval(a_exact - b_exact, groups, strata)
    binary = cluster_interval(a_labels.mean(axis=1) - b_labels.mean(axis=1), groups, strata)
    test = sign_flip_test(a_exact, b_exact, groups, strata)
    return {
        "frames": len(a_exact),
        "threshold": threshold,
        "seeds": [a.split.get("seed") for a, _ in pairs],
        "groups": exact.groups,
        "binary_accuracy_difference": _difference(binary),
        "exact_match_difference": _difference(exact),
        "group_test": test._asdict(),
        "significant": bool(exact.low > 0 or exact.high < 0),
        "grouped_by": "linked shot group" if grouped else "frame",
    }


def paired_comparison(a: Run, b: Run, threshold: float = 0.5) -> dict:
    """Run a against run b on their common test frames: the difference of binary accuracy and of
    exact match with 95 % studentized cluster-bootstrap intervals over linked shot groups, and the
    sign-flip test of exact match over the same groups (the frames of a group move together, so the
    group, not the frame, is the unit; tomjerry.metrics.stats). ValueError (with the reason) when
    they were not tested on the same frames."""
    result = pooled_comparison([(a, b)], threshold)
    result.pop("seeds")
    return result
