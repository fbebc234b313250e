"""Measure the out-of-distribution score ("not a Tom and Jerry frame") of the shipped model.

For each method, a reference is fitted on a sample of the run's TRAINING frames, its threshold
is set on the run's VALIDATION frames (split-conformal, at most 1 % false alarms), and then:
  - false-alarm rate on the untouched TEST frames (target: at most 2 %),
  - detection rate on pictures that are no cartoon frame at all (scikit-image's sample photos,
    Gaussian and uniform noise, flat colours, gradients), in two disjoint parts: "select" is the
    only part the choice of method looks at, "report" is never used for any choice,
  - how many of the 32 challenge frames (distorted real frames) are flagged,
  - the score's cost per image, beside the forward pass it rides on.
Also a "new shot" check: the split is random, so every held-out frame has near-identical
neighbours in training; refitting the reference without whole 50-frame blocks shows how the
false-alarm rate moves on frames whose shot the reference never saw.

    python benchmarks/novelty.py [--data ../shared/datasets/tom_and_jerry] [--run RUN_DIR]
                                 [--save /tmp/novelty/novelty.npz]

Without the real dataset it says so and only times the score. It writes nothing unless --save
is given (never write derived data into the repository: images and features stay outside it).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHIPPED_RUN = ROOT / "artifacts" / "runs" / "ref-20261129-163932-efficientnet_lite0-augmented-eef09d"
FALSE_ALARM_RATE = 0.01
# Every sample photo scikit-image ships without a download, grouped by kind; within each kind
# they alternate between the "select" and the "report" part, so both parts hold every kind.
# (skimage.data.cat is chelsea again, stereo_motorcycle's right view is its left one shifted.)
PHOTO_KINDS = {
    "colour photo": ["astronaut", "chelsea", "coffee", "rocket", "stereo_motorcycle"],
    "grey photo": ["camera", "moon", "clock", "coins", "horse"],
    "texture": ["brick", "grass", "gravel", "checkerboard", "binary_blobs"],
    "science": ["hubble_deep_field", "immunohistochemistry", "retina", "cell", "microaneurysms", "shepp_logan_phantom"],
    "text and graphics": ["page", "text", "logo", "colorwheel"],
}
SYNTHETIC_PER_KIND = 10


def to_uint8_rgb(picture) -> np.ndarray:
    picture = np.asarray(picture)
    if picture.dtype == bool:
        picture = picture.astype(np.uint8) * 255
    elif picture.dtype != np.uint8:
        low, high = float(picture.min()), float(picture.max())
        picture = ((picture - low) / (high - low or 1) * 255).round().astype(np.uint8)
    if picture.ndim == 2:
        picture = np.repeat(picture[..., None], 3, axis=2)
    if picture.shape[2] == 4:  # logo: composite on white, as the Predict page does with uploads
        alpha = picture[..., 3:] / 255.0
        picture = (picture[..., :3] * alpha + 255 * (1 - alpha)).round().astype(np.uint8)
    return np.ascontiguousarray(picture[..., :3])


def views(picture: np.ndarray, size: int, rng) -> list[np.ndarray]:
    """The whole picture squashed to size x size (what the Predict page does), its centre
    square, and a random crop of 60 % of each side."""
    from tomjerry.inference.predict import prepare

    height, width = picture.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop_h, crop_w = int(height * 0.6), int(width * 0.6)
    y, x = rng.integers(0, height - crop_h + 1), rng.integers(0, width - crop_w + 1)
    return [
        prepare(p, size)
        for p in (
            picture,
            picture[top : top + side, left : left + side],
            np.ascontiguousarray(picture[y : y + crop_h, x : x + crop_w]),
        )
    ]


def synthetic(kind: str, size: int, rng) -> np.ndarray:
    if kind == "gaussian noise":
        return np.clip(0.5 + rng.uniform(0.05, 0.35) * rng.standard_normal((size, size, 3)), 0, 1)
    if kind == "uniform noise":
        return rng.random((size, size, 3))
    if kind == "flat colour":
        return np.broadcast_to(rng.random(3), (size, size, 3))
    # A linear ramp between two random colours in a random direction.
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:size, 0:size] / (size - 1)
    ramp = np.cos(angle) * xs + np.sin(angle) * ys
    ramp = (ramp - ramp.min()) / (ramp.max() - ramp.min())
    start, end = rng.random(3), rng.random(3)
    return start + ramp[..., None] * (end - start)


SYNTHETIC_KINDS = ("gaussian noise", "uniform noise", "flat colour", "gradient")


def non_cartoon_set(size: int):
    """(images (N, size, size, 3) float32 in [0, 1], kinds (N,), names (N,), parts (N,) of
    "select"/"report"). Synthetic pictures use seed 0 for select and seed 1 for report."""
    import skimage.data

    pictures, kinds, names, parts = [], [], [], []
    rng = np.random.default_rng(0)
    for kind, photo_names in PHOTO_KINDS.items():
        for index, name in enumerate(photo_names):
            try:
                photo = getattr(skimage.data, name)()
            except Exception as error:  # a sample that needs a download: say so, carry on
                print(f"  (skipped skimage.data.{name}: {type(error).__name__})")
                continue
            if isinstance(photo, tuple):
                photo = photo[0]
            for view_index, view in enumerate(views(to_uint8_rgb(photo), size, rng)):
                pictures.append(view)
                kinds.append(kind)
                names.append(f"{name}/{('whole', 'centre', 'crop')[view_index]}")
                parts.append("select" if index % 2 == 0 else "report")
    for part, seed in (("select", 0), ("report", 1)):
        part_rng = np.random.default_rng(seed)
        for kind in SYNTHETIC_KINDS:
            for index in range(SYNTHETIC_PER_KIND):
                pictures.append(synthetic(kind, size, part_rng).astype(np.float32))
                kinds.append(kind)
                names.append(f"{kind} {seed}-{index}")
                parts.append(part)
    return np.stack(pictures).astype(np.float32), np.array(kinds), np.array(names), np.array(parts)


def energy(probabilities) -> np.ndarray:
    """Negative joint energy of the two sigmoids (Wang et al. 2021), higher = less confident:
    the free baseline that needs no reference."""
    p = np.clip(probabilities.astype(np.float64), 1e-7, 1 - 1e-7)
    return -np.log1p(p / (1 - p)).sum(axis=1)


class Candidate:
    """One way to score: fit(train features) -> score(features, probabilities) -> (N,)."""

    def __init__(self, name, fit, size_of):
        self.name, self.fit, self.size_of = name, fit, size_of


def candidates():
    from sklearn.neighbors import NearestNeighbors

    from tomjerry.inference.novelty import DEFAULT_K, fit_features

    def package(method, **options):
        def fit(train):
            reference = fit_features(train, method, **options)
            scorer = lambda features, probabilities: reference.score(features)  # noqa: E731
            scorer.reference = reference
            return scorer

        return fit

    def cosine_knn(train):
        neighbours = NearestNeighbors(n_neighbors=DEFAULT_K, metric="cosine").fit(train)
        return lambda features, probabilities: neighbours.kneighbors(features)[0][:, -1]

    arrays_size = lambda scorer: sum(a.nbytes for a in scorer.reference.arrays.values())  # noqa: E731
    return [
        Candidate("mahalanobis, shrinkage 0.5", package("mahalanobis", shrinkage=0.5), arrays_size),
        Candidate("mahalanobis, shrinkage 0.2", package("mahalanobis", shrinkage=0.2), arrays_size),
        Candidate("mahalanobis, shrinkage 0.8", package("mahalanobis", shrinkage=0.8), arrays_size),
        Candidate("mahalanobis, Ledoit-Wolf", package("mahalanobis", shrinkage=None), arrays_size),
        Candidate(f"k-NN euclidean, k={DEFAULT_K}", package("knn"), arrays_size),
        Candidate(f"k-NN cosine, k={DEFAULT_K}", cosine_knn, lambda scorer: None),
        Candidate(
            "energy (no reference)",
            lambda train: lambda features, probabilities: energy(probabilities),
            lambda scorer: 0,
        ),
    ]


def unseen_shot_false_alarms(candidate, frames, seeds=(0, 1, 2), folds=5, block=50):
    """The false-alarm rate on frames from shots the reference never saw, per split.

    The run's split is random, so every validation or test frame has near-identical neighbours
    among the training frames. Here the frames are cut into blocks of `block` frames, dealt into
    `folds` folds; for each fold the reference is fitted on the training sample outside it, the
    threshold set on the validation frames outside it, and the rate counted on the validation and
    test frames inside it. (The model itself still trained on those shots: a lower bound.)"""
    from tomjerry.inference.novelty import conformal_threshold

    blocks = frames["frame"] // block
    split = frames["split"]
    flagged = {"val": [], "test": []}
    for seed in seeds:
        order = np.random.default_rng(seed).permutation(np.unique(blocks))
        fold_of = dict(zip(order, np.arange(len(order)) % folds))
        fold = np.array([fold_of[b] for b in blocks])
        for f in range(folds):
            inside = fold == f
            fit_rows = frames["train_sample"] & ~inside
            score = candidate.fit(frames["features"][fit_rows])
            calibrate = (split == "val") & ~inside
            threshold = conformal_threshold(
                score(frames["features"][calibrate], frames["probs"][calibrate]), FALSE_ALARM_RATE
            )
            for part in flagged:
                rows = (split == part) & inside
                flagged[part].append(score(frames["features"][rows], frames["probs"][rows]) > threshold)
    return {part: float(np.mean(np.concatenate(flags))) for part, flags in flagged.items()}


def seconds(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def timings(model, both, scorers, size, rounds=30):
    """Median seconds for one image: the plain forward pass and the two-output one (interleaved,
    so both see the same load on a shared machine), then each score on its own."""
    from tomjerry.inference.novelty import predict_with_features

    image = np.random.default_rng(0).random((1, size, size, 3), dtype=np.float32)
    model.predict_on_batch(image), both.predict_on_batch(image)  # the first calls trace the graphs
    pairs = np.array(
        [
            (seconds(lambda: model.predict_on_batch(image)), seconds(lambda: both.predict_on_batch(image)))
            for _ in range(rounds)
        ]
    )
    features, probabilities = predict_with_features(both, image)
    time.sleep(1)  # TensorFlow's worker threads spin for a while after a call and would slow NumPy
    scores = {}
    for name, scorer in scorers.items():
        scorer(features, probabilities)  # unpacks the stored matrix once
        scores[name] = float(np.median([seconds(lambda: scorer(features, probabilities)) for _ in range(300)]))
    return float(np.median(pairs[:, 0])), float(np.median(pairs[:, 1])), scores


def run_frames(run_dir, data, both, size, train_sample, seed=0):
    """Features of the run's training sample, all its val and test frames and every challenge, as
    a dict of equal-length arrays: split, frame, challenge, train_sample, features, probs."""
    import pandas as pd

    from tomjerry.data.dataset import scan
    from tomjerry.data.images import load_images
    from tomjerry.inference.novelty import predict_with_features

    images = load_images(scan(data), size)
    split = pd.read_csv(Path(run_dir) / "split.csv")
    table = images.table.merge(split, on="filename", how="left", validate="one_to_one")
    if table["split"].isna().any():
        raise SystemExit(f"{table['split'].isna().sum()} frames of the dataset are not in {run_dir}/split.csv")
    train_rows = np.flatnonzero(table["split"].to_numpy() == "train")
    sample = np.zeros(len(table), bool)
    sample[np.random.default_rng(seed).choice(train_rows, min(train_sample, len(train_rows)), replace=False)] = True
    keep = sample | table["split"].isin(["val", "test"]).to_numpy() | table["challenge"].to_numpy()
    rows = np.flatnonzero(keep)
    start = time.perf_counter()
    features, probabilities = predict_with_features(both, images.arrays[rows], 32)
    print(f"features of {len(rows)} frames in {time.perf_counter() - start:.0f} s")
    kept = table.iloc[rows].reset_index(drop=True)
    return {
        "split": kept["split"].to_numpy(),
        "frame": kept["frame"].to_numpy(),
        "challenge": kept["challenge"].to_numpy(bool),
        "train_sample": sample[rows],
        "features": features,
        "probs": probabilities,
    }


def measure(candidate, frames, other_features, other_probs, parts) -> tuple[dict, object]:
    """One candidate's rates (the threshold from the val frames only) and its fitted scorer."""
    from tomjerry.inference.novelty import conformal_threshold

    split = frames["split"]
    scorer = candidate.fit(frames["features"][frames["train_sample"]])

    def flags(rows, threshold):
        return scorer(frames["features"][rows], frames["probs"][rows]) > threshold

    threshold = conformal_threshold(
        scorer(frames["features"][split == "val"], frames["probs"][split == "val"]), FALSE_ALARM_RATE
    )
    other = scorer(other_features, other_probs) > threshold
    unseen = unseen_shot_false_alarms(candidate, frames)
    return {
        "name": candidate.name,
        "threshold": threshold,
        "val": float(np.mean(flags(split == "val", threshold))),
        "test": float(np.mean(flags(split == "test", threshold))),
        "unseen_val": unseen["val"],
        "unseen_test": unseen["test"],
        "select": float(np.mean(other[parts == "select"])),
        "report": float(np.mean(other[parts == "report"])),
        "challenge": int(flags(frames["challenge"], threshold).sum()),
        "bytes": candidate.size_of(scorer),
        "flags": other,
    }, scorer


