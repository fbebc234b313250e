"""Out-of-distribution scores: "this does not look like a Tom and Jerry frame".

The classifier's two sigmoids answer "is Tom here?" and "is Jerry here?" for any picture, so a
photo of an astronaut gets a confident verdict. A reference fitted on the pooled backbone
features of the training frames measures how far a new picture's features lie from them; a
threshold calibrated on held-out real frames turns that distance into a flag.

    both = feature_model(model)                              # once per model
    reference = fit_reference(model, train_images).calibrate(val_features)   # val: held-out frames
    reference.save(run_dir / NOVELTY_FILE)
    ...
    reference = load_reference(run_dir / NOVELTY_FILE)
    features, probabilities = predict_with_features(both, images)   # one forward pass gives both
    flags = reference.is_out_of_distribution(reference.score(features))

Everything here takes images as the models do: (N, height, width, 3) float32 RGB in [0, 1].
"""

import io
import json
import math
import zipfile
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from tomjerry.atomic import write_bytes

NOVELTY_FILE = "novelty.npz"
FORMAT_VERSION = 1
METHODS = ("mahalanobis", "knn")
# The training sample the reference is fitted on: 2,000 frames give a well-conditioned
# shrinkage covariance in 1,280 dimensions and keep fitting to a few seconds.
DEFAULT_MAX_IMAGES = 2000
# k-th neighbour rather than the nearest: the training frames come in runs of near-duplicates,
# so the nearest neighbour alone would be the same shot and say little about the density.
DEFAULT_K = 5
DEFAULT_FALSE_ALARM_RATE = 0.01
# Covariance = (1 - s) * sample covariance + s * (mean variance) * identity. Ledoit-Wolf's own
# estimate for the shipped model is s = 0.003: it trusts the training frames' tightest directions,
# which 2,000 frames of a few hundred shots barely span, and flags 5.2 % of frames from shots the
# reference never saw (0.7 % of the random-split val frames). s = 0.5 flags 1.9 % of those and
# still 98.8 % of the non-cartoon "select" pictures (benchmarks/novelty.py; None: Ledoit-Wolf).
DEFAULT_SHRINKAGE = 0.5


def _layer_producing(tensor):
    history = getattr(tensor, "_keras_history", None)
    return history[0] if history else None


def feature_tensor(model):
    """The model's pooled backbone features as a symbolic tensor of shape (None, D).

    Found from the graph, not from layer names: the input of the last Dense layer, followed back
    through Dropout/Activation layers (identity at inference). When that is a global pooling
    layer's output (EfficientNet-Lite0, InceptionV3 with pooling), it is used as it is. When the
    head is a Flatten followed by Dense layers (AlexNet, ZFNet), the 4,096 hidden units are
    trained for the labels only, so the spatial map the Flatten reads is globally averaged
    instead: one value per channel, like the pooled models.
    Raises ValueError for a model with no Dense layer or no 4-D feature map.
    """
    from keras import layers

    dense = [layer for layer in model.layers if isinstance(layer, layers.Dense)]
    if not dense:
        raise ValueError(f"model {model.name} has no Dense layer, so it has no pooled features to score")
    tensor = dense[-1].input
    skip = (layers.Dropout, layers.Activation)
    while isinstance(_layer_producing(tensor), skip):
        tensor = _layer_producing(tensor).input
    producer = _layer_producing(tensor)
    pooling = (layers.GlobalAveragePooling2D, layers.GlobalMaxPooling2D)
    if isinstance(producer, pooling):
        return tensor
    if len(tensor.shape) == 2 and not isinstance(producer, (layers.Dense, layers.Flatten)):
        return tensor  # already one vector per image (a custom pooling or a concatenation)
    # No global pooling before the head: average the last spatial map (the Flatten's input, or
    # else the output of the last layer that still has height and width).
    flatten = [layer for layer in model.layers if isinstance(layer, layers.Flatten)]
    if flatten:
        spatial = flatten[-1].input
    else:
        maps = [layer.output for layer in model.layers if len(layer.output.shape) == 4]
        if not maps:
            raise ValueError(f"model {model.name} has no 4-D feature map to pool into features")
        spatial = maps[-1]
    if len(spatial.shape) != 4:
        raise ValueError(f"model {model.name}: the head's input has shape {tuple(spatial.shape)}, not (N, H, W, C)")
    return layers.GlobalAveragePooling2D(name="novelty_features")(spatial)


