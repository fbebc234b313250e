"""Shot detection, near-duplicates and the shots split, on synthetic frames with known shots."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from tomjerry import COMBINATIONS
from tomjerry.data.shots import (
    CUT_THRESHOLD,
    frame_differences,
    frame_distance,
    linked_shot_ids,
    near_duplicate_fraction,
    near_duplicate_threshold,
    nearest_distances,
    run_lengths,
    shot_groups,
    shot_ids,
    thumbnails,
)
from tomjerry.data.splits import (
    GAP_FRAMES,
    UNUSED,
    leave_gaps,
    make_split,
    read_split_csv,
    save_split,
    shots_split,
    split_summary,
)

COMBINATION_OF = {(0, 0): "neither", (1, 0): "tom", (0, 1): "jerry", (1, 1): "both"}


def shot_frames(lengths, seed=0, size=32):
    """(sum(lengths), size, size, 3) uint8: one random 4 x 4 grey block pattern per shot, each frame
    of a shot that pattern plus a little noise (about 2 grey levels of mean absolute difference).
    Each shot's pattern is drawn afresh until it differs from the previous one by more than 60 grey
    levels, so every cut is far above the cut threshold."""
    rng = np.random.default_rng(seed)
    frames, previous = [], None
    for length in lengths:
        base = rng.integers(0, 256, (4, 4))
        while previous is not None and np.abs(base - previous).mean() <= 60:
            base = rng.integers(0, 256, (4, 4))
        previous = base
        pattern = np.kron(base, np.ones((size // 4, size // 4)))
        for _ in range(length):
            noisy = pattern[:, :, None] + rng.integers(-4, 5, (size, size, 1))
            frames.append(np.clip(noisy, 0, 255).repeat(3, axis=2).astype(np.uint8))
    return np.stack(frames)


def table_for(frames, combinations, challenge=None):
    frames = np.asarray(frames)
    tom = np.array([c in ("tom", "both") for c in combinations], int)
    jerry = np.array([c in ("jerry", "both") for c in combinations], int)
    return pd.DataFrame(
        {
            "filename": [f"frame{f}.jpg" for f in frames],
            "tom": tom,
            "jerry": jerry,
            "combination": list(combinations),
            "frame": frames,
            "challenge": np.zeros(len(frames), bool) if challenge is None else challenge,
        }
    )


def expected_ids(lengths):
    return np.repeat(np.arange(len(lengths)), lengths)


# ---- thumbnails and distances ----------------------------------------------------------------


def test_thumbnail_is_the_area_mean_of_the_grey_image():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (3, 32, 32, 3)).astype(np.uint8)
    grey = images.astype(float) @ np.array([0.299, 0.587, 0.114])
    oracle = grey.reshape(3, 16, 2, 16, 2).mean(axis=(2, 4)).reshape(3, -1)
    assert thumbnails(images).shape == (3, 256)
    np.testing.assert_allclose(thumbnails(images), oracle, atol=1e-3)


def test_frame_distance_in_grey_levels():
    black, white = np.zeros((32, 32, 3), np.uint8), np.full((32, 32, 3), 255, np.uint8)
    grey10, grey30 = np.full((40, 24, 3), 10, np.uint8), np.full((40, 24, 3), 30, np.uint8)
    assert frame_distance(black, white) == pytest.approx(255, abs=0.01)
    assert frame_distance(grey10, grey30) == pytest.approx(20, abs=0.01)
    assert frame_distance(grey30, grey30) == 0


def test_frame_differences_are_neighbour_distances():
    images = shot_frames([3, 4], seed=2)
    differences = frame_differences(images)
    assert differences.shape == (6,)
    oracle = [frame_distance(images[i], images[i + 1]) for i in range(6)]
    np.testing.assert_allclose(differences, oracle, atol=1e-3)
    assert differences[2] > CUT_THRESHOLD > max(np.delete(differences, 2))


def test_bad_image_shape_is_a_clear_error():
    with pytest.raises(ValueError, match="shape"):
        thumbnails(np.zeros((2, 32, 32), np.uint8))


# ---- shots ------------------------------------------------------------------------------------


def test_cuts_are_found_exactly_even_when_rows_are_shuffled():
    lengths = [5, 1, 7, 3, 10, 2]
    images = shot_frames(lengths, seed=3)
    table = table_for(np.arange(len(images)), ["tom"] * len(images))
    order = np.random.default_rng(0).permutation(len(images))
    ids = shot_ids(table.iloc[order].reset_index(drop=True), images[order])
    np.testing.assert_array_equal(ids, expected_ids(lengths)[order])
    np.testing.assert_array_equal(run_lengths(ids), lengths)


def test_a_gap_in_frame_numbers_starts_a_shot():
    images = shot_frames([8], seed=4)  # one look throughout
    table = table_for([0, 1, 2, 3, 10, 11, 12, 13], ["tom"] * 8)
    np.testing.assert_array_equal(shot_ids(table, images), [0, 0, 0, 0, 1, 1, 1, 1])


def test_shot_ids_need_aligned_images_and_frame_numbers():
    images = shot_frames([4], seed=5)
    with pytest.raises(ValueError, match="aligned"):
        shot_ids(table_for(np.arange(3), ["tom"] * 3), images)
    with pytest.raises(ValueError, match="frame numbers"):
        shot_ids(table_for([0, 1, -1, 3], ["tom"] * 4), images)


def test_linked_shots_join_repeated_footage():
    images = shot_frames([3, 3, 3], seed=6)
    images[7] = images[1]  # the third shot repeats a frame of the first
    shots = expected_ids([3, 3, 3])
    np.testing.assert_array_equal(linked_shot_ids(shots, images, threshold=1.0), [0, 0, 0, 1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(linked_shot_ids(shots, shot_frames([3, 3, 3], seed=6), 1.0), shots)


# ---- near-duplicates ----------------------------------------------------------------------------


def test_nearest_distances_match_a_brute_force_oracle():
    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, (40, 32, 32, 3)).astype(np.uint8)
    split = np.array(["train"] * 25 + ["test"] * 10 + ["val"] * 5)
    got = nearest_distances(images, split)
    oracle = [min(frame_distance(images[q], images[r]) for r in range(25)) for q in range(25, 35)]
    np.testing.assert_allclose(got, oracle, atol=1e-3)


def test_near_duplicate_fraction_counts_test_frames_with_a_training_twin():
    images = shot_frames([1] * 12, seed=8)  # twelve unrelated frames
    images[10], images[11] = images[0], images[1]  # two of the four test frames copy training frames
    split = np.array(["train"] * 6 + ["val"] * 2 + ["test"] * 4)
    assert near_duplicate_fraction(images, split, threshold=1.0) == 0.5
    images[8] = images[2]
    assert near_duplicate_fraction(images, split, threshold=1.0) == 0.75
    with pytest.raises(ValueError, match="both test and train"):
        near_duplicate_fraction(images, np.array(["train"] * 12), threshold=1.0)


def test_near_duplicate_threshold_matches_a_loop_oracle():
    rng = np.random.default_rng(9)
    n = 60
    images = rng.integers(0, 256, (n, 32, 32, 3)).astype(np.uint8)
    combinations = rng.choice(COMBINATIONS, n)
    table = table_for(np.arange(n), combinations)
    small = thumbnails(images)
    nearest = [
        min(
            np.abs(small[i] - small[j]).mean()
            for j in range(n)
            if combinations[j] != combinations[i] and abs(i - j) > 5
        )
        for i in range(n)
    ]
    got = near_duplicate_threshold(table, images, quantile=0.1, min_gap=5)
    assert got == pytest.approx(np.quantile(nearest, 0.1), abs=1e-3)


# ---- the shots split ------------------------------------------------------------------------------


def synthetic_shots(count=240, seed=11):
    """A table of `count` shots of 1-14 frames, each shot one combination, the combinations skewed."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 15, count)
    combination = rng.choice(COMBINATIONS, count, p=[0.3, 0.35, 0.2, 0.15])
    shots = expected_ids(lengths)
    return table_for(np.arange(len(shots)), combination[shots]), shots


