"""Image conversions at the edges of the library.

Inside apisr an image is RGB, float32 in [0, 1]: ``(H, W, 3)`` numpy arrays for
image operations (degradation, enhancement, metrics) and ``(N, 3, H, W)`` tensors
for networks. Files are read and written only here (and in ``apisr.infer.io`` for
the richer cases of alpha, 16-bit and EXIF), so colour order and range are
converted in exactly one place.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps


def load_rgb(path: str | Path) -> np.ndarray:
    """Any image file as RGB float32 ``(H, W, 3)`` in [0, 1], EXIF orientation applied."""
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image)
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            array = np.asarray(image, dtype=np.float32) / 65535.0
            return np.repeat(array[..., None], 3, axis=2)
        return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float [0, 1] to uint8 with rounding (not truncation, which darkens by half a level)."""
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def save_rgb(path: str | Path, image: np.ndarray, quality: int = 95) -> None:
    """Write RGB float [0, 1] (or uint8) atomically: a temporary name in the same folder, then rename."""
    path = Path(path)
    array = image if image.dtype == np.uint8 else to_uint8(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        Image.fromarray(array).save(tmp, quality=quality)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """``(H, W, C)`` float array to a ``(1, C, H, W)`` float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)).unsqueeze(0)


def to_array(tensor: torch.Tensor) -> np.ndarray:
    """``(1, C, H, W)`` or ``(C, H, W)`` tensor to a ``(H, W, C)`` float32 array clipped to [0, 1]."""
    if tensor.ndim == 4:
        tensor = tensor[0]
    return tensor.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
