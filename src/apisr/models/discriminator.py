"""Discriminators for GAN training (not generators: they are not in the model registry).

- ``patchgan_multiscale``: APISR's default, three PatchGAN discriminators that look at the
  image at full, half and quarter size (8,294,211 parameters). Each is 4x4 convs with
  spectral norm, 3 -> 64 -> 128 -> 256 -> 512 -> 1 channels, strides 2, 2, 2, 1, 1;
  a 256x256 input gives 30x30, 14x14 and 6x6 patch logits.
- ``unet_sn``: Real-ESRGAN's U-Net discriminator with spectral norm and skip connections
  (4,376,897 parameters), one logit per pixel. APISR trains its RRDB models with it.

Key names follow the original files so their discriminator checkpoints load too:
``dis_list.{0,1,2}.model.{0,2,5,8,11}.{bias,weight_orig,weight_u,weight_v}`` and
``conv0 ... conv9``.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm


class PatchDiscriminator(nn.Module):
    """One PatchGAN discriminator with spectral norm on every conv."""

    def __init__(self, in_channels: int = 3, num_feat: int = 64, num_layers: int = 3, max_feat_mult: int = 8):
        super().__init__()
        layers: list[nn.Module] = [
            spectral_norm(nn.Conv2d(in_channels, num_feat, 4, 2, 1)),
            nn.LeakyReLU(0.2, True),
        ]
        mult = 1
        # The Identity modules stand where a normalisation layer would be (the original's
        # norm_type="none"), which keeps the conv indices 0, 2, 5, 8, 11 of its key names.
        for layer in range(1, num_layers + 1):
            prev, mult = mult, min(2**layer, max_feat_mult)
            stride = 2 if layer < num_layers else 1
            layers += [
                spectral_norm(nn.Conv2d(num_feat * prev, num_feat * mult, 4, stride, 1)),
                nn.Identity(),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(spectral_norm(nn.Conv2d(num_feat * mult, 1, 4, 1, 1)))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class MultiScalePatchDiscriminator(nn.Module):
    """PatchGAN discriminators on the image at full, 1/2, 1/4 ... size; returns one output per scale."""

    def __init__(self, in_channels: int = 3, num_scales: int = 3, num_feat: int = 64, num_layers: int = 3):
        super().__init__()
        self.dis_list = nn.ModuleList(
            PatchDiscriminator(in_channels, num_feat, num_layers) for _ in range(num_scales)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for index, discriminator in enumerate(self.dis_list):
            if index:
                x = F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=True)
            outputs.append(discriminator(x))
        return outputs


class UNetDiscriminatorSN(nn.Module):
    """U-Net discriminator with spectral norm: three stride-2 downs, three ups with skips.

    Input sides must be multiples of 8 (the three halvings must come back to the same size).
    """

    def __init__(self, in_channels: int = 3, num_feat: int = 64, skip_connection: bool = True):
        super().__init__()
        self.skip_connection = skip_connection
        f = num_feat
        self.conv0 = nn.Conv2d(in_channels, f, 3, 1, 1)
        self.conv1 = spectral_norm(nn.Conv2d(f, f * 2, 4, 2, 1, bias=False))
        self.conv2 = spectral_norm(nn.Conv2d(f * 2, f * 4, 4, 2, 1, bias=False))
        self.conv3 = spectral_norm(nn.Conv2d(f * 4, f * 8, 4, 2, 1, bias=False))
        self.conv4 = spectral_norm(nn.Conv2d(f * 8, f * 4, 3, 1, 1, bias=False))
        self.conv5 = spectral_norm(nn.Conv2d(f * 4, f * 2, 3, 1, 1, bias=False))
        self.conv6 = spectral_norm(nn.Conv2d(f * 2, f, 3, 1, 1, bias=False))
        self.conv7 = spectral_norm(nn.Conv2d(f, f, 3, 1, 1, bias=False))
        self.conv8 = spectral_norm(nn.Conv2d(f, f, 3, 1, 1, bias=False))
        self.conv9 = nn.Conv2d(f, 1, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0 = F.leaky_relu(self.conv0(x), 0.2)
        x1 = F.leaky_relu(self.conv1(x0), 0.2)
        x2 = F.leaky_relu(self.conv2(x1), 0.2)
        x3 = F.leaky_relu(self.conv3(x2), 0.2)
        up = x3
        for conv, skip in ((self.conv4, x2), (self.conv5, x1), (self.conv6, x0)):
            up = F.leaky_relu(conv(F.interpolate(up, scale_factor=2, mode="bilinear", align_corners=False)), 0.2)
            if self.skip_connection:
                up = up + skip
        out = F.leaky_relu(self.conv7(up), 0.2)
        out = F.leaky_relu(self.conv8(out), 0.2)
        return self.conv9(out)


DISCRIMINATORS = {
    "patchgan_multiscale": MultiScalePatchDiscriminator,
    "unet_sn": UNetDiscriminatorSN,
}


def build_discriminator(name: Literal["patchgan_multiscale", "unet_sn"], **kwargs) -> nn.Module:
    if name not in DISCRIMINATORS:
        raise ValueError(f"unknown discriminator {name!r}; known: {', '.join(DISCRIMINATORS)}")
    return DISCRIMINATORS[name](**kwargs)
