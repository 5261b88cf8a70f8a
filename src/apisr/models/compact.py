"""A compact VGG-style generator, key-compatible with Real-ESRGAN's SRVGGNetCompact.

The whole network runs at input resolution: a 3x3 conv and PReLU, then ``num_conv``
(conv, PReLU) pairs, then a last conv to ``3 * scale**2`` channels that a pixel shuffle
turns into the output, on top of the upsampled input. No attention, no dense
connections: it is the fast model, ``realesr-animevideov3`` (64 features, 16 convs,
621,424 parameters) among others, and the layout of apisr's own bundled defaults.

``upsample`` is how the input is enlarged under the learned residual: ``nearest`` in
Real-ESRGAN's files (and so whenever a file does not say otherwise, since the keys cannot
tell), ``bicubic`` in apisr's bundled models. A freshly initialised network adds almost
nothing, so a bicubic base starts training at bicubic quality instead of blocky nearest
pixels; on a short CPU budget that head start is worth about 0.25 dB (measured after 100
iterations of the stage-1 recipe: 23.05 dB against 22.80 for nearest).

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
UPSAMPLING = ("nearest", "bicubic")


class CompactSR(nn.Module):
    def __init__(self, scale: int = 4, num_feat: int = 64, num_conv: int = 16, in_channels: int = 3,
                 upsample: str = "nearest"):
        super().__init__()
        if scale not in SCALES:
            raise ValueError(f"compact supports scales {SCALES}, not {scale}")
        if upsample not in UPSAMPLING:
            raise ValueError(f"compact upsample must be one of {UPSAMPLING}, not {upsample!r}")
        self.scale = scale
        self.upsample = upsample
        layers: list[nn.Module] = [nn.Conv2d(in_channels, num_feat, 3, 1, 1), nn.PReLU(num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.PReLU(num_feat)]
        layers.append(nn.Conv2d(num_feat, in_channels * scale * scale, 3, 1, 1))
        self.body = nn.Sequential(*layers)
        self._initialise()

    def _initialise(self) -> None:
        """He initialisation for PReLU's 0.25 slope, and a last conv ten times smaller.

        PyTorch's default conv init shrinks the signal about threefold per layer, so through
        17 convs a fresh network's output moves by 1e-8 when its input moves by 0.05: it
        learns only biases at first and needs thousands of iterations before the input
        reaches the residual (measured: 1e-4 after 2,300 iterations, and a model no better
        than its bicubic base). He init keeps the signal's scale through the stack; the
        small last layer keeps the first outputs close to the base upscale.
        """
        convs = [layer for layer in self.body if isinstance(layer, nn.Conv2d)]
        for conv in convs:
            nn.init.kaiming_normal_(conv.weight, a=0.25, nonlinearity="leaky_relu")
            nn.init.zeros_(conv.bias)
        with torch.no_grad():
            convs[-1].weight.mul_(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The network only learns the residual over a plain upscale of its input.
        base = F.interpolate(x, scale_factor=self.scale, mode=self.upsample,
                             align_corners=False if self.upsample == "bicubic" else None)
        return F.pixel_shuffle(self.body(x), self.scale) + base


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
