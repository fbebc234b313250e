"""The accuracy issue's multi-scale TTA lever, chosen on validation frames only: each finished run's
model scores its validation frames at every scale (the run's input enlarged bilinearly, as
tomjerry.inference.predict.Predictor does, by the model rebuilt at that size:
tomjerry.models.builders.rebuilt_at), with and without the mirror; then every set of scales is
scored as the mean of its scales' probabilities, exact match at 0.5, per run and pooled over the
runs' frames. Test frames are never read, so nothing is written to the test-set ledger.

    .venv/bin/python scripts/multiscale_validation.py RUN_DIR [RUN_DIR ...] --data PATH \
        [--scales 1 1.133 1.267]

The README's table of scales (lite1-wide on shots seeds 2, 42 and 1) is this script's output.
"""

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tomjerry import quiet  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--data", required=True)
    parser.add_argument("--scales", nargs="+", type=float, default=[1.0, 1.133, 1.267])
    args = parser.parse_args()
    quiet.install()

    from tomjerry.data.decoding import scaled_shape
    from tomjerry.data.images import to_float
    from tomjerry.inference.predict import BATCH, load_model, predict_arrays, resized
    from tomjerry.models.builders import rebuilt_at
    from tomjerry.runs.folder import RunFolder
    from tomjerry.training.rundata import RunData

    # (run, scale, mirrored) -> (N, 2) validation probabilities; run -> (N, 2) labels.
    found: dict = {}
    labels: dict = {}
    for run_dir in args.runs:
        folder = RunFolder(run_dir)
        config = folder.read_config()
        model = load_model(run_dir)
        data = RunData(config, args.data, run_dir, split_file=folder.file(RunFolder.SPLIT))
        pixels = data.images[np.flatnonzero(data.split == "val")]
        labels[folder.run_id] = data.labels[data.split == "val"]
        for scale in args.scales:
            shape = scaled_shape(config.input_shape, scale)
            net = model if scale == 1.0 else rebuilt_at(model, shape)
            plain, mirror = [], []
            for start in range(0, len(pixels), BATCH):
                chunk = pixels[start : start + BATCH]
                batch = to_float(chunk if scale == 1.0 else resized(chunk, shape))
                plain.append(predict_arrays(net, batch))
                mirror.append(predict_arrays(net, batch[:, :, ::-1]))
            plain_p, mirror_p = np.concatenate(plain), np.concatenate(mirror)
            found[(folder.run_id, scale, False)] = plain_p
            found[(folder.run_id, scale, True)] = (plain_p + mirror_p) / 2
            print(f"{folder.run_id} {config.split} {config.split_seed}: scored at {shape[0]}x{shape[1]}", flush=True)
    runs = list(labels)
    print("\n| scales | mirror | " + " | ".join(runs) + " | pooled val exact |")
    print("|---|---|" + "---|" * len(runs) + "---|")
    for mirrored in (True, False):
        for count in range(1, len(args.scales) + 1):
            for chosen in itertools.combinations(args.scales, count):
                exact = []
                for run in runs:
                    p = np.mean([found[(run, scale, mirrored)] for scale in chosen], axis=0)
                    exact.append(((p >= 0.5) == labels[run]).all(axis=1))
                pooled = np.concatenate(exact).mean()
                cells = " | ".join(f"{e.mean():.2%}" for e in exact)
                scales = ", ".join(f"{scale:g}" for scale in chosen)
                print(f"| {scales} | {'yes' if mirrored else 'no'} | {cells} | {pooled:.2%} |")


if __name__ == "__main__":
    main()
