"""Prediction: one inference recipe per run, and the one predictor built from it.

The recipe (inference.json in the run folder) says how a picture becomes an answer: the decoder,
how a picture of another shape is fitted to the training frames' 16:9, the model's input size,
the mirror-image test-time augmentation and the decision threshold chosen on validation. The
evaluation (predictions.csv), the Predict, Grad-CAM and Video pages, the report and
`python -m tomjerry predict` all go through `Predictor`, so a frame gets one answer wherever it is
asked. A bare model file gets the documented defaults (no TTA, threshold 0.5).
"""

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tomjerry import COMBINATION_OF
from tomjerry.data.decoding import (
    FRAME_ASPECT,
    BadImage,
    FrameFit,
    ImageSize,
    check_scales,
    decode_image,
    fit_of,
    scaled_shape,
    size_text,
)
from tomjerry.data.images import model_input, to_float
from tomjerry.inference.novelty import feature_model, load_reference, predict_with_features
from tomjerry.metrics.evaluation import HEADLINE_THRESHOLD
from tomjerry.models import files
from tomjerry.runs.folder import RunFolder

DEFAULT_THRESHOLD = 0.5  # a bare model file has no validation frames to choose one on
BATCH = 64  # frames per model call; predict_on_batch runs the compiled graph
DECODER = (
    "tomjerry.data.decoding: Pillow, exactly equal to OpenCV on JPEG frames; EXIF orientation applied, "
    "transparency on white, 16-bit reduced to 8, first frame of an animation"
)
SHAPE_RULE = (
    "within 5 % of 16:9 unchanged; uniform bars removed; wider pictures centre-cropped to 16:9, "
    "taller ones padded with mirror copies (measured: benchmarks/shape_rule.py)"
)


@dataclass(frozen=True)
class InferenceRecipe:
    input_size: int  # the model's input height, pixels (a square's side)
    tta: bool = False  # average the picture and its mirror image
    threshold: float = DEFAULT_THRESHOLD  # a label is present when its probability reaches this
    threshold_source: str = "default"  # "validation": chosen on the run's validation frames
    aspect: float = FRAME_ASPECT  # pictures are fitted to this width / height first
    shape_rule: str = SHAPE_RULE
    resize: str = "INTER_AREA to input_size high and input_width wide (a square without it), then float32 in [0, 1]"
    decoder: str = DECODER
    input_width: int | None = None  # the input's width when it is not square (a 16:9 input), pixels
    # Multi-scale TTA: the model also scores its input enlarged by these factors (1.0: as trained),
    # and the probabilities are averaged over the scales (each with its mirror when `tta`).
    tta_scales: tuple = (1.0,)

    def __post_init__(self):
        object.__setattr__(self, "tta_scales", check_scales(self.tta_scales))

    @property
    def input_shape(self) -> tuple[int, int]:
        """(height, width) of the model's input, pixels."""
        return self.input_size, self.input_width or self.input_size

    @property
    def size_text(self) -> str:
        """'240 px' for a square input, '240x424 px' (height x width) for a 16:9 one."""
        return size_text(self.input_shape)

    @property
    def scale_shapes(self) -> list[tuple[int, int]]:
        """(height, width) of the input at each test-time scale, the trained shape first."""
        return [scaled_shape(self.input_shape, scale) for scale in sorted(self.tta_scales, key=lambda s: s != 1.0)]

    @property
    def tta_text(self) -> str:
        """'mirror TTA', 'mirror TTA at 240x424 and 272x480 px', 'no TTA' ...: the test-time
        augmentation in words."""
        shapes = self.scale_shapes
        at = ""
        if len(shapes) > 1:
            at = " at " + ", ".join(size_text(shape) for shape in shapes[:-1]) + f" and {size_text(shapes[-1])}"
        if self.tta:
            return "mirror TTA" + at
        return f"multi-scale TTA{at}" if at else "no TTA"

    @property
    def threshold_text(self) -> str:
        """'0.6 (chosen on validation; the headline figures use 0.5)': the decision threshold, where
        it comes from, and how it stands to the headline figures' HEADLINE_THRESHOLD."""
        headline = f"the headline figures use {HEADLINE_THRESHOLD:g}"
        if self.threshold_source == "validation":
            same = " too" if self.threshold == HEADLINE_THRESHOLD else ""
            return f"{self.threshold:g} (chosen on validation; {headline}{same})"
        if self.threshold_source == "default":
            return f"{self.threshold:g} (the default: a bare model file has no validation frames to choose one on)"
        return f"{self.threshold:g} ({self.threshold_source}; {headline})"

    def to_dict(self) -> dict:
        return {**asdict(self), "tta_scales": list(self.tta_scales)}

    @classmethod
    def from_dict(cls, values: dict) -> "InferenceRecipe":
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in values.items() if key in known})

    @classmethod
    def for_shape(cls, shape, **values) -> "InferenceRecipe":
        """A recipe for a (height, width) input; `values`: its other fields."""
        height, width = int(shape[0]), int(shape[1])
        return cls(input_size=height, input_width=None if width == height else width, **values)

    @classmethod
    def for_run(cls, config, metrics: dict | None) -> "InferenceRecipe":
        """A run's recipe from its config and its evaluation (the validation threshold)."""
        threshold = (metrics or {}).get("threshold_from_validation")
        return cls.for_shape(
            config.input_shape,
            tta=config.tta,
            tta_scales=config.tta_scales,
            threshold=DEFAULT_THRESHOLD if threshold is None else float(threshold),
            threshold_source="default" if threshold is None else "validation",
        )

    @classmethod
    def for_model(cls, model, threshold: float = DEFAULT_THRESHOLD) -> "InferenceRecipe":
        """The documented defaults for a bare model file: its input shape, no TTA, 0.5."""
        return cls.for_shape(input_shape(model), threshold=threshold)


