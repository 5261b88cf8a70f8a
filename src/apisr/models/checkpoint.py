"""Reading and writing generator checkpoints, whatever shape the file has.

Checkpoints in this field come wrapped in many ways. :func:`read_state_dict` accepts:

- a bare state dict (``{"conv_first.weight": tensor, ...}``);
- one wrapped under ``params_ema`` (preferred when present: the EMA weights are the
  ones to use), ``params`` (BasicSR, Real-ESRGAN), ``model_state_dict`` (APISR) or
  ``state_dict`` (Lightning and others);
- keys prefixed ``module.`` (DataParallel) or ``_orig_mod.`` (``torch.compile``),
  which are stripped;
- ``.safetensors`` files, whose header metadata is returned as well;
- waifu2x's JSON and MXNet ``.params`` files (read by :mod:`apisr.models.waifu2x`).

``.pth``/``.pt``/``.ckpt`` files are read with ``torch.load(weights_only=True)`` only: a
file that needs arbitrary objects unpickled is refused, never executed. Half-precision
tensors are widened to float32, so every model starts in float32 whatever the file held.

Metadata convention (safetensors header, every value a string):

- ``apisr.architecture``: the registry name, e.g. ``"compact"``;
- ``apisr.scale``: the upscaling factor, e.g. ``"4"``;
- ``apisr.hyperparameters``: JSON of the keyword arguments for the architecture's
  ``build`` (including ``scale``);
- any other ``apisr.*`` key is free-form text: ``apisr.config`` (the training config as
  YAML), ``apisr.training_data`` (a summary), ``apisr.model_card`` (Markdown), ...

A file that carries ``apisr.architecture`` and ``apisr.hyperparameters`` is built from
them (and still loaded strictly); otherwise the architecture is detected from the keys.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path
from typing import Any, Mapping

import torch

from ..images import atomic_output

ARCHITECTURE_KEY = "apisr.architecture"
SCALE_KEY = "apisr.scale"
HYPERPARAMETERS_KEY = "apisr.hyperparameters"

# Wrapper keys in order of preference.
WRAPPER_KEYS = ("params_ema", "params", "model_state_dict", "state_dict")
# Prefixes added by DataParallel/DistributedDataParallel and torch.compile.
KEY_PREFIXES = ("module.", "_orig_mod.")


class CheckpointError(ValueError):
    """A file that cannot be read as a checkpoint; the message names the file."""


def read_state_dict(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The float32 state dict in ``path`` and its metadata (empty for pickle-based files)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the file is empty (0 bytes)")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        tensors, metadata = _read_safetensors(path)
    elif suffix in (".json", ".params"):
        # waifu2x's own formats (JSON layer lists, MXNet NDArray files); imported here
        # because that module itself builds on this one.
        from .waifu2x import read_waifu2x

        tensors, metadata = read_waifu2x(path)
    else:
        loaded = _torch_load(path)
        tensors, metadata = _unwrap(loaded, path), _training_checkpoint_metadata(loaded)
    return {_strip_prefixes(key): _widen(value) for key, value in tensors.items()}, metadata


def save_safetensors(
    path: str | Path, state_dict: Mapping[str, torch.Tensor], metadata: Mapping[str, str], half: bool = False
) -> Path:
    """Write ``state_dict`` (floats as fp16 when ``half``) with ``metadata``, atomically."""
    from safetensors.torch import save

    path = Path(path)
    not_text = [key for key, value in metadata.items() if not isinstance(key, str) or not isinstance(value, str)]
    if not_text:
        raise TypeError(f"safetensors metadata must map str to str; not so for {not_text}")
    tensors = {}
    for key, value in state_dict.items():
        value = value.detach().to("cpu")
        if half and value.is_floating_point():
            value = value.half()
        # clone(): safetensors refuses tensors that share storage (views, tied weights).
        tensors[key] = value.contiguous().clone()
    # Serialised in memory and written into atomic_output's temporary file, which has the
    # umask's mode like any new file (safetensors' own save_file leaves an owner-only 0600 file).
    with atomic_output(path) as tmp:
        tmp.write_bytes(save(tensors, metadata=dict(metadata)))
    return path


def model_metadata(architecture: str, hyperparameters: Mapping[str, Any], **extra: str) -> dict[str, str]:
    """Header metadata for a model: its architecture and hyper-parameters, plus ``apisr.<name>`` extras."""
    metadata = {
        ARCHITECTURE_KEY: architecture,
        SCALE_KEY: str(int(hyperparameters["scale"])),
        HYPERPARAMETERS_KEY: json.dumps(dict(hyperparameters), sort_keys=True),
    }
    metadata.update({f"apisr.{name}": text for name, text in extra.items()})
    return metadata


def hyperparameters_from_metadata(metadata: Mapping[str, str]) -> tuple[str, dict[str, Any]] | None:
    """The (architecture, hyper-parameters) a file's metadata declares, or None when it declares none."""
    if ARCHITECTURE_KEY not in metadata or HYPERPARAMETERS_KEY not in metadata:
        return None
    try:
        hyperparameters = json.loads(metadata[HYPERPARAMETERS_KEY])
    except json.JSONDecodeError as err:
        raise CheckpointError(f"metadata {HYPERPARAMETERS_KEY} is not valid JSON: {err}") from None
    if not isinstance(hyperparameters, dict):
        raise CheckpointError(f"metadata {HYPERPARAMETERS_KEY} must be a JSON object, got {type(hyperparameters).__name__}")
    return metadata[ARCHITECTURE_KEY], hyperparameters


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = dict(handle.metadata() or {})
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path}: not a readable safetensors file ({err})") from None
    if not tensors:
        raise CheckpointError(f"{path}: the safetensors file holds no tensors")
    return tensors, metadata


