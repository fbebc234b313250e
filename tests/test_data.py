import os
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from conftest import REAL_DATA

from tomjerry.data import discovery
from tomjerry.data.dataset import image_root, scan
from tomjerry.data.demo import generate_demo_dataset
from tomjerry.data.images import load_images, read_frame, to_float, validate


def kinds(dataset):
    return {(p.kind, p.filename) for p in dataset.problems}


def test_demo_is_deterministic_and_complete(demo_root, tmp_path):
    again = generate_demo_dataset(tmp_path / "again")
    assert (demo_root / "ground_truth.csv").read_text() == (again / "ground_truth.csv").read_text()
    dataset = scan(demo_root)
    counts = dataset.counts()
    assert dataset.is_demo
    assert counts["images"] == 320 and counts["challenges"] == 12
    assert all(n >= 40 for n in counts["combinations"].values())
    assert dataset.problems == []


def test_discovery_order(demo_root, tmp_path, monkeypatch):
    other = generate_demo_dataset(tmp_path / "other", frames=40)
    monkeypatch.setenv("TOMJERRY_DATA", str(other))
    assert discovery.find_dataset(demo_root).origin == "argument"
    assert discovery.find_dataset().path == other.resolve()
    # A $TOMJERRY_DATA that holds no dataset is an error, as a wrong --data is; an argument wins.
    monkeypatch.setenv("TOMJERRY_DATA", str(tmp_path / "typo"))
    with pytest.raises(ValueError, match="TOMJERRY_DATA"):
        discovery.find_dataset()
    assert discovery.find_dataset(demo_root).origin == "argument"
    assert discovery.find_dataset(use_environment=False).origin != "TOMJERRY_DATA"
    monkeypatch.delenv("TOMJERRY_DATA")
    monkeypatch.setattr(discovery, "PROJECT_ROOT", tmp_path / "project")
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kaggle"))
    fallback = discovery.find_dataset()
    assert fallback.is_demo and fallback.origin == "demo"
    kaggle = tmp_path / "kaggle" / "datasets" / discovery.KAGGLE_HANDLE / "versions" / "3"
    generate_demo_dataset(kaggle, frames=40)
    assert discovery.find_dataset().origin == "kagglehub cache"
    project_data = tmp_path / "project" / "data" / "tom_and_jerry"
    generate_demo_dataset(project_data, frames=40)
    assert discovery.find_dataset().origin == "project data/"


def test_explicit_path_without_dataset_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="No dataset"):
        discovery.find_dataset(tmp_path)


def test_flat_layout_is_accepted(demo_copy):
    nested = image_root(demo_copy)
    for folder in nested.iterdir():
        folder.rename(demo_copy / folder.name)
    assert scan(demo_copy).counts()["images"] == 320


def test_each_fault_is_reported(demo_copy):
    base = image_root(demo_copy)
    csv = pd.read_csv(demo_copy / "ground_truth.csv")
    missing_row = csv.filename[5]
    csv = csv[csv.filename != missing_row]
    csv.loc[len(csv) + 100] = ["frame9999.jpg", 1, 0]  # a row with no image
    csv.loc[csv.filename == "frame10.jpg", "tom"] = 2  # label that is not 0/1
    csv = pd.concat([csv, csv[csv.filename == "frame20.jpg"]])  # duplicate row
    csv.to_csv(demo_copy / "ground_truth.csv", index=False)
    corrupt = next((base / "tom").iterdir())
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    first, second = sorted((base / "tom_jerry_0").iterdir(), key=lambda p: -len(p.name))[:2]
    second.write_bytes(first.read_bytes())
    (base / "jerry" / "frame0.jpg").write_bytes(b"x")  # same name in two folders
    for path in (base / "tom_jerry_1").iterdir():
        path.unlink()
    (base / "tom_jerry_1").rmdir()

    dataset = validate(demo_copy, image_size=32)
    found = kinds(dataset)
    assert ("missing_row", missing_row) in found
    assert ("missing_image", "frame9999.jpg") in found
    assert ("bad_label", "frame10.jpg") in found
    assert ("duplicate_row", "frame20.jpg") in found
    assert ("unreadable", corrupt.name) in found
    assert ("duplicate_filename", "frame0.jpg") in found
    assert ("missing_folder", "") in found
    assert ("identical_image", second.name) in found
    # Every image left out is named by an error; nothing else goes.
    errors = {p.filename for p in dataset.problems if p.severity == "error"}
    usable = set(dataset.usable.filename)
    assert not usable & errors
    on_disk = {p.name for folder in base.iterdir() for p in folder.iterdir()}
    assert on_disk - usable <= errors


def test_missing_label_column_is_a_clear_error(demo_copy):
    (demo_copy / "ground_truth.csv").write_text("filename,tom\nframe0.jpg,1\n")
    with pytest.raises(ValueError, match="lacks the column"):
        scan(demo_copy)


def test_preprocessing_matches_hand_made_image(tmp_path):
    image = np.zeros((40, 80, 3), np.uint8)
    image[:, :40] = (255, 0, 0)  # BGR blue on the left half
    image[:, 40:] = (0, 0, 255)  # red on the right half
    path = tmp_path / "x.png"
    cv2.imwrite(str(path), image)
    frame = read_frame(path, 20)
    assert frame.shape == (20, 20, 3) and frame.dtype == np.uint8
    assert tuple(frame[10, 2]) == (0, 0, 255)  # RGB: blue
    assert tuple(frame[10, 17]) == (255, 0, 0)  # RGB: red
    as_float = to_float(frame[None])
    assert as_float.dtype == np.float32 and as_float.max() == 1.0 and as_float.min() == 0.0


def test_cache_hits_and_invalidates(demo_copy):
    first = load_images(scan(demo_copy), 32)
    second = load_images(scan(demo_copy), 32)
    assert not first.from_cache and second.from_cache
    np.testing.assert_array_equal(first.arrays, second.arrays)
    assert first.arrays.shape == (320, 32, 32, 3)
    target = Path(second.table.path[0])
    cv2.imwrite(str(target), np.full((144, 256, 3), 255, np.uint8))
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    third = load_images(scan(demo_copy), 32)
    assert not third.from_cache
    assert third.arrays[0].min() == 255


@pytest.mark.skipif(not REAL_DATA.exists(), reason="the real dataset is not at ../shared/datasets/tom_and_jerry")
def test_real_dataset_counts():
    dataset = scan(REAL_DATA)
    counts = dataset.counts()
    assert counts["images"] == 5478
    assert counts["combinations"] == {"neither": 1528, "tom": 1930, "jerry": 1240, "both": 780}
    assert counts["challenges"] == 32
    assert not dataset.is_demo
