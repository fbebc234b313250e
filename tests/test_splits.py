import pandas as pd
import pytest

from tomjerry.data.dataset import scan
from tomjerry.data.splits import make_split, save_split, split_summary


@pytest.fixture(scope="module")
def table(demo_root):
    return scan(demo_root).usable


def test_random_split_sizes_and_stratification(table):
    split = make_split(table, "random", seed=1)
    counts = split.split.value_counts()
    assert abs(counts["train"] / len(table) - 0.8) < 0.02
    assert abs(counts["test"] / len(table) - 0.1) < 0.02
    summary = split_summary(table, split)
    overall = table.combination.value_counts(normalize=True)
    test_share = summary.loc["test"] / summary.loc["test"].sum()
    assert (abs(test_share - overall[test_share.index]) < 0.03).all()


def test_same_seed_same_split_and_other_seed_differs(table):
    assert make_split(table, "random", seed=3).equals(make_split(table, "random", seed=3))
    assert not make_split(table, "random", seed=3).equals(make_split(table, "random", seed=4))
    assert make_split(table, "blocked", seed=3).equals(make_split(table, "blocked", seed=3))


def test_blocked_split_keeps_each_run_of_frames_together(table):
    split = make_split(table, "blocked", seed=0, block_frames=16)
    merged = table.assign(split=split.split.to_numpy(), block=table.frame // 16)
    assert (merged.groupby("block").split.nunique() == 1).all()
    counts = merged.split.value_counts(normalize=True)
    assert set(counts.index) == {"train", "val", "test"}
    assert 0.07 < counts["test"] < 0.2


def test_challenges_can_be_kept_out_of_training(table):
    split = make_split(table, "random", seed=0, exclude_challenges=True)
    assert (split.split[table.challenge.to_numpy()] == "test").all()


def test_user_split_csv_roundtrip_and_errors(table, tmp_path):
    split = make_split(table, "random", seed=5)
    path = save_split(split, tmp_path / "split.csv")
    assert make_split(table, str(path)).equals(split)
    split.iloc[:1].to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(ValueError, match="no split for"):
        make_split(table, str(tmp_path / "short.csv"))
    pd.DataFrame({"filename": ["a"], "split": ["dev"]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match="train, val or test"):
        make_split(table, str(tmp_path / "bad.csv"))
    pd.DataFrame({"filename": ["a", "b"], "split": ["train", ""]}).to_csv(tmp_path / "blank.csv", index=False)
    with pytest.raises(ValueError, match="not ''$"):
        make_split(table, str(tmp_path / "blank.csv"))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty.csv is empty"):
        make_split(table, str(tmp_path / "empty.csv"))
    with pytest.raises(ValueError, match="does not exist"):
        make_split(table, str(tmp_path / "gone.csv"))
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(ValueError, match="is not a file"):
        make_split(table, str(tmp_path / "folder.csv"))