def feature_model(model):
    """A two-output Keras model sharing the classifier's weights: image batch (N, S, S, 3) float32
    in [0, 1] -> [features (N, D) float32, probabilities (N, 2)]. The probabilities are the
    classifier's own output, so one call replaces `model.predict_on_batch` and the novelty score
    costs no extra forward pass."""
    import keras

    if len(model.outputs) != 1:
        raise ValueError(f"model {model.name} has {len(model.outputs)} outputs; expected one (tom, jerry)")
    return keras.Model(model.inputs, [feature_tensor(model), model.outputs[0]], name=f"{model.name}_with_features")


def predict_with_features(features_model, images: np.ndarray, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(N, S, S, 3) float32 in [0, 1] (or uint8 RGB, converted a batch at a time) to
    (features (N, D) float32, probabilities (N, 2) float32), in batches of batch_size."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must have shape (N, height, width, 3), not {images.shape}")
    features, probabilities = [], []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        if batch.dtype == np.uint8:
            batch = batch.astype(np.float32) / 255.0
        f, p = features_model.predict_on_batch(batch)
        features.append(np.asarray(f, np.float32))
        probabilities.append(np.asarray(p, np.float32))
    if not features:
        width = features_model.outputs[0].shape[-1]
        return np.zeros((0, width), np.float32), np.zeros((0, 2), np.float32)
    return np.concatenate(features), np.concatenate(probabilities)


def _as_features(features, width=None) -> np.ndarray:
    features = np.asarray(features, np.float32)
    if features.ndim != 2:
        raise ValueError(f"features must be a (N, D) array, not shape {features.shape}")
    if width is not None and features.shape[1] != width:
        raise ValueError(
            f"features have {features.shape[1]} columns but the reference was fitted on {width}: "
            "score with the model the reference belongs to"
        )
    if not np.isfinite(features).all():
        raise ValueError("features contain NaN or infinity; the model's output is broken for these images")
    return features


def conformal_threshold(held_out_scores, false_alarm_rate: float) -> float:
    """The score above which a picture is flagged, so that a new in-distribution picture
    exchangeable with the held-out ones is flagged with probability at most false_alarm_rate.

    It is the ceil((1 - rate) * (n + 1))-th smallest held-out score (split-conformal quantile);
    with n = 548 and rate 0.01 that is the 544th, so 4 held-out scores lie above it. Raises
    ValueError when the rate is outside (0, 1) or there are too few scores to reach it (n + 1
    must be at least 1 / rate)."""
    scores = np.sort(np.asarray(held_out_scores, np.float64).ravel())
    if not 0 < false_alarm_rate < 1:
        raise ValueError(f"false_alarm_rate must be between 0 and 1, not {false_alarm_rate}")
    if not np.isfinite(scores).all():
        raise ValueError("held-out scores contain NaN or infinity")
    rank = math.ceil((1 - false_alarm_rate) * (len(scores) + 1))
    if rank > len(scores):
        raise ValueError(
            f"{len(scores)} held-out scores cannot calibrate a false-alarm rate of {false_alarm_rate}: "
            f"at least {math.ceil(1 / false_alarm_rate) - 1} are needed"
        )
    return float(scores[rank - 1])


def _packed_lower(matrix: np.ndarray) -> np.ndarray:
    return matrix[np.tril_indices(len(matrix))]


def _compact(values: np.ndarray) -> np.ndarray:
    """float16 where every value fits well inside its range (to 65,504), else float32: features
    with near-constant columns (a base with random weights, say) give a whitening factor far
    beyond it, which float16 would turn into infinities."""
    return values.astype(np.float16 if np.abs(values).max(initial=0) < np.finfo(np.float16).max / 2 else np.float32)


