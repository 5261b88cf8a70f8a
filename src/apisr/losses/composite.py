"""The generator's loss: the weighted sum of the config's ``losses`` entries, term by term."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from apisr.enhance.limited_sharpen import limited_sharpen
from apisr.losses.artifact import artifact_loss
from apisr.losses.backbones import get_backbone
from apisr.losses.chroma import chroma_loss
from apisr.losses.config import LossConfig
from apisr.losses.edge import edge_loss, edge_mask
from apisr.losses.gan import gan_loss
from apisr.losses.perceptual import PerceptualLoss


class GeneratorLoss(nn.Module):
    """Call with the output, the pseudo-GT, the plain GT, the discriminator's verdict on the output (or None)
    and the EMA generator's output (or None; artifact terms need it)."""

    def __init__(self, entries: Sequence[LossConfig], perceptual: Sequence[PerceptualLoss | None]) -> None:
        super().__init__()
        self.entries = list(entries)
        self.names: list[str] = []
        for entry in self.entries:
            self.names.append(_term_name(entry, self.names))
        # Keyed by term name so that two perceptual terms on one backbone stay apart.
        self.perceptual = nn.ModuleDict({n: p for n, p in zip(self.names, perceptual) if p is not None})

    @property
    def needs_discriminator(self) -> bool:
        return any(e.type == "gan" for e in self.entries)

    @property
    def needs_ema_output(self) -> bool:
        return any(e.type == "artifact" for e in self.entries)

    def forward(self, output: torch.Tensor, pseudo_gt: torch.Tensor, gt: torch.Tensor,
                fake_verdict=None, ema_output: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """``{"total": ..., "<term>": ...}``; each term is already multiplied by its weight."""
        terms: dict[str, torch.Tensor] = {}
        # Entries that share a target and a sharpen setting (an L1 and an edge term) share one sharpened copy.
        sharpened: dict[tuple, torch.Tensor] = {}
        for entry, name in zip(self.entries, self.names):
            target = gt if entry.target == "gt" else pseudo_gt
            if entry.sharpen is not None:
                key = (entry.target, entry.sharpen)
                if key not in sharpened:
                    sharpened[key] = limited_sharpen(target.float(), entry.sharpen.sigma, entry.sharpen.amount,
                                                     entry.sharpen.radius)
                target = sharpened[key]
            if entry.type == "l1":
                value = F.l1_loss(output.float(), target.float())
            elif entry.type == "edge":
                value = edge_loss(output, target)
            elif entry.type == "chroma":
                value = chroma_loss(output, target)
            elif entry.type == "perceptual":
                value = self.perceptual[name](output, target)
            elif entry.type == "artifact":
                if ema_output is None:
                    raise ValueError("an artifact loss term needs the EMA generator's output")
                value = artifact_loss(output, ema_output, target)
            else:
                if fake_verdict is None:
                    raise ValueError("a gan loss term needs the discriminator's verdict on the output")
                mask = None
                if entry.near_edges is not None:
                    mask = edge_mask(gt, entry.near_edges.threshold, entry.near_edges.radius)
                value = gan_loss(fake_verdict, real=True, gan_type=entry.gan_type, mask=mask)
            terms[name] = entry.weight * value
        terms["total"] = torch.stack(list(terms.values())).sum()
        return terms


def _term_name(entry: LossConfig, taken: list[str]) -> str:
    name = f"perceptual_{entry.backbone}" if entry.type == "perceptual" else entry.type
    suffix, unique = 2, name
    while unique in taken:
        unique, suffix = f"{name}_{suffix}", suffix + 1
    return unique


def build_generator_loss(entries: Sequence[LossConfig], weights_dir: str | Path | None = None) -> GeneratorLoss:
    """Load every perceptual backbone an entry names (see apisr.losses.backbones for where from)."""
    perceptual = []
    for entry in entries:
        if entry.type == "perceptual":
            backbone = get_backbone(entry.backbone)
            perceptual.append(PerceptualLoss(backbone, backbone.load(weights_dir), entry.layers, entry.detach_features))
        else:
            perceptual.append(None)
    return GeneratorLoss(entries, perceptual)
