"""Blur kernels (the six Real-ESRGAN families plus the circular sinc) and blurring.

Drawing and building are separate so that a recipe can store the drawn parameters
(:func:`draw_kernel`) and rebuild the exact kernel later (:func:`build_kernel`).

The families all weigh a pixel offset ``d`` by its squared Mahalanobis distance
``q = d^T S^-1 d`` under the covariance ``S = R diag(sx^2, sy^2) R^T``:

* ``iso`` / ``aniso``:                  ``exp(-q / 2)``
* ``generalized_iso`` / ``_aniso``:     ``exp(-q ** beta / 2)``  (beta < 1 heavy tails, > 1 flat top)
* ``plateau_iso`` / ``_aniso``:         ``1 / (1 + q ** beta)``

``*_iso`` draws one sigma and no rotation; ``*_aniso`` draws both sigmas and a rotation.
The sinc kernel is an ideal circular low-pass filter with cutoff ``omega`` (rad/pixel),
which rings like an over-sharpened or badly resampled image.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy import special

from apisr.degrade.config import KernelConfig
from apisr.degrade.draw import choose


def draw_kernel(config: KernelConfig, rng: np.random.Generator) -> dict:
    """Draw one kernel's parameters: ``{"type", "size", ...}`` (plain floats, JSON-ready)."""
    size = config.sizes[int(rng.integers(len(config.sizes)))]
    if rng.random() < config.sinc_prob:
        # Small kernels cannot hold a very low cutoff's wide main lobe.
        low = math.pi / 3 if size < 13 else math.pi / 5
        return {"type": "sinc", "size": size, "omega": float(rng.uniform(low, math.pi))}
    kind = choose(config.types, rng)
    params: dict = {"type": kind, "size": size}
    if "aniso" not in kind:
        sigma = float(rng.uniform(*config.sigma_range))
        params.update(sigma_x=sigma, sigma_y=sigma, rotation=0.0)
    else:
        params.update(
            sigma_x=float(rng.uniform(*config.sigma_range)),
            sigma_y=float(rng.uniform(*config.sigma_range)),
            rotation=float(rng.uniform(-math.pi, math.pi)),
        )
    if kind.startswith("generalized"):
        params["beta"] = _draw_beta(config.betag_range, rng)
    elif kind.startswith("plateau"):
        params["beta"] = _draw_beta(config.betap_range, rng)
    return params


def _draw_beta(low_high: tuple[float, float], rng: np.random.Generator) -> float:
    # Half below 1 and half above, so sharp and flat shapes are equally likely
    # although the range above 1 is usually much wider.
    low, high = low_high
    return float(rng.uniform(low, 1.0) if rng.random() < 0.5 else rng.uniform(1.0, high))


def build_kernel(type: str, size: int, **params: float) -> np.ndarray:  # noqa: A002 (recipe key)
    """The normalised ``size x size`` float32 kernel described by drawn parameters."""
    radius = size // 2
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float64)
    if type == "sinc":
        kernel = _sinc(x, y, params["omega"])
    else:
        q = _mahalanobis(x, y, params["sigma_x"], params["sigma_y"], params["rotation"])
        family = type.split("_")[0]
        if family in ("iso", "aniso"):
            kernel = np.exp(-0.5 * q)
        elif family == "generalized":
            kernel = np.exp(-0.5 * np.power(q, params["beta"]))
        elif family == "plateau":
            kernel = 1.0 / (1.0 + np.power(q, params["beta"]))
        else:
            raise ValueError(f"unknown kernel type {type!r}")
    return (kernel / kernel.sum()).astype(np.float32)


def _mahalanobis(x: np.ndarray, y: np.ndarray, sigma_x: float, sigma_y: float, rotation: float) -> np.ndarray:
    c, s = math.cos(rotation), math.sin(rotation)
    # Rotate the offsets into the kernel's own axes, then scale each axis.
    u = c * x + s * y
    v = -s * x + c * y
    return (u / sigma_x) ** 2 + (v / sigma_y) ** 2


def _sinc(x: np.ndarray, y: np.ndarray, omega: float) -> np.ndarray:
    r = np.hypot(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        kernel = omega * special.j1(omega * r) / (2 * math.pi * r)
    kernel[r == 0] = omega**2 / (4 * math.pi)
    return kernel


def blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve each channel with ``kernel``, mirroring the border (reflect-101, like the original).

    Two shortcuts keep full 720p frames cheap, each changing a pixel by at most 1e-4
    (under 1/30 of an 8-bit level): outer rings of the kernel that hold less than 1e-4
    of its absolute weight are dropped (a sigma-0.5 Gaussian drawn at 21x21 is really
    3x3), and a rank-one kernel (every isotropic Gaussian) runs as two 1-D passes.
    """
    kernel = trim_kernel(kernel, 1e-4)
    u, s, vt = np.linalg.svd(kernel.astype(np.float64))
    if s.size > 1 and s[1] <= 1e-7 * s[0]:
        column = (u[:, 0] * math.sqrt(s[0])).astype(np.float32)
        row = (vt[0] * math.sqrt(s[0])).astype(np.float32)
        out = cv2.sepFilter2D(image, -1, row, column, borderType=cv2.BORDER_REFLECT_101)
    else:
        # cv2 correlates; flipping makes it a convolution (all our kernels are point-symmetric anyway).
        out = _correlate(image, kernel[::-1, ::-1])
    return out.reshape(image.shape)


# OpenCV's filter2D switches from direct summation to a DFT at 130 taps (float32 data).
_DIRECT_TAPS = 130


def _correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``cv2.filter2D`` with reflect-101 borders, cheaper for 13x13 and 15x15 kernels.

    On a 720p frame the DFT costs as much for 13x13 as for 21x21, whereas direct
    summation costs in proportion to the taps. A 13x13 or 15x15 kernel is therefore
    cheaper as two bands of rows, the top half and the bottom half, each under the DFT
    threshold, summed. The anchor must lie inside a band, so both bands include the
    centre row and the bottom one zeroes it. Larger kernels would need more bands and
    gain nothing.
    """
    size = kernel.shape[0]
    centre = size // 2
    if size * size < _DIRECT_TAPS or (centre + 1) * size >= _DIRECT_TAPS:
        return cv2.filter2D(image, -1, np.ascontiguousarray(kernel), borderType=cv2.BORDER_REFLECT_101)
    top = np.ascontiguousarray(kernel[: centre + 1])
    bottom = kernel[centre:].copy()
    bottom[0] = 0.0
    out = cv2.filter2D(image, -1, top, anchor=(centre, centre), borderType=cv2.BORDER_REFLECT_101)
    out += cv2.filter2D(image, -1, bottom, anchor=(centre, 0), borderType=cv2.BORDER_REFLECT_101)
    return out


def trim_kernel(kernel: np.ndarray, tolerance: float) -> np.ndarray:
    """Drop outer rings of a square kernel while they hold at most ``tolerance`` of its absolute weight."""
    weight = np.abs(kernel)
    total = float(weight.sum())
    radius = kernel.shape[0] // 2
    keep = radius
    while keep > 0:
        inner = weight[radius - keep + 1 : radius + keep, radius - keep + 1 : radius + keep].sum()
        if total - inner > tolerance * total:
            break
        keep -= 1
    trimmed = kernel[radius - keep : radius + keep + 1, radius - keep : radius + keep + 1]
    return (trimmed / trimmed.sum()).astype(np.float32)
