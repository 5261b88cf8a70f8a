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
from collections.abc import Callable

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


# Every shortcut below applies a kernel within this L1 distance of the exact one, so no
# output pixel moves by more than TOLERANCE times the image's largest absolute value:
# 0.13 of an 8-bit level for an image in [0, 1].
TOLERANCE = 5e-4

# What each way of filtering costs, in ms for a 1280x720 RGB float32 frame on one core
# of our EPYC (only the ratios matter). OpenCV's filter2D sums directly below 130 taps
# (counting the whole rectangle, but skipping zero taps), and above uses a DFT whose
# cost hardly depends on the kernel size.
_DIRECT_TAPS = 130
_PASS_MS = 2.2  # one filter2D call's fixed cost
_TAP_MS = 0.15  # each non-zero tap of filter2D
_SEPARABLE_MS = (1.3, 0.54)  # one sepFilter2D call: fixed, per tap of each 1-D kernel
_ADD_MS = 1.8  # adding one filtered frame to another
_DFT_MS = 55.0


def blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve each channel with ``kernel``, mirroring the border (reflect-101, like the original).

    Runs the cheapest way :func:`plan_blur` finds, within :data:`TOLERANCE` of the exact result.
    """
    plan = plan_blur(kernel)
    if isinstance(plan, np.ndarray):
        out = _correlate(image, plan)
    else:
        out = None
        for row, column in plan:
            term = cv2.sepFilter2D(image, -1, row, column, borderType=cv2.BORDER_REFLECT_101)
            out = term if out is None else cv2.add(out, term, dst=out)
    return out.reshape(image.shape)


def plan_blur(kernel: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]] | np.ndarray:
    """The cheapest way to convolve with ``kernel`` that applies a kernel within :data:`TOLERANCE` of it.

    Either a list of separable ``(row, column)`` 1-D kernels to sum (the kernel's SVD cut
    to its first few singular values; an isotropic Gaussian is one term), or a 2-D kernel
    for filter2D, to correlate with, whose negligible taps are zeroed (filter2D skips
    zeros when it sums directly; above 130 taps it uses a DFT). First, outer rings
    holding almost no weight are dropped: a sigma-0.5 Gaussian drawn at 21x21 is really 3x3.
    """
    # cv2 correlates; flipping makes it a convolution (all our kernels are point-symmetric anyway).
    exact = kernel[::-1, ::-1].astype(np.float64)
    trimmed = trim_kernel(exact, TOLERANCE / 4)
    # The L1 distance of a kernel applied in the trimmed frame from the exact kernel.
    dropped_rings = float(np.abs(exact).sum() - np.abs(trimmed).sum())

    def error(applied: np.ndarray) -> float:
        return dropped_rings + float(np.abs(applied - trimmed).sum())

    terms = separable_terms(trimmed, lambda approx: error(approx) <= TOLERANCE)
    sparse = sparse_kernel(trimmed, TOLERANCE - dropped_rings)
    size = trimmed.shape[0]
    separable_ms = len(terms) * (_SEPARABLE_MS[0] + _SEPARABLE_MS[1] * size) + (len(terms) - 1) * _ADD_MS
    if size * size < _DIRECT_TAPS:
        direct_ms = _PASS_MS + _TAP_MS * np.count_nonzero(sparse)
    elif (size // 2 + 1) * size < _DIRECT_TAPS:
        direct_ms = 2 * _PASS_MS + _TAP_MS * np.count_nonzero(sparse) + _ADD_MS
    else:
        direct_ms = _DFT_MS
    return terms if separable_ms < direct_ms else sparse


def separable_terms(
    kernel: np.ndarray, good_enough: Callable[[np.ndarray], bool]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The fewest SVD terms whose sum ``good_enough`` accepts, as float32 ``(row, column)`` 1-D kernels.

    The singular vectors of a point-symmetric kernel are each even or odd; making them
    exactly so lets OpenCV take its faster symmetric 1-D filters.
    """
    u, s, vt = np.linalg.svd(kernel)
    terms = []
    approx = np.zeros_like(kernel)
    for k in range(s.size):
        scale = math.sqrt(s[k])
        row, column = _even_or_odd(vt[k] * scale), _even_or_odd(u[:, k] * scale)
        terms.append((row, column))
        approx += np.outer(column, row)
        if good_enough(approx):
            break
    return terms


def _even_or_odd(vector: np.ndarray) -> np.ndarray:
    even, odd = (vector + vector[::-1]) / 2, (vector - vector[::-1]) / 2
    return (even if np.abs(even).sum() >= np.abs(odd).sum() else odd).astype(np.float32)


def sparse_kernel(kernel: np.ndarray, budget: float) -> np.ndarray:
    """float32 ``kernel`` with its smallest taps zeroed while their absolute sum stays within ``budget``."""
    magnitude = np.abs(kernel).ravel()
    order = np.argsort(magnitude, kind="stable")
    dropped = np.searchsorted(np.cumsum(magnitude[order]), budget, side="right")
    sparse = kernel.astype(np.float32).ravel()
    sparse[order[:dropped]] = 0.0
    return sparse.reshape(kernel.shape)


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
        return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
    top = np.ascontiguousarray(kernel[: centre + 1])
    bottom = kernel[centre:].copy()
    bottom[0] = 0.0
    out = cv2.filter2D(image, -1, top, anchor=(centre, centre), borderType=cv2.BORDER_REFLECT_101)
    out += cv2.filter2D(image, -1, bottom, anchor=(centre, 0), borderType=cv2.BORDER_REFLECT_101)
    return out


def trim_kernel(kernel: np.ndarray, tolerance: float) -> np.ndarray:
    """Drop outer rings of a square kernel while they hold at most ``tolerance`` absolute weight in all."""
    weight = np.abs(kernel)
    total = float(weight.sum())
    radius = kernel.shape[0] // 2
    keep = radius
    while keep > 0:
        inner = weight[radius - keep + 1 : radius + keep, radius - keep + 1 : radius + keep].sum()
        if total - inner > tolerance:
            break
        keep -= 1
    return kernel[radius - keep : radius + keep + 1, radius - keep : radius + keep + 1]
