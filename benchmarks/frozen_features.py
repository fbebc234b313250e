"""What caching a frozen base's features saves: seconds for a frozen-base model to train E epochs
on frames (every epoch runs the base) against extracting the features once and training only the
head on them for the same E epochs (tomjerry.training.features).

    python benchmarks/frozen_features.py [--images 1024] [--epochs 3] [--size 136]

Prints both times and their ratio; the ratio, not the seconds, is the figure (the machine is shared).
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--size", type=int, default=136)
    parser.add_argument("--model", default="efficientnet_lite0")
    args = parser.parse_args()

    import keras

    from tomjerry.config import RunConfig
    from tomjerry.data.pipeline import make_dataset
    from tomjerry.models.specs import SPECS
    from tomjerry.training.features import extract, feature_dataset, split_model
    from tomjerry.training.fit import compile_model, new_model

    config = RunConfig(model=args.model, image_size=args.size, batch_size=32)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.images, args.size, args.size, 3), dtype=np.uint8)
    labels = rng.integers(0, 2, (args.images, 2)).astype(np.float32)
    steps = int(np.ceil(args.images / config.batch_size))

    keras.utils.set_random_seed(0)
    model = new_model(config, steps)
    frames = make_dataset(images, labels, config.batch_size, training=True)
    model.fit(frames.take(2), epochs=1, verbose=0)  # tracing, first allocation
    start = time.perf_counter()
    model.fit(frames, epochs=args.epochs, verbose=0)
    on_frames = time.perf_counter() - start

    keras.utils.set_random_seed(0)
    model = new_model(config, steps)
    extractor, head = split_model(model, SPECS[args.model].feature_layer)
    compile_model(head, config, steps)
    extract(extractor, images[:64], config.batch_size)  # tracing
    start = time.perf_counter()
    features = extract(extractor, images, config.batch_size)
    extracted = time.perf_counter() - start
    head.fit(feature_dataset(features, labels, config.batch_size, training=True), epochs=args.epochs, verbose=0)
    on_features = time.perf_counter() - start
    print(
        f"{args.model} @{args.size} px, {args.images} frames, {args.epochs} epochs: on frames {on_frames:.1f} s; "
        f"cached features {on_features:.1f} s (extraction {extracted:.1f} s, head {on_features - extracted:.1f} s); "
        f"{on_frames / on_features:.1f}x faster; per further epoch "
        f"{on_frames / args.epochs:.2f} s against {(on_features - extracted) / args.epochs:.2f} s"
    )


if __name__ == "__main__":
    main()
