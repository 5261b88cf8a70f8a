"""The single operations of the degradation engine: kernels, noise, resize, codecs."""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
import pytest
from scipy import special

from apisr.degrade import codecs, kernels, noise
from apisr.degrade.config import KernelConfig
from apisr.degrade.resize import resize, scaled_size
from apisr.degrade.synthetic import synthetic_frame
from apisr.images import to_uint8


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return synthetic_frame(64, 96, np.random.default_rng(7))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10 * math.log10(1.0 / max(float(np.mean((a - b) ** 2)), 1e-12))


@pytest.mark.parametrize("kind", ["iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso"])
def test_kernel_families_are_normalised_and_sized(kind):
    config = KernelConfig(types={kind: 1.0}, sinc_prob=0.0)
    rng = np.random.default_rng(0)
    for _ in range(5):
        params = kernels.draw_kernel(config, rng)
        assert params["type"] == kind and params["size"] in config.sizes
        kernel = kernels.build_kernel(**params)
        assert kernel.shape == (params["size"],) * 2
        assert kernel.sum() == pytest.approx(1.0, abs=1e-5)
        # Every family peaks at the centre and is point-symmetric.
        centre = params["size"] // 2
        assert kernel[centre, centre] == kernel.max()
        np.testing.assert_allclose(kernel, kernel[::-1, ::-1], atol=1e-7)


def test_sinc_kernel_cutoff_follows_size():
    rng = np.random.default_rng(1)
    for size in (7, 21):
        params = kernels.draw_kernel(KernelConfig(sizes=(size,), sinc_prob=1.0), rng)
        low = math.pi / 3 if size < 13 else math.pi / 5
        assert params["type"] == "sinc" and low <= params["omega"] <= math.pi
        kernel = kernels.build_kernel(**params)
        assert kernel.sum() == pytest.approx(1.0, abs=1e-5) and kernel.min() < 0  # rings


def test_blur_shortcuts_match_plain_convolution(image):
    rng = np.random.default_rng(2)
    for kind in ("iso", "aniso", "plateau_iso"):
        params = kernels.draw_kernel(KernelConfig(types={kind: 1.0}, sinc_prob=0.0, sizes=(21,)), rng)
        kernel = kernels.build_kernel(**params)
        reference = cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
        out = kernels.blur(image, kernel)
        assert out.shape == image.shape and out.dtype == np.float32
        assert np.abs(out - reference).max() < 3e-4
        assert np.abs(out - image).mean() > 1e-4  # it did blur


