"""Every input in shared/cases/ that once broke tomjerry, with the behaviour it must have now, and
generated inputs of the same kinds (the fix is for the kind of fault, not for one file)."""

import os
import unicodedata

import pandas as pd

from tomjerry.dataset import image_root, scan
from tomjerry.images import read_frame
from tomjerry.splits import read_split_csv


def test_decomposed_unicode_file_names_match_their_rows(demo_copy, tmp_path):
    composed = "frame3-café.jpg"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    base = image_root(demo_copy)
    victim = sorted((base / "tom").iterdir())[3]
    victim.rename(base / "tom" / decomposed)  # what macOS writes
    labels = pd.read_csv(demo_copy / "ground_truth.csv")
    labels.loc[labels.filename == victim.name, "filename"] = composed  # what a person types
    labels.to_csv(demo_copy / "ground_truth.csv", index=False)
    with open(demo_copy / "challenges.csv", "a") as handle:
        handle.write(f"tom,{decomposed}\n")

    dataset = scan(demo_copy)
    assert not [p for p in dataset.problems if p.severity == "error"], dataset.problems_frame()
    row = dataset.usable[dataset.usable.filename == composed].iloc[0]
    assert row.path == str(base / "tom" / decomposed) and os.path.exists(row.path)  # the disk's own spelling
    assert bool(row.challenge)
    assert read_frame(row.path, 32) is not None

    split = pd.DataFrame({"filename": dataset.usable.filename, "split": "train"})
    split.loc[split.filename == composed, "filename"] = decomposed
    split.to_csv(tmp_path / "split.csv", index=False)
    assert (read_split_csv(tmp_path / "split.csv", dataset.usable) == "train").all()
