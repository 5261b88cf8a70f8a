"""PSNR, SSIM and GMSD on hand-computable cases and their defining properties."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from apisr.evaluate.metrics import gmsd, psnr, ssim, to_y
from apisr.synthetic import seeded_frame

# The BT.601 Y weights on [16, 235] sum to 219: a grey step of d (in [0, 1]) moves Y by 219 d.
Y_GAIN = 65.481 + 128.553 + 24.966


def grey(value: float, size: int = 32) -> np.ndarray:
    return np.full((size, size, 3), value, dtype=np.float32)


def edges(size: int = 64, seed: int = 0) -> np.ndarray:
    return seeded_frame(seed, size, size, shapes=8)


def test_y_channel_is_bt601_on_16_235():
    assert to_y(grey(0.0))[0, 0] == pytest.approx(16.0)
    assert to_y(grey(1.0))[0, 0] == pytest.approx(235.0)
    red = np.zeros((1, 1, 3), np.float32)
    red[..., 0] = 1.0
    assert to_y(red)[0, 0] == pytest.approx(16.0 + 65.481)


def test_psnr_of_a_uniform_step_is_hand_computable():
    step = 10 / 255
    a, b = grey(0.5), grey(0.5 + step)
    # Y: every pixel differs by 219 * step, so MSE = (219 step)^2 on the 0-255 scale.
    assert psnr(a, b) == pytest.approx(20 * math.log10(255 / (Y_GAIN * step)), abs=1e-4)
    # RGB: every channel differs by 10 levels.
    assert psnr(a, b, y_channel=False) == pytest.approx(20 * math.log10(255 / 10), abs=1e-4)


def test_psnr_is_infinite_for_identical_images_and_crop_border_ignores_the_edge():
    a = edges()
    assert psnr(a, a) == math.inf
    b = a.copy()
    b[:3] = 1.0 - b[:3]  # damage only the top three rows
    assert psnr(a, b) < 30
    assert psnr(a, b, crop_border=3) == math.inf


def test_ssim_of_flat_images_is_the_luminance_term():
    a, b = grey(0.3), grey(0.6)
    mu_a, mu_b = 16 + Y_GAIN * 0.3, 16 + Y_GAIN * 0.6
    c1 = (0.01 * 255) ** 2
    # No variance at all: SSIM reduces to (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1).
    expected = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1)
    assert ssim(a, b) == pytest.approx(expected, abs=1e-6)


def test_ssim_is_one_for_identical_images_symmetric_and_falls_with_noise():
    a = edges()
    rng = np.random.default_rng(1)
    light = np.clip(a + rng.normal(0, 0.02, a.shape), 0, 1).astype(np.float32)
    heavy = np.clip(a + rng.normal(0, 0.10, a.shape), 0, 1).astype(np.float32)
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, light) == pytest.approx(ssim(light, a))
    assert 1.0 > ssim(a, light) > ssim(a, heavy) > 0.0
    assert 1.0 > ssim(a, light, y_channel=False) > ssim(a, heavy, y_channel=False)


def test_gmsd_is_zero_for_identical_images_and_rises_with_blur():
    a = edges(96)
    assert gmsd(a, a) == 0.0
    blurred = [cv2.GaussianBlur(a, (0, 0), sigma) for sigma in (0.8, 1.6, 3.2)]
    scores = [gmsd(a, b, crop_border=2) for b in blurred]
    assert 0.0 < scores[0] < scores[1] < scores[2]
    assert gmsd(a, blurred[1]) == pytest.approx(gmsd(blurred[1], a))


def test_gmsd_barely_moves_for_a_brightness_shift_that_psnr_punishes():
    # Gradients ignore a uniform offset: GMSD is about edges, not levels.
    a = edges(96)
    brighter = np.clip(a + 0.1, 0, 1).astype(np.float32)
    blurred = cv2.GaussianBlur(a, (0, 0), 0.7)
    assert psnr(a, brighter) < psnr(a, blurred)
    assert gmsd(a, brighter) < gmsd(a, blurred) / 10


def test_metrics_reject_mismatched_or_too_small_images():
    with pytest.raises(ValueError, match="differ in size"):
        psnr(grey(0.5, 32), grey(0.5, 30))
    with pytest.raises(ValueError, match="11x11"):
        ssim(grey(0.5, 12), grey(0.5, 12), crop_border=2)
