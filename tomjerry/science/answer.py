"""What the runs say: the study's questions (does tuning help, does augmentation help, which model
leads) answered from the run folders, in numbers and in words computed from them.

For each model of the study grid (runs without a preset; variants base, tuned, augmented) and each
contrast (tuned - base, augmented - tuned, augmented - base):
- the difference in test exact match, pooled over every split seed on which both cells ran (on the
  headline split kind: shots before blocked before random), in points;
- its 95 % studentized cluster-bootstrap interval over (seed, linked shot group) clusters, labelled
  approximate with its simulated coverage where a simulation with these group sizes covers less
  than COVERAGE_REQUIRED (tomjerry.metrics.stats.simulated_coverage);
- the p-value of the sign-flip test over the same clusters, and Holm's adjustment over all the
  contrasts of all models (the family of questions the study asks);
- a verdict from fixed rules (VERDICT_RULE): "helps", "hurts", or "inconclusive: anywhere from
  -a to +b points".
Where a tuned cell's search kept its base's own learning rate, its tuned - base on that seed is a
second run of one recipe, not an effect of tuning: the contrast names those seeds and the tuning
sentence says so. Then which model is best: the one best of every page (results.headline, chosen on
validation) with its pooled test score and its untouched-split score; and which of the grid's models
leads: each model's cell chosen on validation (pooled over seeds), the leader the best of those on
validation, with its test exact match, interval, and its paired difference with the runner-up. The
study's own figures stand beside, labelled with their split.
"""

from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np

from tomjerry.metrics.stats import COVERAGE_REQUIRED, cluster_ids, holm, simulated_coverage
from tomjerry.runs.record import Run
from tomjerry.science.results import (
    SPLIT_ORDER,
    _paired_frames,
    _validation,
    finished,
    learning_rate,
    pooled_comparison,
    pooled_interval,
    sorted_seeds,
)

VARIANTS = ("base", "tuned", "augmented")
CONTRASTS = (("tuned", "base"), ("augmented", "tuned"), ("augmented", "base"))
ALPHA = 0.05
VERDICT_RULE = (
    f"'helps' or 'hurts' when the Holm-adjusted group-level p is below {ALPHA} and the 95 % interval "
    "excludes zero (on the same side); otherwise 'inconclusive', with the interval's range"
)
STUDY_SPLIT = "random split (frames of one shot on both sides)"
# The study's published test binary accuracy of AlexNet (the only model it reports per cell), on
# its random 80/10/10 split: base, tuned, tuned with augmentation (the last is its best).
STUDY_ALEXNET = {"base": 0.8896, "tuned": 0.9307, "augmented": 0.9453}


@dataclass(frozen=True)
class Contrast:
    model: str
    contrast: str  # 'tuned - base', 'augmented - tuned' or 'augmented - base'
    difference: float  # points of exact match, pooled over the seeds
    ci95: tuple  # (low, high) points
    p_group: float  # sign-flip test over (seed, linked shot group) clusters
    p_holm: float  # Holm-adjusted over every contrast of every model
    verdict: str
    seeds: list
    groups: int  # clusters: (seed, linked shot group) pairs
    frames: int
    split: str  # the split kind
    coverage: float | None  # simulated coverage of the 95 % interval with these group sizes
    approximate: bool
    test_set_scorings: list  # per seed: how many runs were scored on that test set
    study: str | None  # the study's own figure for this contrast, labelled with its split
    # tuned - base only: the seeds on which the search kept the base's own learning rate, where the
    # difference is a second run of one recipe (the noise of a re-run), not an effect of tuning.
    same_rate_seeds: list = field(default_factory=list)

    def sentence(self) -> str:
        """'alexnet, tuned - base: +7.5 points [-2.0, +16.2] (89 shot groups of shots seed 42),
        p 0.12 over shot groups, 0.73 after Holm: inconclusive: anywhere from -2.0 to +16.2 points.'"""
        seeds = ", ".join(str(seed) for seed in self.seeds)
        interval = f"[{self.ci95[0]:+.1f}, {self.ci95[1]:+.1f}]"
        if self.approximate:
            interval += f" (approximate: covers {self.coverage:.0%} in simulation)"
        rerun = ""
        if self.same_rate_seeds:
            named = ", ".join(str(seed) for seed in self.same_rate_seeds)
            rerun = (
                f" On seed{'s' if len(self.same_rate_seeds) > 1 else ''} {named} the search kept the base's own "
                "learning rate, so there this difference is a re-run of one recipe, not tuning."
            )
        return (
            f"{self.model}, {self.contrast}: {self.difference:+.1f} points {interval} over {self.groups} "
            f"shot groups of {self.split} seed{'s' if len(self.seeds) > 1 else ''} {seeds}; p {self.p_group:.2g} "
            f"over shot groups, {self.p_holm:.2g} after Holm: {self.verdict}.{rerun}"
        )


