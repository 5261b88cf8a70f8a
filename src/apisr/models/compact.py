"""A compact VGG-style generator, key-compatible with Real-ESRGAN's SRVGGNetCompact.

The whole network runs at input resolution: a 3x3 conv and PReLU, then ``num_conv``
(conv, PReLU) pairs, then a last conv to ``3 * scale**2`` channels that a pixel shuffle
turns into the output, on top of the nearest-upsampled input. No attention, no dense
connections: it is the fast model, ``realesr-animevideov3`` (64 features, 16 convs,
621,424 parameters) among others, and the layout of apisr's own bundled default.

``body`` is one ``nn.Sequential`` so the keys are ``body.{i}.weight``/``body.{i}.bias``
exactly as in Real-ESRGAN's files (even ``i``: convs; odd ``i``: PReLU slopes).
On CPU it usually runs faster in ``channels_last`` (model and input converted
by the caller); the output is the same.
"""

from __future__ import annotations

import math
import re
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Architecture, StateDict, register

SCALES = (1, 2, 3, 4)


class CompactSR(nn.Module):
    def __init__(self, scale: int = 4, num_feat: int = 64, num_conv: int = 16, in_channels: int = 3):
        super().__init__()
        if scale not in SCALES:
            raise ValueError(f"compact supports scales {SCALES}, not {scale}")
        self.scale = scale
        layers: list[nn.Module] = [nn.Conv2d(in_channels, num_feat, 3, 1, 1), nn.PReLU(num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.PReLU(num_feat)]
        layers.append(nn.Conv2d(num_feat, in_channels * scale * scale, 3, 1, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The network only learns the residual over a nearest-neighbour upscale.
        return F.pixel_shuffle(self.body(x), self.scale) + F.interpolate(x, scale_factor=self.scale, mode="nearest")


_KEY = re.compile(r"^body\.(\d+)\.(weight|bias)$")


def detect(state_dict: StateDict) -> dict[str, Any] | None:
    layers: dict[int, dict[str, torch.Tensor]] = {}
    for key, tensor in state_dict.items():
        match = _KEY.match(key)
        if not match:
            return None
        layers.setdefault(int(match.group(1)), {})[match.group(2)] = tensor
    last = len(layers) - 1
    if last < 2 or last % 2 or sorted(layers) != list(range(last + 1)):
        return None
    for index, params in layers.items():
        is_conv = index % 2 == 0
        if set(params) != ({"weight", "bias"} if is_conv else {"weight"}):
            return None
        if params["weight"].dim() != (4 if is_conv else 1):
            return None
    in_channels = int(layers[0]["weight"].shape[1])
    num_feat = int(layers[0]["weight"].shape[0])
    out_planes = int(layers[last]["weight"].shape[0])
    scale = math.isqrt(out_planes // in_channels)
    if scale not in SCALES or in_channels * scale * scale != out_planes:
        return None
    return {"scale": scale, "num_feat": num_feat, "num_conv": last // 2 - 1, "in_channels": in_channels}


ARCHITECTURE = register(
    Architecture(
        name="compact",
        detect=detect,
        build=CompactSR,
        # Each 3x3 conv adds one pixel of context on each side.
        receptive_field=20,
        description="compact VGG-style net (Real-ESRGAN SRVGGNetCompact keys; realesr-animevideov3)",
        examples=tuple({"scale": s, "num_feat": 8, "num_conv": 2} for s in SCALES),
    )
)
