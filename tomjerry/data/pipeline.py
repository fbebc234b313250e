"""tf.data input pipelines from the cached uint8 arrays, and the study's augmentation."""

import numpy as np
import tensorflow as tf
from keras import layers

AUTOTUNE = tf.data.AUTOTUNE


def augmentation(seed: int = 0, kind: str = "study") -> list:
    """kind "study": the study's ImageDataGenerator settings as Keras preprocessing layers
    (rotation 5 degrees, width and height shift 0.01, zoom 0.2 in x and y independently, horizontal
    and vertical flips).
    kind "light": horizontal flip and zoom 0.1 only; cartoon frames are never upside down."""
    if kind == "light":
        return [layers.RandomFlip("horizontal", seed=seed), layers.RandomZoom(0.1, fill_mode="nearest", seed=seed + 1)]
    return [
        layers.RandomRotation(5 / 360, fill_mode="nearest", seed=seed),
        layers.RandomTranslation(0.01, 0.01, fill_mode="nearest", seed=seed + 1),
        # ImageDataGenerator's zoom_range draws the x and y zoom independently; Keras's RandomZoom
        # keeps the aspect ratio unless it is given a width factor too.
        layers.RandomZoom(0.2, 0.2, fill_mode="nearest", seed=seed + 2),
        layers.RandomFlip("horizontal_and_vertical", seed=seed + 3),
    ]


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray | None,
    batch_size: int,
    training: bool = False,
    augment: bool = False,
    seed: int = 0,
    augmentation_kind: str = "study",
    mixup: float = 0.0,
) -> tf.data.Dataset:
    """Batches of float32 [0, 1] images (and labels). The uint8 arrays are batched first and cast
    per batch, which is far cheaper than per image; augmentation, then MixUp with alpha `mixup`
    (0: off; labels become soft, in [0, 1]), run on training batches only."""
    items = images if labels is None else (images, labels.astype(np.float32))
    data = tf.data.Dataset.from_tensor_slices(items)
    if training:
        data = data.shuffle(min(len(images), 10_000), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size)

    def to_float(x):
        return tf.cast(x, tf.float32) / 255.0

    if labels is None:
        data = data.map(to_float, num_parallel_calls=AUTOTUNE)
    else:
        data = data.map(lambda x, y: (to_float(x), y), num_parallel_calls=AUTOTUNE)
    if training and augment:
        steps = augmentation(seed, augmentation_kind)

        def augment_batch(x, y):
            for step in steps:
                x = step(x, training=True)
            return tf.clip_by_value(x, 0.0, 1.0), y

        data = data.map(augment_batch, num_parallel_calls=AUTOTUNE)
    if training and mixup and labels is not None:
        mix = layers.MixUp(alpha=mixup, seed=seed + 4)

        def mix_batch(x, y):
            mixed = mix({"images": x, "labels": y}, training=True)
            return mixed["images"], mixed["labels"]

        data = data.map(mix_batch, num_parallel_calls=AUTOTUNE)
    return data.prefetch(AUTOTUNE)