@dataclass(frozen=True)
class Leader:
    model: str
    cell: str  # the variant chosen on validation
    validation: float  # pooled validation exact match
    exact_match: float  # pooled test exact match
    ci95: tuple  # fraction
    groups: int
    seeds: list
    runner_up: str | None
    versus_runner_up: dict | None  # difference (points), ci95 (points), p_group, seeds, groups
    sentence: str


@dataclass(frozen=True)
class Answer:
    split: str | None  # the split kind the answer is on
    contrasts: list  # Contrast
    leader: Leader | None
    summary: list  # sentences, computed from the contrasts: does tuning help, does augmentation help
    study: str  # the study's own figures, labelled with their split
    rule: str = VERDICT_RULE
    best: str = ""  # 'Which model is best? ...' (results.headline: the one best of every page), '' without one

    @property
    def said(self) -> list[str]:
        """The answer's sentences in the order the pages and the command show them: the questions, then
        which model is best."""
        return [*self.summary, *([self.best] if self.best else [])]

    def method(self) -> str:
        """How the numbers were made, in one paragraph (empty when there is nothing to compare)."""
        if not self.contrasts:
            return f"Verdict rule: {self.rule}."
        return (
            f"Difference in test exact match, pooled over the split seeds both cells ran on ({self.split} split); "
            "95 % studentized bootstrap interval over (seed, linked shot group) clusters; p from a sign-flip test "
            f"over the same clusters, then Holm over all {len(self.contrasts)} contrasts. Verdict rule: {self.rule}."
        )

    def table_note(self, shown_split: str, said: str = "'What the runs say' above") -> str:
        """A caption for a study table shown on one split ('shots 42', as study_tables.split_name gives)
        whose per-split differences (vs_base) sit under this answer: what the table covers against the
        seeds the answer pools (`said`: where the answer is shown), so the two sets of differences are
        not read as one. '' when they agree
        (the answer pools that one split alone) or there is no answer to compare with."""
        if not self.contrasts:
            return ""
        kind, _, seed = shown_split.partition(" ")
        seeds = sorted_seeds({s for c in self.contrasts for s in c.seeds})
        if kind == self.split and [str(s) for s in seeds] == [seed]:
            return ""
        pooled = ", ".join(str(s) for s in seeds)
        where = "" if kind == self.split else f" of the {self.split} split"
        alone = f"{kind} seed {seed}" if seed else kind
        return (
            f"This table: {alone} alone. {said} pools every seed{where} both cells ran on "
            f"({pooled}), so its differences can differ from this table's."
        )

    def to_json(self) -> list[dict]:
        """The list `answer --json` prints: one object per model x contrast."""
        return [asdict(contrast) for contrast in self.contrasts]


def verdict(low: float, high: float, p_holm: float) -> str:
    """The fixed rule (VERDICT_RULE) on an interval in points and a Holm-adjusted p."""
    if p_holm < ALPHA and low > 0:
        return "helps"
    if p_holm < ALPHA and high < 0:
        return "hurts"
    return f"inconclusive: anywhere from {low:+.1f} to {high:+.1f} points"


def study_cells(runs: list[Run]) -> tuple[str | None, dict]:
    """(split kind, {(model, variant, seed): run}): the study grid's finished runs on the most
    leakage-resistant split kind they ran on; where a cell ran twice on a seed, the shipped run
    first, then the newest."""
    cells = [
        run
        for run in finished(runs)
        if run.config is not None and run.preset is None and run.config.variant in VARIANTS and run.test
    ]
    kinds = [kind for kind in SPLIT_ORDER if any(run.split.get("kind") == kind for run in cells)]
    if not kinds:
        return None, {}
    kind = kinds[0]
    chosen: dict = {}
    order = sorted(
        (run for run in cells if run.split.get("kind") == kind),
        key=lambda run: (run.reference, str(run.status.get("created") or ""), run.run_id),
    )
    for run in order:  # later (shipped, newer) runs replace earlier ones
        if run.config is not None:  # as filtered above (a list does not carry the narrowing)
            chosen[(run.config.model, run.config.variant, run.split.get("seed"))] = run
    return kind, chosen


