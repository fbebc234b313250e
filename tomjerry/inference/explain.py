"""Grad-CAM explanations with tf-keras-vis: where in the frame each label's score comes from.

One `CategoricalScore` per label (tom = output 0, jerry = output 1) on the 2-unit sigmoid head,
with `ReplaceToLinear` so the gradient is taken before the sigmoid saturates. (`BinaryScore`
refuses a 2-unit head.)
"""

from dataclasses import dataclass, field

import cv2
import numpy as np

from tomjerry import LABELS
from tomjerry.data.decoding import FrameFit, decode_image, fit_of
from tomjerry.data.images import map_to_picture, to_float
from tomjerry.inference.predict import Prediction, Predictor
from tomjerry.models.specs import SPECS


def last_conv_layer_of(model) -> str:
    if model.name in SPECS:
        return SPECS[model.name].last_conv_layer
    convolutions = [layer.name for layer in model.layers if "conv" in type(layer).__name__.lower()]
    if not convolutions:
        raise ValueError(f"model {model.name} has no convolutional layer to explain")
    return convolutions[-1]


class Explainer:
    """Holds the tf-keras-vis visualisers for one model (cloning the model once, not per call)."""

    def __init__(self, model, plus_plus: bool = False):
        from tf_keras_vis.gradcam import Gradcam
        from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
        from tf_keras_vis.utils.model_modifiers import ReplaceToLinear

        kind = GradcamPlusPlus if plus_plus else Gradcam
        self.layer = last_conv_layer_of(model)
        self.visualiser = kind(model, model_modifier=ReplaceToLinear(), clone=True)

    def heatmaps(self, images: np.ndarray, label: str) -> np.ndarray:
        """(N, H, W) maps in [0, 1] for images (N, H, W, 3) float32 in [0, 1]."""
        from tf_keras_vis.utils.scores import CategoricalScore

        if label not in LABELS:
            raise ValueError(f"label must be one of {', '.join(LABELS)}")
        index = LABELS.index(label)
        cams = self.visualiser(
            CategoricalScore([index] * len(images)),
            images,
            penultimate_layer=self.layer,
            seek_penultimate_conv_layer=False,
        )
        return np.nan_to_num(np.asarray(cams, np.float32)).reshape(len(images), *images.shape[1:3])


# Grad-CAM scales every map to its own maximum, so a label the model calls absent (p = 0.00)
# still gets bright red areas, which reads as "the model sees Tom here". Its map is drawn faded.
FADED_ALPHA = 0.12
SCALE_CAPTION = (
    "Colour scale, left to right: blue, little influence on the label's score; red, the most. Each "
    'map is scaled to its own maximum, so red means "most, for this label in this frame", not a '
    "probability; the map of a label the model calls absent is drawn faded."
)


def overlay(
    image: np.ndarray,
    heatmap: np.ndarray,
    alpha: float = 0.45,
    probability: float | None = None,
    threshold: float = 0.5,
) -> np.ndarray:
    """An RGB uint8 picture of the heatmap (jet colours) over the image (float [0, 1] or uint8).
    With the label's `probability`, a label below `threshold` (absent) is drawn faded."""
    base = image if image.dtype == np.uint8 else (np.clip(image, 0, 1) * 255).astype(np.uint8)
    heat = cv2.resize(heatmap.astype(np.float32), (base.shape[1], base.shape[0]))
    colours = jet(np.clip(heat, 0, 1))
    if probability is not None and probability < threshold:
        alpha = FADED_ALPHA
    return cv2.addWeighted(base, 1 - alpha, colours, alpha, 0)


# The picture under a map is shown at most this many pixels a side: enough for a projector, and a
# 12-megapixel phone photo is not blended at full size on every rerun.
SHOWN_SIDE = 960
UNSEEN_NOTE = "greyed: the parts of the picture the model did not see (cropped away, or bars)"