@pytest.fixture(scope="module")
def shot_table():
    return synthetic_shots()


def shares(table, split, side):
    return table.combination[split == side].value_counts(normalize=True).reindex(COMBINATIONS, fill_value=0)


def test_shots_split_keeps_shots_whole(shot_table):
    table, shots = shot_table
    split = make_split(table, "shots", seed=1, shots=shots).split.to_numpy()
    sides = pd.DataFrame({"shot": shots, "split": split})
    per_shot = sides[sides.split != UNUSED].groupby("shot").split.nunique()
    assert (per_shot == 1).all()
    # a frame is only left out when a val or test frame lies within the gap
    frames = table.frame.to_numpy()
    left_out = frames[split == UNUSED]
    guarded = frames[np.isin(split, ["val", "test"])]
    assert len(left_out) > 0
    assert (np.abs(left_out[:, None] - guarded[None, :]).min(axis=1) <= GAP_FRAMES).all()


def test_shots_split_leaves_a_gap_between_sides(shot_table):
    table, shots = shot_table
    split = make_split(table, "shots", seed=2, shots=shots).split.to_numpy()
    frames = table.frame.to_numpy()
    used = split != UNUSED
    close = np.abs(frames[:, None] - frames[None, :]) <= GAP_FRAMES
    across = split[:, None] != split[None, :]
    assert not (close & across & used[:, None] & used[None, :]).any()
    test_shots = np.unique(shots[split == "test"])
    assert (split[np.isin(shots, test_shots)] == "test").all()  # test never loses a frame to a gap