@lru_cache(maxsize=32)
def _coverage(sizes: tuple, strata: tuple) -> float:
    # 300 simulated test sets (Monte Carlo error about 1.3 points) with 1,000 resamples each, as
    # scripts/readme_tables.py --coverage: 2-5 s per distinct set of test sets, once per process.
    return simulated_coverage(np.array(sizes), np.array(strata), "difference", n_sim=300, n_boot=1000)["studentized"]


def interval_coverage(pairs: list[tuple[Run, Run]]) -> float:
    """Simulated coverage of a nominal 95 % studentized interval with these pairs' cluster sizes."""
    *_, groups, strata, _ = _paired_frames(pairs, 0.5)
    cluster, cluster_stratum = cluster_ids(groups, strata)
    sizes = np.bincount(cluster)
    return _coverage(tuple(int(size) for size in sizes), tuple(int(s) for s in cluster_stratum))


def answer(runs: list[Run], coverage: bool = True, scorings: dict | None = None) -> Answer:
    """The answer from these runs (see the module's docstring). coverage: simulate each interval's
    coverage (a second or two per distinct set of test sets); scorings: run_id -> test_set_scorings."""
    from tomjerry.runs.ledger import test_set_scorings

    kind, cells = study_cells(runs)
    if kind is None:  # no study cell finished: nothing to contrast
        return Answer(None, [], None, _summary([]), _study_text(), best=_best(runs, None))
    scorings = test_set_scorings(runs) if scorings is None else scorings
    models = sorted({model for model, _, _ in cells})
    found = []
    for model in models:
        for first, second in CONTRASTS:
            seeds = [
                seed
                for (m, variant, seed) in cells
                if m == model and variant == first and (model, second, seed) in cells
            ]
            seeds = sorted_seeds(set(seeds))
            pairs = [(cells[(model, first, seed)], cells[(model, second, seed)]) for seed in seeds]
            try:
                result = pooled_comparison(pairs) if pairs else None
            except ValueError:  # not tested on the same frames: no answer for this contrast
                result = None
            if result is None:
                continue
            covered = interval_coverage(pairs) if coverage else None
            found.append((model, f"{first} - {second}", result, seeds, covered, pairs))
    adjusted = holm([result["group_test"]["p_value"] for _, _, result, _, _, _ in found])
    contrasts = []
    for (model, name, result, seeds, covered, pairs), p_holm in zip(found, adjusted):
        exact = result["exact_match_difference"]
        low, high = exact["low"] * 100, exact["high"] * 100
        study = None
        if model == "alexnet":
            first, second = name.split(" - ")
            points = (STUDY_ALEXNET[first] - STUDY_ALEXNET[second]) * 100
            study = f"the study: {points:+.2f} points of binary accuracy on a {STUDY_SPLIT}, one run each"
        contrasts.append(
            Contrast(
                model=model,
                contrast=name,
                difference=exact["difference"] * 100,
                ci95=(low, high),
                p_group=result["group_test"]["p_value"],
                p_holm=float(p_holm),
                verdict=verdict(low, high, float(p_holm)),
                seeds=seeds,
                groups=int(exact["groups"]),
                frames=int(result["frames"]),
                split=kind,
                coverage=None if covered is None else float(covered),
                approximate=bool(covered is not None and covered < COVERAGE_REQUIRED),
                test_set_scorings=[scorings.get(a.run_id) for a, _ in pairs],
                study=study,
                same_rate_seeds=[
                    seed for seed, (tuned, base) in zip(seeds, pairs) if learning_rate(tuned) == learning_rate(base)
                ]
                if name == "tuned - base"
                else [],
            )
        )
    leader = _leader(cells, kind)
    return Answer(kind, contrasts, leader, _summary(contrasts), _study_text(), best=_best(runs, leader))


