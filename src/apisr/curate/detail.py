"""How crisp a frame is at its own resolution: the edge-detail score.

A super-resolution model learns to draw what its ground truth shows. Many anime pictures
are softer than their pixel count (upscaled from DVD resolution, blurred by the source's
scaler or encoder), and a model trained on them learns soft lines. ``data.min_edge_detail``
trains on the crisp ones only; on our frames that lowered GMSD on every test set (see
training/compact_x4/stage1c_trials.md), though it did not make the real low-bitrate crop
sheet look crisper.

The score compares the frame with its own half-resolution round trip (area down, bicubic
up). A crisp frame loses much of its edges on the way; a soft one, whose edges are already
wider than two pixels, almost nothing. It is the mean absolute change of the grey image at
the edges (where the round trip's gradient is strong) divided by the mean gradient there, so
that contrast does not count. A frame with almost no edges gets NaN: it says nothing about
crispness either way.

Measured on the 531 training frames of ``../shared/data/anime_train`` at 720 lines: 5th
percentile 0.020, median 0.035, 95th percentile 0.059. Frames below 0.02 look visibly soft at
pixel zoom; the crispest, above 0.07, are HD renders and Ghibli scans.
"""

from __future__ import annotations

import cv2
import numpy as np

# Sobel magnitude (grey levels 0-1) above which a pixel of the round trip counts as an edge.
EDGE_GRADIENT = 0.3
# Fewer edge pixels than this share of the frame: no score.
MIN_EDGE_SHARE = 0.002


def edge_detail(image: np.ndarray) -> float:
    """The edge-detail score of an RGB float image in [0, 1] (HWC), or NaN without edges."""
    grey = cv2.cvtColor(image.astype(np.float32, copy=False), cv2.COLOR_RGB2GRAY)
    height, width = grey.shape[0] // 2 * 2, grey.shape[1] // 2 * 2
    if height < 8 or width < 8:
        raise ValueError(f"{grey.shape[1]}x{grey.shape[0]} is too small for an edge-detail score")
    grey = grey[:height, :width]
    half = cv2.resize(grey, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    round_trip = cv2.resize(half, (width, height), interpolation=cv2.INTER_CUBIC)
    gradient = np.hypot(cv2.Sobel(round_trip, cv2.CV_32F, 1, 0), cv2.Sobel(round_trip, cv2.CV_32F, 0, 1))
    edges = gradient > EDGE_GRADIENT
    if edges.mean() < MIN_EDGE_SHARE:
        return float("nan")
    return float(np.abs(grey - round_trip)[edges].mean() / gradient[edges].mean())
