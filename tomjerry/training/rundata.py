"""The data of one run: the dataset's frames decoded at the run's size, their labels and the
run's split, aligned row by row, plus the dataset's provenance record."""

from pathlib import Path

import numpy as np
import pandas as pd

from tomjerry.config import RunConfig
from tomjerry.data.dataset import dataset_record, label_matrix, scan
from tomjerry.data.discovery import find_dataset
from tomjerry.data.images import load_images
from tomjerry.data.leakage import analyse
from tomjerry.data.pipeline import make_dataset
from tomjerry.data.splits import make_split, save_split
from tomjerry.runs.folder import RunFolder


class RunData:
    """images: (N, height, width, 3) uint8 RGB (config.input_shape); labels: (N, 2) float32 (tom, jerry); split: (N,)
    train/val/test; table: the N dataset rows. An existing split.csv in the run folder (or
    `split_file`) is used as it is, so a resumed or re-evaluated run keeps its split."""

    def __init__(self, config: RunConfig, data_path, run_dir, split_file=None):
        self.source = find_dataset(data_path)
        dataset = scan(self.source)
        # Fingerprinted before decoding, like the pages do from the same scan.
        self.dataset_record = dataset_record(self.source.path, self.source.is_demo, dataset.usable)
        self._scanned = dataset
        self._shots: np.ndarray | None = None  # computed on first use (shot_groups)
        loaded = load_images(dataset, config.input_shape)
        self.table: pd.DataFrame = loaded.table
        self.images: np.ndarray = loaded.arrays
        self.labels: np.ndarray = label_matrix(self.table)
        split_file = Path(split_file) if split_file else RunFolder(run_dir).file(RunFolder.SPLIT)
        if split_file.is_file():
            split = make_split(self.table, str(split_file))
        else:
            shots = self.shot_groups if config.split == "shots" else None
            split = make_split(
                self.table, config.split, config.split_seed, config.exclude_challenges, config.block_frames, shots=shots
            )
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
            self._shots = analyse(self._scanned).groups_for(self.table)
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
        train = make_dataset(
            x_train,
            y_train,
            batch_size,
            training=True,
            augment=augment,
            seed=config.seed,
            augmentation_kind=config.augmentation,
            mixup=config.mixup,
        )
        val = make_dataset(x_val, y_val, batch_size)
        return train, val, int(np.ceil(len(x_train) / batch_size))
