"""Images per second of model.fit through the project's tf.data pipeline (uint8 arrays, cast per
batch, prefetch) against the same model fed from in-memory float32 tensors.

    python benchmarks/train_throughput.py [--images 512] [--epochs 2]

Target: pipeline overhead at most 10 %.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402


def images_per_second(model, fit_input, count, epochs):
    model.fit(*fit_input, epochs=1, verbose=0)  # warm-up: tracing and first allocation
    start = time.perf_counter()
    model.fit(*fit_input, epochs=epochs, verbose=0)
    return count * epochs / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    import keras

    from tomjerry.config import RunConfig
    from tomjerry.data.pipeline import make_dataset
    from tomjerry.training.fit import new_model

    rng = np.random.default_rng(0)
    for name, size in (("alexnet", 128), ("efficientnet_lite0", 224)):
        config = RunConfig(model=name, image_size=size, batch_size=args.batch_size)
        images = rng.integers(0, 256, (args.images, size, size, 3), dtype=np.uint8)
        labels = rng.integers(0, 2, (args.images, 2)).astype(np.float32)
        steps = args.images // args.batch_size
        keras.utils.set_random_seed(0)
        model = new_model(config, steps)
        floats = images.astype(np.float32) / 255.0
        tensors = images_per_second(model, (floats, labels, args.batch_size), args.images, args.epochs)
        pipeline = make_dataset(images, labels, args.batch_size, training=True)
        through_pipeline = images_per_second(model, (pipeline,), args.images, args.epochs)
        overhead = (tensors - through_pipeline) / tensors
        print(
            f"{name:<20} @{size}: in-memory tensors {tensors:7.1f} img/s, project pipeline "
            f"{through_pipeline:7.1f} img/s, overhead {overhead:+.1%}"
        )


if __name__ == "__main__":
    main()
