"""How much each split leaks, measured: the dataset's shots and near-duplicates (tomjerry.data.shots)
computed once per set of frames and cached, and for every split kind and seed the share of test
frames with a near-duplicate in training and each side's mix of the four combinations. Used by
`python -m tomjerry splits`, the Data page and the runs that use the shots split."""

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tomjerry import COMBINATIONS
from tomjerry.atomic import read_json, write_json, write_npy
from tomjerry.data.dataset import Dataset
from tomjerry.data.images import fingerprint, load_images
from tomjerry.data.shots import NEAR_DUPLICATE_RULE, SHOT_IMAGE_SIZE, nearest_distances, run_lengths, shot_groups
from tomjerry.data.splits import SPLIT_KINDS, SPLITS, UNUSED, make_split
from tomjerry.paths import cache_dir

CACHE_VERSION = 2  # 1: groups only (before the analysis kept shots and the threshold)


@dataclass
class ShotAnalysis:
    table: pd.DataFrame  # the usable frames, in the dataset's order
    images: np.ndarray  # (N, 32, 32, 3) uint8: what the measures are computed on
    shots: np.ndarray  # (N,) shot ids
    groups: np.ndarray  # (N,) shots linked by near-duplicate frames: what a shots split keeps whole
    threshold: float  # near-duplicate threshold, grey levels
    seconds: float  # time the detection took (0 when read from the cache)

    def groups_for(self, table: pd.DataFrame) -> np.ndarray:
        """(len(table),) group ids for the rows of another table of the same frames."""
        by_name = dict(zip(self.table.filename, self.groups))
        return np.array([by_name[name] for name in table.filename])


def analyse(dataset: Dataset) -> ShotAnalysis:
    """Shots, groups and the near-duplicate threshold of the dataset's frames; about 30 s on 2
    cores the first time, then read from the cache (keyed by the frames' files)."""
    small = load_images(dataset, SHOT_IMAGE_SIZE)
    key = fingerprint(small.table, SHOT_IMAGE_SIZE)
    folder = cache_dir() / "shots"
    arrays, meta = folder / f"{key}-v{CACHE_VERSION}.npy", folder / f"{key}-v{CACHE_VERSION}.json"
    if arrays.is_file() and meta.is_file():
        saved = np.load(arrays)
        return ShotAnalysis(small.table, small.arrays, saved[0], saved[1], float(read_json(meta)["threshold"]), 0.0)
    started = time.time()
    groups, shots, threshold = shot_groups(small.table, small.arrays)
    write_npy(arrays, np.stack([shots, groups]))
    write_json(meta, {"threshold": threshold, "frames": len(shots)})
    return ShotAnalysis(small.table, small.arrays, shots, groups, threshold, time.time() - started)


def shares(combinations: pd.Series) -> dict:
    counts = combinations.value_counts().reindex(COMBINATIONS, fill_value=0)
    return {c: round(float(n) / max(len(combinations), 1), 4) for c, n in counts.items()}


def split_report(
    dataset: Dataset, kinds=SPLIT_KINDS, seeds=(42,), exclude_challenges: bool = False, block_frames: int = 50
) -> tuple[list[dict], dict]:
    """(rows, detection): one row per split kind and seed with `kind`, `seed`, `sizes` (train,
    val, test, unused), `near_duplicate_test_fraction`, `combination_share` (per side), the
    whole set's share and the largest gap to it in points; detection: shots, groups, lengths."""
    analysis = analyse(dataset)
    table, images = analysis.table, analysis.images
    lengths = run_lengths(analysis.shots)
    detection = {
        "shots": len(lengths),
        "median_frames": float(np.median(lengths)),
        "max_frames": int(lengths.max()),
        "groups": len(np.unique(analysis.groups)),
        "seconds": round(analysis.seconds, 1),
        "near_duplicate_threshold": round(analysis.threshold, 3),
        "near_duplicate_rule": NEAR_DUPLICATE_RULE,
    }
    whole = shares(table.combination)
    rows = []
    for kind in kinds:
        for seed in seeds:
            split = make_split(
                table, kind, seed, exclude_challenges, block_frames, shots=analysis.groups
            ).split.to_numpy()
            nearest = nearest_distances(images, split)
            per_side = {side: shares(table.combination[split == side]) for side in SPLITS}
            rows.append(
                {
                    "kind": kind,
                    "seed": seed,
                    "sizes": {side: int((split == side).sum()) for side in (*SPLITS, UNUSED)},
                    "near_duplicate_test_fraction": round(float((nearest < analysis.threshold).mean()), 4),
                    "median_nearest_train_distance": round(float(np.median(nearest)), 2),
                    "combination_share": per_side,
                    "whole_share": whole,
                    "largest_share_gap_points": round(
                        100 * max(abs(per_side[s][c] - whole[c]) for s in SPLITS for c in COMBINATIONS), 2
                    ),
                    "near_duplicate_threshold": detection["near_duplicate_threshold"],
                    "near_duplicate_rule": NEAR_DUPLICATE_RULE,
                }
            )
    return rows, detection


def split_and_leakage(dataset: Dataset, kind: str, seed: int, block_frames: int = 50) -> tuple[pd.DataFrame, dict]:
    """One split of the dataset's usable frames (filename, split) and its split_report row."""
    analysis = analyse(dataset)
    table = dataset.usable
    split = make_split(
        table, kind, seed, block_frames=block_frames, shots=analysis.groups_for(table) if kind == "shots" else None
    )
    rows, _ = split_report(dataset, kinds=(kind,), seeds=(seed,), block_frames=block_frames)
    return split, rows[0]
