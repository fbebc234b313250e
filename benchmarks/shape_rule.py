"""How should a picture that is not 16:9 reach the model's square input? Real test frames of the
shipped reference model are turned into other shapes, each rule fits them (or not) before the square
INTER_AREA resize the training used, and the exact-match accuracy (both labels right) is printed.

    nice -n 10 python benchmarks/shape_rule.py [--frames 300] [--run RUN_DIR] [--data DATA]

The rule tomjerry uses is tomjerry.data.decoding.fit_to_frame ("fit_to_frame" below). Measured on the
shipped eef09d model (the only reference run that ships its model.keras), 300 of its test frames:

                        squash  centre crop  pad black  pad grey  pad mirror  fit_to_frame
16:9 (the frame)           286
1:1 cropped                276          274        276       273         274           274
2.35:1 cropped             284          281        281       285         283           280
3:1 mirror copies          263          286        246       246         243           286
4:3 cropped                285          284        283       282         287           285
4:3 letterboxed            279          286        271       269         273           286
5.3:1 mirror copies        206          286        164       172         171           286
9:16 cropped               217          201        224       233         250           250
9:16 letterboxed           216          286        107       104         158           285
total (8 other shapes)    2026         2184       1852      1864        1939          2232
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_RUN = ROOT / "artifacts" / "runs" / "ref-20261129-163932-efficientnet_lite0-augmented-eef09d"
ASPECT = 16 / 9


def centre_crop_to(rgb, ratio):
    h, w = rgb.shape[:2]
    if w / h > ratio:
        keep = int(round(h * ratio))
        return rgb[:, (w - keep) // 2 : (w - keep) // 2 + keep]
    keep = int(round(w / ratio))
    return rgb[(h - keep) // 2 : (h - keep) // 2 + keep]


def pad_to(rgb, ratio, mode, value=0):
    import numpy as np

    h, w = rgb.shape[:2]
    if w / h > ratio:
        extra = int(round(w / ratio)) - h
        widths = ((extra // 2, extra - extra // 2), (0, 0), (0, 0))
    else:
        extra = int(round(h * ratio)) - w
        widths = ((0, 0), (extra // 2, extra - extra // 2), (0, 0))
    return np.pad(rgb, widths, mode=mode, **({"constant_values": value} if mode == "constant" else {}))


def mirror_copies_to(rgb, ratio):
    """A frame flanked by mirror copies of itself, as in the reported 5.3:1 picture."""
    return pad_to(rgb, ratio, "symmetric") if rgb.shape[1] / rgb.shape[0] < ratio else rgb


SHAPES = {
    "16:9 (the frame)": lambda f: f,
    "5.3:1 mirror copies": lambda f: mirror_copies_to(f, 16 / 3),
    "3:1 mirror copies": lambda f: mirror_copies_to(f, 3.0),
    "2.35:1 cropped": lambda f: centre_crop_to(f, 2.35),
    "4:3 cropped": lambda f: centre_crop_to(f, 4 / 3),
    "4:3 letterboxed": lambda f: pad_to(f, 4 / 3, "constant"),
    "1:1 cropped": lambda f: centre_crop_to(f, 1.0),
    "9:16 cropped": lambda f: centre_crop_to(f, 9 / 16),
    "9:16 letterboxed": lambda f: pad_to(f, 9 / 16, "constant"),
}


def rules():
    from tomjerry.data.decoding import fit_to_frame

    return {
        "squash": lambda r: r,
        "centre crop": lambda r: centre_crop_to(r, ASPECT),
        "pad black": lambda r: pad_to(r, ASPECT, "constant"),
        "pad grey": lambda r: pad_to(r, ASPECT, "constant", 128),
        "pad mirror": lambda r: pad_to(r, ASPECT, "symmetric"),
        "fit_to_frame": lambda r: fit_to_frame(r)[0],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "tom_and_jerry"))
    parser.add_argument("--run", default=str(DEFAULT_RUN), help="a run folder with model.keras and split.csv")
    parser.add_argument("--frames", type=int, default=300, help="test frames sampled (seed 0)")
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()

    import cv2
    import numpy as np
    import pandas as pd

    from tomjerry.data.dataset import scan
    from tomjerry.data.decoding import decode_image
    from tomjerry.inference.predict import input_size, load_model

    run = Path(args.run)
    model = load_model(run)
    size = input_size(model)
    table = scan(args.data).usable.set_index("filename")
    split = pd.read_csv(run / "split.csv")
    names = split[split.split == "test"].filename
    names = names.sample(n=min(args.frames, len(names)), random_state=0).tolist()
    frames = [decode_image(table.path[name]) for name in names]
    truth = table.loc[names, ["tom", "jerry"]].to_numpy()
    print(f"{run.name}: {len(frames)} test frames, threshold {args.threshold}, exact match (both labels right)")
    results = {}
    for shape, make in SHAPES.items():
        shaped = [make(frame) for frame in frames]
        for rule, fit in rules().items():
            if shape.startswith("16:9") and rule != "squash":
                continue  # every rule leaves the frame itself alone
            batch = np.stack(
                [cv2.resize(np.ascontiguousarray(fit(s)), (size, size), interpolation=cv2.INTER_AREA) for s in shaped]
            )
            p = np.asarray(model.predict(batch.astype(np.float32) / 255.0, batch_size=50, verbose=0))
            results[(shape, rule)] = int(((p >= args.threshold) == truth.astype(bool)).all(axis=1).sum())
            print(f"  {shape:22s} {rule:13s} {results[(shape, rule)]:4d}/{len(frames)}", flush=True)
    grid = pd.Series(results).unstack()
    grid.loc["total (8 other shapes)"] = grid.drop(index="16:9 (the frame)").sum()
    print()
    print(grid.reindex(columns=list(rules())).astype("Int64").to_string(na_rep=""))


if __name__ == "__main__":
    main()