def _best(runs: list[Run], leader: "Leader | None") -> str:
    """'Which model is best?' in one sentence, '' without a finished tested run: the one best of every
    page (results.headline: chosen on validation, never on test) with its pooled test exact match and
    interval on the most leakage-resistant split kind, its score on the untouched split where it was
    scored there, and the grid's leader beside it (the study's own models)."""
    from tomjerry.science.results import headline

    found = headline(runs)
    if found is None:
        return ""
    lead, untouched = found.lead, found.untouched
    beyond = any(run.preset for run in lead.runs)
    interval = lead.exact_match_ci95
    text = (
        f"Which model is best? {found.setting}{', a setting beyond the study' if beyond else ''}, chosen on "
        f"validation: {lead.exact_match:.1%} test exact match"
        + (f" [{interval[0]:.1%}, {interval[1]:.1%}]" if interval else "")
        + (f" over {lead.groups} shot groups" if lead.groups else "")
        + f" on the {lead.describe()}"
    )
    if untouched is not None:
        text += f"; {untouched.exact_match:.1%} on the {untouched.describe()}, scored there once"
    if leader is not None and beyond:
        text += (
            f". Of the study's own models, {leader.model} {leader.cell} leads with {leader.exact_match:.1%} "
            f"on {lead.kind} split seeds {', '.join(str(seed) for seed in leader.seeds)}"
        )
    return text + "."


def split_question(sentence: str) -> tuple[str, str]:
    """('Does tuning help?', 'The runs cannot tell: ...') for one of Answer.said's sentences, so a page can
    set the question apart (bold) from its answer; ('', sentence) for a sentence that asks nothing."""
    question, mark, rest = sentence.partition("? ")
    return (f"{question}?", rest) if mark else ("", sentence)


def _study_text() -> str:
    base, tuned, augmented = (STUDY_ALEXNET[v] for v in VARIANTS)
    return (
        f"The study's own figures, on a {STUDY_SPLIT}: AlexNet {base:.2%} base, {tuned:.2%} tuned, "
        f"{augmented:.2%} tuned with augmentation (test binary accuracy, one run each, no interval). On such a "
        "split most test frames have a near-twin in training, so they measure recall of seen footage."
    )


def _summary(contrasts: list[Contrast]) -> list[str]:
    """One sentence per question (tuning, augmentation), computed from the verdicts."""
    sentences = []
    for question, names in (
        ("Does tuning help?", ("tuned - base",)),
        ("Does augmentation help?", ("augmented - tuned", "augmented - base")),
    ):
        rows = [c for c in contrasts if c.contrast in names]
        if not rows:
            continue
        settled = [c for c in rows if not c.verdict.startswith("inconclusive")]
        where = _where(rows)
        if not settled:
            low = min(c.ci95[0] for c in rows)
            high = max(c.ci95[1] for c in rows)
            sentence = (
                f"{question} The runs cannot tell: no contrast survives Holm's correction on {where}; "
                f"the effects could be anywhere from {low:+.1f} to {high:+.1f} points of exact match. "
                "Inconclusive, not 'no effect'."
            )
        else:
            said = "; ".join(f"{c.verdict} for {c.model} ({c.contrast}, {c.difference:+.1f} points)" for c in settled)
            rest = len(rows) - len(settled)
            sentence = f"{question} On {where}: {said}" + (f"; {rest} other(s) inconclusive." if rest else ".")
        sentences.append(sentence + _reruns(rows))
    return sentences


def _where(rows: list[Contrast]) -> str:
    """'shots seeds 1, 42', or while a seed's grid is still running for some models, 'shots seeds 1, 42
    (efficientnet_lite0 also 2)': the seeds every row rests on, then the models that rest on more."""
    common = set.intersection(*(set(c.seeds) for c in rows))
    text = f"{rows[0].split} seed{'s' if len(common) > 1 else ''} {', '.join(str(s) for s in sorted_seeds(common))}"
    extra: dict = {}
    for c in rows:
        more = tuple(sorted_seeds(set(c.seeds) - common))
        if more and c.model not in extra.get(more, []):
            extra.setdefault(more, []).append(c.model)
    if extra:
        text += (
            " ("
            + "; ".join(
                f"{' and '.join(models)} also {', '.join(str(s) for s in more)}" for more, models in extra.items()
            )
            + ")"
        )
    return text


