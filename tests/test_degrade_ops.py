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
from apisr.synthetic import synthetic_frame
from apisr.images import row_blocks, to_uint8


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


def test_blur_is_within_its_tolerance_of_plain_convolution_on_every_path():
    # Many drawn kernels of every family (sinc rings below zero) on an image leaving [0, 1]
    # a little, as bicubic overshoot does, and on a tiny one whose border is within reach.
    image = np.random.default_rng(1).uniform(-0.1, 1.1, (40, 56, 3)).astype(np.float32)
    rng = np.random.default_rng(0)
    paths = set()
    for config in (KernelConfig(), KernelConfig(sigma_range=(0.2, 1.5)), KernelConfig(sinc_prob=1.0)):
        for _ in range(60):
            kernel = kernels.build_kernel(**kernels.draw_kernel(config, rng))
            plan = kernels.plan_blur(kernel)
            if isinstance(plan, list):
                paths.add("one separable term" if len(plan) == 1 else "several separable terms")
            else:
                paths.add("direct" if plan.size < 130 else "two bands" if plan.shape[0] < 17 else "DFT")
            for part in (image, image[:5, :7]):
                reference = cv2.filter2D(part, -1, kernel[::-1, ::-1], borderType=cv2.BORDER_REFLECT_101)
                out = kernels.blur(part, kernel)
                assert out.shape == part.shape and out.dtype == np.float32
                assert np.abs(out - reference).max() <= kernels.TOLERANCE * np.abs(part).max() + 1e-6
    assert paths == {"one separable term", "several separable terms", "direct", "two bands", "DFT"}
    assert np.abs(kernels.blur(image, kernel) - image).mean() > 1e-3  # it did blur


def test_sparse_kernel_drops_only_the_budget():
    kernel = kernels.build_kernel("aniso", 15, sigma_x=3.0, sigma_y=0.6, rotation=0.7).astype(np.float64)
    sparse = kernels.sparse_kernel(kernel, 1e-3)
    kept = sparse != 0
    assert 0 < np.count_nonzero(kept) < kernel.size // 2 and np.abs(kernel[~kept]).sum() <= 1e-3
    assert np.array_equal(sparse[kept], kernel.astype(np.float32)[kept])
    assert np.abs(kernel[~kept]).max() <= np.abs(kernel[kept]).min()  # the smallest taps went


