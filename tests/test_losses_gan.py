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


def test_a_mask_makes_the_loss_the_weighted_mean_at_every_scale():
    scales = [torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 2, 2)]
    scales[0][..., :, :2] = 1.0  # says "real" on the left half only
    scales[1][..., :, :1] = 1.0
    left = torch.zeros(1, 1, 8, 8)
    left[..., :, :4] = 1.0
    assert gan_loss(scales, real=True, gan_type="lsgan", mask=left).item() == pytest.approx(0.0)
    assert gan_loss(scales, real=True, gan_type="lsgan", mask=1 - left).item() == pytest.approx(1.0)
    assert gan_loss(scales, real=True, gan_type="lsgan").item() == pytest.approx(0.5)


def test_near_edges_the_generator_gets_gan_gradient_only_close_to_gt_edges():
    from apisr.losses.composite import GeneratorLoss
    from apisr.losses.config import EdgeMaskConfig, LossConfig

    gt = torch.zeros(1, 3, 32, 32)
    gt[..., 16:] = 1.0  # one vertical edge between columns 15 and 16
    output = torch.rand(1, 3, 32, 32, requires_grad=True)
    verdict = output.mean(1, keepdim=True)  # a per-pixel "discriminator"
    loss = GeneratorLoss([LossConfig(type="gan", near_edges=EdgeMaskConfig(threshold=20, radius=2))], [None])
    loss(output, gt, gt, verdict)["total"].backward()
    touched = output.grad.abs().sum(dim=(0, 1, 2)) > 0  # per column
    # Prewitt marks columns 15 and 16; the mask widens them by 2 on each side.
    assert touched.nonzero().flatten().tolist() == list(range(13, 19))


def test_near_edges_is_rejected_on_terms_other_than_gan():
    from apisr.config import ConfigError
    from apisr.losses.config import EdgeMaskConfig, LossConfig

    with pytest.raises(ConfigError, match="near_edges applies only to gan"):
        LossConfig(type="l1", near_edges=EdgeMaskConfig())
