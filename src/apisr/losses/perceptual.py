"""Perceptual loss: weighted L1 between a frozen network's features of the output and of the target.

Features are taken with forward hooks on the tapped modules; the forward pass stops as
soon as the last tap has fired, so e.g. VGG19 never runs its final pool. The target's
features are computed without gradient; the output's keep theirs, so the loss trains
the generator. ``detach_features=True`` reproduces the original APISR code, whose hooks
stored ``output.detach()``: the term is then a constant with no gradient (see the spec,
section 5.2), kept only to compare against the released behaviour.
"""

from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from apisr.losses.backbones import PerceptualBackbone


class _AllTapsSeen(Exception):
    """Raised from a hook to stop the forward pass once every tap has its features."""


class PerceptualLoss(nn.Module):
    def __init__(
        self,
        backbone: PerceptualBackbone,
        network: nn.Module,
        layers: Mapping[str, float] | None = None,
        detach_features: bool = False,
    ) -> None:
        super().__init__()
        self.network = network.eval().requires_grad_(False)
        self.layers = dict(backbone.default_layers if layers is None else layers)
        self.detach_features = detach_features
        self.register_buffer("mean", torch.tensor(backbone.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(backbone.std).view(1, 3, 1, 1), persistent=False)
        modules = dict(self.network.named_modules())
        self._features: dict[str, torch.Tensor] = {}
        for tap in self.layers:
            path = backbone.module_path(tap)
            if path not in modules:
                raise ValueError(f"perceptual backbone {backbone.name} has no layer {tap!r} (module {path!r})")
            modules[path].register_forward_hook(self._hook(tap))

    def _hook(self, tap: str):
        def store(module: nn.Module, inputs: object, output: torch.Tensor) -> None:
            self._features[tap] = output
            if len(self._features) == len(self.layers):
                raise _AllTapsSeen

        return store

    def train(self, mode: bool = True) -> "PerceptualLoss":
        # The backbone's batch norms must keep their published statistics.
        super().train(mode)
        self.network.eval()
        return self

    def features(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        self._features = {}
        try:
            self.network((image - self.mean) / self.std)
        except _AllTapsSeen:
            pass
        features, self._features = self._features, {}
        return features

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target_features = self.features(target)
        output_features = self.features(output)
        loss = output.new_zeros((), dtype=torch.float32)
        for tap, weight in self.layers.items():
            feature = output_features[tap]
            if self.detach_features:
                feature = feature.detach()
            loss = loss + weight * F.l1_loss(feature.float(), target_features[tap].float())
        return loss
