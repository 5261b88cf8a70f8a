"""The paper's "720P rescale" and the crop to multiples of 8.

Much anime is drawn at or below 720 lines and upscaled for distribution, so the
paper brings every frame to 720 lines before using it as ground truth. Frames
taller than the target are downscaled; shorter ones are never upscaled (the
caller decides whether to keep or skip them, see :data:`SHORT_POLICIES`).

The crop to multiples of 8 (bottom and right edges) lets a 4x-downscaled frame
have even sides, which yuv420p video compression in the degradation needs.
"""

from __future__ import annotations

import cv2
import numpy as np

from apisr.curate.defaults import SIZE_MULTIPLE, TARGET_HEIGHT

FILTERS = {"area": cv2.INTER_AREA, "cubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4}


def is_short(image: np.ndarray, height: int) -> bool:
    return image.shape[0] < height


def rescale_to_height(image: np.ndarray, height: int = TARGET_HEIGHT, filter: str = "area") -> np.ndarray:
    """Downscale to ``height`` lines keeping the aspect ratio; images no taller are returned as they are.

    ``area`` (the default) averages source pixels, which avoids the aliasing a
    cubic filter shows on thin lines at a 1.5x reduction (1080p to 720p);
    ``cubic`` is what the original used.
    """
    h, w = image.shape[:2]
    if h <= height:
        return image
    width = int(w * height / h)
    result = cv2.resize(image, (width, height), interpolation=FILTERS[filter])
    return np.clip(result, 0.0, 1.0) if filter != "area" else result


def crop_to_multiple(image: np.ndarray, multiple: int = SIZE_MULTIPLE) -> np.ndarray:
    """Drop the bottom rows and right columns beyond the last multiple of ``multiple``."""
    h, w = image.shape[:2]
    return image[: h - h % multiple, : w - w % multiple]


def to_training_frame(image: np.ndarray, height: int = TARGET_HEIGHT, filter: str = "area",
                      multiple: int = SIZE_MULTIPLE) -> np.ndarray:
    """Rescale then crop: the HR frame the rest of the pipeline uses."""
    return crop_to_multiple(rescale_to_height(image, height, filter), multiple)
