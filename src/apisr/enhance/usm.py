"""Unsharp masking with a soft threshold mask, as used for the pseudo-GT (spec §3).

The mask keeps flat areas (where the high-pass residual is below ``threshold``
on the 0-255 scale) untouched, so sharpening does not amplify noise or banding.
"""

from __future__ import annotations

import cv2
import numpy as np

RADIUS = 50
WEIGHT = 0.5
THRESHOLD = 10  # on the 0-255 scale


def _blur(image: np.ndarray, radius: int) -> np.ndarray:
    size = radius + 1 if radius % 2 == 0 else radius  # odd kernel: radius 50 gives 51 taps
    # sigma 0: OpenCV derives it from the size, 0.3 * ((size - 1) / 2 - 1) + 0.8 = 8.0 for 51 taps.
    return cv2.GaussianBlur(image, (size, size), 0)


def usm_sharpen(image: np.ndarray, radius: int = RADIUS, weight: float = WEIGHT, threshold: float = THRESHOLD) -> np.ndarray:
    """Sharpen an RGB float32 image in [0, 1]; returns a new array of the same shape."""
    image = image.astype(np.float32, copy=False)
    residual = image - _blur(image, radius)
    mask = (np.abs(residual) * 255 > threshold).astype(np.float32)
    soft_mask = _blur(mask, radius)
    sharp = np.clip(image + weight * residual, 0.0, 1.0)
    return soft_mask * sharp + (1.0 - soft_mask) * image
