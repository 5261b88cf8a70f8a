"""VGG19 convolutional trunk with torchvision's key names (``features.0.weight`` ... ``features.34.bias``).

Only the ``features`` part exists: perceptual losses never use the classifier, and
:func:`load_vgg19_features` drops ``classifier.*`` keys from a full torchvision file.
The ReLUs are not in-place so that a forward hook on a conv sees the value *before*
its ReLU (the paper's taps), not one the next layer has already rectified.
"""

from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

# Output channels per conv, "M" for a 2x2 max-pool: torchvision's configuration "E".
_VGG19 = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]


def _conv_names() -> dict[str, int]:
    """``conv{block}_{n}`` -> index in ``features`` (conv1_2 -> 2, conv5_4 -> 34)."""
    names, index, block, n = {}, 0, 1, 0
    for item in _VGG19:
        if item == "M":
            block, n, index = block + 1, 0, index + 1
        else:
            n += 1
            names[f"conv{block}_{n}"] = index
            index += 2  # the conv and its ReLU
    return names


CONV_INDEX = _conv_names()


class VGG19Features(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for item in _VGG19:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU(inplace=False)]
                channels = int(item)
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def vgg19_features() -> VGG19Features:
    return VGG19Features()


def features_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The ``features.*`` entries of a torchvision VGG19 checkpoint (the classifier is not used)."""
    return {k: v for k, v in state_dict.items() if k.startswith("features.")}
