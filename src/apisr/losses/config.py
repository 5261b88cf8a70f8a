"""One entry of a training config's ``losses`` list: ``{type, weight, ...}``.

The generator's loss is the weighted sum of the entries, e.g. the paper's stage 2::

    losses:
      - {type: l1, weight: 1.0}
      - {type: perceptual, backbone: vgg19, weight: 0.5}
      - {type: perceptual, backbone: danbooru_resnet50, weight: 0.5}
      - {type: gan, gan_type: lsgan, weight: 0.2}

``edge`` (not in the paper) is one minus the mean gradient-magnitude similarity
(:mod:`apisr.losses.edge`): it charges for blurred or lost edges, which L1 barely does.

L1, edge and perceptual terms compare with the line-enhanced pseudo-GT by default (as in the
paper); ``target: gt`` makes a term compare with the plain GT instead. The discriminator's
"real" images are always the plain GT (as in the paper). ``sharpen`` (not in the paper) makes a
term compare with a limited-sharpened copy of its target (:mod:`apisr.enhance.limited_sharpen`),
e.g. ``{type: l1, target: gt, sharpen: {sigma: 1.5, amount: 2.0}}``.

``chroma`` (not in the paper; :mod:`apisr.losses.chroma`) is the L1 distance of the Cb and Cr
channels alone: weighted above the L1 term it keeps a GAN stage from drawing colour fringes.

``artifact`` (not in the paper; LDL, :mod:`apisr.losses.artifact`) is an L1 weighted where the
output's residual is locally noisy and worse than the EMA generator's: it suppresses the fringe
and stipple a GAN stage draws. It needs ``ema_decay`` above 0.

``near_edges`` (not in the paper) restricts a ``gan`` term to pixels near the GT's edges, e.g.
``{type: gan, near_edges: {threshold: 20, radius: 3}}``: the GAN may sharpen lines but gets no
say over flat areas, where a compact generator answers it with a stipple.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from apisr.config import ConfigError


@dataclass(frozen=True)
class SharpenConfig:
    """Limited sharpening of a loss term's target: unsharp mask, clamped to the original's neighbourhood."""

    sigma: float = 1.5  # of the Gaussian the unsharp mask subtracts, in HR pixels
    amount: float = 2.0  # how much of the high-pass residual is added
    radius: int = 1  # of the square neighbourhood whose darkest and brightest value bound the result

    def __post_init__(self) -> None:
        if self.sigma <= 0 or self.amount < 0 or self.radius < 1:
            raise ConfigError("sharpen: sigma must be positive, amount not negative and radius at least 1")


@dataclass(frozen=True)
class EdgeMaskConfig:
    """Where a GAN term applies: pixels within ``radius`` of a GT edge (:func:`apisr.losses.edge.edge_mask`)."""

    threshold: float = 20.0  # luma gradient magnitude (3x3 Prewitt, 0-255 scale) that makes an edge pixel
    radius: int = 3  # in HR pixels

    def __post_init__(self) -> None:
        if self.threshold <= 0 or self.radius < 0:
            raise ConfigError("near_edges: threshold must be positive and radius not negative")


@dataclass(frozen=True)
class LossConfig:
    type: Literal["l1", "edge", "chroma", "perceptual", "gan", "artifact"]
    weight: float = 1.0
    # perceptual: which network (see apisr.losses.backbones) and which of its layers, with weights;
    # null layers means the backbone's documented defaults.
    backbone: str | None = None
    layers: dict[str, float] | None = None
    # perceptual: true reproduces the original code's detached hooks (the term then has no gradient).
    detach_features: bool = False
    # gan: lsgan (MSE, the paper's PatchGAN loss) or vanilla (BCE on logits, the original's U-Net D loss).
    gan_type: Literal["lsgan", "vanilla"] = "lsgan"
    # gan: apply the term only near the GT's edges (the discriminator still sees whole images).
    near_edges: EdgeMaskConfig | None = None
    # l1, edge, chroma, perceptual and artifact: compare with the line-enhanced pseudo-GT (the paper) or the plain GT. The
    # pseudo-GT is only about 27 dB PSNR-Y from the GT (its unsharp masking touches every edge), so a
    # term that must keep fidelity to the GT, e.g. the L1 of a PSNR-oriented model, uses gt.
    target: Literal["pseudo_gt", "gt"] = "pseudo_gt"
    # l1, edge, chroma and perceptual: compare with a limited-sharpened copy of the target instead.
    sharpen: SharpenConfig | None = None

    def __post_init__(self) -> None:
        from apisr.losses.backbones import BACKBONES

        if self.weight < 0:
            raise ConfigError(f"weight: {self.weight} is negative")
        if self.type == "perceptual":
            if self.backbone not in BACKBONES:
                raise ConfigError(f"backbone: {self.backbone!r} is not one of {', '.join(BACKBONES)}")
        elif self.backbone is not None or self.layers is not None or self.detach_features:
            raise ConfigError(f"backbone, layers and detach_features apply only to perceptual losses, not {self.type}")
        if self.type == "artifact" and self.sharpen is not None:
            raise ConfigError("sharpen applies only to l1, edge, chroma and perceptual losses, not artifact")
        if self.type != "gan" and self.near_edges is not None:
            raise ConfigError(f"near_edges applies only to gan losses, not {self.type}")
        if self.type == "gan" and (self.target != "pseudo_gt" or self.sharpen is not None):
            raise ConfigError("target and sharpen apply only to l1, edge, chroma and perceptual losses; "
                              "the discriminator always sees the plain GT")
