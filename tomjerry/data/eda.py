"""Exploratory views of a dataset: counts, co-occurrence, image sizes and samples."""

import numpy as np
import pandas as pd

from tomjerry import COMBINATIONS
from tomjerry.data.decoding import FRAME_ASPECT
from tomjerry.data.images import THUMBNAIL_HEIGHT, read_thumbnail
from tomjerry.data.splits import SPLITS


def combination_counts(table: pd.DataFrame) -> pd.DataFrame:
    counts = table.combination.value_counts().reindex(COMBINATIONS, fill_value=0)
    return pd.DataFrame(
        {"combination": COMBINATIONS, "images": counts.to_numpy(), "share": (counts / max(len(table), 1)).to_numpy()}
    )


def label_counts(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": ["tom", "jerry"],
            "present": [int(table.tom.sum()), int(table.jerry.sum())],
            "absent": [int((1 - table.tom).sum()), int((1 - table.jerry).sum())],
        }
    )


def co_occurrence(table: pd.DataFrame) -> pd.DataFrame:
    """2 x 2 counts: rows tom 0/1, columns jerry 0/1."""
    return pd.crosstab(table.tom, table.jerry).reindex(index=[0, 1], columns=[0, 1], fill_value=0)


def per_split_counts(table: pd.DataFrame, split: pd.DataFrame) -> pd.DataFrame:
    merged = table[["filename", "combination"]].merge(split, on="filename")
    counts = merged.groupby(["split", "combination"]).size().rename("images").reset_index()
    full = pd.MultiIndex.from_product([SPLITS, COMBINATIONS], names=["split", "combination"])
    return counts.set_index(["split", "combination"]).reindex(full, fill_value=0).reset_index()


def image_sizes(table: pd.DataFrame) -> pd.DataFrame:
    """Width and height of every image from its header (no decoding)."""
    from PIL import Image

    rows: list[tuple[str, int | None, int | None]] = []  # None: the header cannot be read
    for name, path in zip(table.filename, table.path):
        try:
            with Image.open(path) as image:
                rows.append((name, *image.size))
        except OSError:
            rows.append((name, None, None))
    return pd.DataFrame(rows, columns=["filename", "width", "height"])


def single_size(sizes: pd.DataFrame) -> tuple[int, int] | None:
    """(width, height) when every readable frame has that one size, else None: a scatter plot
    of one size is a single dot, better said in a sentence."""
    known = sizes.dropna(subset=["width", "height"]).drop_duplicates(["width", "height"])
    return (int(known.width.iloc[0]), int(known.height.iloc[0])) if len(known) == 1 else None


def missing_picture(height: int) -> np.ndarray:
    """A black 16:9 stand-in `height` pixels high for a frame that cannot be decoded."""
    return np.zeros((height, int(round(height * FRAME_ASPECT)), 3), np.uint8)


def pictures(paths, height: int = THUMBNAIL_HEIGHT) -> list:
    """Each frame at `paths` as it is (images.read_thumbnail), a black 16:9 stand-in for one that
    cannot be decoded."""
    found = [read_thumbnail(path, height) for path in paths]
    return [image if image is not None else missing_picture(height) for image in found]


def frames_of(names: pd.Series, table: pd.DataFrame, height: int = THUMBNAIL_HEIGHT) -> tuple[pd.DataFrame, list]:
    """The rows of `table` for these file names and their pictures, in the order of `names`
    (a ranking, such as the most confident mistakes first, keeps its order). Each picture is the
    frame as it is, `height` pixels high with its own aspect (images.read_thumbnail), never a model's
    input: a 16:9 frame stays 16:9 whatever model is picked."""
    rows = pd.DataFrame({"filename": list(names)}).merge(table, on="filename", how="inner")
    return rows, pictures(rows.path, height)


def sample(
    table: pd.DataFrame,
    combination: str | None = None,
    count: int = 12,
    seed: int = 0,
    height: int = THUMBNAIL_HEIGHT,
) -> tuple[pd.DataFrame, list]:
    """Up to `count` random rows (of one combination, or "all") and their pictures, as `frames_of`."""
    rows = table if combination in (None, "all") else table[table.combination == combination]
    rows = rows.sample(min(count, len(rows)), random_state=seed) if len(rows) else rows
    return rows, pictures(rows.path, height)
