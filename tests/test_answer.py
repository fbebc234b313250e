"""What the runs say (tomjerry.science.answer): the study's contrasts from the shipped runs, with
group-level p-values, Holm's correction and verdicts from fixed rules."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tomjerry.runs.record import read_runs
from tomjerry.science.answer import CONTRASTS, answer, verdict

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"model", "contrast", "difference", "ci95", "p_group", "p_holm", "verdict", "seeds", "groups"}


@pytest.fixture(scope="module")
def shipped():
    runs = [run for run in read_runs(ROOT / "artifacts") if run.reference]
    if not any(run.preset is None and run.config and run.config.variant == "tuned" for run in runs):
        pytest.skip("the shipped study grid is not in artifacts/runs")
    return runs


def test_the_verdict_rule():
    assert verdict(1.2, 9.0, 0.01) == "helps"
    assert verdict(-9.0, -1.2, 0.01) == "hurts"
    assert verdict(1.2, 9.0, 0.2) == "inconclusive: anywhere from +1.2 to +9.0 points"  # Holm decides
    assert verdict(-2.0, 16.2, 0.01) == "inconclusive: anywhere from -2.0 to +16.2 points"


def _on_seed(runs, *seeds):
    """AlexNet's contrasts from its shipped grid cells on each of these split seeds alone."""
    found = []
    for seed in seeds:
        cells = [r for r in runs if r.config and r.config.model == "alexnet" and r.split.get("seed") == seed]
        found += answer(cells, coverage=False).contrasts
    return found


def test_every_model_and_contrast_of_the_shipped_grid(shipped):
    found = answer(shipped, coverage=False)
    assert found.split == "shots"
    pairs = {(c.model, c.contrast) for c in found.contrasts}
    names = {f"{a} - {b}" for a, b in CONTRASTS}
    assert pairs == {(model, name) for model in ("alexnet", "zfnet", "efficientnet_lite0") for name in names}
    from statsmodels.stats.multitest import multipletests

    p = [c.p_group for c in found.contrasts]
    np.testing.assert_allclose([c.p_holm for c in found.contrasts], multipletests(p, method="holm")[1])
    alexnet = next(c for c in found.contrasts if (c.model, c.contrast) == ("alexnet", "tuned - base"))
    # Every contrast pools the seeds both of its cells ran on: the grid ran complete on shots seeds 42
    # and 1, so every model x contrast rests on at least two split seeds (issue 26's done-when).
    assert all(len(c.seeds) >= 2 and {42, 1} <= set(c.seeds) for c in found.contrasts), found.contrasts
    assert {42, 1} <= set(alexnet.seeds) and alexnet.groups > 89
    assert alexnet.groups == sum(c.groups for c in _on_seed(shipped, *alexnet.seeds) if c.contrast == "tuned - base")
    assert alexnet.ci95[0] < 0 < alexnet.ci95[1] and alexnet.verdict.startswith("inconclusive: anywhere from -")
    # The audit's shot-level p for AlexNet tuned - base on seed 42 alone: 0.11-0.12 (the frame-level
    # McNemar said 0.0095).
    (seed_42,) = [c for c in _on_seed(shipped, 42) if c.contrast == "tuned - base"]
    assert 0.09 < seed_42.p_group < 0.15 and seed_42.groups == 89 and seed_42.seeds == [42]
    assert seed_42.difference == pytest.approx(7.48, abs=0.01)
    assert "random split (frames of one shot on both sides)" in alexnet.study
    for row in found.to_json():
        assert KEYS <= set(row)
        json.dumps(row)
    assert any("cannot tell" in sentence for sentence in found.summary)
    assert found.leader is not None and found.leader.model in {"alexnet", "zfnet", "efficientnet_lite0"}
    assert str(found.leader.groups) in found.leader.sentence


def test_an_interval_is_called_approximate_exactly_when_its_simulated_coverage_is_short(shipped):
    found = answer([run for run in shipped if run.config and run.config.model == "alexnet"])
    for contrast in found.contrasts:
        assert 0.8 < contrast.coverage <= 1
        assert contrast.approximate == (contrast.coverage < 0.93)
        assert ("approximate" in contrast.sentence()) == contrast.approximate


