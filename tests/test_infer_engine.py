"""The upscaling engine: tiles and seams, precision fallbacks, memory splits, channel layouts, sizes."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from apisr.infer import engine
from apisr.infer.engine import Upscaler
from apisr.models.registry import ARCHITECTURES, Architecture, ModelDescriptor, build_model


def descriptor(model: nn.Module, scale: int = 4, receptive_field: int = 32, name: str = "test") -> ModelDescriptor:
    architecture = Architecture(name, detect=lambda sd: None, build=lambda **hp: model, receptive_field=receptive_field)
    return ModelDescriptor(architecture, model.eval(), {"scale": scale}, scale=scale)


def registered(name: str, **hyperparameters) -> ModelDescriptor:
    torch.manual_seed(0)
    model = build_model(name, **hyperparameters)
    return ModelDescriptor(ARCHITECTURES[name], model.eval(), hyperparameters, scale=hyperparameters["scale"])


def rrdb() -> ModelDescriptor:
    described = registered("rrdb", scale=4, num_feat=8, num_block=1, num_grow_ch=4)
    # Freshly initialised RRDB outputs about 0; centre it so clamping to [0, 1] hides nothing.
    described.model.conv_last.bias.data += 0.5
    return described


class ConvStack(nn.Module):
    """``depth`` 3x3 convs then a pixel shuffle: ``depth`` pixels of context on each side."""

    def __init__(self, depth: int, scale: int = 2, features: int = 6):
        super().__init__()
        torch.manual_seed(1)
        layers = [nn.Conv2d(3, features, 3, padding=1)]
        for _ in range(depth - 2):
            layers += [nn.Tanh(), nn.Conv2d(features, features, 3, padding=1)]
        layers += [nn.Tanh(), nn.Conv2d(features, 3 * scale * scale, 3, padding=1)]
        self.body = nn.Sequential(*layers)
        self.scale = scale

    def forward(self, x):
        return F.pixel_shuffle(self.body(x), self.scale) + F.interpolate(x, scale_factor=self.scale)


def picture(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = np.linspace(0, 1, width, dtype=np.float32)[None, :, None] * np.linspace(0.2, 0.8, height, dtype=np.float32)[:, None, None]
    return np.clip(smooth + 0.3 * rng.random((height, width, 3), dtype=np.float32), 0, 1)


@pytest.mark.parametrize(
    "make, size, tile, overlap",
    [
        # Odd sizes and tiles small enough for several per axis, with a short last one.
        (rrdb, (29, 41), 16, 4),
        # The compact net sees 3 px around each pixel, so the pixels that a tile edge's zero padding
        # changes stay out of the blend only when the overlap's dead quarter is 3 px: overlap 12.
        (lambda: registered("compact", num_feat=8, num_conv=2, scale=4), (45, 61), 28, 12),
        (lambda: registered("compact", num_feat=8, num_conv=2, scale=4), (45, 61), 32, 8),
    ],
    ids=["rrdb-16", "compact-28", "compact-32"],
)
def test_tiled_equals_untiled(make, size, tile, overlap):
    described = make()
    image = picture(*size)
    # fp32: on a CPU with native bf16, auto precision rounds tiles that oneDNN blocks differently
    # to different bf16 values, which is not what this test is about.
    whole = Upscaler(described, tile_size=0, precision="fp32").upscale(image)
    assert whole.shape == (size[0] * 4, size[1] * 4, 3) and whole.std() > 0.01
    tiled = Upscaler(described, tile_size=tile, tile_overlap=overlap, precision="fp32").upscale(image)
    assert np.abs(tiled - whole).mean() < 1e-3


def test_seams_no_worse_than_interior_with_the_models_overlap():
    # 10 convs: 10px of context, declared as its receptive field; overlap 40 drops 10px at each inner edge.
    described = descriptor(ConvStack(depth=10), scale=2, receptive_field=40)
    image = picture(100, 170, seed=3)
    whole = Upscaler(described, tile_size=0).upscale(image)
    tiled = Upscaler(described, tile_size=160).upscale(image)
    error = np.abs(tiled - whole).max(axis=2)
    # Output columns where the two tiles overlap (twice the shared input columns).
    (_, first_end), (second_start, _) = engine._spans(170, 160, 40, 1)
    seams = np.zeros(error.shape[1], bool)
    seams[2 * second_start : 2 * first_end] = True
    assert 0 < seams.sum() < seams.size
    assert error[:, seams].max() <= error[:, ~seams].max() + 1e-5
    # The same tiles with too little overlap do show a seam: the check above can fail.
    hard = Upscaler(described, tile_size=160, tile_overlap=4).upscale(image)
    assert np.abs(hard - whole).max() > 1e-3


class NanUnlessFloat32(nn.Module):
    """Emits NaN whenever its conv ran in half precision (as an overflowing model would)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(2)
        self.conv = nn.Conv2d(3, 12, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        if y.dtype != torch.float32:
            y = y * float("nan")
        return F.pixel_shuffle(y, 2) * 0.1 + 0.5


def test_non_finite_half_precision_tile_is_redone_in_fp32():
    described = descriptor(NanUnlessFloat32(), scale=2, receptive_field=4)
    image = picture(20, 24)
    reference = Upscaler(described, precision="fp32", tile_size=0).upscale(image)
    half = Upscaler(described, precision="bf16", tile_size=16, tile_overlap=4)
    assert half.precision == "bf16"
    result = half.upscale(image)
    assert np.isfinite(result).all()
    np.testing.assert_allclose(result, reference, atol=1e-6)


def test_auto_precision_checks_half_against_fp32(monkeypatch):
    monkeypatch.setattr(engine, "has_native_bf16", lambda: True)
    assert Upscaler(descriptor(NanUnlessFloat32(), scale=2)).precision == "fp32"
    accurate = descriptor(ConvStack(depth=2), scale=2)
    assert Upscaler(accurate).precision == "bf16"
    monkeypatch.setattr(engine, "has_native_bf16", lambda: False)
    assert Upscaler(accurate).precision == "fp32"


class OutOfMemoryAbove(nn.Module):
    """Raises CUDA's out-of-memory error for inputs over ``limit`` pixels; records the sizes it ran."""

    def __init__(self, inner: nn.Module, limit: int):
        super().__init__()
        self.inner, self.limit, self.sizes = inner, limit, []

    def forward(self, x):
        if x.shape[2] * x.shape[3] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (simulated)")
        self.sizes.append(tuple(x.shape[2:]))
        return self.inner(x)


def test_out_of_memory_splits_the_tile_and_succeeds():
    inner = ConvStack(depth=3)
    image = picture(70, 90)
    whole = Upscaler(descriptor(inner, scale=2, receptive_field=16), tile_size=0, precision="fp32").upscale(image)
    limited = OutOfMemoryAbove(inner, limit=48 * 48)
    # fp32: auto precision's 64x64 accuracy probe would itself exceed the simulated limit.
    result = Upscaler(descriptor(limited, scale=2, receptive_field=16), tile_size=0, precision="fp32").upscale(image)
    assert limited.sizes and all(h * w <= 48 * 48 for h, w in limited.sizes)
    assert np.abs(result - whole).mean() < 1e-3


def test_out_of_memory_at_the_smallest_tile_is_reported():
    never = OutOfMemoryAbove(ConvStack(depth=2), limit=0)
    with pytest.raises(RuntimeError, match="out of memory"):
        Upscaler(descriptor(never, scale=2), tile_size=0, precision="fp32").upscale(picture(40, 40))


def test_alpha_is_upscaled_and_flat_areas_stay_exact():
    described = registered("compact", num_feat=8, num_conv=2, scale=4)
    colour = picture(32, 40)
    alpha = np.zeros((32, 40), np.float32)
    alpha[:, :18] = 1.0
    alpha[:, 18:22] = np.linspace(1, 0, 4, dtype=np.float32)  # a soft edge
    out = Upscaler(described).upscale(np.dstack([colour, alpha]))
    assert out.shape == (128, 160, 4)
    out_alpha = out[..., 3]
    assert (out_alpha[:, :64] == 1.0).all() and (out_alpha[:, 96:] == 0.0).all()
    # The soft edge (input columns 18-21) stays a falling ramp between the two.
    edge = out_alpha[:, 72:88].mean(axis=0).reshape(4, 4).mean(axis=1)
    assert 0 < edge.min() and edge.max() < 1 and (np.diff(edge) < 0).all()


def test_constant_alpha_and_gray_layouts():
    described = registered("compact", num_feat=8, num_conv=2, scale=2)
    gray = picture(16, 20)[..., 0]
    assert Upscaler(described).upscale(gray).shape == (32, 40)
    assert Upscaler(described).upscale(gray[..., None]).shape == (32, 40, 1)
    gray_alpha = np.dstack([gray, np.full_like(gray, 0.5)])
    out = Upscaler(described).upscale(gray_alpha)
    assert out.shape == (32, 40, 2) and (out[..., 1] == 0.5).all()


def test_outscale_and_downsample_threshold_sizes():
    upscaler = Upscaler(registered("compact", num_feat=8, num_conv=2, scale=4))
    image = picture(60, 80)
    assert upscaler.upscale(image, outscale=2.5).shape == (150, 200, 3)
    assert upscaler.upscale(image, outscale=0.5).shape == (30, 40, 3)
    # Short side 60 > 30: the model sees 30x40, so 4x gives 120x160.
    assert upscaler.upscale(image, downsample_threshold=30).shape == (120, 160, 3)
    assert upscaler.upscale(image, downsample_threshold=30, outscale=1).shape == (60, 80, 3)
    assert upscaler.upscale(image, downsample_threshold=100).shape == (240, 320, 3)


def test_pads_to_the_size_multiple_and_crops_back():
    class NeedsMultipleOf8(nn.Module):
        def forward(self, x):
            assert x.shape[2] % 8 == 0 and x.shape[3] % 8 == 0
            return F.interpolate(x, scale_factor=2)

    described = descriptor(NeedsMultipleOf8(), scale=2)
    described.architecture = Architecture("m8", lambda sd: None, lambda **hp: None, size_multiple=8)
    image = picture(13, 21)
    out = Upscaler(described, tile_size=0).upscale(image)
    assert out.shape == (26, 42, 3)
    np.testing.assert_allclose(out[::2, ::2], image, atol=1e-6)


def test_batched_tensor_and_two_threads_agree():
    upscaler = Upscaler(registered("compact", num_feat=8, num_conv=2, scale=2), tile_size=16, tile_overlap=4)
    images = [picture(24, 30, seed=s) for s in (5, 6)]
    expected = [upscaler.upscale(image) for image in images]
    batch = torch.from_numpy(np.stack(images).transpose(0, 3, 1, 2).copy())
    out = upscaler.upscale_tensor(batch).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(out, np.stack(expected), atol=1e-6)
    results = [None, None]

    def work(i):
        for _ in range(3):
            results[i] = upscaler.upscale(images[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result, reference in zip(results, expected):
        np.testing.assert_array_equal(result, reference)


def test_bad_settings_are_refused():
    described = registered("compact", num_feat=8, num_conv=2, scale=2)
    with pytest.raises(ValueError, match="precision"):
        Upscaler(described, precision="int8")
    with pytest.raises(ValueError, match="overlap"):
        Upscaler(described, tile_size=32, tile_overlap=16)
    with pytest.raises(ValueError, match="tile size"):
        Upscaler(described, tile_size=8)
