"""Train / validation / test splits, seeded and saved as CSV (filename, split).

- random:  stratified by the four label combinations, 80/10/10 as the study.
- blocked: runs of consecutive frame numbers stay on one side, so the near-identical
           neighbouring frames of one shot never straddle train and test.
- a CSV:   a user-supplied split (filename, split with train/val/test).
"""

from pathlib import Path

import numpy as np
import pandas as pd

from tomjerry.atomic import write_csv
from tomjerry.dataset import name_keys

SPLITS = ("train", "val", "test")
FRACTIONS = (0.8, 0.1, 0.1)
DEFAULT_BLOCK_FRAMES = 50


def random_split(table: pd.DataFrame, seed: int = 42, fractions=FRACTIONS) -> pd.Series:
    rng = np.random.default_rng(seed)
    split = pd.Series("train", index=table.index, dtype=object)
    for _, group in table.groupby("combination", sort=True):
        order = rng.permutation(group.index.to_numpy())
        n_test = int(round(len(order) * fractions[2]))
        n_val = int(round(len(order) * fractions[1]))
        split[order[:n_test]] = "test"
        split[order[n_test:n_test + n_val]] = "val"
    return split


def blocked_split(table: pd.DataFrame, seed: int = 42, fractions=FRACTIONS,
                  block_frames: int = DEFAULT_BLOCK_FRAMES) -> pd.Series:
    """Blocks of `block_frames` consecutive frame numbers, shuffled with the seed, fill test, then
    validation, then train, so every block sits wholly on one side."""
    if block_frames < 1:
        raise ValueError("block_frames must be at least 1")
    if (table.frame < 0).any():
        raise ValueError("a blocked split needs frame numbers in the file names (frame123.jpg)")
    block = table.frame // block_frames
    blocks = np.random.default_rng(seed).permutation(np.unique(block))
    sizes = block.value_counts()
    targets = [len(table) * fractions[2], len(table) * fractions[1]]
    split = pd.Series("train", index=table.index, dtype=object)
    filled = [0, 0]
    assigned = {}
    side = 0
    for b in blocks:
        while side < 2 and filled[side] >= targets[side]:
            side += 1
        if side == 2:
            break
        assigned[b] = ("test", "val")[side]
        filled[side] += sizes[b]
    for b, name in assigned.items():
        split[block == b] = name
    return split


def read_split_csv(path, table: pd.DataFrame) -> pd.Series:
    """The split of every row of `table`, from a CSV (filename, split). Names are compared after
    NFC normalisation, so a decomposed spelling of the same name matches."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if not {"filename", "split"} <= set(frame.columns):
        raise ValueError(f"{Path(path).name} needs the columns filename,split")
    bad = sorted(set(frame.split) - set(SPLITS))
    if bad:
        raise ValueError(f"{Path(path).name}: split values must be train, val or test, not {', '.join(bad)}")
    names = name_keys(frame.filename)
    if names.duplicated().any():
        raise ValueError(f"{Path(path).name} lists a file twice: {names[names.duplicated()].iloc[0]}")
    mapping = dict(zip(names, frame.split))
    keys = name_keys(table.filename)
    missing = [name for name in keys if name not in mapping]
    if missing:
        raise ValueError(f"{Path(path).name} has no split for {len(missing)} image(s), e.g. {missing[0]}")
    return keys.map(mapping)


def make_split(table: pd.DataFrame, kind: str = "random", seed: int = 42,
               exclude_challenges: bool = False, block_frames: int = DEFAULT_BLOCK_FRAMES) -> pd.DataFrame:
    """A frame with filename and split for every row of `table`. With exclude_challenges the
    challenge frames go to test, so no model ever trains or tunes on them."""
    if kind == "random":
        split = random_split(table, seed)
    elif kind == "blocked":
        split = blocked_split(table, seed, block_frames=block_frames)
    elif Path(kind).suffix == ".csv":
        split = read_split_csv(kind, table)
    else:
        raise ValueError(f"unknown split {kind!r}: use random, blocked or the path of a split CSV")
    result = pd.DataFrame({"filename": table.filename.to_numpy(), "split": split.to_numpy()})
    if exclude_challenges:
        result.loc[table.challenge.to_numpy(), "split"] = "test"
    return result


def save_split(split: pd.DataFrame, path) -> Path:
    return write_csv(path, split[["filename", "split"]])


def split_summary(table: pd.DataFrame, split: pd.DataFrame) -> pd.DataFrame:
    """Counts of each combination per split (rows: split, columns: combination)."""
    merged = table.merge(split, on="filename")
    return pd.crosstab(merged.split, merged.combination).reindex(SPLITS).fillna(0).astype(int)