def _reruns(rows: list[Contrast]) -> str:
    """' On shots seed 1 every search kept the base's own learning rate: ...' ('' when none did)."""
    by_seed: dict = {}
    for c in rows:
        for seed in c.same_rate_seeds:
            by_seed.setdefault(seed, []).append(c.model)
    parts = []
    for seed in sorted_seeds(by_seed):
        models = by_seed[seed]
        tuned_there = [c.model for c in rows if seed in c.seeds]
        parts.append(f"{seed} ({'every model' if set(models) == set(tuned_there) else ', '.join(models)})")
    if not parts:
        return ""
    return (
        f" Note: the search kept the base's own learning rate on {rows[0].split} seed{'s' if len(parts) > 1 else ''} "
        f"{', '.join(parts[:-1]) + ' and ' + parts[-1] if len(parts) > 1 else parts[0]}, so there 'tuned' is a second run of 'base' and its difference is the noise of a "
        "re-run, not an effect of tuning."
    )


def _leader(cells: dict, kind: str | None) -> Leader | None:
    """Each model's cell chosen on validation (pooled over its seeds), the leader the best of them on
    validation; its pooled test score with its interval, and its paired difference with the runner-up.
    Judged on the split seeds on which the whole grid ran (every model, every variant) where there are
    any: a model whose grid is still running on a further seed would otherwise be ranked on other
    frames than the rest (validation means over different seeds)."""
    models = {model for model, _, _ in cells}
    seeds_run = {seed for _, _, seed in cells}
    complete = {seed for seed in seeds_run if all((m, v, seed) in cells for m in models for v in VARIANTS)}
    if complete:
        cells = {key: run for key, run in cells.items() if key[2] in complete}
    chosen = {}
    for model in sorted({model for model, _, _ in cells}):
        options = {}
        for variant in VARIANTS:
            by_seed = {seed: run for (m, v, seed), run in cells.items() if m == model and v == variant}
            if by_seed:
                options[variant] = (float(np.mean([_validation(run)[0] for run in by_seed.values()])), by_seed)
        if options:
            variant = max(options, key=lambda v: options[v][0])
            chosen[model] = (variant, *options[variant])
    if not chosen:
        return None
    ranking = sorted(chosen, key=lambda model: chosen[model][1], reverse=True)
    model = ranking[0]
    variant, validation, by_seed = chosen[model]
    seeds = sorted_seeds(by_seed)
    pooled = pooled_interval([by_seed[seed] for seed in seeds])
    if pooled is None:
        return None
    exact = pooled["exact_match"]
    versus, runner_up = None, None
    if len(ranking) > 1:
        runner_up = ranking[1]
        other_variant, _, other = chosen[runner_up]
        common = [seed for seed in seeds if seed in other]
        if common:
            try:
                result = pooled_comparison([(by_seed[seed], other[seed]) for seed in common])
            except ValueError:
                result = None
            if result is not None:
                difference = result["exact_match_difference"]
                versus = {
                    "runner_up": f"{runner_up} {other_variant}",
                    "difference": difference["difference"] * 100,
                    "ci95": (difference["low"] * 100, difference["high"] * 100),
                    "p_group": result["group_test"]["p_value"],
                    "seeds": common,
                    "groups": difference["groups"],
                }
    where = f"{kind} seed{'s' if len(seeds) > 1 else ''} {', '.join(str(s) for s in seeds)}"
    sentence = (
        f"Among the study grid's cells, leads on validation: {model} {variant} ({validation:.1%} validation exact "
        f"match); on the test frames "
        f"{exact.estimate:.1%} [{exact.low:.1%}, {exact.high:.1%}] over {exact.groups} shot groups of {where}"
    )
    if versus:
        low, high = versus["ci95"]
        settled = versus["p_group"] < ALPHA and (low > 0 or high < 0)
        sentence += (
            f"; against {versus['runner_up']}: {versus['difference']:+.1f} points [{low:+.1f}, {high:+.1f}], "
            f"p {versus['p_group']:.2g} over shot groups: "
            + ("a lead the test frames can tell." if settled else "a lead the test frames cannot tell apart.")
        )
    else:
        sentence += "."
    return Leader(
        model,
        variant,
        validation,
        exact.estimate,
        (exact.low, exact.high),
        exact.groups,
        seeds,
        runner_up,
        versus,
        sentence,
    )
