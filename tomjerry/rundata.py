"""The data of one run: the dataset's frames decoded at the run's size, their labels and the
run's split, aligned row by row, plus the dataset's provenance record."""

from pathlib import Path

import numpy as np
import pandas as pd

from tomjerry.config import RunConfig
from tomjerry.dataset import label_matrix, scan
from tomjerry.discovery import find_dataset
from tomjerry.atomic import write_npy
from tomjerry.images import fingerprint, load_images
from tomjerry.paths import cache_dir
from tomjerry.pipeline import make_dataset
from tomjerry.runs.folder import RunFolder
from tomjerry.runs.provenance import dataset_record
from tomjerry.shots import SHOT_IMAGE_SIZE, shot_groups
from tomjerry.splits import make_split, save_split

SHOTS_CACHE_VERSION = 1


def shot_groups_of(dataset, table: pd.DataFrame) -> np.ndarray:
    """(N,) shot-group ids for the rows of `table` (frames of `dataset`), from tomjerry.shots on
    small decoded frames; cached on disk by the frames' cache key, since detection takes ~30 s."""
    small = load_images(dataset, SHOT_IMAGE_SIZE)
    path = cache_dir() / "shots" / f"{fingerprint(small.table, SHOT_IMAGE_SIZE)}-v{SHOTS_CACHE_VERSION}.npy"
    if path.is_file():
        groups = np.load(path)
    else:
        groups, _, _ = shot_groups(small.table, small.arrays)
        write_npy(path, np.asarray(groups))
    by_name = dict(zip(small.table.filename, groups))
    return np.array([by_name[name] for name in table.filename])


class RunData:
    """images: (N, size, size, 3) uint8 RGB; labels: (N, 2) float32 (tom, jerry); split: (N,)
    train/val/test; table: the N dataset rows. An existing split.csv in the run folder (or
    `split_file`) is used as it is, so a resumed or re-evaluated run keeps its split."""

    def __init__(self, config: RunConfig, data_path, run_dir, split_file=None):
        self.source = find_dataset(data_path)
        dataset = scan(self.source)
        # Fingerprinted before decoding, like the pages do from the same scan.
        self.dataset_record = dataset_record(self.source.path, self.source.is_demo, dataset.usable)
        self._scanned = dataset
        self._shots = None
        loaded = load_images(dataset, config.image_size)
        self.table: pd.DataFrame = loaded.table
        self.images: np.ndarray = loaded.arrays
        self.labels: np.ndarray = label_matrix(self.table)
        split_file = Path(split_file) if split_file else RunFolder(run_dir).file(RunFolder.SPLIT)
        if split_file.is_file():
            split = make_split(self.table, str(split_file))
        else:
            shots = self.shot_groups if config.split == "shots" else None
            split = make_split(self.table, config.split, config.split_seed, config.exclude_challenges,
                               config.block_frames, shots=shots)
            save_split(split, split_file)
        self.split_file = split_file
        self.split: np.ndarray = split.split.to_numpy()
        for part in ("train", "val", "test"):
            if not (self.split == part).any():
                raise ValueError(f"the {part} split is empty: the dataset is too small for this split")

    @property
    def shot_groups(self) -> np.ndarray:
        """(N,) shot-group ids of the rows (computed once; cached on disk)."""
        if self._shots is None:
            self._shots = shot_groups_of(self._scanned, self.table)
        return self._shots

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        mask = self.split == name
        return self.images[mask], self.labels[mask]

    def datasets(self, config: RunConfig, batch_size=None, augment=None):
        """(train, val, steps per epoch) as tf.data pipelines."""
        batch_size = batch_size or config.batch_size
        augment = config.augment if augment is None else augment
        x_train, y_train = self.part("train")
        x_val, y_val = self.part("val")
        train = make_dataset(x_train, y_train, batch_size, training=True, augment=augment, seed=config.seed,
                             augmentation_kind=config.augmentation)
        val = make_dataset(x_val, y_val, batch_size)
        return train, val, int(np.ceil(len(x_train) / batch_size))
