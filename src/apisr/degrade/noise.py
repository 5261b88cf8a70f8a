"""Additive noise: Gaussian (camera read noise) and Poisson (shot noise), colour or gray.

"Gray" noise draws one noise plane and adds it to all three channels, so it changes
brightness but not hue. Both functions clip the result to [0, 1] and do not round,
as in the original.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy import special

# The normal law's quantiles at the midpoints of 2**16 equal-probability bins: indexing
# this table with uniform 16-bit integers draws normal numbers about twice as fast as
# ``Generator.standard_normal``, which dominated the cost of full-frame noise. The CDF
# of these draws never differs from the normal CDF by more than 2**-17 (7.6e-6), and
# values beyond 4.3 sigma (probability 1.5e-5) land on the last quantile.
_NORMAL_QUANTILES = special.ndtri((np.arange(2**16) + 0.5) / 2**16).astype(np.float32)
_NORMAL_QUANTILES.flags.writeable = False


def standard_normal(shape: tuple[int, ...], rng: np.random.Generator, sigma: float = 1.0) -> np.ndarray:
    """float32 normal numbers with deviation ``sigma``, drawn through the 16-bit quantile table."""
    # Scaling the 65536-entry table is cheaper than scaling a frame's worth of draws.
    table = _NORMAL_QUANTILES if sigma == 1.0 else _NORMAL_QUANTILES * np.float32(sigma)
    return table.take(rng.integers(0, 2**16, shape, dtype=np.uint16).ravel()).reshape(shape)


def gaussian_noise(image: np.ndarray, sigma: float, gray: bool, rng: np.random.Generator) -> np.ndarray:
    """Add N(0, (sigma/255)^2) noise; ``sigma`` is in 8-bit levels."""
    height, width, channels = image.shape
    noise = standard_normal((height, width, 1 if gray else channels), rng, sigma / 255.0)
    return _add_clipped(image, noise)


def poisson_noise(image: np.ndarray, scale: float, gray: bool, rng: np.random.Generator) -> np.ndarray:
    """Add ``scale`` times Poisson shot noise, Real-ESRGAN style.

    The image is quantised to 8-bit levels; the photon count per unit intensity is the
    number of distinct levels rounded up to a power of two, so a flat image gets
    coarse noise and a richly textured one fine noise. Gray noise is computed on the
    luma (BT.601 weights) of the RGB image.
    """
    source = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None] if gray else image
    # convertScaleAbs rounds and saturates to uint8 but takes absolute values, so negatives go to 0 first.
    levels = cv2.convertScaleAbs(np.maximum(source, 0.0), alpha=255.0).reshape(source.shape)
    histogram = cv2.calcHist([levels.reshape(levels.shape[0], -1)], [0], None, [256], [0, 256])
    distinct = int(np.count_nonzero(histogram))
    photons = 2.0 ** math.ceil(math.log2(max(distinct, 1)))
    # A lookup table turns levels into photon counts in one pass.
    expected = cv2.LUT(levels, np.arange(256, dtype=np.float32) * np.float32(photons / 255.0)).reshape(levels.shape)
    noise = poisson_counts(expected, rng)
    noise -= expected
    noise *= np.float32(scale / photons)
    return _add_clipped(image, noise)


def _add_clipped(image: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """``clip(image + noise, 0, 1)``, reusing ``noise``'s memory unless it is a gray (H, W, 1) plane."""
    noise = np.add(noise, image, out=noise if noise.shape == image.shape else None)
    # Two in-place bounds are cheaper than np.clip, which checks and dispatches per call.
    np.maximum(noise, 0.0, out=noise)
    return np.minimum(noise, 1.0, out=noise)


def poisson_counts(expected: np.ndarray, rng: np.random.Generator, exact_below: float = 16.0) -> np.ndarray:
    """Poisson samples with mean ``expected`` (float32), fast enough for full frames.

    numpy's exact sampler costs about 80 ns a value. Where the mean is at least
    ``exact_below`` we round a Cornish-Fisher corrected normal instead,
    ``mean + sqrt(mean) z + (z^2 - 1) / 6``, which matches the Poisson's mean, variance
    and skew; its total-variation distance from the exact law is below 0.2 % for every
    mean from 16 up (checked with 20 million draws). ``z`` comes from :func:`standard_normal`.
    Smaller means, where the shape is far from normal, are drawn exactly.
    """
    z = standard_normal(expected.shape, rng)
    counts = np.sqrt(expected)
    counts *= z
    z *= z
    z *= np.float32(1.0 / 6.0)
    counts += z
    counts += expected
    counts += np.float32(0.5 - 1.0 / 6.0)  # rounds, and the skew term's -1/6
    np.floor(counts, out=counts)
    np.maximum(counts, 0.0, out=counts)
    # Index lists, not boolean masks: dark pixels are few, and a mask costs a full pass per use.
    small = np.flatnonzero(expected < exact_below)
    if small.size:
        counts.reshape(-1)[small] = rng.poisson(expected.reshape(-1)[small])
    return counts
