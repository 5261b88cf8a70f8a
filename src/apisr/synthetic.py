"""Synthetic anime-like pictures: flat colour regions, a soft gradient and dark line art.

Tests, benchmarks and generated test videos use them so that they need no real frames (which
cannot be shipped). They have what codecs, kernels, complexity scorers and upscalers react to in
anime: large flat areas, hard anti-aliased edges, thin dark lines and a little shading. One
generator for all of them, so a threshold tuned in one test means the same picture everywhere.
"""

from __future__ import annotations

import cv2
import numpy as np

INK = (0.08, 0.06, 0.1)
STROKE = (0.1, 0.08, 0.12)


def synthetic_frame(height: int, width: int, rng: np.random.Generator, shapes: int = 12,
                    strokes: int = 20, line_width: int | None = None) -> np.ndarray:
    """A float32 RGB ``(height, width, 3)`` image in [0, 1]; more ``shapes`` and ``strokes``, busier.

    Lines are ``line_width`` pixels wide, by default 1 per 150 pixels of the shorter side.
    """
    # Sky-like vertical gradient as the background.
    top, bottom = rng.uniform(0.3, 1.0, 3), rng.uniform(0.2, 0.9, 3)
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    image = np.broadcast_to(top * (1 - t) + bottom * t, (height, width, 3)).astype(np.float32).copy()
    scale = max(min(height, width), 6)
    line = line_width or max(1, scale // 150)
    for _ in range(shapes):
        colour = tuple(float(c) for c in rng.uniform(0.05, 1.0, 3))
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        if rng.random() < 0.5:
            axes = (int(rng.integers(scale // 20, scale // 3) + 1), int(rng.integers(scale // 20, scale // 3) + 1))
            angle = float(rng.uniform(0, 180))
            cv2.ellipse(image, centre, axes, angle, 0, 360, colour, -1, cv2.LINE_AA)
            cv2.ellipse(image, centre, axes, angle, 0, 360, INK, line, cv2.LINE_AA)
        else:
            points = (np.array(centre) + rng.normal(0, scale / 6, (5, 2))).astype(np.int32)
            cv2.fillPoly(image, [points], colour, cv2.LINE_AA)
            cv2.polylines(image, [points], True, INK, line, cv2.LINE_AA)
    # Hatching strokes, like hair strands or speed lines.
    for _ in range(strokes):
        start = rng.integers(0, [width, height])
        end = start + rng.integers(-scale // 8, scale // 8 + 1, 2)
        cv2.line(image, tuple(int(v) for v in start), tuple(int(v) for v in end), STROKE, line, cv2.LINE_AA)
    return np.clip(image, 0.0, 1.0)


def seeded_frame(seed: int, height: int, width: int, shapes: int = 12) -> np.ndarray:
    """:func:`synthetic_frame` drawn from its own seed: the same seed, the same picture."""
    return synthetic_frame(height, width, np.random.default_rng(seed), shapes=shapes)
