"""Feature extraction with a frozen base: its features computed once, only the head trained.

With the base frozen (its batch norm always in inference mode, no dropout inside it) and no
augmentation, the base maps a frame to the same features in every epoch, so running it again
each epoch only repeats work. This is the "fast feature extraction without data augmentation" of
Chollet, *Deep Learning with Python* (2nd ed., 8.3.1) and of the Keras transfer-learning guide:
run the base over the frames once, then train the layers after it on the stored features. The
head trained this way is the same layers, with the same weights, as in the whole model, which
is what gets saved and evaluated; only the order of floating-point sums differs.

Measured (EfficientNet-Lite0 at 136 px, 2 cores, AMD EPYC with AVX-512, a training job beside):
`benchmarks/frozen_features.py` gives 4.6 s per further epoch of 512 frames on frames against
0.45 s on features (extraction 5.1 s); on the real shots split the tuned cell's whole search (3
trials, 45 epochs) took 37 s with 22 s of extraction, where the same search on frames had taken
83 minutes (on an AVX2 EPYC).
"""

import time

import keras
import numpy as np
import tensorflow as tf

from tomjerry.config import RunConfig
from tomjerry.data.pipeline import AUTOTUNE, make_dataset
from tomjerry.models.specs import SPECS


def uses_cached_features(config: RunConfig) -> bool:
    """True when a run trains only layers after its model's feature layer on unchanging inputs:
    a pretrained model with its base frozen (fine_tune_from None), no augmentation and no MixUp."""
    spec = SPECS[config.model]
    return spec.feature_layer is not None and config.fine_tune_from is None and not config.augment and not config.mixup


def split_model(model: keras.Model, layer_name: str) -> tuple[keras.Model, keras.Model]:
    """(extractor, head) of a flat Functional model: extractor maps the model's input to
    `layer_name`'s output; head maps those features to the model's output through the very layer
    objects of `model`, so training the head trains `model`. ValueError when the layers after
    `layer_name` are not a chain or `model` has trainable weights before it."""
    names = [layer.name for layer in model.layers]
    if layer_name not in names:
        raise ValueError(f"{model.name} has no layer {layer_name!r} to extract features from")
    split = model.get_layer(layer_name)
    extractor = keras.Model(model.inputs, split.output, name=f"{model.name}_features")
    if extractor.trainable_weights:
        raise ValueError(
            f"{model.name} trains layers before {layer_name!r}: its features change every step "
            "and cannot be computed once"
        )
    inputs = keras.Input(split.output.shape[1:], name="features")
    x = inputs
    for layer in model.layers[names.index(layer_name) + 1 :]:
        x = layer(x)
    head = keras.Model(inputs, x, name=f"{model.name}_head")
    if tuple(head.output.shape) != tuple(model.output.shape) or len(head.trainable_weights) != len(
        model.trainable_weights
    ):
        raise ValueError(f"the layers of {model.name} after {layer_name!r} are not one chain")
    return extractor, head


def graft_head(head: keras.Model, model: keras.Model) -> keras.Model:
    """Copy a trained head's weights (from split_model) into `model`'s layers of the same
    names; returns `model`. Used where the head was rebuilt on its own (Keras Tuner's
    load_model), so it no longer shares the layers of a whole model."""
    for layer in head.layers[1:]:
        model.get_layer(layer.name).set_weights(layer.get_weights())
    return model


def extract(extractor: keras.Model, images: np.ndarray, batch_size: int) -> np.ndarray:
    """The extractor's outputs for uint8 frames (n, side, side, 3), float32 (n, ...features)."""
    return extractor.predict(make_dataset(images, None, batch_size), verbose=0).astype(np.float32)


def feature_dataset(
    features: np.ndarray, labels: np.ndarray, batch_size: int, training: bool = False, seed: int = 0
) -> tf.data.Dataset:
    """Batches of (features, labels); training batches shuffled as make_dataset shuffles frames
    (same buffer, seed and reshuffling), so a run visits the frames in the same order."""
    data = tf.data.Dataset.from_tensor_slices((features, labels.astype(np.float32)))
    if training:
        data = data.shuffle(min(len(features), 10_000), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(AUTOTUNE)


def feature_datasets(extractor: keras.Model, data, config: RunConfig, batch_size: int):
    """(train, val, seconds): the run's training and validation frames (a RunData) as feature
    batches, and the seconds extracting them took."""
    start = time.time()
    x_train, y_train = data.part("train")
    x_val, y_val = data.part("val")
    train = feature_dataset(
        extract(extractor, x_train, batch_size), y_train, batch_size, training=True, seed=config.seed
    )
    val = feature_dataset(extract(extractor, x_val, batch_size), y_val, batch_size)
    return train, val, time.time() - start