# The verdict of a picture the novelty check flags: none of the four labels, since a model that saw
# only cartoon frames answers "both" for a photo of an astronaut with p = 0.98 and 0.93.
NOT_A_FRAME = "Not a Tom and Jerry frame?"


@dataclass
class Prediction:
    p_tom: float | None
    p_jerry: float | None
    threshold: float
    note: str | None = None  # how the picture's shape was fitted to 16:9
    warnings: list = field(default_factory=list)  # sentences for the user
    file: str | None = None
    error: str | None = None  # why the picture could not be read
    novelty: float | None = None  # the novelty score (tomjerry.inference.novelty); None without a reference
    novel: bool = False  # the score is above the reference's threshold: not like the training frames
    fit: FrameFit | None = None  # where the shape rule put the picture (maps are drawn back on it)

    @property
    def label(self) -> str | None:
        """The model's answer at the threshold, one of the four combinations (None for an error)."""
        if self.error or self.p_tom is None or self.p_jerry is None:
            return None
        return COMBINATION_OF[(int(self.p_tom >= self.threshold), int(self.p_jerry >= self.threshold))]

    @property
    def verdict(self) -> str | None:
        """What to tell the user: NOT_A_FRAME when the novelty check flags the picture, else `label`."""
        if self.error:
            return None
        return NOT_A_FRAME if self.novel else self.label

    def to_json(self) -> dict:
        """The object `predict --json` prints for one image: `verdict` is NOT_A_FRAME for a picture
        the novelty check flags, and `label` the four-label answer the model gave all the same."""
        return {
            "file": self.file,
            "p_tom": self.p_tom,
            "p_jerry": self.p_jerry,
            "verdict": self.verdict,
            "label": self.label,
            "novelty": self.novelty,
            "threshold": self.threshold,
            "warnings": list(self.warnings),
            "error": self.error,
        }


def load_model(path):
    """A run folder (its model.keras) or a .keras file, loaded and checked by
    tomjerry.models.files.load_model: UnreadableModelError or ModelContractError (ValueErrors with a
    one-line message) for a bad file."""
    return files.load_model(RunFolder.model_file(path))


