"""Re-evaluate the shipped reference model on its own test split, from the real images, and
print binary and exact-match accuracy beside the committed numbers, so they can be checked.

    python benchmarks/accuracy.py [--data ../shared/datasets/tom_and_jerry] [--run RUN_DIR]
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "tom_and_jerry"))
    parser.add_argument("--run", help="a run folder (default: every shipped reference run with a model)")
    args = parser.parse_args()

    from tomjerry.data.discovery import find_dataset
    from tomjerry.inference.predict import load_model
    from tomjerry.runs.folder import RunFolder
    from tomjerry.runs.record import read_run, read_runs
    from tomjerry.training.rundata import RunData
    from tomjerry.training.scoring import score

    source = find_dataset(args.data, allow_demo=False)
    runs = [read_run(args.run)] if args.run else [run for run in read_runs() if run.reference and run.has_model]
    if not runs:
        raise SystemExit("no shipped reference run with a model under artifacts/runs")
    for run in runs:
        config = run.config
        data = RunData(config, source.path, run.path, split_file=run.folder.file(RunFolder.SPLIT))
        _, fresh, _ = score(load_model(run.path), data, tta=config.tta, tta_scales=config.tta_scales)
        committed = run.metrics
        print(f"{run.run_id}  ({run.label()})")
        for part in ("test", "challenge"):
            for key in ("binary_accuracy", "exact_match_accuracy"):
                was, now = committed[part][key], fresh[part][key]
                flag = "ok" if abs(was - now) < 1e-9 else f"DIFFERS by {now - was:+.4%}"
                print(f"  {part:<10} {key:<22} committed {was:.4%}   re-evaluated {now:.4%}   {flag}")
        print(
            json.dumps({"test_count": fresh["test"]["count"], "challenge_in_training": fresh["challenge_in_training"]})
        )


if __name__ == "__main__":
    main()
