"""A run's Keras model run through TensorFlow Lite with the XNNPACK CPU delegate, for the Video
page and `python -m tomjerry video`, where hundreds of frames pass through one model, and for the
served app's verdicts (Predictor.accelerate: the novelty check's two-output model; a picture and its
mirror image took 28 ms on one core against 50-63 ms through Keras, EfficientNet-Lite1 at 240 px).

Measured on 2 CPU cores (benchmarks/video.py): EfficientNet-Lite0 at 224 px takes about half the
time per frame that Keras's predict_on_batch takes, with probabilities equal to within 1e-6. The
converted model is the same network with the same float32 weights (no quantisation), so the run's
inference recipe (decoder, 16:9 rule, TTA, threshold) is unchanged: `LiteModel` only replaces the
call that turns a batch of pixels into probabilities. Every conversion is checked against the
Keras model on a fixed batch before it is used; where conversion fails or disagrees, the Keras
model is used instead and the reason returned.

Converted files are cached under tomjerry.paths.cache_dir()/tflite, named by the SHA-256 of the
model file, so a run's folder (and a shipped, committed one) is never written to.
"""

import contextlib
import hashlib
import io
import logging
import os
import warnings
from pathlib import Path

import numpy as np

from tomjerry.atomic import write_bytes
from tomjerry.paths import cache_dir
from tomjerry.quiet import stderr_filtered
from tomjerry.runs.folder import RunFolder

# Probabilities may differ by float rounding only (XNNPACK sums in another order); a larger
# difference means the conversion changed the network and it is not used.
AGREEMENT = 1e-4
CHECK_FRAMES = 4
THREADS = None  # XNNPACK's default: one thread per core os.cpu_count() reports


def _interpreter_class():
    """LiteRT's interpreter (the package ai-edge-litert) when installed, else the one TensorFlow
    still bundles as tf.lite.Interpreter (deprecated in favour of LiteRT, present in 2.21)."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter
    except ImportError:
        import tensorflow as tf

        return tf.lite.Interpreter


# TensorFlow Lite's C++ logs this once per process when the delegate is applied; it says nothing a
# user needs, and in `video` it would sit among the progress lines.
DELEGATE_NOTICE = "Created TensorFlow Lite XNNPACK delegate for CPU."


def _without_delegate_notice():
    """Everything the block writes to file descriptor 2 except DELEGATE_NOTICE."""
    return stderr_filtered(
        lambda text: "".join(line for line in text.splitlines(keepends=True) if DELEGATE_NOTICE not in line)
    )


def _threads() -> int:
    """THREADS, else the cores this process may run on (a server pinned to one core with taskset
    gets one thread: two XNNPACK threads on one core only take turns)."""
    if THREADS:
        return THREADS
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _position(name: str) -> int:
    """A converted output's position among the Keras model's outputs: the converter names them
    'StatefulPartitionedCall:0', ':1', ... in the Keras order (checked by `disagreement`)."""
    tail = name.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class LiteModel:
    """A TensorFlow Lite model with Keras's predict_on_batch and input_shape, so tomjerry.inference.predict's
    Predictor uses it unchanged. Input (N, h, w, 3) float32 in [0, 1]; output (N, 2) float32, or for
    a model of several outputs the list of them in the Keras model's order (the novelty check's
    two-output model: [features (N, D), probabilities (N, 2)])."""

    def __init__(self, content: bytes, source: str = ""):
        with warnings.catch_warnings(), _without_delegate_notice():
            warnings.simplefilter("ignore")  # the tf.lite deprecation notice, once per process
            self._interpreter = _interpreter_class()(model_content=content, num_threads=_threads())
        details = self._interpreter.get_input_details()[0]
        self._input = details["index"]
        outputs = sorted(self._interpreter.get_output_details(), key=lambda output: _position(output["name"]))
        self._outputs = [output["index"] for output in outputs]
        self.input_shape = (None, *[int(v) for v in details["shape"][1:]])
        self.name = source
        self._batch: int | None = None  # the batch size the interpreter is planned for

    def predict_on_batch(self, images: np.ndarray):
        images = np.ascontiguousarray(images, dtype=np.float32)
        if images.shape[1:] != self.input_shape[1:]:
            raise ValueError(f"the model takes {self.input_shape[1:]} pictures, not {images.shape[1:]}")
        first = self._batch is None
        with _without_delegate_notice() if first else contextlib.nullcontext():
            if len(images) != self._batch:  # re-planned only when the batch size changes
                self._interpreter.resize_tensor_input(self._input, images.shape)
                self._interpreter.allocate_tensors()
                self._batch = len(images)
            self._interpreter.set_tensor(self._input, images)
            self._interpreter.invoke()
        found = [self._interpreter.get_tensor(index).copy() for index in self._outputs]
        return found[0] if len(found) == 1 else found


def convert(model) -> bytes:
    """A Keras model to a float32 TensorFlow Lite flatbuffer (about 15 s for EfficientNet-Lite0 on
    2 cores). Raises whatever the converter raises for layers it cannot express."""
    import tensorflow as tf

    logging.getLogger("absl").setLevel(logging.ERROR)
    # The converter exports a SavedModel first and prints its signature to standard output, which
    # belongs to `video --json`: the listing is dropped.
    with contextlib.redirect_stdout(io.StringIO()):
        return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def disagreement(model, lite: LiteModel) -> float:
    """The largest difference between the two models' outputs on CHECK_FRAMES fixed random
    pictures: absolute for probabilities, relative to the output's largest value for an output of
    another kind (features); 0 for identical outputs, infinity when the outputs do not match in
    number or shape."""
    height, width = int(model.input_shape[1]), int(model.input_shape[2])
    x = np.random.default_rng(0).random((CHECK_FRAMES, height, width, 3), dtype=np.float32)
    expected, found = model.predict_on_batch(x), lite.predict_on_batch(x)
    expected = list(expected) if isinstance(expected, (list, tuple)) else [expected]
    found = list(found) if isinstance(found, list) else [found]
    if len(expected) != len(found):
        return float("inf")
    worst = 0.0
    for keras_output, lite_output in zip(expected, found):
        keras_output = np.asarray(keras_output, np.float32)
        if keras_output.shape != lite_output.shape:
            return float("inf")
        scale = 1.0 if keras_output.shape[-1] == 2 else max(1.0, float(np.abs(keras_output).max()))
        worst = max(worst, float(np.abs(keras_output - lite_output).max()) / scale)
    return worst


def _cached_path(source: Path, variant: str = "") -> Path:
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:32]
    return cache_dir() / "tflite" / f"{digest}{'-' + variant if variant else ''}.tflite"


def accelerated(path, model, variant: str = ""):
    """(the model to run, note): a LiteModel for the run folder or .keras file at `path` whose
    loaded Keras `model` is given, converted once and cached; or `model` itself with the reason
    (one sentence) where conversion fails or disagrees with it by more than AGREEMENT. `model`
    may be a model built on the file's (the novelty check's two-output model): `variant` names it
    in the cache."""
    source = RunFolder.model_file(path)
    try:
        cached = _cached_path(source, variant)
        if cached.is_file():
            return LiteModel(cached.read_bytes(), str(source)), None
        content = convert(model)
        lite = LiteModel(content, str(source))
        difference = disagreement(model, lite)
        if not difference <= AGREEMENT:
            return model, f"TensorFlow Lite disagrees with Keras by {difference:.2g}: Keras used"
        write_bytes(cached, content)
        return lite, None
    except Exception as error:  # any converter failure: the Keras model still gives the answer
        return model, f"TensorFlow Lite conversion failed ({type(error).__name__}): Keras used"