@pytest.mark.slow
@pytest.mark.skipif(not Path("/work/shared/datasets/tom_and_jerry").is_dir(), reason="the real dataset is absent")
def test_the_command_prints_the_json(shipped, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "tomjerry", "answer", "--json", "--data", "/work/shared/datasets/tom_and_jerry"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert len(rows) == 9 and all(KEYS <= set(row) for row in rows)
    assert all(len(row["seeds"]) >= 2 for row in rows), [row["seeds"] for row in rows]


def test_a_study_table_on_one_seed_says_the_answer_pools_every_seed(shipped):
    found = answer(shipped, coverage=False)
    seeds = sorted({seed for c in found.contrasts for seed in c.seeds})
    assert len(seeds) > 1  # the shipped grid ran on several shots seeds
    note = found.table_note(f"shots {seeds[-1]}")
    pooled = ", ".join(str(seed) for seed in seeds)
    assert note == (
        f"This table: shots seed {seeds[-1]} alone. 'What the runs say' above pools every seed both cells ran on "
        f"({pooled}), so its differences can differ from this table's."
    )
    assert "of the shots split" in found.table_note("random 42")  # another split kind says which kind it pools
    # The answer of one seed's cells alone pools nothing more than its table shows: no note.
    on_42 = answer([r for r in shipped if r.split.get("seed") == 42], coverage=False)
    assert on_42.table_note("shots 42") == ""


def test_a_tuned_cell_that_kept_its_bases_rate_is_called_a_re_run(shipped):
    """On a seed where the search kept the base's own learning rate, tuned - base compares two runs of
    one recipe: the contrast names that seed and the tuning sentence says it, from the runs' own rates."""
    from tomjerry.science.results import learning_rate

    found = answer(shipped, coverage=False)
    for contrast in found.contrasts:
        if contrast.contrast != "tuned - base":
            assert contrast.same_rate_seeds == []
            continue
        kept = []
        for seed in contrast.seeds:
            on_seed = {
                run.config.variant: run
                for run in shipped
                if run.preset is None
                and run.config
                and run.config.model == contrast.model
                and run.split.get("kind") == "shots"
                and run.split.get("seed") == seed
            }
            tuned_rate = on_seed["tuned"].metrics["tuning"]["best_learning_rate"]
            if tuned_rate == on_seed["base"].config.learning_rate:
                kept.append(seed)
        assert contrast.same_rate_seeds == kept, contrast.model
        assert ("is a re-run of one recipe" in contrast.sentence()) == bool(kept)
    # The shipped grid: seed 1's three searches all kept 1e-3, the base's rate; seed 42's Lite0 and
    # seed 2's AlexNet too.
    by_model = {c.model: c.same_rate_seeds for c in found.contrasts if c.contrast == "tuned - base"}
    assert by_model == {"alexnet": [1, 2], "zfnet": [1], "efficientnet_lite0": [1, 42]}
    (tuning,) = [sentence for sentence in found.summary if sentence.startswith("Does tuning help?")]
    assert "seeds 1 (every model), 2 (alexnet) and 42 (efficientnet_lite0)" in tuning
    assert "second run of 'base'" in tuning
    assert learning_rate(next(r for r in shipped if r.preset is None and r.config.variant == "base")) == pytest.approx(
        1e-3
    )


def test_which_model_is_best_is_said_with_the_pages_best_and_the_grids_leader(shipped):
    from tomjerry.science.results import best_choice, headline

    found = answer(shipped, coverage=False)
    top = headline(shipped)
    assert found.best.startswith(f"Which model is best? {best_choice(shipped).setting}")
    assert found.said == [*found.summary, found.best]
    assert (
        f"{top.lead.exact_match:.1%} test exact match" in found.best
        and f"over {top.lead.groups} shot groups" in found.best
    )
    if top.untouched is not None:
        assert f"{top.untouched.exact_match:.1%} on the untouched split" in found.best
    assert f"{found.leader.model} {found.leader.cell} leads with {found.leader.exact_match:.1%}" in found.best


def test_a_skipped_models_reason_is_cut_to_its_opening_clause_for_the_pages():
    from tomjerry.science.study_tables import short_reason

    full = (
        "InceptionV3's ImageNet weights are not on this machine and could not be downloaded (Exception: URL fetch "
        "failure on https://x/y.h5: None --; no network?). Put y.h5 (md5 bc) in /root/.keras/models and try again."
    )
    assert short_reason(full) == "InceptionV3's ImageNet weights are not on this machine and could not be downloaded"
    assert short_reason("no weights.") == "no weights"
    assert short_reason("weights missing; see the log") == "weights missing"


def test_the_grids_leader_is_judged_on_the_seeds_the_whole_grid_ran_on(shipped):
    """While a seed's grid is still running, its finished models are not ranked on frames the others
    never saw: the leader comes from the seeds on which every model ran every variant."""
    from tomjerry.science.answer import VARIANTS, study_cells

    found = answer(shipped, coverage=False)
    _, cells = study_cells(shipped)
    models = {model for model, _, _ in cells}
    seeds = {seed for _, _, seed in cells}
    complete = sorted(s for s in seeds if all((m, v, s) in cells for m in models for v in VARIANTS))
    assert complete and sorted(found.leader.seeds) == complete
    assert f"shots seeds {', '.join(str(s) for s in complete)}" in found.leader.sentence


def test_the_sentences_say_which_seeds_every_row_rests_on_and_which_rest_on_more(shipped):
    from dataclasses import replace

    from tomjerry.science.answer import _where

    row = answer(shipped, coverage=False).contrasts[0]
    two = [replace(row, model=m, seeds=[1, 42]) for m in ("alexnet", "zfnet")]
    assert _where(two) == "shots seeds 1, 42"
    three = [*two, replace(row, model="efficientnet_lite0", seeds=[1, 2, 42])]
    assert _where(three) == "shots seeds 1, 42 (efficientnet_lite0 also 2)"
    assert _where([replace(row, seeds=[42])]) == "shots seed 42"