def _torch_load(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        # weights_only=True raises UnpicklingError both for forbidden objects (an
        # "Unsupported global") and for bytes that are no pickle at all.
        forbidden = re.search(r"GLOBAL (\S+)", str(err))
        if forbidden:
            raise CheckpointError(
                f"{path}: refusing to load: the file needs arbitrary Python objects unpickled "
                f"({forbidden.group(1)}); re-save only its state dict, or convert it to .safetensors"
            ) from None
        raise CheckpointError(f"{path}: not a PyTorch checkpoint or damaged ({_first_line(err)})") from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointError(f"{path}: not a PyTorch checkpoint or damaged ({_first_line(err)})") from None


def _training_checkpoint_metadata(loaded: Any) -> dict[str, str]:
    """An ``apisr train`` checkpoint names its generator in its saved config: use it, as a
    safetensors header would be, since some hyper-parameters (e.g. compact's ``upsample``)
    cannot be told from the keys."""
    config = loaded.get("config") if isinstance(loaded, dict) else None
    model = config.get("model") if isinstance(config, dict) else None
    if not isinstance(model, dict) or not {"architecture", "hyperparameters", "scale"} <= set(model):
        return {}
    return model_metadata(model["architecture"], {**model["hyperparameters"], "scale": model["scale"]})


def _first_line(err: Exception) -> str:
    text = str(err)
    detail = text.split("WeightsUnpickler error:", 1)[-1]
    lines = [line.strip() for line in detail.splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def _unwrap(loaded: Any, path: Path) -> dict[str, torch.Tensor]:
    while isinstance(loaded, dict):
        wrapper = next((key for key in WRAPPER_KEYS if isinstance(loaded.get(key), dict)), None)
        if wrapper is None:
            break
        loaded = loaded[wrapper]
    if not isinstance(loaded, dict) or not loaded:
        raise CheckpointError(f"{path}: holds a {type(loaded).__name__}, not a state dict")
    not_tensors = [key for key, value in loaded.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        raise CheckpointError(
            f"{path}: no state dict found: top-level keys {sorted(map(str, loaded))[:8]} are not tensors and "
            f"none of {', '.join(WRAPPER_KEYS)} is present"
        )
    return loaded


def _strip_prefixes(key: str) -> str:
    stripped = True
    while stripped:
        stripped = False
        for prefix in KEY_PREFIXES:
            if key.startswith(prefix):
                key, stripped = key[len(prefix) :], True
    return key


def _widen(tensor: torch.Tensor) -> torch.Tensor:
    if tensor.dtype in (torch.float16, torch.bfloat16):
        return tensor.float()
    return tensor
