"""The chroma loss charges colour differences and ignores brightness differences."""

from __future__ import annotations

import torch

from apisr.losses.chroma import chroma, chroma_loss


def test_grey_has_no_chroma_and_pure_colours_have_the_bt601_values():
    grey = torch.rand(1, 1, 4, 4).expand(1, 3, 4, 4)
    assert chroma(grey).abs().max() < 1e-6
    red = torch.zeros(1, 3, 1, 1)
    red[:, 0] = 1.0
    assert torch.allclose(chroma(red).flatten(), torch.tensor([-0.168736, 0.5]))


def test_a_brightness_change_costs_nothing_and_a_tint_costs_in_proportion():
    target = torch.rand(2, 3, 16, 16) * 0.5
    assert chroma_loss(target + 0.3, target) < 1e-6
    tint = torch.tensor([0.1, 0.0, -0.1]).view(1, 3, 1, 1)
    small, large = chroma_loss(target + tint, target), chroma_loss(target + 2 * tint, target)
    assert small > 0.01 and torch.isclose(large, 2 * small)


def test_the_term_in_the_generator_loss_pulls_colour_back_and_leaves_luma():
    from apisr.losses.composite import GeneratorLoss
    from apisr.losses.config import LossConfig

    target = torch.full((1, 3, 8, 8), 0.5)
    output = (target + torch.tensor([0.1, -0.05, 0.0]).view(1, 3, 1, 1)).requires_grad_(True)
    loss = GeneratorLoss([LossConfig(type="chroma", weight=2.0, target="gt")], [None])
    terms = loss(output, target, target)
    terms["total"].backward()
    step = output - 0.05 * output.grad
    assert chroma_loss(step, target) < chroma_loss(output, target)
    assert torch.isclose(terms["chroma"], 2 * chroma_loss(output, target))