def input_size(model) -> int:
    """The model's input height, pixels (a square input's side)."""
    return int(model.input_shape[1])


def input_shape(model) -> tuple[int, int]:
    """(height, width) of the model's input, pixels."""
    return int(model.input_shape[1]), int(model.input_shape[2])


def prepare(rgb: np.ndarray, size: ImageSize) -> np.ndarray:
    """Full-size RGB to the model's input: fitted to 16:9, the dataset's INTER_AREA resize to
    (height, width, 3) (`size`: a square's side or (height, width)), float32 in [0, 1]."""
    return to_float(model_input(rgb, size)[0])


def resized(pixels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(N, h, w, 3) uint8 model inputs resized to (N, height, width, 3) for another test-time scale:
    bilinear when enlarging, INTER_AREA (as the frames' own resize) when shrinking."""
    import cv2

    height, width = shape
    method = cv2.INTER_LINEAR if height >= pixels.shape[1] else cv2.INTER_AREA
    return np.stack([cv2.resize(picture, (width, height), interpolation=method) for picture in pixels])


def predict_arrays(model, images: np.ndarray) -> np.ndarray:
    """(N, height, width, 3) float32 to (N, 2) probabilities, one compiled call (about 10 ms for one
    image against about 90 ms for an eager call)."""
    return np.asarray(model.predict_on_batch(images), dtype=np.float32)


def saved_recipe(path) -> InferenceRecipe | None:
    """The inference recipe of a run folder, or of the model file inside one: its inference.json,
    else derived from its config and metrics (runs made before the recipe was saved). None for a
    bare model file outside a run folder (it gets InferenceRecipe.for_model). ValueError when the
    run's config cannot be read. Every page and command reads a run's recipe through here."""
    path = Path(path)
    folder = RunFolder(path if path.is_dir() else path.parent)
    if not folder.file(RunFolder.CONFIG).is_file() and not folder.file(RunFolder.INFERENCE).is_file():
        return None
    saved = folder.read_json(RunFolder.INFERENCE)
    if saved:
        return InferenceRecipe.from_dict(saved)
    return InferenceRecipe.for_run(folder.read_config(), folder.read_metrics())


class Predictor:
    """A model with its recipe: the one way tomjerry turns pictures into answers."""

    def __init__(self, model, recipe: InferenceRecipe, source: Path | None = None, reference=None):
        """`reference`: a calibrated tomjerry.inference.novelty.Reference; with it every answer also says
        whether the picture looks like the training frames."""
        if recipe.input_shape != input_shape(model):
            raise ValueError(
                f"the recipe expects {recipe.size_text} input but the model takes {size_text(input_shape(model))}"
            )
        self.model, self.recipe, self.source, self.reference = model, recipe, source, reference
        self._with_features: Any = None  # the two-output model: Keras, or its TensorFlow Lite conversion
        self._scaled: dict = {}  # (height, width) -> the model rebuilt at that input (multi-scale TTA)
        self.acceleration_note: str | None = None  # why `accelerate` kept Keras, where a caller keeps it

    @classmethod
    def from_path(cls, path, model=None) -> "Predictor":
        """A run folder (its model and recipe: inference.json, else derived from its config and
        metrics) or a bare .keras file (the defaults). `model`: an already loaded model of that
        path (the pages cache it). UnreadableModelError / ModelContractError for a bad model."""
        path = Path(path)
        model = model if model is not None else load_model(path)
        if not path.is_dir():
            return cls(model, InferenceRecipe.for_model(model), path)
        folder = RunFolder(path)
        reference = None
        if folder.file(RunFolder.NOVELTY).is_file():
            reference = load_reference(folder.file(RunFolder.NOVELTY))
        try:
            recipe = saved_recipe(path)
        except ValueError:
            recipe = None
        recipe = recipe or InferenceRecipe.for_model(model)
        return cls(model, recipe, path, reference)

    def pixels(self, rgb: np.ndarray) -> tuple[np.ndarray, str | None]:
        """Full-size (H, W, 3) uint8 RGB to the model's (h, w, 3) uint8 input and the shape note."""
        return model_input(rgb, self.recipe.input_shape)

    def infer(self, pixels: np.ndarray, features: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """(N, h, w, 3) uint8 model inputs to ((N, 2) probabilities (tom, jerry), (N, D) pooled
        features of the pictures as given, or None). Probabilities use the recipe's test-time
        augmentation: the mean over each picture and its mirror image, both in one call of the
        model, and with several `tta_scales` also over the input resized to each scale (bilinear,
        scored by the model rebuilt at that size: multi-scale testing as in Simonyan & Zisserman,
        "Very Deep Convolutional Networks", ICLR 2015, section 3.2). The features come from the
        trained size's forward pass (tomjerry.inference.novelty.feature_model), so they cost
        nothing extra."""
        pixels = np.asarray(pixels)
        if len(pixels) == 0:
            return np.zeros((0, 2), np.float32), None
        # An accelerated predictor runs only its converted two-output model.
        two_outputs = features or self.accelerated
        step = BATCH // 2 if self.recipe.tta else BATCH  # a call holds the pictures and their mirrors
        probabilities, pooled = [], []
        for start in range(0, len(pixels), step):
            chunk = pixels[start : start + step]
            count = len(chunk)
            per_scale = []
            for shape in self.recipe.scale_shapes:
                trained = shape == self.recipe.input_shape
                batch = to_float(chunk if trained else resized(chunk, shape))
                if self.recipe.tta:
                    batch = np.concatenate([batch, batch[:, :, ::-1]])
                if trained and two_outputs:
                    f, p = predict_with_features(self._feature_model(), batch, len(batch))
                    pooled.append(f[:count])
                else:
                    p = predict_arrays(self.model if trained else self._at_shape(shape), batch)
                per_scale.append((p[:count] + p[count:]) / 2 if self.recipe.tta else p)
            probabilities.append(np.mean(per_scale, axis=0) if len(per_scale) > 1 else per_scale[0])
        return np.concatenate(probabilities), np.concatenate(pooled) if features else None

    def _at_shape(self, shape: tuple[int, int]):
        """The model rebuilt at another input shape (tomjerry.models.builders.rebuilt_at), once."""
        if shape not in self._scaled:
            from tomjerry.models.builders import rebuilt_at

            model = self.model
            if not hasattr(model, "get_config"):  # a TensorFlow Lite model: rebuilt from its Keras file
                source = getattr(model, "name", "") or self.source
                if not source:
                    raise ValueError("multi-scale TTA needs the Keras model file of a TensorFlow Lite model")
                model = load_model(source)
            self._scaled[shape] = rebuilt_at(model, shape)
        return self._scaled[shape]

    def accelerate(self) -> str | None:
        """Run this predictor's forward passes through TensorFlow Lite with XNNPACK
        (tomjerry.inference.lite_runtime.accelerated, converted once per model file and cached, and
        checked against Keras first): about half the time per picture on a CPU. Its recipe and
        answers are unchanged (probabilities equal to Keras's within lite_runtime.AGREEMENT). None
        when accelerated, else the reason it keeps Keras (one sentence)."""
        from tomjerry.inference import lite_runtime

        if self.source is None:
            return "no model file to convert: Keras used"
        lite, note = lite_runtime.accelerated(self.source, self._feature_model(), variant="features")
        if isinstance(lite, lite_runtime.LiteModel):
            self._with_features = lite
        return note

    @property
    def accelerated(self) -> bool:
        """Whether the forward passes run through TensorFlow Lite (`accelerate`)."""
        from tomjerry.inference.lite_runtime import LiteModel

        return isinstance(self._with_features, LiteModel)

    def features(self, pixels: np.ndarray) -> np.ndarray:
        """(N, h, w, 3) uint8 model inputs to their (N, D) pooled features, as `infer` gives them
        (the pictures as given), without the mirror pass that only the probabilities use."""
        pixels = np.asarray(pixels)
        if len(pixels) == 0:
            raise ValueError("no pictures to compute features of")
        return predict_with_features(self._feature_model(), pixels, BATCH)[0]  # batches and scales uint8 itself

    def _feature_model(self):
        """The model with its pooled features as a second output (tomjerry.inference.novelty.feature_model),
        built once."""
        if self._with_features is None:
            self._with_features = feature_model(self.model)
        return self._with_features

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """(N, h, w, 3) uint8 model inputs to (N, 2) probabilities, as `infer`."""
        return self.infer(pixels, features=self.reference is not None)[0]

    def answer(self, p: np.ndarray, note=None, name=None, novelty: float | None = None) -> Prediction:
        """A Prediction of (2,) probabilities; with the picture's novelty score, a picture unlike the
        training frames gets the NOT_A_FRAME verdict and the reason first among its warnings."""
        warnings = []
        novel = novelty is not None and bool(self.reference.is_out_of_distribution(novelty))
        if novel:
            warnings.append(
                f"This does not look like a Tom and Jerry frame: its novelty score is {novelty:.1f}, above the "
                f"{self.reference.threshold:.1f} that only about 1 % of real validation frames reach. The model "
                "knows only cartoon frames and answers one of its four labels for any picture, so its "
                "probabilities here say little."
            )
        if note:
            warnings.append(f"The picture was not 16:9 like the training frames: {note}.")
        return Prediction(float(p[0]), float(p[1]), self.recipe.threshold, note, warnings, name, None, novelty, novel)

    def predict(self, source, name: str | None = None) -> Prediction:
        """Image bytes or a path to a Prediction; BadImage when the picture cannot be read."""
        return self.predict_with_pixels(source, name)[0]

    def predict_with_pixels(self, source, name: str | None = None) -> tuple[Prediction, np.ndarray]:
        """The Prediction and the (h, w, 3) uint8 model input it was made from (for Grad-CAM).
        BadImage when the picture cannot be read."""
        found = self.predict_many([(source, name)])[0]
        if isinstance(found, BadImage):
            raise found
        return found

    def predict_many(self, sources) -> list:
        """Several pictures in one pass of the model: `sources` a list of (image bytes or path,
        name or None); for each, (Prediction, (h, w, 3) uint8 model input) or the BadImage that
        reading it raised. One forward pass over all readable pictures (and their mirror images
        when the recipe uses TTA) costs less per picture than one pass each: a class's verdicts
        are batched this way (tomjerry.inference.workers.predict_batch)."""
        results: list = []
        readable = []
        for source, name in sources:
            try:
                rgb = decode_image(source, name)
            except BadImage as error:
                results.append(error)
                continue
            pixels, note = self.pixels(rgb)
            readable.append(len(results))
            results.append((rgb, pixels, note, name))
        if not readable:
            return results
        pixels = np.stack([results[i][1] for i in readable])
        probabilities, features = self.infer(pixels, features=self.reference is not None)
        novelty = self.reference.score(features) if features is not None else None
        for row, i in enumerate(readable):
            rgb, picture, note, name = results[i]
            prediction = self.answer(probabilities[row], note, name, None if novelty is None else float(novelty[row]))
            prediction.fit = fit_of(rgb.shape[0], rgb.shape[1], rgb)  # the rule model_input applied
            results[i] = (prediction, picture)
        return results

    def predict_files(self, paths) -> list[Prediction]:
        """One Prediction per path; an unreadable picture gets its `error`, the others an answer."""
        results = []
        for path in paths:
            name = str(path)
            try:
                results.append(self.predict(Path(path), Path(path).name))
                results[-1].file = name
            except BadImage as error:
                results.append(Prediction(None, None, self.recipe.threshold, file=name, error=str(error)))
        return results
