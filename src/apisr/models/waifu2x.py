"""waifu2x's ``upconv_7`` (2x), and readers for its published weight files.

The network (nagadomi/waifu2x, 2016-): six unpadded 3x3 convs (3-16-32-64-128-128-256),
each followed by LeakyReLU(0.1), then a 4x4 transposed conv of stride 2 and padding 3
back to 3 channels; 552,483 parameters. The convs eat 6 pixels at each side and the
transposed conv's padding another 3 output pixels, so waifu2x pads its input by 7 pixels
first (reflection, as the MXNet graph of the released models does): the output is then
exactly twice the input and aligned with it. Input and output are RGB in [0, 1].

Weights come in two formats, both read here into this module's state dict
(``body.{0,2,4,6,8,10}.weight/bias`` for the convs, ``upsample.weight/bias``):

- waifu2x's JSON (``models/upconv_7/art/scale2.0x_model.json``): a list of layers, each
  ``{"class_name", "nInputPlane", "nOutputPlane", "kW", "kH", "dW", "dH", "padW", "padH",
  "weight", "bias"}``; conv weights nested as (out, in, kH, kW), the transposed conv's as
  (in, out, kH, kW) as in Torch7 and PyTorch; the first layer may carry ``model_config``.
- MXNet (``noise0_scale2.0x_model-0000.params`` with ``...-symbol.json`` beside it), as
  converted from waifu2x-caffe: an NDArray list file, read by :func:`read_mxnet_params`
  without MXNet. Arrays are named ``arg:conv{1..7}_layer_{weight,bias}``.

:func:`read_waifu2x` reads either; :mod:`apisr.models.checkpoint` calls it by suffix, so
``apisr.load_model("scale2.0x_model.json")`` works like any other checkpoint.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import CheckpointError
from .registry import Architecture, StateDict, register

CHANNELS = (16, 32, 64, 128, 128, 256)
PAD = 7
SUFFIXES = (".json", ".params")


class Waifu2xError(CheckpointError):
    """A file that is not an upconv_7 model in waifu2x's JSON or MXNet format; names the file."""