def overlay_on_picture(
    rgb: np.ndarray,
    square: np.ndarray,
    probability: float | None = None,
    threshold: float = 0.5,
    fit: FrameFit | None = None,
    max_side: int = SHOWN_SIDE,
) -> tuple[np.ndarray, str | None]:
    """A Grad-CAM map over the model's (h, w) input (square or 16:9) drawn on the (H, W, 3) uint8 picture as it
    was given (not on the squeezed, cropped or padded model input): tomjerry.data.images.map_to_picture
    inverts the shape rule. `fit`: where the shape rule put the picture (tomjerry.data.decoding.fit_of
    of the full picture; default: found in `rgb`), so `rgb` may be a smaller copy of the same shape.
    The picture is shown at most `max_side` pixels a side; parts the model never saw are greyed and
    get no colours. Returns (RGB uint8 picture, a note on the greyed parts or None when the model saw
    all of it). A label below `threshold` is drawn faded, as `overlay`."""
    height, width = rgb.shape[:2]
    fit = fit or fit_of(height, width, rgb)
    scale = min(1.0, max_side / max(height, width))
    size = (max(1, int(round(width * scale))), max(1, int(round(height * scale))))
    base = rgb if size == (width, height) else cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    heat, seen = map_to_picture(square, fit, size)
    drawn = overlay(base, heat, probability=probability, threshold=threshold)
    if seen.all():
        return drawn, None
    drawn[~seen] = (0.35 * base[~seen] + 0.65 * 128).astype(np.uint8)
    return drawn, UNSEEN_NOTE


@dataclass
class ExplainedFrame:
    """One picture's Grad-CAM under a run's recipe, ready to draw: `picture` is the picture as it was
    given (its own shape, at most `max_side` a side), `maps` one (label, probability, drawn picture of
    picture's shape, note on greyed parts or None) per label, tom first."""

    picture: np.ndarray  # (h, w, 3) uint8 RGB
    prediction: Prediction
    maps: list = field(default_factory=list)


def explain_frame(predictor: Predictor, explainer: Explainer, source, name=None, max_side=SHOWN_SIDE) -> ExplainedFrame:
    """Grad-CAM of one picture (image bytes or a path) as the Grad-CAM page draws it: the prediction and
    the maps come from the model's own input under `predictor`'s recipe (its input shape, square or
    16:9, its shape rule, TTA and threshold: Predictor.predict_with_pixels), and each map is drawn back
    on the picture as it was given (`overlay_on_picture`), never on the squeezed input. BadImage when
    the picture cannot be read."""
    rgb = decode_image(source, name)
    prediction, pixels = predictor.predict_with_pixels(source, name)
    if prediction.p_tom is None or prediction.p_jerry is None:  # predict_with_pixels raises BadImage instead
        raise ValueError(f"{name or source}: no probabilities to explain")
    threshold = predictor.recipe.threshold
    image = to_float(pixels[None])
    maps = []
    for label, p in (("tom", prediction.p_tom), ("jerry", prediction.p_jerry)):
        heat = explainer.heatmaps(image, label)[0]
        drawn, unseen = overlay_on_picture(
            rgb, heat, probability=p, threshold=threshold, fit=prediction.fit, max_side=max_side
        )
        maps.append((label, float(p), drawn, unseen))
    height, width = maps[0][2].shape[:2]
    picture = (
        rgb if (height, width) == rgb.shape[:2] else cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    )
    return ExplainedFrame(picture, prediction, maps)


def jet(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] to RGB uint8 in OpenCV's jet colour map."""
    return cv2.cvtColor(cv2.applyColorMap((values * 255).astype(np.uint8), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)


def colour_scale(width: int = 320, height: int = 14) -> np.ndarray:
    """The overlay's colour scale as a picture: low influence (left, blue) to high (right, red)."""
    return jet(np.tile(np.linspace(0, 1, width, dtype=np.float32), (height, 1)))


def cam_caption(label: str, probability: float, threshold: float = 0.5) -> str:
    """'tom present: p=0.93' or 'jerry absent: p=0.02 (faded)'."""
    if probability >= threshold:
        return f"{label} present: p={probability:.2f}"
    return f"{label} absent: p={probability:.2f} (faded)"
