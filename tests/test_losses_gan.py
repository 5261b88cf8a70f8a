"""GAN losses on one discriminator output or a list of scales."""

from __future__ import annotations

import pytest
import torch

from apisr.losses.gan import gan_loss


def test_lsgan_is_mse_to_one_or_zero_averaged_over_scales():
    scales = [torch.full((2, 1, 4, 4), 0.5), torch.full((2, 1, 2, 2), 1.0)]
    assert gan_loss(scales, real=True, gan_type="lsgan").item() == pytest.approx((0.25 + 0.0) / 2)
    assert gan_loss(scales, real=False, gan_type="lsgan").item() == pytest.approx((0.25 + 1.0) / 2)


def test_vanilla_is_bce_on_logits():
    logits = torch.zeros(1, 1, 8, 8)
    assert gan_loss(logits, real=True, gan_type="vanilla").item() == pytest.approx(torch.log(torch.tensor(2.0)).item())
    confident = torch.full((1, 1, 8, 8), 10.0)
    assert gan_loss(confident, real=True, gan_type="vanilla") < gan_loss(confident, real=False, gan_type="vanilla")
