"""The line-enhanced pseudo ground truth of APISR (spec §3).

Hand-drawn lines in anime frames are often faint after production and
distribution. The training target sharpens the lines three times and the rest of
the picture once:

1. ``once = USM(image)``; ``thrice = USM(USM(once))``;
2. ``lines = XDoG(grey(thrice))``, a binary sketch;
3. line components under 32 pixels are dropped (they are texture, not lines);
4. one pass of passive dilation thickens the kept lines slightly;
5. ``thrice`` on the lines, ``once`` elsewhere.

Computed once per frame, offline, by ``apisr prepare``.
"""

from __future__ import annotations

import cv2
import numpy as np

from apisr.enhance.lines import OUTLIER_THRESHOLD, merge, passive_dilation, remove_small_components
from apisr.enhance.usm import usm_sharpen
from apisr.enhance.xdog import xdog


def line_map(sharpened: np.ndarray, gamma: float, outlier_threshold: int = OUTLIER_THRESHOLD) -> np.ndarray:
    """The cleaned binary line map (float32, 1 = line) of an RGB float image."""
    grey = cv2.cvtColor(sharpened.astype(np.float32, copy=False), cv2.COLOR_RGB2GRAY)
    return passive_dilation(remove_small_components(xdog(grey, gamma), outlier_threshold))


def enhance_lines(image: np.ndarray, gamma: float, outlier_threshold: int = OUTLIER_THRESHOLD) -> np.ndarray:
    """The pseudo-GT of an RGB float32 image in [0, 1].

    ``gamma`` is XDoG's; draw it with :func:`apisr.enhance.xdog.draw_gamma` from an
    explicit generator, once per dataset, as the original draws it once per process.
    """
    once = usm_sharpen(image)
    thrice = usm_sharpen(usm_sharpen(once))
    return np.clip(merge(thrice, once, line_map(thrice, gamma, outlier_threshold)), 0.0, 1.0)