class UpConv7(nn.Module):
    def __init__(self, scale: int = 2, in_channels: int = 3):
        super().__init__()
        if scale != 2:
            raise ValueError(f"waifu2x upconv_7 is a 2x network, not {scale}x")
        layers: list[nn.Module] = []
        previous = in_channels
        for channels in CHANNELS:
            layers += [nn.Conv2d(previous, channels, 3), nn.LeakyReLU(0.1)]
            previous = channels
        self.body = nn.Sequential(*layers)
        self.upsample = nn.ConvTranspose2d(previous, in_channels, 4, stride=2, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Reflection needs more pixels than the pad; tiny inputs fall back to edge replication.
        mode = "reflect" if min(x.shape[-2:]) > PAD else "replicate"
        return self.upsample(self.body(F.pad(x, (PAD,) * 4, mode=mode)))


def _layer_keys() -> list[str]:
    return [f"body.{2 * i}" for i in range(len(CHANNELS))] + ["upsample"]


def detect(state_dict: StateDict) -> dict[str, Any] | None:
    expected = {f"{layer}.{kind}" for layer in _layer_keys() for kind in ("weight", "bias")}
    if set(state_dict) != expected:
        return None
    first = state_dict["body.0.weight"]
    in_channels = int(first.shape[1])
    shapes_fit = all(
        tuple(state_dict[f"body.{2 * i}.weight"].shape)
        == (channels, CHANNELS[i - 1] if i else in_channels, 3, 3)
        for i, channels in enumerate(CHANNELS)
    )
    if not shapes_fit or tuple(state_dict["upsample.weight"].shape) != (CHANNELS[-1], in_channels, 4, 4):
        return None
    return {"scale": 2, "in_channels": in_channels}


ARCHITECTURE = register(
    Architecture(
        name="waifu2x_upconv7",
        detect=detect,
        build=UpConv7,
        # 7 input pixels of context at each side; the engine drops a quarter of the overlap and
        # cross-fades the middle half, so 16 keeps tiles within 1.3e-3 of an untiled run (8: 2.5e-2).
        receptive_field=16,
        description="waifu2x upconv_7 2x (reads waifu2x JSON and MXNet .params files)",
        examples=({"scale": 2},),
    )
)


def read_waifu2x(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The upconv_7 state dict in a waifu2x JSON or MXNet file, and metadata saying which."""
    path = Path(path)
    if path.suffix.lower() == ".params":
        return state_dict_from_mxnet(read_mxnet_params(path), path), {"apisr.source_format": "mxnet"}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise Waifu2xError(f"{path}: not a readable JSON file ({err})") from None
    if isinstance(document, dict) and "nodes" in document:
        # An MXNet graph: the weights are in the .params file beside it.
        params = path.with_name(re.sub(r"-symbol\.json$", "-0000.params", path.name))
        if params == path or not params.is_file():
            raise Waifu2xError(f"{path}: an MXNet symbol file; its weights {params.name} are not beside it")
        return read_waifu2x(params)
    return load_waifu2x_json(document, path), {"apisr.source_format": "waifu2x-json"}


def load_waifu2x_json(layers: Any, path: Path | str = "<json>") -> dict[str, torch.Tensor]:
    """Our state dict from the parsed layer list of a waifu2x upconv_7 JSON model."""
    if not isinstance(layers, list) or not all(isinstance(layer, dict) for layer in layers):
        raise Waifu2xError(f"{path}: a waifu2x JSON model is a list of layer objects")
    config = layers[0].get("model_config", {}) if layers else {}
    arch = config.get("arch_name") if isinstance(config, dict) else None
    if arch not in (None, "upconv_7") or len(layers) != len(CHANNELS) + 1:
        raise Waifu2xError(
            f"{path}: only waifu2x upconv_7 is supported (7 layers); this is {arch or 'a model'} with {len(layers)} layers"
        )
    state_dict = {}
    for key, layer in zip(_layer_keys(), layers):
        try:
            out_planes, in_planes = int(layer["nOutputPlane"]), int(layer["nInputPlane"])
            kernel = (int(layer["kH"]), int(layer["kW"]))
            transposed = "FullConvolution" in str(layer.get("class_name", "")) or key == "upsample"
            shape = (in_planes, out_planes, *kernel) if transposed else (out_planes, in_planes, *kernel)
            weight = np.asarray(layer["weight"], dtype=np.float32).reshape(shape)
            bias = np.asarray(layer["bias"], dtype=np.float32).reshape(out_planes)
        except (KeyError, TypeError, ValueError) as err:
            raise Waifu2xError(f"{path}: layer {key} is malformed ({type(err).__name__}: {err})") from None
        state_dict[f"{key}.weight"] = torch.from_numpy(weight)
        state_dict[f"{key}.bias"] = torch.from_numpy(bias)
    return _checked(state_dict, path)


def state_dict_from_mxnet(arrays: dict[str, np.ndarray], path: Path | str = "<params>") -> dict[str, torch.Tensor]:
    """Our state dict from the named arrays of an MXNet upconv_7 (``arg:conv{n}_layer_{weight,bias}``)."""
    layers: dict[int, dict[str, np.ndarray]] = {}
    for name, array in arrays.items():
        match = re.fullmatch(r"(?:arg:)?conv(\d+)_layer_(weight|bias)", name)
        if not match:
            raise Waifu2xError(f"{path}: unexpected array {name!r}; not an upconv_7 converted from waifu2x")
        layers.setdefault(int(match.group(1)), {})[match.group(2)] = array
    if sorted(layers) != list(range(1, len(CHANNELS) + 2)):
        raise Waifu2xError(f"{path}: expected layers conv1..conv{len(CHANNELS) + 1}, found {sorted(layers)}")
    state_dict = {}
    for key, number in zip(_layer_keys(), sorted(layers)):
        for kind in ("weight", "bias"):
            if kind not in layers[number]:
                raise Waifu2xError(f"{path}: conv{number} has no {kind}")
            state_dict[f"{key}.{kind}"] = torch.from_numpy(np.ascontiguousarray(layers[number][kind], np.float32))
    return _checked(state_dict, path)


def _checked(state_dict: dict[str, torch.Tensor], path: Path | str) -> dict[str, torch.Tensor]:
    if detect(state_dict) is None:
        shapes = {key: tuple(value.shape) for key, value in state_dict.items() if key.endswith("weight")}
        raise Waifu2xError(f"{path}: layer shapes {shapes} are not those of upconv_7")
    return state_dict


# MXNet's NDArray list file: magic, reserved, count, the arrays, then their names.
_LIST_MAGIC = 0x112
_ARRAY_MAGIC_V2 = 0xF993FAC9  # with a storage type field
_ARRAY_MAGIC_V1 = 0xF993FAC8
_DTYPES = {0: np.float32, 1: np.float64, 2: np.float16}


def read_mxnet_params(path: str | Path) -> dict[str, np.ndarray]:
    """Every named array in an MXNet ``.params`` file (dense float arrays only), without MXNet."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            magic, _reserved, count = _unpack(f, "<QQQ")
            if magic != _LIST_MAGIC:
                raise Waifu2xError(f"{path}: not an MXNet .params file (magic {magic:#x}, expected {_LIST_MAGIC:#x})")
            arrays = [_read_array(f, path) for _ in range(count)]
            (name_count,) = _unpack(f, "<Q")
            names = [f.read(_unpack(f, "<Q")[0]).decode("utf-8") for _ in range(name_count)]
            if f.read(1):
                raise Waifu2xError(f"{path}: unexpected bytes after the array names")
    except (struct.error, UnicodeDecodeError) as err:
        raise Waifu2xError(f"{path}: truncated or damaged MXNet .params file ({err})") from None
    if len(names) != len(arrays):
        raise Waifu2xError(f"{path}: {len(arrays)} arrays but {len(names)} names")
    return dict(zip(names, arrays))


def _unpack(f: BinaryIO, fmt: str) -> tuple:
    size = struct.calcsize(fmt)
    return struct.unpack(fmt, f.read(size))


def _read_array(f: BinaryIO, path: Path) -> np.ndarray:
    (magic,) = _unpack(f, "<I")
    if magic == _ARRAY_MAGIC_V2:
        (storage,) = _unpack(f, "<i")
        if storage != 0:
            raise Waifu2xError(f"{path}: sparse arrays (storage type {storage}) are not supported")
    elif magic != _ARRAY_MAGIC_V1:
        raise Waifu2xError(f"{path}: unsupported NDArray format (magic {magic:#x})")
    (ndim,) = _unpack(f, "<I")
    shape = _unpack(f, f"<{ndim}q")
    _device_type, _device_id, dtype = _unpack(f, "<iii")
    if dtype not in _DTYPES:
        raise Waifu2xError(f"{path}: array dtype code {dtype} is not a float type")
    count = int(np.prod(shape))
    itemsize = np.dtype(_DTYPES[dtype]).itemsize
    data = f.read(count * itemsize)
    if len(data) != count * itemsize:
        raise Waifu2xError(f"{path}: truncated array data")
    return np.frombuffer(data, dtype=_DTYPES[dtype]).reshape(shape).astype(np.float32)
