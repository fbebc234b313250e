"""One 'best' (results.best_choice): chosen on validation, pooled over split seeds, on the headline
split kind, among settings that ship a model; with the reason every page and command shows."""

from pathlib import Path

import numpy as np
import pytest

from tomjerry.runs.record import read_runs
from tomjerry.science.results import _validation, best_choice, best_run, headline, model_choices, run_names

SHIPPED = Path(__file__).resolve().parents[1] / "artifacts" / "runs"


@pytest.fixture(scope="module")
def shipped():
    runs = [run for run in read_runs(SHIPPED.parent) if run.reference and not run.untouched]
    if not any(run.preset == "lite1-best" for run in runs):
        pytest.skip("the shipped runs are not in artifacts/runs")
    return runs


def pooled_validation(runs, setting, kind="shots"):
    return np.mean(
        [
            _validation(run)[0]
            for run in runs
            if run.setting() == setting and run.split["kind"] == kind and not run.untouched  # never chosen on
        ]
    )


def test_the_shipped_best_is_the_setting_with_a_model_that_leads_on_pooled_validation(shipped):
    """The pages' best is the setting, among those that ship a model, with the highest validation
    exact match pooled over its shots seeds; `--preset best` names the same preset (the constant
    was chosen on validation, not on test frames)."""
    from tomjerry.config import BEST_PRESET

    chosen = best_choice(shipped)
    with_model = {run.setting() for run in shipped if run.has_model}
    on_shots = {run.setting() for run in shipped if run.split["kind"] == "shots"} & with_model
    expected = max(on_shots, key=lambda setting: pooled_validation(shipped, setting))
    assert chosen.setting == expected and chosen.run.has_model
    assert chosen.run.preset == BEST_PRESET
    assert chosen.run.split["kind"] == "random"  # its only shipped model
    for other in on_shots - {expected}:
        assert pooled_validation(shipped, expected) > pooled_validation(shipped, other)
    seeds = ", ".join(
        str(seed)
        for seed in sorted(
            run.split["seed"] for run in shipped if run.setting() == expected and run.split["kind"] == "shots"
        )
    )
    for words in ("validation", "shots", f"seeds {seeds}", f"{pooled_validation(shipped, expected):.1%}", "random 42"):
        assert words in chosen.reason, (words, chosen.reason)
    assert best_run(shipped) is chosen.run
    labels, best = model_choices(shipped)
    assert labels[best] is chosen.run
    assert headline(shipped).setting == chosen.setting


def test_without_a_model_the_best_setting_on_validation_still_leads(shipped):
    no_models = [run for run in shipped if not run.has_model]
    assert best_choice(no_models).run is None and "no finished run with a saved model" in best_choice(no_models).reason
    chosen = best_choice(no_models, with_model=False)
    settings = {run.setting() for run in no_models if run.split["kind"] == "shots"}
    assert chosen.setting == max(settings, key=lambda s: pooled_validation(no_models, s))
    assert chosen.run.split["kind"] == "shots"
    assert run_names([chosen.run])


def test_a_run_on_the_untouched_split_is_scored_apart_and_never_chosen_on(shipped):
    """A run on the untouched split (shots, UNTOUCHED_SEED) with the highest validation score of
    all: the choice, the headline's pooled seeds and every table ignore it; the headline shows it
    apart, as its own split result."""
    import dataclasses

    from tomjerry.data.splits import UNTOUCHED_SEED
    from tomjerry.science.answer import answer
    from tomjerry.science.report import answer_html
    from tomjerry.science.results import finished, split_comparison, untouched_results, untouched_sentence

    setting = headline(shipped).setting
    base = next(run for run in shipped if run.setting() == setting and run.split["kind"] == "shots")
    metrics = {**base.metrics, "validation": {**base.metrics["validation"], "exact_match_accuracy": 0.999}}
    spare = dataclasses.replace(
        base,
        provenance={**base.provenance, "split": {**base.split, "seed": UNTOUCHED_SEED}},
        metrics=metrics,
    )
    assert spare.untouched and not base.untouched
    runs = [*shipped, spare]
    assert spare not in finished(runs) and spare in finished(runs, untouched=True)
    assert best_choice(runs).setting == best_choice(shipped).setting  # 99.9 % on validation does not choose
    assert str(UNTOUCHED_SEED) not in split_comparison(runs).seeds.str.cat(sep=", ").split(", ")
    (result,) = untouched_results(runs)
    assert result.runs == (spare,) and result.describe() == f"untouched split, seed {UNTOUCHED_SEED}"
    lead = headline(runs)
    assert lead.setting == setting and spare not in lead.lead.runs and lead.lead == headline(shipped).lead
    assert lead.untouched.runs == (spare,)
    assert headline(shipped).untouched is None
    sentence = untouched_sentence(result)
    assert f"on the untouched split, seed {UNTOUCHED_SEED} (scored there once, never chosen on)" in sentence
    assert f"exact match {spare.test['exact_match_accuracy']:.1%} [" in sentence
    found = answer(runs, coverage=False)
    assert found.contrasts == answer(shipped, coverage=False).contrasts  # no contrast includes it
    assert "scored there once" in answer_html(found, untouched=[sentence])


def test_the_reason_goes_on_without_the_name_a_line_has_just_given(shipped):
    """'Why: efficientnet_lite1 lite1-wide · 240x424 px · TTA: the best ...' said the name twice
    under a line that had just named the setting: `why` is the reason after the name."""
    chosen = best_choice(shipped)
    assert chosen.reason == f"{chosen.setting}: {chosen.why}"
    assert chosen.why.startswith("the best validation exact match") and chosen.setting not in chosen.why
    empty = best_choice([])
    assert empty.why == empty.reason == "no finished run yet"
