"""What every registered model is, without building it: name, Grad-CAM layer, smallest input
and a description. A leaf module with no Keras import, so the run config, the runs table and the
light pages can name and check models without loading TensorFlow; `tomjerry.models.builders` holds the
builders, one per name here."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSpec:
    name: str
    last_conv_layer: str  # the layer Grad-CAM reads
    min_image_size: int  # below this the feature maps vanish (pixels, square input)
    pretrained: bool  # ImageNet weights exist for it
    description: str
    # The output a frozen base always maps a frame to: with the base frozen and no augmentation,
    # runs compute it once and train only the layers after it (tomjerry.training.features). None: trained
    # from scratch, nothing to cache.
    feature_layer: str | None = None


class WeightsUnavailableError(ValueError):
    """Pretrained weights could not be had; the message says where to put the file."""


SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "alexnet",
            "conv5",
            67,
            False,
            "AlexNet (Krizhevsky et al. 2012) from scratch, with batch norm, as the study",
        ),
        ModelSpec(
            "zfnet", "conv5", 75, False, "ZFNet (Zeiler & Fergus 2013) from scratch: AlexNet with 7x7/2 first filters"
        ),
        ModelSpec(
            "inceptionv3",
            "mixed10",
            75,
            True,
            "InceptionV3, ImageNet weights, frozen base; MaxPool 5/2, Flatten, Dense 4096, "
            "Dropout, Dense 2 (the study's transfer model)",
            "flatten",
        ),
        ModelSpec(
            "efficientnet_lite0",
            "head_relu",
            32,
            True,
            "EfficientNet-Lite0 with real ImageNet weights (offline), frozen base or top "
            "blocks fine-tuned; global pooling, Dropout, Dense 2",
            "avg_pool",
        ),
        # Lite1 and Lite2 from 64 px: at 32 px their last map is 1x1 and, measured on noise input,
        # every one of Lite2's 1280 head activations is 0 there (no gradient reaches the head).
        ModelSpec(
            "efficientnet_lite1",
            "head_relu",
            64,
            True,
            "EfficientNet-Lite1 (Lite0 deeper: 21 blocks; ImageNet at 240 px), real ImageNet "
            "weights, same head and fine-tuning as Lite0",
            "avg_pool",
        ),
        ModelSpec(
            "efficientnet_lite2",
            "head_relu",
            64,
            True,
            "EfficientNet-Lite2 (21 blocks, 10% wider; ImageNet at 260 px), real ImageNet "
            "weights, same head and fine-tuning as Lite0",
            "avg_pool",
        ),
    )
}


def check_model(name: str, image_size: int | None = None) -> ModelSpec:
    """The spec of a registered model; ValueError naming the choices or the size limit."""
    if name not in SPECS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(SPECS)}")
    spec = SPECS[name]
    if image_size is not None and image_size < spec.min_image_size:
        raise ValueError(f"{name} needs images of at least {spec.min_image_size} px, not {image_size}")
    return spec