def test_leave_gaps_by_hand():
    T, V, X, U = "train", "val", "test", UNUSED
    split = [T] * 5 + [X] * 2 + [T] * 3 + [V] * 2 + [T] * 4
    expected = [T, T, T, U, U, X, X, U, U, U, V, V, U, U, T, T]
    assert list(leave_gaps(np.array(split), np.arange(16), gap=2)) == expected
    # val next to test is thinned first; train then only yields to what is left
    assert list(leave_gaps(np.array([T, T, V, X]), np.arange(4), gap=2)) == [T, U, U, X]
    assert list(leave_gaps(np.array([V, V, V, X]), np.arange(4), gap=1)) == [V, V, U, X]
    # distances are in frame numbers, not rows
    assert list(leave_gaps(np.array([T, X]), np.array([0, 5]), gap=2)) == [T, X]
    assert GAP_FRAMES >= 1


def test_shots_split_sizes_and_stratification(shot_table):
    table, shots = shot_table
    for seed in (0, 1, 2):
        split = make_split(table, "shots", seed=seed, shots=shots).split.to_numpy()
        whole = table.combination.value_counts(normalize=True).reindex(COMBINATIONS)
        # the gaps come out of train (and a little out of val); test keeps its share
        assert abs(np.isin(split, ["train", UNUSED]).mean() - 0.8) < 0.03
        assert abs((split == "val").mean() - 0.1) < 0.03
        assert abs((split == "test").mean() - 0.1) < 0.02
        for side in ("train", "val", "test"):
            assert (shares(table, split, side) - whole).abs().max() < 0.05
        # every frame keeps its side or is left out: nothing is invented
        assert set(split) <= {"train", "val", "test", UNUSED}


def test_shots_split_is_seeded(shot_table):
    table, shots = shot_table
    same = [make_split(table, "shots", seed=4, shots=shots) for _ in range(2)]
    assert same[0].equals(same[1])
    assert not same[0].equals(make_split(table, "shots", seed=5, shots=shots))


def test_exclude_challenges_moves_whole_shots_to_test(shot_table):
    table, shots = shot_table
    table = table.copy()
    challenged = [3, 50, 51, 120]  # shots whose one frame is a challenge frame
    table["challenge"] = False
    for shot in challenged:
        table.loc[np.flatnonzero(shots == shot)[0], "challenge"] = True
    split = make_split(table, "shots", seed=0, exclude_challenges=True, shots=shots).split.to_numpy()
    for shot in challenged:
        assert (split[shots == shot] == "test").all()
    plain = make_split(table, "shots", seed=0, shots=shots).split.to_numpy()
    assert not all((plain[shots == shot] == "test").all() for shot in challenged)


def test_shots_split_needs_shots_or_images(shot_table):
    table, _ = shot_table
    with pytest.raises(ValueError, match="shot ids .* or their images"):
        make_split(table, "shots", seed=0)
    with pytest.raises(ValueError, match="aligned"):
        shots_split(table, np.zeros(3, int))


def test_shots_split_from_images_uses_the_detected_shot_groups():
    lengths = [4, 6, 3, 5, 2, 7, 4, 3, 6, 5] * 4
    images = shot_frames(lengths, seed=12)
    combination = np.array(COMBINATIONS)[np.arange(len(lengths)) % 4]
    table = table_for(np.arange(len(images)), combination[expected_ids(lengths)])
    groups, shots, threshold = shot_groups(table, images)
    np.testing.assert_array_equal(shots, expected_ids(lengths))
    assert threshold > 0
    assert (pd.Series(groups).groupby(shots).nunique() == 1).all()  # groups are unions of whole shots
    split = make_split(table, "shots", seed=0, images=images).split.to_numpy()
    np.testing.assert_array_equal(make_split(table, "shots", seed=0, shots=groups).split.to_numpy(), split)
    assert near_duplicate_fraction(images, split, threshold) == 0


