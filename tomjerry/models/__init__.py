"""The models wing: what each model is, how it is built, and its model.keras file.

    specs             every registered model without building it: name, Grad-CAM layer, input sizes
    builders          the registry: `build_model(name, image_size, ...)` for every model
    efficientnet_lite EfficientNet-Lite0/1/2 in Keras with the real ImageNet weights
    torch_weights     reading a PyTorch `.pth` state dict without torch, safely
    files             a .keras file checked and loaded under the model contract (a file path: it
                      knows no run folder)

May import: data, metrics and the shared bottom (tomjerry, paths, atomic, quiet). This file
imports nothing.
"""
