"""Image conversions at the edges of the library.

Inside apisr an image is RGB, float32 in [0, 1]: ``(H, W, 3)`` numpy arrays for
image operations (degradation, enhancement, metrics) and ``(N, 3, H, W)`` tensors
for networks. Files are read and written only here (and in ``apisr.infer.imageio`` for
the richer cases of alpha, 16-bit and EXIF), so colour order and range are
converted in exactly one place.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from PIL import Image, ImageOps


def load_rgb(path: str | Path) -> np.ndarray:
    """Any image file as RGB float32 ``(H, W, 3)`` in [0, 1], EXIF orientation applied."""
    return to_float(load_rgb_pixels(path))


def load_rgb_pixels(path: str | Path) -> np.ndarray:
    """Any image file as RGB ``(H, W, 3)`` in its own integer depth: uint8, or uint16 for 16-bit
    files (a quarter or half the memory of float32, for callers that keep many frames)."""
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image)
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            array = np.clip(np.asarray(image), 0, 65535).astype(np.uint16)
            return np.repeat(array[..., None], 3, axis=2)
        return np.asarray(image.convert("RGB"))


# About 128k values (512 KB of float32) per block: fastest in a sweep of 16k..512k.
BLOCK_VALUES = 1 << 17


def row_blocks(shape: tuple[int, ...]) -> Iterator[slice]:
    """Slices of whole rows covering ``shape[0]``, each about :data:`BLOCK_VALUES` values.

    A chain of numpy/OpenCV passes over a 720p float32 frame streams every intermediate
    through main memory; run block by block, each intermediate stays in cache. 8-bit
    quantisation and the degradation noise cost about half as much this way on our
    2-core EPYC, more when other jobs compete for memory bandwidth.
    """
    row_values = 1
    for side in shape[1:]:
        row_values *= side
    rows = max(1, BLOCK_VALUES // max(row_values, 1))
    for top in range(0, shape[0], rows):
        yield slice(top, top + rows)


def to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 or uint16 pixels as float32 in [0, 1], in one pass (the cast happens inside the division)."""
    return np.divide(pixels, np.float32(np.iinfo(pixels.dtype).max), dtype=np.float32)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float [0, 1] to uint8 with rounding (not truncation, which darkens by half a level).

    ``clip(image, 0, 1) * 255 + 0.5``, truncated, computed block by block (:func:`row_blocks`)
    in the image's own float precision. Clipping the scaled value to [0, 255] equals clipping
    first (scaling is monotone and maps 0 and 1 to 0 and 255), and the last add writes
    straight into the uint8 result: the same bytes as the plain formula in half the time.
    """
    dtype = np.result_type(image.dtype, np.float32)
    out = np.empty(image.shape, np.uint8)
    for rows in row_blocks(image.shape):
        scaled = np.multiply(image[rows], dtype.type(255.0), dtype=dtype)
        np.clip(scaled, 0.0, 255.0, out=scaled)
        np.add(scaled, dtype.type(0.5), out=out[rows], casting="unsafe")
    return out


def save_rgb(path: str | Path, image: np.ndarray, quality: int = 95) -> None:
    """Write RGB float [0, 1] (or uint8) atomically: a temporary name in the same folder, then rename."""
    array = image if image.dtype == np.uint8 else to_uint8(image)
    with atomic_output(path) as tmp:
        Image.fromarray(array).save(tmp, quality=quality)


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """A temporary path next to ``path`` to write to; renamed onto ``path`` only if the block succeeds.

    Readers never see a half-written file, and a failure leaves no debris. The folder is created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.stem}.{secrets.token_hex(4)}{path.suffix}"
    # Created like any new file (honouring the umask), unlike mkstemp's owner-only 0600.
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a UTF-8 text file through :func:`atomic_output`."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """``(H, W, C)`` float array to a ``(1, C, H, W)`` float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)).unsqueeze(0)


def to_array(tensor: torch.Tensor) -> np.ndarray:
    """``(1, C, H, W)`` or ``(C, H, W)`` tensor to a ``(H, W, C)`` float32 array clipped to [0, 1]."""
    if tensor.ndim == 4:
        tensor = tensor[0]
    return tensor.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
