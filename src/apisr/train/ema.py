"""Exponential moving average of the generator's weights, the weights a run releases."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        source = model.state_dict()
        for key, value in self.model.state_dict().items():
            if value.is_floating_point():
                value.lerp_(source[key].detach(), 1.0 - self.decay)
            else:
                value.copy_(source[key])
