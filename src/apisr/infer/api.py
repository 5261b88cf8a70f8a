"""The two-call Python API: ``apisr.load_model`` and ``apisr.upscale``.

    import apisr
    big = apisr.upscale("frame.png")                       # uint8/uint16 array
    pil = apisr.upscale(Image.open("frame.png"), outscale=2)  # PIL in, PIL out
    model = apisr.load_model("apisr-rrdb-2x")              # once, for many images
    arrays = [apisr.upscale(a, model=model) for a in frames]

Pass an :class:`~apisr.infer.engine.Upscaler` as ``model`` to reuse its tile and
precision settings across calls without re-checking them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from apisr.infer.engine import Upscaler, resolve_device
from apisr.infer.imageio import DEFAULT_MAX_PIXELS, ImageInfo, from_pil, read_image, to_pil
from apisr.models.registry import ModelDescriptor

ImageLike = str | Path | np.ndarray | Image.Image


def load_model(spec: str | Path | None = None, device: str | torch.device | None = None) -> ModelDescriptor:
    """A checkpoint file or a model name (see ``apisr models``); ``None`` is the default model."""
    from apisr.models import registry, zoo

    return registry.load_model(zoo.resolve(spec), resolve_device(device))


def upscale(
    image: ImageLike,
    model: str | Path | ModelDescriptor | Upscaler | None = None,
    outscale: float | None = None,
    tile_size: int | str | None = None,
    precision: str = "auto",
    device: str | torch.device | None = None,
    downsample_threshold: int | None = None,
) -> np.ndarray | Image.Image:
    """Upscale a path, an array or a PIL image, and return the same kind.

    - array in, array out: ``(H, W)``/``(H, W, 1..4)``, uint8 stays uint8, uint16 stays
      uint16, float stays float32 in [0, 1];
    - PIL in, PIL out (``L``, ``LA``, ``RGB``, ``RGBA``; palette and CMYK become RGB(A));
    - a path in: the picture as an array (uint16 for 16-bit files, else uint8), EXIF
      orientation applied. Use ``apisr upscale`` to write files with their ICC profile.

    ``model``: as for :func:`load_model`, or a loaded descriptor, or an Upscaler (whose
    own tile, precision and device settings then apply).
    """
    upscaler = model if isinstance(model, Upscaler) else _upscaler(model, tile_size, precision, device)
    if isinstance(image, (str, Path)):
        colour, alpha, info = read_image(image, DEFAULT_MAX_PIXELS)
        return _to_array(*upscale_picture(upscaler, colour, alpha, outscale, downsample_threshold), info)
    if isinstance(image, Image.Image):
        colour, alpha, info = from_pil(image)
        return to_pil(*upscale_picture(upscaler, colour, alpha, outscale, downsample_threshold), info)
    array = np.asarray(image)
    result = upscaler.upscale(_to_float(array), outscale=outscale, downsample_threshold=downsample_threshold)
    return _from_float(result, array.dtype)


def _upscaler(model, tile_size, precision, device) -> Upscaler:
    descriptor = model if isinstance(model, ModelDescriptor) else load_model(model, device)
    return Upscaler(descriptor, device=device, precision=precision, tile_size=tile_size)


def upscale_picture(
    upscaler: Upscaler,
    colour: np.ndarray,
    alpha: np.ndarray | None,
    outscale: float | None = None,
    downsample_threshold: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Colour ``(H, W, 3|1)`` and optional alpha ``(H, W)``, as :func:`~apisr.infer.imageio.read_image` gives them, upscaled."""
    stacked = colour if alpha is None else np.concatenate([colour, alpha[..., None]], axis=2)
    out = upscaler.upscale(stacked, outscale=outscale, downsample_threshold=downsample_threshold)
    return (out, None) if alpha is None else (out[..., :-1], out[..., -1])


def _to_array(colour: np.ndarray, alpha: np.ndarray | None, info: ImageInfo) -> np.ndarray:
    pixels = colour if alpha is None else np.concatenate([colour, alpha[..., None]], axis=2)
    if pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    return _from_float(pixels, np.dtype(np.uint16 if info.bit_depth == 16 else np.uint8))


def _to_float(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    if np.issubdtype(array.dtype, np.floating):
        return np.clip(array.astype(np.float32), 0.0, 1.0)
    raise TypeError(f"expected a uint8, uint16 or float array, got {array.dtype}")


def _from_float(image: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype == np.uint8:
        return (np.clip(image, 0, 1) * 255.0 + 0.5).astype(np.uint8)
    if dtype == np.uint16:
        return (np.clip(image, 0, 1) * 65535.0 + 0.5).astype(np.uint16)
    return image.astype(np.float32)
