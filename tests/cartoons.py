"""Generated line-art pictures for the evaluation and waifu2x tests: flat discs with dark outlines."""

from __future__ import annotations

import cv2
import numpy as np


def cartoon(height: int, width: int, seed: int, discs: int = 10, noise: float = 0.0) -> np.ndarray:
    """RGB float32 in [0, 1]: flat-coloured discs with anti-aliased dark outlines on a light ground."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 0.85, np.float32)
    for _ in range(discs):
        colour = tuple(float(v) for v in rng.uniform(0.2, 1.0, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        radius = int(rng.integers(max(2, min(height, width) // 12), max(3, min(height, width) // 4)))
        cv2.circle(image, (x, y), radius, colour, -1, lineType=cv2.LINE_AA)
        cv2.circle(image, (x, y), radius, (0.05, 0.05, 0.05), 2, lineType=cv2.LINE_AA)
    if noise:
        image = image + rng.normal(0, noise, image.shape)
    return np.clip(image, 0, 1).astype(np.float32)