def print_table(results, cost, challenges):
    print(
        f"\nThreshold: split-conformal on the val frames at {FALSE_ALARM_RATE:.0%}. FA = false alarms on real "
        "frames; 'new-shot' = frames of 50-frame blocks the reference never saw (unseen_shot_false_alarms)."
    )
    print(
        f"{'method':<30} {'val FA':>7} {'test FA':>7} {'new-shot FA':>18} {'non-cartoon det':>17} "
        f"{'challenge':>9} {'score':>9} {'size':>8}"
    )
    print(f"{'':<30} {'':>7} {'':>7} {'val':>8} {'test':>9} {'select':>8} {'report':>8} {'flagged':>9} {'per img':>9}")
    for r in results:
        size_text = "-" if r["bytes"] is None else f"{r['bytes'] / 2**20:.1f} MB"
        print(
            f"{r['name']:<30} {r['val']:7.2%} {r['test']:7.2%} {r['unseen_val']:8.2%} {r['unseen_test']:9.2%} "
            f"{r['select']:8.1%} {r['report']:8.1%} {r['challenge']:6d}/{challenges} "
            f"{cost[r['name']] * 1e6:6.0f} us {size_text:>8}"
        )


def describe(chosen, scorer, frames, both, size, other_features, other_probs, kinds, names, parts):
    """Where the chosen score lands: misses, margins, the astronaut, plain pictures, challenges."""
    from tomjerry.inference.novelty import predict_with_features

    threshold = chosen["threshold"]
    report = parts == "report"
    print(
        f"  lowest report score: {scorer(other_features[report], other_probs[report]).min() / threshold:.2f} x threshold"
    )
    for part in ("select", "report"):
        missed = [n for n, p, f in zip(names, parts, chosen["flags"]) if p == part and not f]
        print(f"  {part} pictures not flagged: {', '.join(missed) or 'none'}")
    for kind in dict.fromkeys(kinds):
        rows = (kinds == kind) & report
        print(f"  report {kind:<18} {np.mean(chosen['flags'][rows]):6.1%} of {rows.sum()}")
    for i in np.flatnonzero(names == "astronaut/whole"):
        print(
            f"  astronaut (select): p_tom {other_probs[i, 0]:.2f}, p_jerry {other_probs[i, 1]:.2f}, "
            f"flagged {bool(chosen['flags'][i])}"
        )
    plain = np.stack([np.zeros((size, size, 3)), np.ones((size, size, 3)), np.full((size, size, 3), 0.5)])
    plain_scores = scorer(*predict_with_features(both, plain.astype(np.float32)))
    print(
        "  black, white, mid-grey: "
        + ", ".join(f"{s / threshold:.2f}" for s in plain_scores)
        + " x threshold (4 dataset frames are all black)"
    )
    challenge = frames["challenge"]
    challenge_scores = scorer(frames["features"][challenge], frames["probs"][challenge])
    in_train = frames["split"][challenge] == "train"
    print(
        f"  challenge frames flagged: {(challenge_scores > threshold).sum()} of {challenge.sum()} "
        f"({in_train.sum()} of them training frames; {(challenge_scores[~in_train] > threshold).sum()} of the "
        f"other {(~in_train).sum()} flagged); highest challenge score {challenge_scores.max() / threshold:.2f} x threshold"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "tom_and_jerry"))
    parser.add_argument("--run", default=str(SHIPPED_RUN), help="a run folder with model.keras and split.csv")
    parser.add_argument("--train-sample", type=int, default=2000, help="training frames the reference is fitted on")
    parser.add_argument(
        "--save", help="write the chosen reference here, outside the repository (e.g. /tmp/novelty/novelty.npz)"
    )
    args = parser.parse_args()
    if args.save and Path(args.save).resolve().is_relative_to(ROOT):
        raise SystemExit("--save must point outside the repository: the reference is derived from the images")

    from tomjerry.data.discovery import find_dataset
    from tomjerry.inference.novelty import DEFAULT_SHRINKAGE, feature_model, predict_with_features
    from tomjerry.inference.predict import input_size, load_model

    try:
        model = load_model(args.run)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    both, size = feature_model(model), input_size(model)
    width = both.outputs[0].shape[-1]
    print(f"run {Path(args.run).name}: {model.name}, {size} px, {width} pooled features")
    try:
        source = find_dataset(args.data, allow_demo=False)
    except ValueError:
        source = None
    if source is None or source.is_demo:  # the demo's drawn frames would say nothing about cartoons
        print(f"The real dataset is not at {args.data}: no rates measured, only the cost per image.")
        fake = np.random.default_rng(0).random((args.train_sample, width), dtype=np.float32)
        plain, two, cost = timings(model, both, {c.name: c.fit(fake) for c in candidates()}, size)
        print(f"forward pass for one image: {plain * 1e3:.1f} ms plain, {two * 1e3:.1f} ms with features")
        for name, spent in cost.items():
            print(f"  {name:<30} score {spent * 1e6:8.1f} us")
        return

    frames = run_frames(args.run, source.path, both, size, args.train_sample)
    pictures, kinds, names, parts = non_cartoon_set(size)
    other_features, other_probs = predict_with_features(both, pictures, 32)
    split, challenge = frames["split"], frames["challenge"]
    print(
        f"{frames['train_sample'].sum()} training frames fitted on, {(split == 'val').sum()} val, "
        f"{(split == 'test').sum()} test, {challenge.sum()} challenge ({(challenge & (split == 'train')).sum()} "
        f"of them in training); non-cartoon pictures: {(parts == 'select').sum()} select, "
        f"{(parts == 'report').sum()} report"
    )

    measured = [measure(c, frames, other_features, other_probs, parts) for c in candidates()]
    results, scorers = [r for r, _ in measured], {r["name"]: s for r, s in measured}
    plain, two, cost = timings(model, both, scorers, size)
    print_table(results, cost, challenge.sum())
    print(f"forward pass for one image: {plain * 1e3:.1f} ms plain, {two * 1e3:.1f} ms with features (same call)")

    # The choice looks at val frames and the select pictures only: the test frames and the report
    # pictures above are never used for it.
    eligible = [r for r in results if r["unseen_val"] <= 0.02] or results
    chosen = max(eligible, key=lambda r: (r["select"], -(r["bytes"] or 0)))
    scorer = scorers[chosen["name"]]
    print(f"\nchosen (highest select detection among those with new-shot val FA <= 2 %): {chosen['name']}")
    if chosen["name"] != f"mahalanobis, shrinkage {DEFAULT_SHRINKAGE}":
        print(
            f"  NOTE: tomjerry.inference.novelty defaults to shrinkage {DEFAULT_SHRINKAGE}; these numbers pick another"
        )
    describe(chosen, scorer, frames, both, size, other_features, other_probs, kinds, names, parts)

    if args.save and hasattr(scorer, "reference"):
        val = split == "val"
        reference = scorer.reference.calibrate(frames["features"][val], FALSE_ALARM_RATE).with_info(
            run=Path(args.run).name,
            val_false_alarm_rate=chosen["val"],
            test_false_alarm_rate=chosen["test"],
            new_shot_false_alarm_rate_val=chosen["unseen_val"],
            new_shot_false_alarm_rate_test=chosen["unseen_test"],
            non_cartoon_detection_select=chosen["select"],
            non_cartoon_detection_report=chosen["report"],
            challenge_flagged=chosen["challenge"],
            score_seconds_per_image=cost[chosen["name"]],
        )
        path = reference.save(args.save)
        print(f"\nwrote {path} ({path.stat().st_size / 2**20:.2f} MB)")
        print(json.dumps(reference.to_dict(), indent=1))


if __name__ == "__main__":
    main()
