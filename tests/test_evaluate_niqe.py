"""NIQE: its building blocks, its behaviour on generated pictures, and a reference where one is installed."""

from __future__ import annotations

import io
from importlib import resources

import cv2
import numpy as np
import pytest
from PIL import Image
from scipy.special import gamma

from apisr.evaluate.niqe import fit_aggd, gaussian_window, matlab_halve, niqe, pristine_model


def pink_noise(size: int, seed: int) -> np.ndarray:
    """RGB noise with a 1/f amplitude spectrum, the falloff of natural photographs, in [0, 1]."""
    rng = np.random.default_rng(seed)
    fy, fx = np.fft.fftfreq(size)[:, None], np.fft.fftfreq(size)[None, :]
    frequency = np.sqrt(fy**2 + fx**2)
    frequency[0, 0] = 1.0
    spectrum = np.fft.fft2(rng.normal(size=(size, size, 3)), axes=(0, 1)) / frequency[..., None]
    image = np.real(np.fft.ifft2(spectrum, axes=(0, 1)))
    image = (image - image.min()) / (image.max() - image.min())
    return (np.round(image * 255) / 255).astype(np.float32)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray((image * 255 + 0.5).astype(np.uint8)).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer), dtype=np.float32) / 255


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    return pink_noise(200, seed=3)  # 2x2 blocks of 96 pixels


def test_pristine_model_and_window_are_the_published_ones():
    mu, cov = pristine_model()
    assert mu.shape == (36,) and cov.shape == (36, 36)
    assert np.allclose(cov, cov.T)
    with (resources.files("apisr") / "data" / "niqe_pris_params.npz").open("rb") as f:
        stored_window = np.load(f)["gaussian_window"]
    # The file's window is MATLAB's fspecial('gaussian', 7, 7/6): ours recomputes it.
    assert np.allclose(gaussian_window(), stored_window, atol=1e-12)


def test_matlab_halve_keeps_flat_and_linear_images():
    flat = np.full((20, 30), 77.0)
    assert matlab_halve(flat).shape == (10, 15)
    assert np.allclose(matlab_halve(flat), 77.0)
    # A ramp is reproduced exactly away from the mirrored borders, sampled at output pixel
    # centres: output pixel i (0-based) sits at input coordinate 2 i + 0.5.
    ramp = np.tile(np.arange(40, dtype=np.float64), (8, 1))
    halved = matlab_halve(ramp)
    assert np.allclose(halved[:, 3:-3], 2 * np.arange(20)[3:-3] + 0.5)


def test_fit_aggd_recovers_a_gaussian():
    sigma = 1.7
    values = np.random.default_rng(0).normal(0, sigma, 200_000)
    alpha, left, right = fit_aggd(values)
    assert alpha == pytest.approx(2.0, abs=0.05)
    # For alpha = 2 the scale is sigma * sqrt(Gamma(1/2) / Gamma(3/2)) = sigma * sqrt(2).
    expected = sigma * np.sqrt(gamma(0.5) / gamma(1.5))
    assert left == pytest.approx(expected, rel=0.02) and right == pytest.approx(expected, rel=0.02)


def test_niqe_rises_with_gaussian_blur(picture):
    scores = [niqe(picture)] + [niqe(cv2.GaussianBlur(picture, (0, 0), sigma)) for sigma in (1.0, 2.0)]
    assert scores[0] < scores[1] < scores[2]


def test_niqe_rises_with_stronger_jpeg_compression(picture):
    scores = [niqe(jpeg(picture, quality)) for quality in (40, 15, 5)]
    assert scores[0] < scores[1] < scores[2]


def test_niqe_is_stable_under_a_one_pixel_shift(picture):
    base = niqe(picture[:-1, :-1])
    blur_effect = niqe(cv2.GaussianBlur(picture, (0, 0), 1.0)) - niqe(picture)
    for shifted in (picture[1:, :-1], picture[:-1, 1:], picture[1:, 1:]):
        assert abs(niqe(shifted) - base) < 0.1 * base
        assert abs(niqe(shifted) - base) < blur_effect


def test_niqe_needs_two_blocks():
    with pytest.raises(ValueError, match="two 96x96 blocks"):
        niqe(pink_noise(120, seed=0))
    with pytest.raises(ValueError, match="4-pixel crop"):
        niqe(pink_noise(196, seed=0)[:, :100], crop_border=4)


def test_niqe_matches_basicsr_where_installed(picture):
    """BasicSR's calculate_niqe (numpy/scipy, follows the MATLAB release) as an independent reference."""
    reference = pytest.importorskip("basicsr.metrics.niqe")
    for image, border in ((picture, 0), (jpeg(picture, 20), 0), (picture, 4)):
        bgr = image[..., ::-1] * 255.0
        expected = float(reference.calculate_niqe(bgr, border, input_order="HWC", convert_to="y"))
        assert niqe(image, crop_border=border) == pytest.approx(expected, abs=1e-3)
