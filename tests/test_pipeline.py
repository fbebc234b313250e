"""The training input pipeline: MixUp blends frames and their labels alike, training batches only."""

import numpy as np
import pytest

from tomjerry.config import RunConfig
from tomjerry.data.pipeline import make_dataset


def test_mixup_blends_frames_and_labels_in_the_same_proportion():
    """Known answer: frame i is the constant i/15 and its labels are (i/15, 1 - i/15), so a
    mixed frame's value must equal its first label and one minus its second."""
    count = 16
    values = np.arange(count) / (count - 1)
    images = np.repeat(values, 4 * 4 * 3).reshape(count, 4, 4, 3)
    images = np.round(images * 255).astype(np.uint8)
    values = images[:, 0, 0, 0] / 255.0
    labels = np.stack([values, 1 - values], axis=1).astype(np.float32)
    x, y = next(iter(make_dataset(images, labels, count, training=True, seed=0, mixup=0.4)))
    x, y = x.numpy(), y.numpy()
    np.testing.assert_allclose(x[:, 0, 0, 0], y[:, 0], atol=1e-5)
    np.testing.assert_allclose(1 - x[:, 0, 0, 0], y[:, 1], atol=1e-5)
    assert np.abs(np.sort(x[:, 0, 0, 0]) - np.sort(values)).max() > 0.01  # something was mixed
    # Validation batches and mixup 0 are untouched.
    plain_x, plain_y = next(iter(make_dataset(images, labels, count, training=False, mixup=0.4)))
    np.testing.assert_allclose(plain_y.numpy(), labels)
    assert RunConfig(mixup=0.2).mixup == 0.2
    with pytest.raises(ValueError, match="mixup"):
        RunConfig(mixup=1.5)
