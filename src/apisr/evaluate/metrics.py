"""Full-reference image metrics: PSNR, SSIM and GMSD.

All three take two RGB float32 ``(H, W, 3)`` arrays in [0, 1] of the same size and
follow the conventions of super-resolution papers (BasicSR, after the MATLAB code
of the original authors): the luma ``Y`` of BT.601 on the [16, 235] scale of 0-255
(``Y = 16 + 65.481 R + 128.553 G + 24.966 B``, not rounded), ``crop_border``
pixels removed from every side first (papers use the scale factor), float64 maths.

- PSNR (higher is better): ``10 log10(255^2 / MSE)``; infinite for identical images.
- SSIM (higher is better, at most 1): Wang et al. 2004, an 11x11 Gaussian window of
  sigma 1.5, ``C1 = (0.01*255)^2``, ``C2 = (0.03*255)^2``, mean over the valid part
  of the map (5 pixels lost at each side).
- GMSD (lower is better, 0 for identical images): Xue et al. 2014, the standard
  deviation of the gradient-magnitude similarity map; both images averaged over
  2x2 blocks and subsampled by 2, 3x3 Prewitt gradients, ``c = 170``. It needs no
  learned weights and punishes blurred or broken edges.

With ``y_channel=False`` the metric is computed on R, G and B on the 0-255 scale
(PSNR over all channels at once; SSIM and GMSD averaged over the channels).
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

# BT.601 luma on the [16, 235] range, for RGB in [0, 1] (MATLAB's rgb2ycbcr).
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966])


def to_y(image: np.ndarray) -> np.ndarray:
    """RGB float [0, 1] ``(H, W, 3)`` to BT.601 luma ``(H, W)`` float64 on [16, 235]."""
    return image.astype(np.float64) @ _Y_WEIGHTS + 16.0


def _prepare(a: np.ndarray, b: np.ndarray, crop_border: int, y_channel: bool) -> tuple[np.ndarray, np.ndarray]:
    """Both images on the 0-255 scale as float64 ``(H, W, C)``, cropped, Y only if asked."""
    if a.shape != b.shape:
        raise ValueError(f"images differ in size: {a.shape} vs {b.shape}")
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected (H, W, 3) RGB images, got {a.shape}")
    if crop_border:
        a = a[crop_border:-crop_border, crop_border:-crop_border]
        b = b[crop_border:-crop_border, crop_border:-crop_border]
        if a.size == 0:
            raise ValueError(f"crop border {crop_border} leaves nothing of a {a.shape} image")
    if y_channel:
        return to_y(a)[..., None], to_y(b)[..., None]
    return a.astype(np.float64) * 255.0, b.astype(np.float64) * 255.0


def psnr(a: np.ndarray, b: np.ndarray, crop_border: int = 0, y_channel: bool = True) -> float:
    """Peak signal-to-noise ratio in dB (higher is better)."""
    a, b = _prepare(a, b, crop_border, y_channel)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0.0:
        return float("inf")
    return 10.0 * np.log10(255.0**2 / mse)


def _ssim_plane(a: np.ndarray, b: np.ndarray) -> float:
    c1 = (0.01 * 255) ** 2
    c2 = (0.03 * 255) ** 2
    window = cv2.getGaussianKernel(11, 1.5)
    window = window @ window.T

    def blur(x: np.ndarray) -> np.ndarray:
        # Only the part where the whole window lies inside the image ('valid'), as in MATLAB.
        return cv2.filter2D(x, -1, window, borderType=cv2.BORDER_REPLICATE)[5:-5, 5:-5]

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


def ssim(a: np.ndarray, b: np.ndarray, crop_border: int = 0, y_channel: bool = True) -> float:
    """Structural similarity (higher is better, 1 for identical images)."""
    a, b = _prepare(a, b, crop_border, y_channel)
    if min(a.shape[:2]) < 11:
        raise ValueError(f"SSIM needs at least 11x11 pixels after cropping, got {a.shape[1]}x{a.shape[0]}")
    return float(np.mean([_ssim_plane(a[..., c], b[..., c]) for c in range(a.shape[2])]))


_PREWITT_X = np.array([[1.0, 0.0, -1.0]] * 3) / 3.0


def _gradient_magnitude(plane: np.ndarray) -> np.ndarray:
    # Zero padding outside the image, as MATLAB's conv2(..., 'same') in the reference code.
    gx = ndimage.correlate(plane, _PREWITT_X, mode="constant")
    gy = ndimage.correlate(plane, _PREWITT_X.T, mode="constant")
    return np.sqrt(gx**2 + gy**2)


def _halve(plane: np.ndarray) -> np.ndarray:
    """Average each 2x2 block (zero beyond the last row/column) and keep every second pixel."""
    padded = np.pad(plane, ((0, plane.shape[0] % 2), (0, plane.shape[1] % 2)))
    h, w = padded.shape
    return padded.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def _gmsd_plane(a: np.ndarray, b: np.ndarray) -> float:
    c = 170.0
    ga = _gradient_magnitude(_halve(a))
    gb = _gradient_magnitude(_halve(b))
    similarity = (2 * ga * gb + c) / (ga**2 + gb**2 + c)
    return float(np.std(similarity, ddof=1))


def gmsd(a: np.ndarray, b: np.ndarray, crop_border: int = 0, y_channel: bool = True) -> float:
    """Gradient magnitude similarity deviation (lower is better, 0 for identical images)."""
    a, b = _prepare(a, b, crop_border, y_channel)
    if min(a.shape[:2]) < 4:
        raise ValueError(f"GMSD needs at least 4x4 pixels after cropping, got {a.shape[1]}x{a.shape[0]}")
    return float(np.mean([_gmsd_plane(a[..., c], b[..., c]) for c in range(a.shape[2])]))
