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
    assert alexnet.groups == sum(c.groups for c in _on_seed(shipped, 42, 1) if c.contrast == "tuned - base")
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