@pytest.mark.parametrize("size", [13, 15])
def test_two_bands_equal_one_filter(image, size):
    # 13x13 and 15x15 kernels run as two bands of rows; wide sigmas keep every ring.
    kernel = kernels.build_kernel("aniso", size, sigma_x=3.0, sigma_y=2.0, rotation=0.6)
    for part in (image, image[:5, :7]):  # the bottom band reaches past a small image's border
        reference = cv2.filter2D(part, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
        assert np.abs(kernels._correlate(part, kernel) - reference).max() < 1e-5


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


def test_gaussian_noise_has_the_asked_sigma_across_blocks():
    flat = np.full((400, 300, 3), 0.5, np.float32)  # several row blocks
    assert len(list(row_blocks(flat.shape))) > 1
    for gray in (False, True):
        delta = noise.gaussian_noise(flat, 20.0, gray, np.random.default_rng(0)) - flat
        assert np.std(delta) * 255 == pytest.approx(20.0, rel=0.03)
        assert (delta.std(axis=(1, 2)) * 255 > 15).all()  # every row block got its noise
        assert np.array_equal(delta[..., 0], delta[..., 2]) == gray


def test_table_normal_matches_the_normal_law():
    z = noise.standard_normal((400_000,), np.random.default_rng(2), sigma=2.0)
    assert z.dtype == np.float32
    assert z.mean() == pytest.approx(0.0, abs=0.01) and z.std() == pytest.approx(2.0, rel=0.005)
    # Largest gap between the empirical CDF and the normal CDF (Kolmogorov-Smirnov statistic).
    ordered = np.sort(z.astype(np.float64) / 2.0)
    normal_cdf = special.ndtr(ordered)
    assert np.abs(normal_cdf - np.arange(1, ordered.size + 1) / ordered.size).max() < 3e-3
    assert np.array_equal(z, noise.standard_normal((400_000,), np.random.default_rng(2), sigma=2.0))


def test_centred_poisson_matches_the_poisson_law():
    rng = np.random.default_rng(5)
    levels = np.zeros(200_000, np.uint8)
    for mean in (3.0, 40.0, 200.0):  # below and above the exact/approximate switch
        means = np.full(256, mean, np.float32)
        counts = noise.centred_poisson(levels, means, rng) + mean
        assert np.array_equal(counts, np.round(counts))
        assert counts.mean() == pytest.approx(mean, rel=0.01)
        assert counts.var() == pytest.approx(mean, rel=0.03)
        skew = np.mean((counts - mean) ** 3) / mean**1.5
        assert skew == pytest.approx(1 / math.sqrt(mean), abs=0.05)
    step = noise.centred_poisson(levels[:1000], np.full(256, 50.0, np.float32), rng, step=0.25)
    # On the step grid up to float32 rounding: OpenCV's addWeighted fuses the terms differently
    # on AVX-512 machines, which leaves errors of a few 1e-7.
    assert np.allclose(step * 4, np.round(step * 4), rtol=0, atol=1e-5)
    shifted = step * 4 + 0.5  # half a step off the grid: the same check must refuse it
    assert not np.allclose(shifted, np.round(shifted), rtol=0, atol=1e-5)


def test_poisson_quantile_table_holds_the_exact_law():
    for mean in (0.3, 3.0, 15.9):
        frequencies = np.bincount(noise.poisson_quantiles(mean), minlength=64)[:64] / 2**16
        exact = np.exp(-mean) * mean ** np.arange(64) / special.factorial(np.arange(64))
        assert np.abs(frequencies - exact).max() <= 2**-16  # every probability within one 16-bit step


def test_poisson_noise_variance_follows_each_level():
    # Every 8-bit level in its own column, so 256 photons per unit: level L has mean
    # L * 256 / 255 photons and the added noise a variance of scale^2 * mean / 256^2.
    ramp = np.repeat(np.repeat((np.arange(256, dtype=np.float32) / 255)[None, :, None], 400, 0), 3, 2)
    scale = 0.2
    delta = noise.poisson_noise(ramp, scale, False, np.random.default_rng(9)) - ramp
    levels = np.arange(20, 236)
    expected = scale**2 * levels * (256 / 255) / 256**2
    variance = delta[:, levels].reshape(-1, levels.size, 3).transpose(1, 0, 2).reshape(levels.size, -1).var(axis=1)
    assert np.mean(variance / expected) == pytest.approx(1.0, abs=0.02)
    assert abs(delta[:, levels].mean()) < 1e-4


def test_uniform_uint16_is_uniform_and_seeded():
    values = noise.uniform_uint16(1_000_003, np.random.default_rng(4))
    assert values.dtype == np.uint16 and values.size == 1_000_003
    for part in (values & 0xFF, values >> 8):  # both bytes uniform over 256 values
        counts = np.bincount(part, minlength=256)
        chi2 = float(((counts - counts.mean()) ** 2 / counts.mean()).sum())
        assert chi2 < 350  # 255 degrees of freedom: p < 1e-4 above 350
    assert np.array_equal(values, noise.uniform_uint16(1_000_003, np.random.default_rng(4)))


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


def test_blockwise_to_uint8_equals_the_plain_formula():
    values = np.random.default_rng(6).uniform(-0.3, 1.3, (301, 7, 3)).astype(np.float32)
    values[0, :, 0] = [0.5 / 255, 1.5 / 255, 254.5 / 255, 0.0, 1.0, -0.0, 0.5]  # ties and ends
    big = np.random.default_rng(7).uniform(-0.1, 1.1, (400, 300, 3)).astype(np.float32)  # several row blocks
    for part in (values, values[:1, :1], values[:, 2:5], big, values.astype(np.float64)):
        assert np.array_equal(to_uint8(part), (np.clip(part, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))


def test_unknown_codec_is_refused(image):
    with pytest.raises(ValueError, match="unknown codec 'vp9'"):
        codecs.compress(image, "vp9")
