"""Resizing with the three interpolation modes the degradation draws from."""

from __future__ import annotations

import math

import cv2
import numpy as np

INTERPOLATION = {"area": cv2.INTER_AREA, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}


def scaled_size(size: tuple[int, int], factor: float) -> tuple[int, int]:
    """``floor(side * factor)`` for both sides, never below 1 (how ``interpolate(scale_factor=...)`` sizes)."""
    return tuple(max(1, math.floor(side * factor)) for side in size)


def resize(image: np.ndarray, size: tuple[int, int], mode: str) -> np.ndarray:
    """Resize an ``(H, W, C)`` image to ``size = (height, width)`` with ``mode`` (area/bilinear/bicubic).

    Bicubic overshoots, so the result can leave [0, 1] slightly; the next noise, codec
    or final clamp brings it back, as in the original.
    """
    height, width = size
    if (height, width) == image.shape[:2]:
        return image
    out = cv2.resize(image, (width, height), interpolation=INTERPOLATION[mode])
    return out.reshape(height, width, -1)
