"""The artifact loss (LDL): weights where the residual is locally noisy and the EMA model does better."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from apisr.config import ConfigError
from apisr.losses.artifact import artifact_loss, artifact_map
from apisr.losses.composite import build_generator_loss
from apisr.losses.config import LossConfig
from apisr.synthetic import seeded_frame
from apisr.train.config import load_train_config


def _target(seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(seeded_frame(seed, 48, 48)).permute(2, 0, 1)[None].float()


def _stipple(target: torch.Tensor, seed: int = 1, share: float = 0.2, strength: float = 0.2) -> torch.Tensor:
    dots = torch.from_numpy(np.random.default_rng(seed).random((1, 1, *target.shape[2:])) < share).float()
    return target + strength * dots


def test_stipple_is_weighted_and_a_smooth_offset_is_not():
    target = _target()
    ema = target + 0.01  # a model that is close everywhere
    stipple_map = artifact_map(_stipple(target), ema, target)
    offset_map = artifact_map(target + 0.1, ema, target)
    assert stipple_map.shape == (1, 1, 48, 48)
    assert stipple_map.mean() > 1e-3 and offset_map.abs().max() < 1e-6


def test_pixels_where_the_generator_beats_the_ema_model_are_left_alone():
    target = _target(2)
    output = _stipple(target)
    worse_ema = _stipple(target, seed=1, strength=0.3)  # the same dots, larger
    dots = (output - target).abs().sum(1, keepdim=True) > 0
    assert artifact_map(output, worse_ema, target)[dots].abs().max() == 0
    assert artifact_loss(output, worse_ema, target) == 0
    assert artifact_map(output, target, target)[dots].min() > 0


def test_a_gradient_step_through_the_generator_loss_removes_stipple():
    target = _target(3)
    output = _stipple(target).requires_grad_()
    loss = build_generator_loss([LossConfig(type="artifact", weight=1.0, target="gt")])
    terms = loss(output, pseudo_gt=torch.zeros_like(target), gt=target, ema_output=target)
    assert set(terms) == {"artifact", "total"}
    terms["total"].backward()
    stepped = (output - 0.05 * output.grad / output.grad.abs().max()).detach()
    assert artifact_loss(stepped, target, target) < terms["artifact"]
    # Only the dots move: the gradient is zero where the output already matches.
    assert output.grad[:, :, (output - target).detach().abs().sum(1)[0] == 0].abs().max() == 0
    with pytest.raises(ValueError, match="EMA generator's output"):
        loss(output, pseudo_gt=target, gt=target)


def test_config_needs_an_ema_and_no_sharpen(tmp_path):
    with pytest.raises(ConfigError, match="ema_decay"):
        load_train_config("train_smoke", ["ema_decay=0", "losses=[{type: l1}, {type: artifact, target: gt}]"])
    with pytest.raises(ConfigError, match="sharpen applies only"):
        LossConfig(type="artifact", sharpen={"sigma": 1.0})
