"""The model registry: every model is built by `build_model(name, image_size, ...)`.

All models are Functional with one flat graph (tf-keras-vis Grad-CAM fails on Sequential models
and on a base model nested as a layer), take RGB float32 in [0, 1] at their input size with any
normalisation inside, end in a 2-unit sigmoid head (tom, jerry), and name their last
convolutional layer for Grad-CAM.
"""

import hashlib
import os
from pathlib import Path
from typing import Callable

import keras
from keras import layers

from tomjerry.data.decoding import height_width
from tomjerry.models.efficientnet_lite import efficientnet_lite_features
from tomjerry.models.specs import WeightsUnavailableError, check_model

# name -> builder(inputs, dropout_rate, weights, fine_tune_from) -> outputs; one per entry of SPECS.
BUILDERS: dict[str, Callable] = {}
# Keras's default 0.99 leaves the moving statistics mostly at their initial values after the few
# hundred steps of a CPU run (measured: 100% train accuracy, 51% on the same frames in inference
# mode); 0.9 (PyTorch's default) tracks the weights as they change.
BN_MOMENTUM = 0.9


def register(name):
    def decorate(builder):
        check_model(name)  # every builder belongs to a spec in tomjerry.models.specs
        BUILDERS[name] = builder
        return builder

    return decorate


def build_model(
    name: str,
    image_size: int | tuple[int, int] = 224,
    dropout_rate: float = 0.5,
    weights: str = "imagenet",
    fine_tune_from: int | None = None,
) -> keras.Model:
    """One signature for every model. `image_size`: a square input's side, or (height, width) in
    pixels (a 16:9 input: the EfficientNets and InceptionV3 pool globally, so any shape fits;
    AlexNet and ZFNet flatten their last map, so their head's size follows the shape). `weights` matters only for pretrained models ("none" gives
    random initialisation, for tests and for runs labelled as such); `fine_tune_from` is the
    first trainable block of a pretrained base (None keeps the whole base frozen)."""
    height, width = height_width(image_size)
    check_model(name, min(height, width))
    inputs = keras.Input((height, width, 3), name="image")
    outputs = BUILDERS[name](inputs, dropout_rate=dropout_rate, weights=weights, fine_tune_from=fine_tune_from)
    return keras.Model(inputs, outputs, name=name)


def rebuilt_at(model: keras.Model, shape: tuple[int, int]) -> keras.Model:
    """The same functional model, weights copied, taking (N, height, width, 3) inputs of another
    shape: for multi-scale test-time augmentation (the EfficientNets and InceptionV3 pool globally,
    so their weights fit any input). Built from the model's own config (Keras's
    Model.get_config / from_config), so it needs no run config. ValueError when the model's layers
    fix its input size (AlexNet and ZFNet flatten their last map into a dense layer)."""
    height, width = (int(side) for side in shape)
    config = model.get_config()
    inputs = [layer for layer in config.get("layers", []) if layer.get("class_name") == "InputLayer"]
    if len(inputs) != 1:
        raise ValueError(f"{model.name}: only a functional model with one input can be rebuilt at another size")
    inputs[0]["config"]["batch_shape"] = [None, height, width, 3]
    try:
        rebuilt = keras.Model.from_config(config)
        rebuilt.set_weights(model.get_weights())
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"{model.name} cannot score {height}x{width} inputs (its layers fix the input size): {str(error)[:200]}"
        ) from None
    return rebuilt


def head(x, dropout_rate, hidden=4096, layers_count=2):
    """The classic fully connected top: Dense 4096 relu + Dropout, twice, then 2 sigmoids."""
    x = layers.Flatten(name="flatten")(x)
    for i in range(1, layers_count + 1):
        x = layers.Dense(hidden, activation="relu", name=f"fc{i}")(x)
        x = layers.Dropout(dropout_rate, name=f"dropout{i}")(x)
    return layers.Dense(2, activation="sigmoid", name="labels", dtype="float32")(x)


def conv(x, filters, kernel, strides=1, padding="same", name=None, batch_norm=True):
    x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, activation="relu", name=name)(x)
    return layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x) if batch_norm else x


@register("alexnet")
def alexnet(inputs, dropout_rate=0.5, **unused):
    x = conv(inputs, 96, 11, strides=4, padding="valid", name="conv1")
    x = layers.MaxPooling2D(3, 2, name="pool1")(x)
    x = conv(x, 256, 5, name="conv2")
    x = layers.MaxPooling2D(3, 2, name="pool2")(x)
    x = conv(x, 384, 3, name="conv3")
    x = conv(x, 384, 3, name="conv4")
    x = layers.Conv2D(256, 3, padding="same", activation="relu", name="conv5")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="conv5_bn")(x)
    x = layers.MaxPooling2D(3, 2, name="pool5")(x)
    return head(x, dropout_rate)


