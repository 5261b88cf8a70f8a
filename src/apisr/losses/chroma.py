"""Chroma loss: L1 distance of the BT.601 colour-difference channels (Cb, Cr) to the target.

Not in the paper. A GAN stage on a compact generator draws a green-and-magenta fringe inside dark
lines and a colour stipple in flat areas: the pixel-shuffle output gives every colour of every
sub-pixel its own filter, so per-channel overshoot is the cheapest texture it can offer the
discriminator. Plain L1 on RGB charges a colour error no more than a brightness error. This term
charges colour alone, so that with a large weight the GAN may still steepen luma edges while the
colours stay the target's.
"""

from __future__ import annotations

import torch

# Rows: Cb, Cr of BT.601 for RGB in [0, 1] (full range, as JPEG's).
_CHROMA = ((-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))


def chroma(image: torch.Tensor) -> torch.Tensor:
    """The (N, 2, H, W) Cb and Cr channels (centred on 0) of an (N, 3, H, W) RGB batch."""
    weights = torch.tensor(_CHROMA, device=image.device, dtype=torch.float32)
    return torch.einsum("ck,nkhw->nchw", weights, image.float())


def chroma_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of Cb and Cr; 0 for outputs that differ from the target only in luma."""
    return (chroma(output) - chroma(target)).abs().mean()