def test_unused_frames_read_back_and_are_summarised(shot_table, tmp_path):
    table, shots = shot_table
    split = make_split(table, "shots", seed=3, shots=shots)
    path = save_split(split, tmp_path / "split.csv")
    assert (read_split_csv(path, table).to_numpy() == split.split.to_numpy()).all()
    summary = split_summary(table, split)
    assert list(summary.index) == ["train", "val", "test", UNUSED]
    assert summary.loc[UNUSED].sum() == (split.split == UNUSED).sum() > 0
    assert list(split_summary(table, make_split(table, "random", 0)).index) == ["train", "val", "test"]


# ---- random and blocked splits are unchanged ---------------------------------------------------


def baseline_table(n=400, seed=0):
    rng = np.random.default_rng(seed)
    tom, jerry = rng.integers(0, 2, n), rng.integers(0, 2, n)
    frame = np.arange(n)
    return pd.DataFrame(
        {
            "filename": [f"frame{i}.jpg" for i in frame],
            "tom": tom,
            "jerry": jerry,
            "combination": [COMBINATION_OF[(t, j)] for t, j in zip(tom, jerry)],
            "frame": frame,
            "challenge": np.isin(frame, [5, 77, 301]),
        }
    )


# Digests of the split column computed with the code before the shots split existed.
BEFORE = [
    ("random", 42, False, 50, "50808e655ed8375c"),
    ("random", 1, False, 50, "defc8e0026f67eeb"),
    ("blocked", 42, False, 50, "3b9fcd4cbd175bad"),
    ("blocked", 3, True, 16, "47f0637e38af1a1a"),
    ("random", 0, True, 50, "02c0414fec304efe"),
]


@pytest.mark.parametrize("kind,seed,exclude,block,digest", BEFORE)
def test_random_and_blocked_splits_are_unchanged(kind, seed, exclude, block, digest):
    split = make_split(baseline_table(), kind, seed, exclude, block)
    assert hashlib.sha256(",".join(split.split).encode()).hexdigest()[:16] == digest


# ---- the splits command ----------------------------------------------------------------------------


def test_splits_command_reports_every_kind_and_seed(demo_root, capsys):
    from tomjerry.cli import main

    assert main(["splits", "--data", str(demo_root), "--json", "--seeds", "3,4"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["kind"], r["seed"]) for r in rows] == [(k, s) for k in ("random", "blocked", "shots") for s in (3, 4)]
    for row in rows:
        assert set(row["sizes"]) >= {"train", "val", "test"}
        assert 0 <= row["near_duplicate_test_fraction"] <= 1
        assert row["near_duplicate_threshold"] > 0 and "quantile" in row["near_duplicate_rule"]
        for side in ("train", "val", "test"):
            assert sum(row["combination_share"][side].values()) == pytest.approx(1, abs=1e-3)
    random_leak = np.mean([r["near_duplicate_test_fraction"] for r in rows if r["kind"] == "random"])
    shots_leak = np.mean([r["near_duplicate_test_fraction"] for r in rows if r["kind"] == "shots"])
    assert shots_leak < random_leak


def test_shot_analysis_is_cached_and_a_shots_run_uses_it(demo_root, tmp_path):
    from tomjerry.config import RunConfig
    from tomjerry.data.dataset import scan
    from tomjerry.data.leakage import analyse
    from tomjerry.training.rundata import RunData

    first = analyse(scan(demo_root))
    again = analyse(scan(demo_root))
    assert again.seconds == 0.0 and (again.groups == first.groups).all() and again.threshold == first.threshold
    config = RunConfig(model="efficientnet_lite0", image_size=32, split="shots", split_seed=3)
    data = RunData(config, demo_root, tmp_path)
    groups = first.groups_for(data.table)
    for group in np.unique(groups):  # every group of near-copies sits on one side (or is unused)
        assert len(set(data.split[groups == group]) - {UNUSED}) <= 1
    assert (data.split == UNUSED).any() and set(np.unique(data.split)) <= {"train", "val", "test", UNUSED}
