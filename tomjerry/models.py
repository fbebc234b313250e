"""The model registry: every model is built by `build_model(name, image_size, ...)`.

All models are Functional with one flat graph (tf-keras-vis Grad-CAM fails on Sequential models
and on a base model nested as a layer), take RGB float32 in [0, 1] at their input size with any
normalisation inside, end in a 2-unit sigmoid head (tom, jerry), and name their last
convolutional layer for Grad-CAM.
"""

from typing import Callable

import keras
from keras import layers

from tomjerry.efficientnet_lite import efficientnet_lite0_features
from tomjerry.model_specs import SPECS, WeightsUnavailableError, check_model

# name -> builder(inputs, dropout_rate, weights, fine_tune_from) -> outputs; one per entry of SPECS.
BUILDERS: dict[str, Callable] = {}
# Keras's default 0.99 leaves the moving statistics mostly at their initial values after the few
# hundred steps of a CPU run (measured: 100% train accuracy, 51% on the same frames in inference
# mode); 0.9 (PyTorch's default) tracks the weights as they change.
BN_MOMENTUM = 0.9


def register(name):
    def decorate(builder):
        check_model(name)  # every builder belongs to a spec in tomjerry.model_specs
        BUILDERS[name] = builder
        return builder
    return decorate


def build_model(name: str, image_size: int = 224, dropout_rate: float = 0.5,
                weights: str = "imagenet", fine_tune_from: int | None = None) -> keras.Model:
    """One signature for every model. `weights` matters only for pretrained models ("none" gives
    random initialisation, for tests and for runs labelled as such); `fine_tune_from` is the
    first trainable block of a pretrained base (None keeps the whole base frozen)."""
    check_model(name, image_size)
    inputs = keras.Input((image_size, image_size, 3), name="image")
    outputs = BUILDERS[name](inputs, dropout_rate=dropout_rate, weights=weights, fine_tune_from=fine_tune_from)
    return keras.Model(inputs, outputs, name=name)


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


@register("inceptionv3")
def inceptionv3(inputs, dropout_rate=0.5, weights="imagenet", **unused):
    # InceptionV3 expects [-1, 1].
    x = layers.Rescaling(2.0, offset=-1.0, name="to_minus_one_one")(inputs)
    try:
        base = keras.applications.InceptionV3(
            include_top=False, weights="imagenet" if weights == "imagenet" else None, input_tensor=x)
    except Exception as error:
        if weights != "imagenet":
            raise
        raise WeightsUnavailableError(
            f"InceptionV3's ImageNet weights could not be downloaded ({type(error).__name__}). "
            f"Put {INCEPTION_WEIGHTS_FILE} in ~/.keras/models/ (Keras's cache) and try again; "
            "tomjerry never trains it from random weights under the name of transfer learning."
        ) from None
    for layer in base.layers:
        layer.trainable = False
    # Built on base.output, so the graph stays flat for Grad-CAM.
    x = layers.MaxPooling2D(5, 2, padding="same", name="pool_5x5")(base.output)
    return head(x, dropout_rate, layers_count=1)


@register("efficientnet_lite0")
def efficientnet_lite0(inputs, dropout_rate=0.2, weights="imagenet", fine_tune_from=None):
    features = efficientnet_lite0_features(inputs, weights=weights, fine_tune_from=fine_tune_from)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(features)
    x = layers.Dropout(dropout_rate, name="dropout")(x)
    return layers.Dense(2, activation="sigmoid", name="labels", dtype="float32")(x)


def last_conv_layer(model_name: str) -> str:
    return SPECS[model_name].last_conv_layer
