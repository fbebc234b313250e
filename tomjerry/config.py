"""The run configuration: one frozen dataclass that travels between the UI, the command line,
tuning and the run folder (config.json), so every result traces back to exactly what made it."""

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from tomjerry.model_specs import SPECS, check_model

VARIANTS = ("base", "tuned", "augmented")


@dataclass(frozen=True)
class RunConfig:
    model: str = "alexnet"
    image_size: int = 224            # the study's 224 x 224
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3      # Adam's default, the study's base models
    dropout_rate: float = 0.5
    augment: bool = False            # augment training batches (see `augmentation`)
    augmentation: str = "study"      # study: rotation 5, shift 0.01, zoom 0.2, both flips; light: h-flip, zoom 0.1
    tta: bool = False                # test-time augmentation: average the frame and its mirror image
    split: str = "random"            # random | blocked | path to a split CSV
    split_seed: int = 42
    block_frames: int = 50           # blocked split: frames per block that stay together
    exclude_challenges: bool = False # put the challenge frames in test, never in training
    patience: int = 3                # early stopping on val_loss, best weights restored
    seed: int = 1
    weights: str = "imagenet"        # pretrained models: imagenet | none (random init, labelled so)
    fine_tune_from: int | None = None  # efficientnet_lite0: first trainable block (None: frozen base)
    lr_schedule: str = "constant"    # constant | cosine (decays to 0 over the epochs)
    label_smoothing: float = 0.0
    variant: str = "base"            # base | tuned | augmented: where the run sits in the study
    max_trials: int = 3              # tuning: random-search trials
    tune_dropout: bool = False       # tuning: also search dropout 0.1-0.5 (InceptionV3 in the study)
    strategy: str = "auto"           # tf.distribute: auto | default | mirrored | multiworker
    mixed_precision: bool = False    # float16 compute on GPU
    preset: str | None = None        # the named preset the run started from, if any
    notes: str = ""
    tags: tuple = field(default_factory=tuple)

    def __post_init__(self):
        check_model(self.model)
        minimum = SPECS[self.model].min_image_size
        if not minimum <= self.image_size <= 1024:
            raise ValueError(f"{self.model} needs an image size between {minimum} and 1024, not {self.image_size}")
        for name, low in (("epochs", 1), ("batch_size", 1), ("patience", 0), ("max_trials", 1), ("block_frames", 1)):
            if getattr(self, name) < low:
                raise ValueError(f"{name} must be at least {low}, not {getattr(self, name)}")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"learning_rate must be between 0 and 1, not {self.learning_rate}")
        if not 0 <= self.dropout_rate < 1:
            raise ValueError(f"dropout_rate must be in [0, 1), not {self.dropout_rate}")
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(VARIANTS)}")
        if self.weights not in ("imagenet", "none"):
            raise ValueError("weights must be imagenet or none")
        if self.augmentation not in ("study", "light"):
            raise ValueError("augmentation must be study or light")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError("lr_schedule must be constant or cosine")
        if self.strategy not in ("auto", "default", "mirrored", "multiworker"):
            raise ValueError("strategy must be auto, default, mirrored or multiworker")
        object.__setattr__(self, "tags", tuple(self.tags))

    def replace(self, **changes) -> "RunConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "tags": list(self.tags)}

    @classmethod
    def from_dict(cls, values: dict) -> "RunConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown run config field(s): {', '.join(unknown)}")
        return cls(**values)

    @classmethod
    def from_json(cls, path) -> "RunConfig":
        try:
            values = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"cannot read run config {path}: {error}") from None
        return cls.from_dict(values)

    def label(self) -> str:
        """Short human name, e.g. 'alexnet tuned +aug @128'."""
        parts = [self.model, self.variant]
        if self.augment and self.variant != "augmented":
            parts.append("+aug")
        if self.weights == "none" and self.model in ("inceptionv3", "efficientnet_lite0"):
            parts.append("(random init)")
        return " ".join(parts) + f" @{self.image_size}"


# Named configurations anyone can re-run: `python -m tomjerry train --preset NAME --data PATH`.
RUN_PRESETS = {
    # The study's future work, done: EfficientNet-Lite0 with ImageNet weights, blocks 8-15 and the
    # head fine-tuned, cosine-decayed learning rate, light augmentation, mirror-image TTA; under
    # 10 minutes on 2 CPU cores for the 4,382 training frames. The rate is 3e-4 because 1e-3
    # wrecks the pretrained features while the new head is still random (measured: constant
    # outputs, validation AUC 0.50, after one epoch).
    "lite0-best": RunConfig(model="efficientnet_lite0", image_size=224, epochs=5, batch_size=32,
                            learning_rate=3e-4, lr_schedule="cosine", fine_tune_from=8, dropout_rate=0.2,
                            augment=True, augmentation="light", tta=True, patience=0, variant="augmented"),
    # Seconds on the demo data: a frozen base and a linear head.
    "demo": RunConfig(model="efficientnet_lite0", image_size=96, epochs=5, batch_size=32,
                      learning_rate=3e-3, dropout_rate=0.2, patience=0),
}
# Each preset records its own name, so a run says which preset it started from.
RUN_PRESETS = {name: config.replace(preset=name) for name, config in RUN_PRESETS.items()}
