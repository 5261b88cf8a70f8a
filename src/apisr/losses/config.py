"""One entry of a training config's ``losses`` list: ``{type, weight, ...}``.

The generator's loss is the weighted sum of the entries, e.g. the paper's stage 2::

    losses:
      - {type: l1, weight: 1.0}
      - {type: perceptual, backbone: vgg19, weight: 0.5}
      - {type: perceptual, backbone: danbooru_resnet50, weight: 0.5}
      - {type: gan, gan_type: lsgan, weight: 0.2}

L1 and perceptual terms compare with the line-enhanced pseudo-GT; the discriminator's
"real" images are the plain GT (as in the paper).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from apisr.config import ConfigError


@dataclass(frozen=True)
class LossConfig:
    type: Literal["l1", "perceptual", "gan"]
    weight: float = 1.0
    # perceptual: which network (see apisr.losses.backbones) and which of its layers, with weights;
    # null layers means the backbone's documented defaults.
    backbone: str | None = None
    layers: dict[str, float] | None = None
    # perceptual: true reproduces the original code's detached hooks (the term then has no gradient).
    detach_features: bool = False
    # gan: lsgan (MSE, the paper's PatchGAN loss) or vanilla (BCE on logits, the original's U-Net D loss).
    gan_type: Literal["lsgan", "vanilla"] = "lsgan"

    def __post_init__(self) -> None:
        from apisr.losses.backbones import BACKBONES

        if self.weight < 0:
            raise ConfigError(f"weight: {self.weight} is negative")
        if self.type == "perceptual":
            if self.backbone not in BACKBONES:
                raise ConfigError(f"backbone: {self.backbone!r} is not one of {', '.join(BACKBONES)}")
        elif self.backbone is not None or self.layers is not None or self.detach_features:
            raise ConfigError(f"backbone, layers and detach_features apply only to perceptual losses, not {self.type}")