def _unpacked_lower(packed: np.ndarray) -> np.ndarray:
    # The packed triangle holds D (D + 1) / 2 values; solve for D.
    width = int(round((math.sqrt(8 * len(packed) + 1) - 1) / 2))
    if width * (width + 1) // 2 != len(packed):
        raise ValueError(f"a packed triangle cannot hold {len(packed)} values")
    matrix = np.zeros((width, width), np.float32)
    matrix[np.tril_indices(width)] = packed
    return matrix


@dataclass(frozen=True, eq=False)
class Reference:
    """Where the training frames' features lie, and the score threshold for "not a frame".

    method "mahalanobis": the distance to the training mean in standard deviations under a
    shrinkage covariance; arrays "mean" (D,) float32 and "cholesky" (D (D + 1) / 2,) float16, the
    packed lower Cholesky factor L of the inverse covariance (score = |(x - mean) L|), 1.6 MB for
    D = 1,280. method "knn": the Euclidean distance, in feature units, to the k-th nearest training
    frame; array "bank" (rows, D) float16. threshold: None until calibrate(). info: JSON-able facts
    (sample size, shrinkage, measured rates) saved with it.
    """

    method: str
    arrays: dict
    threshold: float | None = None
    k: int = DEFAULT_K
    info: dict = field(default_factory=dict)

    @property
    def width(self) -> int:
        return int(self.arrays["mean" if self.method == "mahalanobis" else "bank"].shape[-1])

    @cached_property
    def _matrix(self) -> np.ndarray:
        # Unpacked once per reference, in float32: one image then costs one (1, D) x (D, D) product.
        if self.method == "mahalanobis":
            return _unpacked_lower(self.arrays["cholesky"])
        return self.arrays["bank"].astype(np.float32)

    @cached_property
    def _bank_squared_norms(self) -> np.ndarray:
        return (self._matrix**2).sum(1)

    def score(self, features) -> np.ndarray:
        """(N, D) features to (N,) float64 scores; higher means less like the training frames.
        Raises ValueError for features of another width or with NaN."""
        features = _as_features(features, self.width)
        if self.method == "mahalanobis":
            whitened = (features - self.arrays["mean"]) @ self._matrix
            return np.linalg.norm(whitened.astype(np.float64), axis=1)
        bank = self._matrix
        # |x - b|^2 = |x|^2 - 2 x.b + |b|^2, for every pair at once; round-off can dip below 0.
        squared = (features**2).sum(1, keepdims=True) - 2 * features @ bank.T + self._bank_squared_norms
        kth = np.partition(squared, self.k - 1, axis=1)[:, self.k - 1]
        return np.sqrt(np.maximum(kth.astype(np.float64), 0.0))

    def calibrate(self, held_out_features, false_alarm_rate: float = DEFAULT_FALSE_ALARM_RATE) -> "Reference":
        """A copy whose threshold flags at most false_alarm_rate of pictures like the held-out
        real frames (see conformal_threshold). held_out_features: (N, D) from frames the model
        and the reference never saw, such as the run's validation split."""
        scores = self.score(held_out_features)
        threshold = conformal_threshold(scores, false_alarm_rate)
        return replace(self, threshold=threshold).with_info(
            false_alarm_rate_target=false_alarm_rate,
            calibration_frames=len(scores),
            calibration_false_alarm_rate=float(np.mean(scores > threshold)),
        )

    def with_info(self, **facts) -> "Reference":
        """A copy with JSON-able facts (measured rates, the run it belongs to) added to info."""
        json.dumps(facts)  # fail here, not at save time, on a value JSON cannot hold
        return replace(self, info={**self.info, **facts})

    def is_out_of_distribution(self, scores):
        """True where a score (a float, or an (N,) array giving an (N,) bool array) is above the
        calibrated threshold. Raises ValueError if the reference was never calibrated."""
        if self.threshold is None:
            raise ValueError("this reference has no threshold yet: call calibrate() with held-out real frames")
        flags = np.asarray(scores) > self.threshold
        return bool(flags) if flags.ndim == 0 else flags

    def to_dict(self) -> dict:
        """The JSON-able summary: format version, method, threshold, k, feature width and info."""
        return {
            "format_version": FORMAT_VERSION,
            "method": self.method,
            "threshold": self.threshold,
            "k": self.k,
            "width": self.width,
            "info": self.info,
        }

    def save(self, path) -> Path:
        """Writes the reference as one .npz (its arrays plus to_dict() as JSON text), atomically.
        The .npz holds no pickled objects: load_reference reads it with allow_pickle=False."""
        buffer = io.BytesIO()
        np.savez(buffer, summary=np.array(json.dumps(self.to_dict())), **self.arrays)
        return write_bytes(path, buffer.getvalue())  # a reader never sees a half-written reference


