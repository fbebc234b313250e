"""Load every frame at 224 px the study's way and the project's way, cold and warm.

The study's `create_img_dataset`: walk the folders, sequential cv2.imread + resize, float32 per
image, and one pandas filter of the whole label table per file. The project: one vectorised
label join, parallel decode into uint8, and an on-disk cache of the resized arrays.

    python benchmarks/load.py [--data PATH] [--size 224]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def study_way(root: Path, size: int):
    labels_table = pd.read_csv(root / "ground_truth.csv")
    image_folder = root / "tom_and_jerry" / "tom_and_jerry"
    images, labels = [], []
    for folder in sorted(os.listdir(image_folder)):
        for name in sorted(os.listdir(image_folder / folder)):
            image = cv2.imread(str(image_folder / folder / name))
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
            images.append(image.astype("float32") / 255)
            labels.append(labels_table[labels_table["filename"] == name][["tom", "jerry"]].values[0])
    return np.array(images), np.array(labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    # A private cache folder, so "cold" really is cold.
    os.environ["TOMJERRY_CACHE"] = tempfile.mkdtemp(prefix="tomjerry-bench-")

    from tomjerry.data.dataset import scan
    from tomjerry.data.discovery import find_dataset
    from tomjerry.data.images import load_images

    source = find_dataset(args.data)
    print(f"dataset: {source.describe()}")

    start = time.perf_counter()
    images, _ = study_way(source.path, args.size)
    study_s = time.perf_counter() - start
    count = len(images)
    del images

    def project_way():
        start = time.perf_counter()
        loaded = load_images(scan(source), args.size)
        return time.perf_counter() - start, loaded

    cold_s, loaded = project_way()
    warm_s, warm = project_way()
    if not warm.from_cache or loaded.from_cache:
        raise SystemExit("cache did not behave: cold run hit it or warm run missed it")
    print(f"images: {count:,} (project kept {len(loaded.arrays):,}) at {args.size}x{args.size}")
    print(f"study way (sequential, pandas filter per file, float32): {study_s:7.2f} s")
    print(f"project, cold (parallel decode, uint8, cache written):   {cold_s:7.2f} s   {study_s / cold_s:5.1f}x faster")
    print(f"project, warm (array cache):                             {warm_s:7.2f} s   {study_s / warm_s:5.1f}x faster")
    print(
        f"memory: study float32 {count * args.size**2 * 3 * 4 / 2**30:.2f} GiB, "
        f"project uint8 {loaded.arrays.nbytes / 2**30:.2f} GiB"
    )


if __name__ == "__main__":
    main()
