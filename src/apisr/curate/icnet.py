"""ICNet, the IC9600 image-complexity network, with the module names of the published ``ck.pth``.

Written from the description in the spec (§1.2): a detail branch on the 512x512
input and a context branch on a 256x256 copy, each a torchvision-style ResNet-18
trunk, every stage re-weighted per channel by a spatial layout attention (SLAM);
both branches are brought to 64x64, concatenated and fed to a score head (and a
complexity-map head, which curation does not need). The score is in [0, 1].

Because the names match, ``ICNet().load_state_dict(torch.load("ck.pth"), strict=True)``
loads the IC9600 authors' checkpoint as it is.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from apisr.hub import RemoteFile
from apisr.models.backbones.resnet import resnet18

INPUT_SIZE = 512
CONTEXT_SIZE = 256
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# The authors publish ck.pth only inside a Google Drive folder (README of
# github.com/tinglyfeng/IC9600), which has no direct download link and no published
# hash: the default URL is that folder, shown to the user in the "download it from"
# message. A direct URL (e.g. a mirror) can be given with --complexity-url, and its
# hash with --complexity-sha256.
ICNET_WEIGHTS = RemoteFile(
    filename="ck.pth",
    url="https://drive.google.com/drive/folders/1N3FSS91e7FkJWUKqT96y_zcsG9CRuIJw",
    sha256=None,
    description="IC9600 ICNet image-complexity checkpoint",
)

# A key that only ICNet has; enough to recognise its state_dict.
SIGNATURE_KEYS = ("b1_1_slam.linear.0.weight", "to_score_f_slam.linear.0.weight", "b2_4.0.conv1.weight")


class SLAM(nn.Module):
    """Spatial layout attention: one weight per channel, computed from that channel's s x s layout."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.linear = nn.Sequential(nn.Linear(size * size, 512), nn.ReLU(), nn.Linear(512, 1), nn.Sigmoid())

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        n, c, h, w = feature.shape
        layout = feature
        if (h, w) != (self.size, self.size):
            layout = F.interpolate(feature, size=(self.size, self.size), mode="bilinear", align_corners=True)
        weight = self.linear(layout.reshape(n, c, -1))  # (n, c, 1)
        return feature * weight.unsqueeze(-1)


class ConvBNReLU(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel: int = 3, up_size: int | None = None) -> None:
        super().__init__()
        self.up_size = up_size
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2)
        self.bn = nn.BatchNorm2d(out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.up_size is not None:
            x = F.interpolate(x, size=(self.up_size, self.up_size), mode="bilinear", align_corners=True)
        return F.relu(self.bn(self.conv(x)))


class ToMap(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.to_map = nn.Sequential(nn.Conv2d(channels, 1, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_map(x)


def _trunk_stages() -> list[nn.Module]:
    """A ResNet-18 cut as ICNet cuts it: stem + layer1 as one Sequential, then layer2, layer3, layer4."""
    children = list(resnet18().children())
    return [nn.Sequential(*children[:5]), children[5], children[6], children[7]]


class ICNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        detail = _trunk_stages()
        self.b1_1, self.b1_1_slam = detail[0], SLAM(32)
        self.b1_2, self.b1_2_slam = detail[1], SLAM(32)
        context = _trunk_stages()
        self.b2_1, self.b2_1_slam = context[0], SLAM(32)
        self.b2_2, self.b2_2_slam = context[1], SLAM(32)
        self.b2_3, self.b2_3_slam = context[2], SLAM(16)
        self.b2_4, self.b2_4_slam = context[3], SLAM(8)
        fused = INPUT_SIZE // 8
        self.up1 = ConvBNReLU(128, 256, kernel=1, up_size=fused)
        self.up2 = ConvBNReLU(512, 256, kernel=1, up_size=fused)
        self.to_map_f, self.to_map_f_slam, self.to_map = ConvBNReLU(512, 512), SLAM(32), ToMap(512)
        self.to_score_f, self.to_score_f_slam = ConvBNReLU(512, 512), SLAM(32)
        self.head = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 1), nn.Sigmoid())

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The fused 512-channel 64x64 features of a normalised ``(N, 3, 512, 512)`` batch."""
        if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"ICNet takes {INPUT_SIZE}x{INPUT_SIZE} inputs, got {tuple(x.shape[-2:])}")
        small = F.interpolate(x, size=(CONTEXT_SIZE, CONTEXT_SIZE), mode="bilinear", align_corners=True)
        detail = self.b1_2_slam(self.b1_2(self.b1_1_slam(self.b1_1(x))))
        context = self.b2_2_slam(self.b2_2(self.b2_1_slam(self.b2_1(small))))
        context = self.b2_4_slam(self.b2_4(self.b2_3_slam(self.b2_3(context))))
        return torch.cat([self.up1(detail), self.up2(context)], dim=1)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """Complexity scores ``(N,)`` in [0, 1]; skips the map head, which costs as much again."""
        return self._score_head(self.features(x))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(scores (N,), complexity maps (N, 1, 64, 64))``, as the original returns them."""
        fused = self.features(x)
        complexity_map = self.to_map(self.to_map_f_slam(self.to_map_f(fused)))
        return self._score_head(fused), complexity_map

    def _score_head(self, fused: torch.Tensor) -> torch.Tensor:
        pooled = self.to_score_f_slam(self.to_score_f(fused)).mean(dim=(2, 3))
        return self.head(pooled)[:, 0]


def is_icnet_state_dict(state_dict: dict) -> bool:
    return all(key in state_dict for key in SIGNATURE_KEYS)


def load_icnet(path, device: str | torch.device = "cpu") -> ICNet:
    """An ICNet in eval mode with the weights at ``path``, loaded strictly and safely."""
    state_dict = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state_dict, dict) and "state_dict" in state_dict:
        state_dict = state_dict["state_dict"]
    # Checkpoints saved from nn.DataParallel carry a "module." prefix.
    state_dict = {k.removeprefix("module."): v for k, v in state_dict.items()}
    if not is_icnet_state_dict(state_dict):
        raise ValueError(f"{path}: not an ICNet (IC9600) checkpoint: missing {', '.join(SIGNATURE_KEYS)}")
    model = ICNet()
    model.load_state_dict(state_dict, strict=True)
    return model.eval().to(device)


def preprocess(images: list[np.ndarray]) -> torch.Tensor:
    """RGB float images of any size to the normalised 512x512 batch ICNet expects.

    The resize is PIL-style bilinear with antialiasing, like torchvision's
    ``Resize((512, 512))`` on a PIL image in the original.
    """
    batch = torch.stack([torch.from_numpy(np.ascontiguousarray(im.transpose(2, 0, 1))) for im in images])
    batch = F.interpolate(batch.float(), size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True, align_corners=False)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (batch.clamp(0, 1) - mean) / std
