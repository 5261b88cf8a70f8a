"""RRDBNet (ESRGAN / Real-ESRGAN generator), with Real-ESRGAN's key names.

APISR ships RRDB with 6 blocks at 2x and 4x (4,472,963 and 4,467,779 parameters), the
same layout as Real-ESRGAN's ``RealESRGAN_x4plus_anime_6B``; all of them load strictly.

The network always upsamples 4x internally (nearest x2, conv, nearest x2, conv). For
2x and 1x the input is first folded with ``pixel_unshuffle`` (2 and 4), so
``conv_first`` sees 12 or 48 channels; odd sizes are padded here and cropped back.
"""

from __future__ import annotations

import re
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Architecture, StateDict, register

# Unshuffle factor that turns the internal 4x into the requested scale.
UNSHUFFLE = {4: 1, 2: 2, 1: 4}


class ResidualDenseBlock(nn.Module):
    """Five 3x3 convs, each seeing the block input and every earlier output; residual scaled by 0.2."""

    def __init__(self, num_feat: int, num_grow_ch: int):
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            features.append(self.lrelu(conv(torch.cat(features, 1))))
        return self.conv5(torch.cat(features, 1)) * 0.2 + x


class RRDB(nn.Module):
    """Three dense blocks in a row, with their own residual scaled by 0.2."""

    def __init__(self, num_feat: int, num_grow_ch: int):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    def __init__(
        self,
        scale: int = 4,
        num_feat: int = 64,
        num_block: int = 6,
        num_grow_ch: int = 32,
        in_channels: int = 3,
        out_channels: int = 3,
    ):
        super().__init__()
        if scale not in UNSHUFFLE:
            raise ValueError(f"RRDBNet supports scales {sorted(UNSHUFFLE)}, not {scale}")
        self.scale = scale
        self.unshuffle = UNSHUFFLE[scale]
        self.conv_first = nn.Conv2d(in_channels * self.unshuffle**2, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(num_feat, num_grow_ch) for _ in range(num_block)))
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, out_channels, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        if self.unshuffle > 1:
            pad_h, pad_w = -height % self.unshuffle, -width % self.unshuffle
            if pad_h or pad_w:
                # Reflect needs the pad to be smaller than the side; tiny inputs replicate.
                mode = "reflect" if pad_h < height and pad_w < width else "replicate"
                x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
            x = F.pixel_unshuffle(x, self.unshuffle)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        out = self.conv_last(self.lrelu(self.conv_hr(feat)))
        return out[..., : height * self.scale, : width * self.scale]


_BLOCK_KEY = re.compile(r"^body\.(\d+)\.rdb1\.conv1\.weight$")
_TOP_CONVS = ("conv_first", "conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last")


def detect(state_dict: StateDict) -> dict[str, Any] | None:
    if not all(f"{name}.weight" in state_dict for name in _TOP_CONVS):
        return None
    blocks = [int(m.group(1)) for key in state_dict if (m := _BLOCK_KEY.match(key))]
    num_block = len(blocks)
    if not blocks or sorted(blocks) != list(range(num_block)):
        return None
    # Per block: 3 dense blocks x 5 convs x (weight, bias); plus the six top-level convs.
    if len(state_dict) != num_block * 30 + 2 * len(_TOP_CONVS):
        return None
    first = state_dict["conv_first.weight"]
    last = state_dict["conv_last.weight"]
    num_feat, folded_in = first.shape[:2]
    out_channels = last.shape[0]
    # The input is assumed to have as many channels as the output (RGB in, RGB out),
    # so conv_first's input width tells the unshuffle factor and thus the scale.
    scale = next((s for s, f in UNSHUFFLE.items() if out_channels * f * f == folded_in), None)
    if scale is None:
        return None
    return {
        "scale": scale,
        "num_feat": int(num_feat),
        "num_block": num_block,
        "num_grow_ch": int(state_dict["body.0.rdb1.conv1.weight"].shape[0]),
        "in_channels": int(out_channels),
        "out_channels": int(out_channels),
    }


ARCHITECTURE = register(
    Architecture(
        name="rrdb",
        detect=detect,
        build=RRDBNet,
        receptive_field=32,
        description="RRDBNet (ESRGAN/Real-ESRGAN; APISR's RRDB-6 at 2x and 4x)",
        examples=(
            {"scale": 4, "num_feat": 8, "num_block": 1, "num_grow_ch": 4},
            {"scale": 2, "num_feat": 8, "num_block": 1, "num_grow_ch": 4},
            {"scale": 1, "num_feat": 8, "num_block": 1, "num_grow_ch": 4},
        ),
    )
)
