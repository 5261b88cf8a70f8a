"""Artifact loss: L1 to the target, weighted where the output looks like a GAN artefact.

After "Details or Artifacts: A Locally Discriminative Learning Approach to Realistic Image
Super-Resolution" (Liang et al., CVPR 2022, LDL). A GAN-trained generator draws real detail and
false texture (a dotted fringe along edges, a stipple in flat areas) with the same confidence.
LDL tells them apart by two observations: an artefact leaves a residual (output minus target)
that changes from pixel to pixel, so its local variance is high, while a detail the model got
slightly wrong leaves a smooth residual; and the exponential moving average (EMA) of the
generator, which averages out the GAN's fluctuations, makes fewer artefacts than the generator
itself. So the weight of a pixel is

    local variance of the residual in a 7x7 window  x  (variance of the whole residual) ** (1/5)

and zero wherever the EMA model's residual is larger than the generator's (there the generator
is the better of the two and is left to the GAN). The weight is a map, not a path for gradients.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

WINDOW = 7
# LDL's exponent for the image-level variance: it damps the weight of patches whose residual is
# large everywhere (hard content) relative to the local variance that marks artefacts.
GLOBAL_EXPONENT = 0.2


def artifact_map(output: torch.Tensor, ema_output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-pixel weights (N, 1, H, W), without gradient, of :func:`artifact_loss`."""
    with torch.no_grad():
        residual = (target - output).abs().sum(1, keepdim=True).float()
        residual_ema = (target - ema_output).abs().sum(1, keepdim=True).float()
        padded = F.pad(residual, [WINDOW // 2] * 4, mode="reflect")
        mean = F.avg_pool2d(padded, WINDOW, stride=1)
        local_variance = (F.avg_pool2d(padded * padded, WINDOW, stride=1) - mean * mean).clamp_min(0)
        global_variance = residual.flatten(1).var(dim=1).view(-1, 1, 1, 1)
        weight = local_variance * global_variance.pow(GLOBAL_EXPONENT)
        return torch.where(residual < residual_ema, torch.zeros_like(weight), weight)


def artifact_loss(output: torch.Tensor, ema_output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean of ``weight * |output - target|`` with the weights of :func:`artifact_map`."""
    weight = artifact_map(output, ema_output, target)
    return (weight * (output.float() - target.float()).abs()).mean()
