"""Reading a dataset in the Kaggle layout and reporting every problem with it.

Layout: <root>/ground_truth.csv (filename,tom,jerry), optional <root>/challenges.csv
(folder,image_name), images in <root>/tom_and_jerry/tom_and_jerry/<folder>/ or <root>/<folder>/.
Nothing is dropped silently: `scan` lists every problem and only the images named by an
error-level problem are left out of `Dataset.usable`.
"""

import hashlib
import os
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tomjerry import COMBINATION_OF, COMBINATIONS, FOLDER_OF
from tomjerry.data.discovery import DataSource, is_demo_dataset

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
LABEL_COLUMNS = ["filename", "tom", "jerry"]
CHALLENGE_COLUMNS = ["folder", "image_name"]
COMBINATION_OF_FOLDER = {folder: combo for combo, folder in FOLDER_OF.items()}


@dataclass(frozen=True)
class Problem:
    kind: str
    severity: str  # "error": the image is left out; "warning": kept, but worth knowing
    filename: str
    detail: str


@dataclass
class Dataset:
    root: Path
    is_demo: bool
    table: pd.DataFrame  # filename, folder, path, tom, jerry, combination, frame, challenge
    problems: list = field(default_factory=list)

    @property
    def usable(self) -> pd.DataFrame:
        """Images with a valid label and no error-level problem, in frame order."""
        bad = {p.filename for p in self.problems if p.severity == "error"}
        return self.table[~self.table.filename.isin(bad)].reset_index(drop=True)

    def counts(self) -> dict:
        usable = self.usable
        by_combo = usable.combination.value_counts()
        return {
            "images": int(len(usable)),
            "combinations": {c: int(by_combo.get(c, 0)) for c in COMBINATIONS},
            "labels": {"tom": int(usable.tom.sum()), "jerry": int(usable.jerry.sum())},
            "challenges": int(usable.challenge.sum()),
            "problems": {
                "errors": sum(p.severity == "error" for p in self.problems),
                "warnings": sum(p.severity == "warning" for p in self.problems),
            },
        }

    def problems_frame(self) -> pd.DataFrame:
        return pd.DataFrame([vars(p) for p in self.problems], columns=["kind", "severity", "filename", "detail"])


def name_key(filename: str) -> str:
    """A file name as it is matched to CSV rows: NFC-normalised, so a name macOS stored decomposed
    ("e" + combining accent) matches the same name typed composed in a CSV. Paths on disk keep their
    own spelling; only the comparison uses this."""
    return unicodedata.normalize("NFC", filename)


def name_keys(names: pd.Series) -> pd.Series:
    return names.map(name_key)


def frame_number(filename: str) -> int:
    """Time order of a frame: the number in `frame123.jpg`, or -1 when there is none."""
    match = re.search(r"(\d+)(?!.*\d)", Path(filename).stem)
    return int(match.group(1)) if match else -1


def image_root(root: Path) -> Path:
    nested = root / "tom_and_jerry" / "tom_and_jerry"
    if any((nested / folder).is_dir() for folder in FOLDER_OF.values()):
        return nested
    return root


def list_images(root: Path) -> pd.DataFrame:
    base = image_root(root)
    rows = []
    for folder in sorted(FOLDER_OF.values()):
        directory = base / folder
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            # Broken links and unreadable files are listed too: decoding reports them as unreadable.
            if path.suffix.lower() in IMAGE_SUFFIXES and not path.is_dir():
                rows.append((name_key(path.name), folder, str(path)))
    return pd.DataFrame(rows, columns=["filename", "folder", "path"])


def read_label_table(csv_path: Path, problems: list) -> pd.DataFrame:
    try:
        labels = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ValueError(f"{csv_path.name} cannot be read as CSV: {error}") from None
    missing = [c for c in LABEL_COLUMNS if c not in labels.columns]
    if missing:
        raise ValueError(
            f"{csv_path.name} lacks the column(s) {', '.join(missing)}; "
            f"expected the header {','.join(LABEL_COLUMNS)} (found {','.join(labels.columns)})."
        )
    extra = [c for c in labels.columns if c not in LABEL_COLUMNS]
    if extra:
        problems.append(
            Problem(
                "extra_columns",
                "warning",
                "",
                f"{csv_path.name} has extra column(s) {', '.join(extra)}; they are ignored.",
            )
        )
    labels = labels[LABEL_COLUMNS].copy()
    labels["filename"] = name_keys(labels.filename.str.strip())
    for column in ("tom", "jerry"):
        labels[column] = pd.to_numeric(labels[column].str.strip(), errors="coerce")
    return labels