@register("zfnet")
def zfnet(inputs, dropout_rate=0.5, **unused):
    x = conv(inputs, 96, 7, strides=2, padding="valid", name="conv1")
    x = layers.MaxPooling2D(3, 2, name="pool1")(x)
    x = conv(x, 256, 5, strides=2, padding="valid", name="conv2")
    x = layers.MaxPooling2D(3, 2, name="pool2")(x)
    x = conv(x, 384, 3, name="conv3")
    x = conv(x, 384, 3, name="conv4")
    x = layers.Conv2D(256, 3, padding="same", activation="relu", name="conv5")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="conv5_bn")(x)
    x = layers.MaxPooling2D(3, 2, padding="same", name="pool5")(x)
    return head(x, dropout_rate)


INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
INCEPTION_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/" + INCEPTION_WEIGHTS_FILE
)
INCEPTION_WEIGHTS_MD5 = "bcbd6486424b2319ff4ef7d526e38f63"  # the hash Keras itself checks


def keras_models_dir() -> Path:
    """The folder Keras keeps downloaded weights in: $KERAS_HOME/models, else ~/.keras/models."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "models"


def inception_weights() -> str:
    """The path of InceptionV3's ImageNet (no top) weights, checked by their md5 here: Keras's
    own check re-downloads a mismatching file and, offline, deletes it, so a file a user placed
    is verified first and never handed to Keras unchecked. Raises WeightsUnavailableError naming
    the cause (hash mismatch, no network) and the folder Keras uses."""
    path = keras_models_dir() / INCEPTION_WEIGHTS_FILE
    if path.is_file():
        digest = hashlib.md5(path.read_bytes()).hexdigest()
        if digest != INCEPTION_WEIGHTS_MD5:
            raise WeightsUnavailableError(
                f"{path} is not Keras's InceptionV3 weights file: its md5 is {digest}, Keras expects "
                f"{INCEPTION_WEIGHTS_MD5}. The file was left as it is; replace it with {INCEPTION_WEIGHTS_URL}."
            )
        return str(path)
    try:
        return keras.utils.get_file(
            INCEPTION_WEIGHTS_FILE, INCEPTION_WEIGHTS_URL, cache_subdir="models", file_hash=INCEPTION_WEIGHTS_MD5
        )
    except Exception as error:
        raise WeightsUnavailableError(
            f"InceptionV3's ImageNet weights are not on this machine and could not be downloaded "
            f"({type(error).__name__}: {str(error)[:160]}; no network?). Put {INCEPTION_WEIGHTS_FILE} "
            f"(md5 {INCEPTION_WEIGHTS_MD5}, from {INCEPTION_WEIGHTS_URL}) in {path.parent} "
            "($KERAS_HOME/models, else ~/.keras/models) and try again; tomjerry never trains it from "
            "random weights under the name of transfer learning."
        ) from None


@register("inceptionv3")
def inceptionv3(inputs, dropout_rate=0.5, weights="imagenet", **unused):
    # InceptionV3 expects [-1, 1].
    x = layers.Rescaling(2.0, offset=-1.0, name="to_minus_one_one")(inputs)
    base = keras.applications.InceptionV3(
        include_top=False, weights=inception_weights() if weights == "imagenet" else None, input_tensor=x
    )
    for layer in base.layers:
        layer.trainable = False
    # Built on base.output, so the graph stays flat for Grad-CAM.
    x = layers.MaxPooling2D(5, 2, padding="same", name="pool_5x5")(base.output)
    return head(x, dropout_rate, layers_count=1)


def efficientnet_lite(variant):
    """The builder of one EfficientNet-Lite variant: its backbone, global pooling, Dropout, Dense 2."""

    def build(inputs, dropout_rate=0.2, weights="imagenet", fine_tune_from=None):
        features = efficientnet_lite_features(inputs, weights=weights, fine_tune_from=fine_tune_from, name=variant)
        x = layers.GlobalAveragePooling2D(name="avg_pool")(features)
        x = layers.Dropout(dropout_rate, name="dropout")(x)
        return layers.Dense(2, activation="sigmoid", name="labels", dtype="float32")(x)

    return build


for _variant in ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"):
    register(_variant)(efficientnet_lite(_variant))
