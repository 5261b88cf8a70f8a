"""NIQE, the Natural Image Quality Evaluator (Mittal, Soundararajan and Bovik, 2013).

A no-reference score: lower means the image's local statistics are closer to those of
pristine natural photographs. It is reported, never tuned for. The steps follow the
authors' MATLAB release (``computequality.m``):

1. Luma ``Y`` (BT.601, [16, 235], rounded as MATLAB's ``rgb2ycbcr`` of a uint8 image
   does), ``crop_border`` removed, then cropped to whole 96x96 blocks.
2. At two scales (the image, then MATLAB's ``imresize(im, 0.5)``: bicubic with
   antialiasing): mean-subtracted contrast-normalised coefficients with a 7x7
   Gaussian (sigma 7/6, replicate borders), and per block 18 features: an
   asymmetric generalised Gaussian fit of the coefficients and of their products
   with the 4 neighbours (right, down, and both diagonals, wrapping inside the block).
3. A multivariate Gaussian over the blocks' 36 features, compared with the pristine
   model's mean and covariance: ``sqrt((mu_p - mu)^T pinv((S_p + S) / 2) (mu_p - mu))``.

The pristine model (``apisr/data/niqe_pris_params.npz``) holds the published figures of
the original release; see ``apisr/data/PROVENANCE.md``.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
from scipy import ndimage
from scipy.special import gamma

from .metrics import to_y

BLOCK = 96


@lru_cache(maxsize=1)
def pristine_model() -> tuple[np.ndarray, np.ndarray]:
    """The mean (36,) and covariance (36, 36) of the pristine natural-image features."""
    with (resources.files("apisr") / "data" / "niqe_pris_params.npz").open("rb") as f:
        params = np.load(f)
        return params["mu_pris_param"].ravel(), params["cov_pris_param"]


def gaussian_window(size: int = 7, sigma: float = 7 / 6) -> np.ndarray:
    """MATLAB's ``fspecial('gaussian', size, sigma)``."""
    x = np.arange(size) - (size - 1) / 2
    window = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma**2))
    return window / window.sum()


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    return (1.5 * ax**3 - 2.5 * ax**2 + 1) * (ax <= 1) + (-0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2) * (
        (ax > 1) & (ax <= 2)
    )


def _halve_weights(length: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and weights of MATLAB's antialiased bicubic ``imresize`` by 0.5 along one axis."""
    scale = 0.5
    width = 4.0 / scale  # the cubic kernel stretched by 1/scale: that is the antialiasing
    out = np.arange(1, int(np.ceil(length * scale)) + 1)
    centre = out / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(centre - width / 2)
    taps = int(np.ceil(width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :]
    weights = scale * _cubic(scale * (centre[:, None] - indices))
    weights /= weights.sum(axis=1, keepdims=True)
    # Out-of-range taps mirror the image (MATLAB's symmetric padding), 1-based to 0-based.
    mirror = np.concatenate([np.arange(length), np.arange(length)[::-1]])
    indices = mirror[(indices.astype(int) - 1) % (2 * length)]
    return indices, weights


def matlab_halve(image: np.ndarray) -> np.ndarray:
    """MATLAB's ``imresize(image, 0.5)`` (bicubic, antialiased) of a 2-D float64 array."""
    rows, row_weights = _halve_weights(image.shape[0])
    image = np.einsum("ok,okw->ow", row_weights, image[rows])
    cols, col_weights = _halve_weights(image.shape[1])
    return np.einsum("ok,hok->ho", col_weights, image[:, cols])


# Candidate shape parameters and the ratio each implies, for the moment-matching fit.
_ALPHAS = np.arange(0.2, 10.001, 0.001)
_RATIOS = gamma(2 / _ALPHAS) ** 2 / (gamma(1 / _ALPHAS) * gamma(3 / _ALPHAS))


def fit_aggd(values: np.ndarray) -> tuple[float, float, float]:
    """Shape alpha and left/right scales of an asymmetric generalised Gaussian, by moment matching."""
    values = values.ravel()
    negative, positive = values[values < 0], values[values > 0]
    # A perfectly flat block has no negative or positive side: its features are NaN, and the
    # caller drops NaN blocks as BasicSR does (np.mean of nothing would say so with a warning).
    left = np.sqrt(np.mean(negative**2)) if negative.size else np.nan
    right = np.sqrt(np.mean(positive**2)) if positive.size else np.nan
    gamma_hat = left / right
    power = np.mean(values**2)
    r_hat = np.mean(np.abs(values)) ** 2 / power if power > 0 else np.nan
    r_norm = r_hat * (gamma_hat**3 + 1) * (gamma_hat + 1) / (gamma_hat**2 + 1) ** 2
    alpha = _ALPHAS[np.argmin((_RATIOS - r_norm) ** 2)]
    spread = np.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    return float(alpha), float(left * spread), float(right * spread)


def block_features(block: np.ndarray) -> list[float]:
    """The 18 NIQE features of one block of normalised coefficients."""
    alpha, left, right = fit_aggd(block)
    features = [alpha, (left + right) / 2]
    for shift in ((0, 1), (1, 0), (1, 1), (-1, 1)):
        alpha, left, right = fit_aggd(block * np.roll(block, shift, axis=(0, 1)))
        mean = (right - left) * gamma(2 / alpha) / gamma(1 / alpha)
        features += [alpha, mean, left, right]
    return features


def _normalised(image: np.ndarray) -> np.ndarray:
    window = gaussian_window()
    mu = ndimage.correlate(image, window, mode="nearest")
    sigma = np.sqrt(np.abs(ndimage.correlate(image * image, window, mode="nearest") - mu * mu))
    return (image - mu) / (sigma + 1)


def niqe_features(luma: np.ndarray) -> np.ndarray:
    """``(blocks, 36)`` features of a 2-D luma image whose sides are whole numbers of blocks."""
    rows, cols = luma.shape[0] // BLOCK, luma.shape[1] // BLOCK
    per_scale = []
    for scale in (1, 2):
        coefficients = _normalised(luma)
        size = BLOCK // scale
        per_scale.append(
            [
                block_features(coefficients[r * size : (r + 1) * size, c * size : (c + 1) * size])
                for c in range(cols)
                for r in range(rows)
            ]
        )
        luma = matlab_halve(luma)
    return np.concatenate([np.asarray(f) for f in per_scale], axis=1)


def niqe(image: np.ndarray, crop_border: int = 0) -> float:
    """NIQE of an RGB float32 ``(H, W, 3)`` image in [0, 1] (lower is better)."""
    luma = np.round(to_y(image))
    if crop_border:
        luma = luma[crop_border:-crop_border, crop_border:-crop_border]
    rows, cols = luma.shape[0] // BLOCK, luma.shape[1] // BLOCK
    if rows * cols < 2:
        raise ValueError(
            f"NIQE needs at least two {BLOCK}x{BLOCK} blocks; a {luma.shape[1]}x{luma.shape[0]} image "
            f"(after a {crop_border}-pixel crop) has {rows * cols}"
        )
    features = niqe_features(luma[: rows * BLOCK, : cols * BLOCK])
    mu_pristine, cov_pristine = pristine_model()
    mu = np.nanmean(features, axis=0)
    cov = np.cov(features[~np.isnan(features).any(axis=1)], rowvar=False)
    diff = mu_pristine - mu
    return float(np.sqrt(diff @ np.linalg.pinv((cov_pristine + cov) / 2) @ diff))
