"""Limited sharpening: a crisper training target without halos (not in the paper).

A model trained with L1 against the plain GT draws an edge as soft as the average of the
ground truths that could have produced its input, and half of our training frames are soft
screencaps: given a soft low-bitrate frame it answers with soft lines. Comparing its output
with a sharpened GT instead asks for steeper edges than the data has. A plain unsharp mask
would also ask for overshoot (a white rim on both sides of every dark line); clamping the
sharpened picture to the darkest and brightest value of each pixel's neighbourhood in the
original, the "limited sharpening" of video encoders' filter chains, keeps the steeper edge
and drops the rim, and it leaves flat areas and the inside of lines as they were.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of an NCHW batch, edges mirrored, kernel radius 3 sigma."""
    radius = max(1, math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    channels = images.shape[1]
    horizontal = kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    vertical = kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    padded = F.pad(images, (radius, radius, radius, radius), mode="reflect")
    return F.conv2d(F.conv2d(padded, horizontal, groups=channels), vertical, groups=channels)


def limited_sharpen(images: torch.Tensor, sigma: float, amount: float, radius: int) -> torch.Tensor:
    """``images + amount * (images - blur(images, sigma))``, clamped per pixel to the range of
    the original's ``(2 radius + 1)``-square neighbourhood (so also to [0, 1] for images in [0, 1])."""
    sharpened = images + amount * (images - gaussian_blur(images, sigma))
    size = 2 * radius + 1
    brightest = F.max_pool2d(images, size, stride=1, padding=radius)
    darkest = -F.max_pool2d(-images, size, stride=1, padding=radius)
    return torch.minimum(torch.maximum(sharpened, darkest), brightest)
