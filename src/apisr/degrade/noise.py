"""Additive noise: Gaussian (camera read noise) and Poisson (shot noise), colour or gray.

"Gray" noise draws one noise plane and adds it to all three channels, so it changes
brightness but not hue. Both functions clip the result to [0, 1] and do not round,
as in the original.

Full 720p frames make these the dearest steps after the codecs, so the code draws
random numbers through tables, keeps the number of passes low and runs them block by
block (:func:`apisr.images.row_blocks`).
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np
from scipy import special

from apisr.images import row_blocks

# The normal law's quantiles at the midpoints of 2**16 equal-probability bins: indexing
# this table with uniform 16-bit integers draws normal numbers about twice as fast as
# ``Generator.standard_normal``, which dominated the cost of full-frame noise. The CDF
# of these draws never differs from the normal CDF by more than 2**-17 (7.6e-6), and
# values beyond 4.3 sigma (probability 1.5e-5) land on the last quantile.
_NORMAL_QUANTILES = special.ndtri((np.arange(2**16) + 0.5) / 2**16).astype(np.float32)
_NORMAL_QUANTILES.flags.writeable = False


def uniform_uint16(count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` uniform 16-bit integers, cut four from each 64-bit output of the bit generator.

    Every bit of the bit generator's output is uniform, so this is exact, and about twice
    as fast as ``Generator.integers(0, 2**16, dtype=np.uint16)``.
    """
    words = rng.bit_generator.random_raw(-(-count // 4))
    return words.view(np.uint16)[:count]


def standard_normal(shape: tuple[int, ...], rng: np.random.Generator, sigma: float = 1.0) -> np.ndarray:
    """float32 normal numbers with deviation ``sigma``, drawn through the 16-bit quantile table."""
    # Scaling the 65536-entry table is cheaper than scaling a frame's worth of draws.
    table = _NORMAL_QUANTILES if sigma == 1.0 else _NORMAL_QUANTILES * np.float32(sigma)
    return table.take(uniform_uint16(math.prod(shape), rng)).reshape(shape)


def gaussian_noise(image: np.ndarray, sigma: float, gray: bool, rng: np.random.Generator) -> np.ndarray:
    """Add N(0, (sigma/255)^2) noise; ``sigma`` is in 8-bit levels."""
    out = np.empty_like(image)
    for rows in row_blocks(image.shape):
        block = image[rows]
        noise = standard_normal(block.shape[:2] + (1 if gray else block.shape[2],), rng, sigma / 255.0)
        _add_clipped(block, noise, out[rows])
    return out


def poisson_noise(image: np.ndarray, scale: float, gray: bool, rng: np.random.Generator) -> np.ndarray:
    """Add ``scale`` times Poisson shot noise, Real-ESRGAN style.

    The image is quantised to 8-bit levels; the photon count per unit intensity is the
    number of distinct levels rounded up to a power of two, so a flat image gets
    coarse noise and a richly textured one fine noise. Gray noise is computed on the
    luma (BT.601 weights) of the RGB image.
    """
    source = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None] if gray else image
    levels = np.empty(source.shape, np.uint8)
    for rows in row_blocks(source.shape):
        # convertScaleAbs rounds and saturates to uint8 but takes absolute values, so negatives go to 0 first.
        positive = np.maximum(source[rows], 0.0)
        levels[rows] = cv2.convertScaleAbs(positive, alpha=255.0).reshape(positive.shape)
    histogram = cv2.calcHist([levels.reshape(levels.shape[0], -1)], [0], None, [256], [0, 256])
    distinct = int(np.count_nonzero(histogram))
    photons = 2.0 ** math.ceil(math.log2(max(distinct, 1)))
    means = np.arange(256, dtype=np.float32) * np.float32(photons / 255.0)
    out = np.empty_like(image)
    for rows in row_blocks(image.shape):
        noise = centred_poisson(levels[rows], means, rng, step=scale / photons)
        _add_clipped(image[rows], noise, out[rows])
    return out


def _add_clipped(image: np.ndarray, noise: np.ndarray, out: np.ndarray) -> None:
    """``out = clip(image + noise, 0, 1)``; ``noise`` may be a gray (H, W, 1) plane."""
    np.add(image, noise, out=out)
    np.clip(out, 0.0, 1.0, out=out)


def centred_poisson(
    levels: np.ndarray, means: np.ndarray, rng: np.random.Generator, step: float = 1.0, normal_from: float = 16.0
) -> np.ndarray:
    """``step * (N - m)`` as float32, where ``N`` is Poisson with mean ``m = means[levels]``.

    ``levels`` is a uint8 array and ``means`` an increasing table of 256 float32 means,
    so every per-pixel mean comes from a table lookup; each value uses one uniform
    16-bit draw (numpy's exact sampler costs about 80 ns a value). Where the mean is at
    least ``normal_from`` we round a Cornish-Fisher corrected normal instead,
    ``m + sqrt(m) z + (z^2 - 1) / 6``, which matches the Poisson's mean, variance and
    skew; its total-variation distance from the exact law is below 0.2 % for every mean
    from 16 up (checked with 20 million draws). ``z`` comes from the normal quantile
    table, so ``|z| <= 4.33`` and the rounded value is at least 2 for a mean of 16 or
    more: it never needs clamping at 0. Smaller means, where the shape is far from
    normal, read the Poisson law's own quantile table (:func:`poisson_quantiles`).
    """
    shape = levels.shape
    uniform = uniform_uint16(levels.size, rng)
    z = _NORMAL_QUANTILES.take(uniform).reshape(shape)
    # offset = m + 1/3: the skew term's -1/6 plus 1/2 to round by flooring.
    offset = cv2.LUT(levels, means + np.float32(1.0 / 3.0)).reshape(shape)
    root = cv2.LUT(levels, np.sqrt(means)).reshape(shape)
    # counts = floor(offset + z * (root + z / 6))
    counts = cv2.scaleAdd(z, 1.0 / 6.0, root, dst=root)
    counts *= z
    counts += offset
    np.floor(counts, out=counts)
    # step * (counts - m) = step * counts - step * offset + step / 3, in one pass.
    deviations = cv2.addWeighted(counts, step, offset, -step, step / 3.0, dst=counts)
    small_levels = int(np.searchsorted(means, normal_from))
    # Index lists, not boolean masks: dark pixels are few, and a mask costs a full pass per use.
    small = np.flatnonzero(levels.reshape(-1) < small_levels)
    if small.size:
        tables = _quantile_tables(tuple(means[:small_levels].tolist()))
        level = levels.reshape(-1)[small]
        exact = tables[level, uniform[small]] - means[level]
        deviations.reshape(-1)[small] = exact * np.float32(step)
    return deviations


@functools.lru_cache(maxsize=8)
def _quantile_tables(means: tuple[float, ...]) -> np.ndarray:
    return np.stack([poisson_quantiles(mean) for mean in means])


@functools.lru_cache(maxsize=512)
def poisson_quantiles(mean: float) -> np.ndarray:
    """The Poisson(``mean``) law's quantiles at the midpoints of 2**16 equal-probability bins, as uint8.

    Indexing this table with a uniform 16-bit integer draws from the law with every
    probability rounded to a multiple of 2**-16 (the CDF is off by at most 2**-17 at
    any count), as :data:`_NORMAL_QUANTILES` does for the normal law. For means below
    16 the 1 - 2**-17 quantile is under 40, so uint8 holds every count.
    """
    if not 0.0 <= mean <= 128.0:
        raise ValueError(f"poisson_quantiles: mean {mean} outside [0, 128], where uint8 holds the counts")
    cdf = special.pdtr(np.arange(256), mean)  # P(N <= k)
    # The quantile at p is the smallest k with P(N <= k) >= p.
    table = np.searchsorted(cdf, (np.arange(2**16) + 0.5) / 2**16).astype(np.uint8)
    table.flags.writeable = False
    return table
