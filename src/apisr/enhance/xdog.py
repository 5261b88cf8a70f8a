"""Extended difference of Gaussians (XDoG): a binary sketch of the drawn lines (spec §3).

``d = (G_sigma - gamma * G_{k*sigma}) / max``, and a pixel is a line where
``d < eps``. The original passes ``d`` through ``1 + tanh(phi * (d - eps))`` with
``phi = 1e9``, which is a step at ``eps`` to float precision; the step is applied
directly here, so the output is exactly binary.

``gamma`` is drawn once per run in the original (``0.97 + 0.01 * U(0, 1)``, one
draw per worker process); :func:`draw_gamma` takes an explicit generator instead.
"""

from __future__ import annotations

import cv2
import numpy as np

SIGMA = 0.6
K = 2.5
EPS = -15 / 255


def draw_gamma(rng: np.random.Generator) -> float:
    return 0.97 + 0.01 * float(rng.random())


def xdog(grey: np.ndarray, gamma: float, sigma: float = SIGMA, k: float = K, eps: float = EPS) -> np.ndarray:
    """Line map of a grey float image: float32, 1 on lines, 0 elsewhere."""
    grey = grey.astype(np.float32, copy=False)
    # Kernel size (0, 0): OpenCV derives it from sigma, as the original's size=0.
    dog = cv2.GaussianBlur(grey, (0, 0), sigma) - gamma * cv2.GaussianBlur(grey, (0, 0), sigma * k)
    peak = float(dog.max())
    if peak > 0:
        dog /= peak
    return (dog < eps).astype(np.float32)
