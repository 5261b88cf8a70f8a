"""Adversarial losses for one discriminator output or a list of them (one per scale).

``lsgan``: mean squared error to 1 (real) or 0 (fake), the paper's choice for the
multi-scale PatchGAN. ``vanilla``: binary cross-entropy on logits, the original's
choice for the U-Net discriminator. With several scales the loss is their mean.

A ``mask`` (N, 1, H, W) at the image's size weights the verdicts pixel by pixel (each scale's
verdict map gets the mask averaged down to its size): the loss is then the weighted mean.
"""

from __future__ import annotations

from typing import Literal, Sequence

import torch
import torch.nn.functional as F

GanType = Literal["lsgan", "vanilla"]


def gan_loss(prediction: torch.Tensor | Sequence[torch.Tensor], real: bool, gan_type: GanType,
             mask: torch.Tensor | None = None) -> torch.Tensor:
    """How far the discriminator's ``prediction`` is from saying ``real``."""
    predictions = [prediction] if isinstance(prediction, torch.Tensor) else list(prediction)
    losses = []
    for p in predictions:
        p = p.float()
        target = torch.ones_like(p) if real else torch.zeros_like(p)
        if gan_type == "lsgan":
            per_verdict = F.mse_loss(p, target, reduction="none")
        else:
            per_verdict = F.binary_cross_entropy_with_logits(p, target, reduction="none")
        if mask is None:
            losses.append(per_verdict.mean())
        else:
            weight = F.adaptive_avg_pool2d(mask.float(), p.shape[-2:]).expand_as(p)
            losses.append((per_verdict * weight).sum() / weight.sum().clamp_min(1e-8))
    return torch.stack(losses).mean()