@pytest.mark.parametrize("size", [13, 15])
def test_blur_in_two_bands_matches_one_filter(image, size):
    # 13x13 and 15x15 kernels run as two bands of rows; wide sigmas keep every ring.
    kernel = kernels.build_kernel("aniso", size, sigma_x=3.0, sigma_y=2.0, rotation=0.6)
    for part in (image, image[:5, :7]):  # the bottom band reaches past a small image's border
        reference = cv2.filter2D(part, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
        assert np.abs(kernels.blur(part, kernel) - reference).max() < 3e-4


@pytest.mark.parametrize("gray", [False, True])
def test_noise_is_seeded_clipped_and_gray_is_shared(image, gray):
    for add in (lambda rng: noise.gaussian_noise(image, 10.0, gray, rng), lambda rng: noise.poisson_noise(image, 1.0, gray, rng)):
        a, b, c = add(np.random.default_rng(3)), add(np.random.default_rng(3)), add(np.random.default_rng(4))
        assert a.dtype == np.float32 and a.shape == image.shape
        assert np.array_equal(a, b) and not np.array_equal(a, c)
        assert a.min() >= 0.0 and a.max() <= 1.0
        delta = a - image
        inside = np.all((a > 0) & (a < 1), axis=2)  # clipping breaks the equality, so look inside
        same = np.isclose(delta[..., 0], delta[..., 1], atol=1e-6)[inside].mean()
        assert (same > 0.99) if gray else (same < 0.5)


def test_gaussian_noise_has_the_asked_sigma():
    flat = np.full((128, 128, 3), 0.5, np.float32)
    out = noise.gaussian_noise(flat, 20.0, False, np.random.default_rng(0))
    assert np.std(out - flat) * 255 == pytest.approx(20.0, rel=0.03)


def test_table_normal_matches_the_normal_law():
    z = noise.standard_normal((400_000,), np.random.default_rng(2), sigma=2.0)
    assert z.dtype == np.float32
    assert z.mean() == pytest.approx(0.0, abs=0.01) and z.std() == pytest.approx(2.0, rel=0.005)
    # Largest gap between the empirical CDF and the normal CDF (Kolmogorov-Smirnov statistic).
    ordered = np.sort(z.astype(np.float64) / 2.0)
    normal_cdf = special.ndtr(ordered)
    assert np.abs(normal_cdf - np.arange(1, ordered.size + 1) / ordered.size).max() < 3e-3
    assert np.array_equal(z, noise.standard_normal((400_000,), np.random.default_rng(2), sigma=2.0))


def test_poisson_counts_match_the_poisson_law():
    rng = np.random.default_rng(5)
    for mean in (3.0, 40.0, 200.0):  # below and above the exact/approximate switch
        counts = noise.poisson_counts(np.full(200_000, mean, np.float32), rng)
        assert np.all(counts == np.round(counts))
        assert counts.mean() == pytest.approx(mean, rel=0.01)
        assert counts.var() == pytest.approx(mean, rel=0.03)
        skew = np.mean((counts - mean) ** 3) / mean**1.5
        assert skew == pytest.approx(1 / math.sqrt(mean), abs=0.05)


def test_resize_sizes_and_modes(image):
    assert scaled_size((64, 96), 0.5) == (32, 48) and scaled_size((64, 96), 0.001) == (1, 1)
    for mode in ("area", "bilinear", "bicubic"):
        out = resize(image, (21, 35), mode)
        assert out.shape == (21, 35, 3) and out.dtype == np.float32
    assert resize(image, image.shape[:2], "bicubic") is image


CODEC_CASES = [
    ("jpeg", {"quality": 40}),
    ("webp", {"quality": 40, "method": 4}),
    ("avif", {"quality": 40, "speed": 8}),
    ("h264", {"crf": 35, "preset": "fast"}),
    ("h265", {"crf": 38, "preset": "superfast"}),
    ("mpeg2", {"qscale": 20}),
    ("mpeg4", {"qscale": 20}),
]


@pytest.mark.parametrize("codec,params", CODEC_CASES, ids=[c for c, _ in CODEC_CASES])
@pytest.mark.parametrize("size", [(64, 96), (33, 47)], ids=["even", "odd"])
def test_codec_round_trip_changes_image_keeps_size_and_dtype(image, codec, params, size):
    if codec == "avif":
        from PIL import features

        if not features.check("avif"):
            pytest.skip("this Pillow has no AVIF encoder")
    source = image[: size[0], : size[1]]
    out = codecs.compress(source, codec, **params)
    assert out.shape == source.shape and out.dtype == np.float32
    assert np.array_equal(out, np.round(out * 255) / np.float32(255))  # 8-bit levels
    assert 15.0 < psnr(out, source) < 60.0  # really coded, still the same picture
    assert np.array_equal(out, codecs.compress(source, codec, **params))  # deterministic


@pytest.mark.parametrize(
    "codec,key,better,worse,extra",
    [
        ("h264", "crf", 23, 38, {"preset": "medium"}),
        ("h265", "crf", 28, 42, {"preset": "fast"}),
        ("mpeg2", "qscale", 8, 31, {}),
        ("mpeg4", "qscale", 8, 31, {}),
        ("jpeg", "quality", 90, 20, {}),
        ("webp", "quality", 90, 20, {"method": 4}),
    ],
)
def test_stronger_compression_loses_more(codec, key, better, worse, extra):
    gains = []
    for seed in range(3):
        source = noise.gaussian_noise(synthetic_frame(48, 64, np.random.default_rng(seed)), 5.0, False, np.random.default_rng(seed))
        high = codecs.compress(source, codec, **{key: better, **extra})
        low = codecs.compress(source, codec, **{key: worse, **extra})
        gains.append(psnr(high, source) - psnr(low, source))
    assert np.mean(gains) > 1.0


def test_webp_decoded_by_opencv_equals_pillow_decoding(image):
    from PIL import Image

    for quality, method in ((25, 0), (80, 6)):
        buffer = io.BytesIO()
        Image.fromarray(to_uint8(image)).save(buffer, "WEBP", quality=quality, method=method)
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            expected = np.asarray(decoded.convert("RGB"), np.float32) / 255
        assert np.array_equal(codecs.webp(image, quality, method), expected)


def test_unknown_codec_is_refused(image):
    with pytest.raises(ValueError, match="unknown codec 'vp9'"):
        codecs.compress(image, "vp9")
