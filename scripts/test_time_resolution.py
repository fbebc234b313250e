"""The accuracy issue's test-time-resolution lever, measured on a finished run's model: the trained
weights in the same architecture built at larger inputs (the EfficientNets pool globally, so any size
takes them), scored at each size on the run's own split with its own TTA. Touvron et al., "Fixing
the train-test resolution discrepancy" (NeurIPS 2019): random-zoom training sees objects larger
than a centre view at the same size, so a slightly larger test input can match them better.

    .venv/bin/python scripts/test_time_resolution.py RUN_DIR [RUN_DIR ...] --data PATH \
        [--scales 1.0 1.133 1.267] [--test]

Validation chooses: without --test only the validation frames are scored (exact match at 0.5 with
its 95 % interval over shots), one line per run and scale, and the pooled mean over the runs.
With --test the test frames are scored too, and each scale's scoring is written to the test-set
ledger of the run's artifacts folder (tomjerry.runs.ledger) as `RUN_ID@HEIGHTxWIDTH`, since a
look at the test frames is a use of them. Nothing is written into the run folder.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tomjerry import quiet  # noqa: E402


def scaled_shape(shape: tuple[int, int], scale: float) -> tuple[int, int]:
    """The input shape `scale` times larger, rounded to 8 pixels, keeping its aspect."""
    return tuple(int(8 * round(side * scale / 8)) for side in shape)  # type: ignore[return-value]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--data", required=True)
    parser.add_argument("--scales", nargs="+", type=float, default=[1.0, 1.133, 1.267])
    parser.add_argument("--test", action="store_true", help="also score the test frames (recorded in the ledger)")
    args = parser.parse_args()
    quiet.install()

    from tomjerry.inference.predict import InferenceRecipe, Predictor, load_model
    from tomjerry.metrics.evaluation import metrics
    from tomjerry.models.builders import build_model
    from tomjerry.runs.folder import RunFolder
    from tomjerry.runs.ledger import record_scoring
    from tomjerry.training.rundata import RunData

    pooled: dict[float, list] = {scale: [] for scale in args.scales}
    parts = ("val", "test") if args.test else ("val",)
    for run_dir in args.runs:
        folder = RunFolder(run_dir)
        config = folder.read_config()
        trained = load_model(run_dir)
        for scale in args.scales:
            height, width = scaled_shape(config.input_shape, scale)
            sized = config.replace(image_size=height)  # the frames decoded at this size (RunData)
            data = RunData(sized, args.data, run_dir)  # the run's split.csv, as trained
            if (height, width) != tuple(data.images.shape[1:3]):
                raise ValueError(f"decoded {data.images.shape[1:3]}, expected {(height, width)}")
            model = build_model(
                config.model,
                (height, width),
                dropout_rate=config.dropout_rate,
                weights="none",
                fine_tune_from=config.fine_tune_from,
            )
            model.set_weights(trained.get_weights())
            predictor = Predictor(model, InferenceRecipe.for_shape((height, width), tta=config.tta))
            line = [f"{folder.run_id} {config.split} {config.split_seed} {height}x{width} (x{scale:g})"]
            for part in parts:
                rows = np.flatnonzero(data.split == part)
                probabilities, _ = predictor.infer(data.images[rows])
                shots = data.shot_groups[rows]
                result = metrics(data.labels[rows], probabilities, 0.5, shots)
                low, high = result["exact_match_ci95"]
                line.append(f"{part} exact {result['exact_match_accuracy']:.2%} [{low:.1%}, {high:.1%}]")
                if part == "val":
                    pooled[scale].append((result["exact_match_accuracy"], len(rows)))
                else:
                    record_scoring(
                        folder.path.parent.parent,
                        f"{folder.run_id}@{height}x{width}",
                        data.table.filename.to_numpy()[rows],
                        data.dataset_record["fingerprint"],
                    )
            print("  ".join(line), flush=True)
    for scale, results in pooled.items():
        frames = sum(count for _, count in results)
        mean = sum(exact * count for exact, count in results) / frames
        print(f"x{scale:g}: validation exact match pooled over {len(results)} run(s): {mean:.2%} ({frames} frames)")


if __name__ == "__main__":
    main()