def scan(source) -> Dataset:
    """Read the CSVs and list the image files (no decoding) and report every structural problem."""
    root = Path(source.path if isinstance(source, DataSource) else source)
    csv_path = root / "ground_truth.csv"
    if not csv_path.is_file():
        raise ValueError(f"No ground_truth.csv in {root}: is this the Tom and Jerry dataset folder?")
    problems: list[Problem] = []
    files = list_images(root)
    for folder in FOLDER_OF.values():
        if not (image_root(root) / folder).is_dir():
            problems.append(Problem("missing_folder", "warning", "", f"folder {folder}/ is missing"))
        elif not (files.folder == folder).any():
            problems.append(Problem("empty_folder", "warning", "", f"folder {folder}/ holds no images"))
    labels = read_label_table(csv_path, problems)

    for name in labels.filename[labels.filename.duplicated(keep="first")].unique():
        problems.append(Problem("duplicate_row", "error", name, "ground_truth.csv has several rows for this file"))
    for name in files.filename[files.filename.duplicated(keep="first")].unique():
        folders = ", ".join(files.folder[files.filename == name])
        problems.append(
            Problem("duplicate_filename", "error", name, f"the same file name is in several folders ({folders})")
        )
    bad_label = ~labels.tom.isin([0, 1]) | ~labels.jerry.isin([0, 1])
    for row in labels[bad_label].itertuples():
        problems.append(Problem("bad_label", "error", str(row.filename), "labels must be 0 or 1"))

    # One vectorised join instead of one table search per image.
    table = files.drop_duplicates("filename").merge(
        labels.drop_duplicates("filename"), on="filename", how="outer", indicator=True
    )
    for name in table.filename[table._merge == "left_only"]:
        problems.append(Problem("missing_row", "error", name, "image has no row in ground_truth.csv"))
    for name in table.filename[table._merge == "right_only"]:
        problems.append(Problem("missing_image", "error", name, "row in ground_truth.csv has no image file"))
    table = table[table._merge == "both"].drop(columns="_merge")
    valid = table.tom.isin([0, 1]) & table.jerry.isin([0, 1])
    table = table[valid].copy()
    table["tom"] = table.tom.astype(int)
    table["jerry"] = table.jerry.astype(int)
    table["combination"] = [COMBINATION_OF[(t, j)] for t, j in zip(table.tom, table.jerry)]
    disagree = table.combination != table.folder.map(COMBINATION_OF_FOLDER)
    for row in table[disagree].itertuples():
        problems.append(
            Problem(
                "folder_mismatch",
                "error",
                str(row.filename),
                f"label says {row.combination} but the file is in {row.folder}/",
            )
        )
    table["frame"] = table.filename.map(frame_number)
    table["challenge"] = table.filename.isin(read_challenges(root, set(table.filename), problems))
    table = table.sort_values(["frame", "filename"]).reset_index(drop=True)
    return Dataset(root, is_demo_dataset(root), table, problems)


def read_challenges(root: Path, known: set, problems: list) -> set:
    path = root / "challenges.csv"
    if not path.is_file():
        return set()
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        problems.append(Problem("bad_challenges", "warning", "", f"challenges.csv cannot be read: {error}"))
        return set()
    if "image_name" not in frame.columns:
        problems.append(
            Problem(
                "bad_challenges",
                "warning",
                "",
                f"challenges.csv lacks image_name; expected {','.join(CHALLENGE_COLUMNS)}",
            )
        )
        return set()
    names = set(name_keys(frame.image_name.str.strip()))
    for name in sorted(names - known):
        problems.append(
            Problem("unknown_challenge", "warning", name, "listed in challenges.csv but not a labelled image")
        )
    return names & known


def identical_images(table: pd.DataFrame) -> list[Problem]:
    """Byte-identical image files: a warning, since they are kept but can inflate test scores."""
    groups = defaultdict(list)
    for name, path in zip(table.filename, table.path):
        try:
            groups[hashlib.sha256(Path(path).read_bytes()).hexdigest()].append(name)
        except OSError:
            continue  # reported as unreadable when decoded
    problems = []
    for names in groups.values():
        if len(names) > 1:
            for name in names:
                others = ", ".join(n for n in names if n != name)
                problems.append(Problem("identical_image", "warning", name, f"byte-identical to {others}"))
    return problems


def label_matrix(table: pd.DataFrame) -> np.ndarray:
    return table[["tom", "jerry"]].to_numpy(dtype=np.float32)


def dataset_fingerprint(table: pd.DataFrame) -> str:
    """sha256 (first 16 hex digits) of every usable image's file name (NFC), size in bytes and
    labels, in name order. The same frames with the same labels give the same fingerprint
    wherever the folder lives; a resized, added, removed or relabelled frame changes it.
    `table` needs the columns filename, path, tom, jerry."""
    rows = []
    for name, path, tom, jerry in zip(table.filename, table.path, table.tom, table.jerry):
        try:
            size = os.stat(path).st_size
        except OSError:
            size = -1
        rows.append(f"{unicodedata.normalize('NFC', name)}|{size}|{int(tom)}{int(jerry)}")
    digest = hashlib.sha256("\n".join(sorted(rows)).encode("utf-8"))
    return digest.hexdigest()[:16]


def dataset_record(path, is_demo: bool, table: pd.DataFrame) -> dict:
    """The `dataset` object of provenance and of the runs table."""
    return {
        "name": "demo" if is_demo else Path(path).name,
        "demo": bool(is_demo),
        "path": str(path),
        "fingerprint": dataset_fingerprint(table),
        "images": int(len(table)),
    }
