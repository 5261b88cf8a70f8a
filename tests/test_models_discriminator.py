"""The two GAN discriminators: parameter counts, key names and output shapes from the paper's code."""

from __future__ import annotations

import pytest
import torch

from apisr.models.discriminator import build_discriminator
from apisr.models.registry import ARCHITECTURES, build_model


def _count(model):
    return sum(p.numel() for p in model.parameters())


def test_multiscale_patchgan_matches_the_paper():
    model = build_discriminator("patchgan_multiscale")
    assert _count(model) == 8_294_211
    expected = {
        f"dis_list.{d}.model.{layer}.{part}"
        for d in range(3)
        for layer in (0, 2, 5, 8, 11)
        for part in ("bias", "weight_orig", "weight_u", "weight_v")
    }
    assert set(model.state_dict()) == expected


def test_multiscale_patchgan_output_shapes():
    model = build_discriminator("patchgan_multiscale", num_feat=4)
    outputs = model(torch.rand(2, 3, 256, 256))
    assert [tuple(o.shape) for o in outputs] == [(2, 1, 30, 30), (2, 1, 14, 14), (2, 1, 6, 6)]


def test_unet_discriminator_matches_real_esrgan():
    model = build_discriminator("unet_sn")
    assert _count(model) == 4_376_897
    names = {key.split(".")[0] for key in model.state_dict()}
    assert names == {f"conv{i}" for i in range(10)}
    assert "conv1.weight_orig" in model.state_dict() and "conv0.weight" in model.state_dict()


def test_unet_discriminator_gives_one_logit_per_pixel_and_trains():
    model = build_discriminator("unet_sn", num_feat=8)
    x = torch.rand(1, 3, 32, 40)
    out = model(x)
    assert out.shape == (1, 1, 32, 40)
    out.mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_discriminators_are_not_generators():
    build_model("compact", scale=2, num_feat=4, num_conv=1)  # imports every architecture
    assert not {"patchgan_multiscale", "unet_sn"} & set(ARCHITECTURES)
    with pytest.raises(ValueError, match="known: patchgan_multiscale, unet_sn"):
        build_discriminator("vgg")
