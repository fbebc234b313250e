"""The test-set ledger (tomjerry.runs.ledger): how often a test set has been scored."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tomjerry.runs import ledger
from tomjerry.runs.ledger import LEDGER, read_ledger, record_scoring, scorings_sentence
from tomjerry.runs.record import read_runs
from tomjerry.runs.table import runs_table

SHIPPED = Path(__file__).resolve().parents[1] / "artifacts" / "runs"
# Two shipped runs on shots seed 42's test frames, one on seed 1's.
SEED_42 = ("ref-20261202-165658-alexnet-base-cfd4a6", "ref-20261202-211510-alexnet-tuned-68b84c")
SEED_1 = "ref-20261202-144346-efficientnet_lite1-augmented-2d5e10"


@pytest.fixture
def artifacts(tmp_path):
    names = (*SEED_42, SEED_1)
    if not all((SHIPPED / name).is_dir() for name in names):
        pytest.skip("the shipped runs are not in artifacts/runs")
    for name in names:
        shutil.copytree(
            SHIPPED / name, tmp_path / "runs" / name, ignore=shutil.ignore_patterns("model.keras", "tuner*")
        )
    return tmp_path


def test_the_hash_names_the_test_frames_whatever_their_order():
    assert ledger.test_set_sha256(["b.jpg", "a.jpg"]) == ledger.test_set_sha256(["a.jpg", "b.jpg"])
    assert ledger.test_set_sha256(["a.jpg"]) != ledger.test_set_sha256(["a.jpg", "b.jpg"])
    with pytest.raises(ValueError, match="at least one frame"):
        ledger.test_set_sha256([])


def test_shipped_runs_count_the_runs_scored_on_the_same_test_frames(artifacts):
    runs = read_runs(artifacts)
    counts = ledger.test_set_scorings(runs)
    assert counts == {SEED_42[0]: 2, SEED_42[1]: 2, SEED_1: 1}


def test_a_scoring_in_the_ledger_counts_even_after_its_folder_is_gone(artifacts):
    split = pd.read_csv(artifacts / "runs" / SEED_42[0] / "split.csv")
    fingerprint = read_runs(artifacts)[0].dataset["fingerprint"]
    test = split.filename[split.split == "test"]
    record_scoring(artifacts, "deleted-run", test, fingerprint)
    record_scoring(artifacts, SEED_42[0], test, fingerprint)  # re-scored: still one run
    record_scoring(artifacts, "other-dataset", test, "another fingerprint")
    entries = read_ledger(artifacts)
    assert [entry["run_id"] for entry in entries] == ["deleted-run", SEED_42[0], "other-dataset"]
    assert entries[0]["frames"] == len(test) and entries[0]["test_sha256"] == ledger.test_set_sha256(test)
    counts = ledger.test_set_scorings(read_runs(artifacts))
    assert counts[SEED_42[0]] == counts[SEED_42[1]] == 3 and counts[SEED_1] == 1
    table = runs_table(read_runs(artifacts)).set_index("run_id")
    assert table.loc[SEED_42[1], "test_set_scorings"] == 3


def test_a_torn_ledger_line_is_skipped(artifacts):
    (artifacts / LEDGER).write_text('{"run_id": "a", "test_sha256": "x"}\n{"run_id": "b", "te', encoding="utf-8")
    record_scoring(artifacts, "c", ["frame1.jpg"], None)
    assert [entry["run_id"] for entry in read_ledger(artifacts)] == ["a", "c"]
    assert json.loads((artifacts / LEDGER).read_text().splitlines()[-1])["run_id"] == "c"


def test_the_sentence():
    assert scorings_sentence(24) == "this test set has been scored 24 times"
    assert scorings_sentence(1) == "this test set has been scored once"


def test_scoring_a_run_records_it_in_its_artifacts_ledger(trained_run):
    from tomjerry.runs.folder import RunFolder
    from tomjerry.runs.ledger import run_test_sha256

    entries = [entry for entry in read_ledger(trained_run.artifacts) if entry["run_id"] == trained_run.path.name]
    assert len(entries) >= 1
    predictions = RunFolder(trained_run.path).read_predictions()
    assert entries[0]["frames"] == int((predictions.split == "test").sum())
    assert entries[0]["test_sha256"] == run_test_sha256(RunFolder(trained_run.path))
    assert ledger.test_set_scorings(read_runs(trained_run.artifacts))[trained_run.path.name] == 1