def load_reference(path) -> Reference:
    """Reads a reference written by Reference.save. Raises ValueError for a missing or unreadable
    file, another format version or a method this version does not know."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no novelty reference at {path}")
    try:
        with np.load(path, allow_pickle=False) as stored:
            summary = json.loads(str(stored["summary"]))
            arrays = {name: stored[name] for name in stored.files if name != "summary"}
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as error:
        # EOFError: an empty file; BadZipFile: random bytes or a copy cut short (an .npz is a zip).
        raise ValueError(f"{path} is not a novelty reference ({type(error).__name__}: {error})") from None
    if summary.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has novelty format {summary.get('format_version')}; this version reads {FORMAT_VERSION}"
        )
    method = summary.get("method")
    needed = {"mahalanobis": {"mean", "cholesky"}, "knn": {"bank"}}.get(method)
    if needed is None:
        raise ValueError(f"{path} uses method {method!r}; known: {', '.join(METHODS)}")
    if not needed <= set(arrays):
        raise ValueError(f"{path} lacks {', '.join(sorted(needed - set(arrays)))} for method {method}")
    return Reference(
        method, arrays, summary.get("threshold"), int(summary.get("k", DEFAULT_K)), summary.get("info", {})
    )


def fit_features(
    features,
    method: str = "mahalanobis",
    shrinkage: float | None = DEFAULT_SHRINKAGE,
    k: int = DEFAULT_K,
    max_rows: int = DEFAULT_MAX_IMAGES,
    seed: int = 0,
) -> Reference:
    """A reference (no threshold yet) from training features (N, D) float.

    Up to max_rows rows are drawn at random with the seed. "mahalanobis" uses the covariance
    shrunk by `shrinkage` towards its mean variance (None: Ledoit-Wolf's estimate) and stores
    D (D + 1) bytes of float16 triangle (1.6 MB for D = 1,280); "knn" stores the rows as float16 (5.1 MB for 2,000 x 1,280). Raises
    ValueError for an unknown method, a shrinkage outside [0, 1], or too few rows (2 for a
    covariance, more than k for knn).
    """
    from sklearn.covariance import LedoitWolf, ShrunkCovariance

    if method not in METHODS:
        raise ValueError(f"unknown novelty method {method!r}; choose one of {', '.join(METHODS)}")
    features = _as_features(features)
    if len(features) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(len(features), max_rows, replace=False))
        features = features[rows]
    info: dict[str, int | float] = {"fitted_on": len(features)}
    if method == "knn":
        if k < 1 or len(features) <= k:
            raise ValueError(f"k-NN with k = {k} needs k >= 1 and more than k training rows, not {len(features)}")
        return Reference(method, {"bank": _compact(features)}, k=k, info=info)
    if len(features) < 2:
        raise ValueError("a covariance needs at least 2 training rows")
    if shrinkage is not None and not 0 <= shrinkage <= 1:
        raise ValueError(f"shrinkage must be between 0 and 1 (or None for Ledoit-Wolf), not {shrinkage}")
    rows = features.astype(np.float64)
    estimator = (LedoitWolf() if shrinkage is None else ShrunkCovariance(shrinkage=shrinkage)).fit(rows)
    info["shrinkage"] = float(estimator.shrinkage_ if shrinkage is None else shrinkage)
    try:
        factor = np.linalg.cholesky(estimator.precision_)
    except np.linalg.LinAlgError:
        raise ValueError("the training features' covariance is singular: use shrinkage > 0 or more rows") from None
    # float16 halves the file again; measured on the shipped model it moves scores by < 2e-4 relative.
    arrays = {"mean": estimator.location_.astype(np.float32), "cholesky": _compact(_packed_lower(factor))}
    return Reference(method, arrays, k=k, info=info)
