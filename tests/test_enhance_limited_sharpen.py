"""Limited sharpening of a loss target: steeper edges, no overshoot, flat areas untouched."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from apisr.config import ConfigError, from_dict
from apisr.enhance.limited_sharpen import gaussian_blur, limited_sharpen
from apisr.losses.composite import build_generator_loss
from apisr.losses.config import LossConfig
from apisr.synthetic import seeded_frame


def _soft_line(width: int = 40) -> torch.Tensor:
    """A grey card with a dark vertical line whose edges are blurred, as a 1x3xHxW batch."""
    picture = torch.full((1, 3, 24, width), 0.8)
    picture[..., width // 2 - 2 : width // 2 + 2] = 0.1
    return gaussian_blur(picture, 1.5)


def _steepness(batch: torch.Tensor) -> float:
    return (batch[..., 1:] - batch[..., :-1]).abs().max().item()


def test_blur_matches_opencv():
    import cv2

    picture = seeded_frame(0, 48, 64)
    ours = gaussian_blur(torch.from_numpy(picture).permute(2, 0, 1)[None], 1.2)[0].permute(1, 2, 0).numpy()
    theirs = cv2.GaussianBlur(picture, (9, 9), 1.2, borderType=cv2.BORDER_REFLECT_101)
    assert np.abs(ours - theirs).max() < 1e-5


def test_edges_get_steeper_without_overshoot_and_flat_areas_stay():
    soft = _soft_line()
    sharp = limited_sharpen(soft, sigma=1.5, amount=2.0, radius=1)
    assert _steepness(sharp) > 1.5 * _steepness(soft)
    # No pixel leaves the range of its 3x3 neighbourhood in the original, so no rim around the line.
    assert sharp.min() >= soft.min() - 1e-6 and sharp.max() <= soft.max() + 1e-6
    torch.testing.assert_close(sharp[..., :5], soft[..., :5])  # far from the line: unchanged


def test_plain_unsharp_mask_would_overshoot():
    # The reason for the clamp: the same mask without it draws a bright rim beside the line.
    soft = _soft_line()
    unclamped = soft + 2.0 * (soft - gaussian_blur(soft, 1.5))
    assert unclamped.max() > soft.max() + 0.02
    assert limited_sharpen(soft, 1.5, 2.0, 1).max() <= soft.max() + 1e-6


def test_a_sharpened_target_pulls_the_output_towards_steeper_edges():
    soft = _soft_line()
    plain = build_generator_loss([LossConfig(type="l1", target="gt")])
    sharpened = build_generator_loss([from_dict(LossConfig, {"type": "l1", "target": "gt", "sharpen": {"sigma": 1.5}})])
    assert plain(soft, pseudo_gt=soft, gt=soft)["total"].item() == 0.0  # a perfect copy of the GT
    output = soft.clone().requires_grad_()
    optimiser = torch.optim.SGD([output], lr=50.0)
    for _ in range(20):
        optimiser.zero_grad()
        sharpened(output, pseudo_gt=soft, gt=soft)["total"].backward()
        optimiser.step()
    assert _steepness(output.detach()) > 1.3 * _steepness(soft)


def test_sharpen_is_checked():
    with pytest.raises(ConfigError, match="sigma"):
        from_dict(LossConfig, {"type": "l1", "sharpen": {"sigma": 0}})
    with pytest.raises(ConfigError, match="sharpen"):
        from_dict(LossConfig, {"type": "gan", "sharpen": {}})
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(LossConfig, {"type": "l1", "sharpen": {"strength": 2}})
