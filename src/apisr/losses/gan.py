"""Adversarial losses for one discriminator output or a list of them (one per scale).

``lsgan``: mean squared error to 1 (real) or 0 (fake), the paper's choice for the
multi-scale PatchGAN. ``vanilla``: binary cross-entropy on logits, the original's
choice for the U-Net discriminator. With several scales the loss is their mean.
"""

from __future__ import annotations

from typing import Literal, Sequence

import torch
import torch.nn.functional as F

GanType = Literal["lsgan", "vanilla"]


def gan_loss(prediction: torch.Tensor | Sequence[torch.Tensor], real: bool, gan_type: GanType) -> torch.Tensor:
    """How far the discriminator's ``prediction`` is from saying ``real``."""
    predictions = [prediction] if isinstance(prediction, torch.Tensor) else list(prediction)
    losses = []
    for p in predictions:
        p = p.float()
        target = torch.ones_like(p) if real else torch.zeros_like(p)
        if gan_type == "lsgan":
            losses.append(F.mse_loss(p, target))
        else:
            losses.append(F.binary_cross_entropy_with_logits(p, target))
    return torch.stack(losses).mean()
