"""Training and inference images per second of `lite1-best`'s network (EfficientNet-Lite1, fine-tuned
from block 11) at the square 240x240 input and the frame's own 240x424, in float32 and in Keras's
mixed_bfloat16 policy (the accuracy issue's lever 5: bfloat16 on CPUs with AVX512-BF16 / AMX), with
XLA compilation as an option. Random pixels: speed only, no accuracy.

    python benchmarks/precision_shape.py [--images 192] [--epochs 2] [--xla]

Each configuration runs in its own process (a Keras dtype policy is global). Prints images a second
and each one's ratio to float32 at 240x240 in the same run (this machine is shared: compare ratios).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATIONS = [
    ("float32", 240, 240),
    ("mixed_bfloat16", 240, 240),
    ("float32", 240, 424),
    ("mixed_bfloat16", 240, 424),
]


def measure(policy: str, height: int, width: int, images: int, epochs: int, xla: bool) -> dict:
    sys.path.insert(0, str(ROOT))
    import keras
    import numpy as np

    from tomjerry.models.builders import build_model

    keras.mixed_precision.set_global_policy(policy)
    model = build_model("efficientnet_lite1", (height, width), dropout_rate=0.2, weights="none", fine_tune_from=11)
    model.compile(keras.optimizers.Adam(3e-4), "binary_crossentropy", jit_compile=xla)
    rng = np.random.default_rng(0)
    x = rng.random((images, height, width, 3), dtype=np.float32)
    y = rng.integers(0, 2, (images, 2)).astype("float32")
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)  # warm-up: tracing, first allocations
    start = time.perf_counter()
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0)
    train = images * epochs / (time.perf_counter() - start)
    model.predict(x[:64], batch_size=64, verbose=0)
    start = time.perf_counter()
    model.predict(x, batch_size=64, verbose=0)
    return {"train": train, "predict": images / (time.perf_counter() - start)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=192)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--xla", action="store_true", help="compile the training step with XLA (jit_compile)")
    parser.add_argument("--one", nargs=3, metavar=("POLICY", "HEIGHT", "WIDTH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        policy, height, width = args.one[0], int(args.one[1]), int(args.one[2])
        print(json.dumps(measure(policy, height, width, args.images, args.epochs, args.xla)))
        return
    print(
        f"{os.cpu_count()} CPUs; {args.images} random images, {args.epochs} epochs, XLA {'on' if args.xla else 'off'}"
    )
    baseline = None
    for policy, height, width in CONFIGURATIONS:
        command = [sys.executable, __file__, "--one", policy, str(height), str(width)]
        command += ["--images", str(args.images), "--epochs", str(args.epochs)] + (["--xla"] if args.xla else [])
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        baseline = baseline or result
        print(
            f"{policy:<15} {height}x{width}: train {result['train']:6.1f} img/s (x{result['train'] / baseline['train']:.2f}), "
            f"predict {result['predict']:6.1f} img/s (x{result['predict'] / baseline['predict']:.2f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
