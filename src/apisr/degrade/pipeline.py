"""APISR's two-stage degradation with shuffled resize positions (spec §2.2).

Stage 1 (on the HR frame) and stage 2 (near the LR size) each run

    [resize] -> blur -> [resize] -> noise -> [resize] -> compression

with the stage's one resize put at one of the three bracketed positions at random
(the "shuffled resize"). Stage 1 compresses with JPEG or WebP. Stage 2 then resizes
to exactly ``(H // scale, W // scale)`` and applies the "prediction-oriented"
compression, one codec per image, mostly single-frame H.264/H.265 video.

:func:`degrade` works in two steps that are also public: :func:`draw_recipe` draws every
random choice up front (it needs only the HR size), and :func:`apply_recipe` runs the
recipe, which is deterministic. The same seed therefore gives the same bytes, and a
stored recipe replays a sample exactly.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from apisr.degrade import codecs, kernels, noise
from apisr.degrade.config import (
    RESIZE_POSITIONS,
    VIDEO_CODECS,
    CodecSettings,
    DegradationConfig,
    NoiseConfig,
    ResizeConfig,
    StageConfig,
)
from apisr.degrade.draw import choose
from apisr.degrade.recipe import Recipe, Step
from apisr.degrade.resize import resize, scaled_size


def degrade(
    hr: np.ndarray, scale: int, config: DegradationConfig, rng: np.random.Generator
) -> tuple[np.ndarray, Recipe]:
    """Degrade an HR image into its LR counterpart; returns (LR float32 RGB, recipe).

    ``hr`` may be float (in [0, 1]), uint8 or uint16, RGB or gray (H x W or H x W x 1).
    The LR is ``(H // scale, W // scale, 3)`` float32 holding exact multiples of 1/255.
    """
    if scale != config.scale:
        raise ValueError(f"degrade: scale {scale} but the config is for {config.scale}x")
    hr = to_float_rgb(hr)
    recipe = draw_recipe(hr.shape[:2], config, rng)
    return apply_recipe(hr, recipe), recipe


def to_float_rgb(image: np.ndarray) -> np.ndarray:
    """uint8/uint16/float, gray or RGB (alpha dropped) -> float32 ``(H, W, 3)`` in [0, 1]."""
    if image.dtype == np.uint8:
        image = image.astype(np.float32) / 255.0
    elif image.dtype == np.uint16:
        image = image.astype(np.float32) / 65535.0
    elif np.issubdtype(image.dtype, np.floating):
        image = image.astype(np.float32, copy=False)
    else:
        raise ValueError(f"unsupported image dtype {image.dtype}; expected uint8, uint16 or float")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected an H x W, H x W x 1, x 3 or x 4 image, got shape {image.shape}")
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def draw_recipe(hr_size: tuple[int, int], config: DegradationConfig, rng: np.random.Generator) -> Recipe:
    """Draw all random choices of one degradation of an ``hr_size = (H, W)`` image."""
    height, width = hr_size
    scale = config.scale
    if height < scale or width < scale:
        raise ValueError(f"image {width}x{height} is smaller than the scale factor {scale}")
    # Stage 1 resizes relative to the HR size, stage 2 relative to the LR size.
    steps = _draw_stage(1, config.stage1, config.codecs, (height, width), rng)
    final_resize = (height // scale, width // scale), config.final_resize_modes
    steps += _draw_stage(2, config.stage2, config.codecs, (height / scale, width / scale), rng, final_resize)
    return Recipe(scale, (height, width), tuple(steps))


def _draw_stage(
    stage: int,
    config: StageConfig,
    settings: CodecSettings,
    resize_base: tuple[float, float],
    rng: np.random.Generator,
    final_resize: tuple[tuple[int, int], dict[str, float]] | None = None,
) -> list[Step]:
    """One stage's steps: [resize] blur [resize] noise [resize] (final resize) compression."""
    position = choose(config.resize.positions, rng) if config.resize else None
    steps = []
    for slot in RESIZE_POSITIONS:
        if position == slot:
            steps.append(_draw_resize(stage, config.resize, resize_base, rng))
        if slot == "before_blur" and rng.random() < config.blur_prob:
            steps.append(Step(stage, "blur", kernels.draw_kernel(config.kernel, rng)))
        if slot == "before_noise" and rng.random() < config.noise.prob:
            steps.append(Step(stage, "noise", _draw_noise(config.noise, rng)))
    if final_resize is not None:
        size, modes = final_resize
        steps.append(Step(stage, "resize", {"direction": "final", "factor": None, "size": list(size), "mode": choose(modes, rng)}))
    codec = choose(config.compression, rng)
    steps.append(Step(stage, "compress", draw_codec_params(codec, settings, rng)))
    return steps


def _draw_resize(stage: int, config: ResizeConfig, base: tuple[float, float], rng: np.random.Generator) -> Step:
    direction = choose(config.directions, rng)
    if direction == "up":
        factor = float(rng.uniform(*config.up_range))
    elif direction == "down":
        factor = float(rng.uniform(*config.down_range))
    else:
        factor = 1.0
    mode = choose(config.modes, rng)
    return Step(stage, "resize", {"direction": direction, "factor": factor, "size": list(scaled_size(base, factor)), "mode": mode})


def _draw_noise(config: NoiseConfig, rng: np.random.Generator) -> dict:
    if rng.random() < config.gaussian_prob:
        params = {"kind": "gaussian", "sigma": float(rng.uniform(*config.gaussian_sigma))}
    else:
        params = {"kind": "poisson", "scale": float(rng.uniform(*config.poisson_scale))}
    params["gray"] = bool(rng.random() < config.gray_prob)
    params["seed"] = int(rng.integers(2**63))
    return params


def draw_codec_params(codec: str, settings: CodecSettings, rng: np.random.Generator) -> dict:
    """Draw ``codec``'s parameters from their configured ranges (integer ranges include both ends)."""

    def integer(low_high: tuple[int, int]) -> int:
        return int(rng.integers(low_high[0], low_high[1] + 1))

    if codec == "jpeg":
        return {"codec": codec, "quality": integer(settings.jpeg_quality)}
    if codec == "webp":
        return {"codec": codec, "quality": integer(settings.webp_quality), "method": integer(settings.webp_method)}
    if codec == "avif":
        return {"codec": codec, "quality": integer(settings.avif_quality), "speed": settings.avif_speed}
    if codec in ("h264", "h265"):
        crf = settings.h264_crf if codec == "h264" else settings.h265_crf
        return {"codec": codec, "crf": integer(crf), "preset": choose(settings.presets, rng)}
    if codec in VIDEO_CODECS:
        qscale = settings.mpeg2_qscale if codec == "mpeg2" else settings.mpeg4_qscale
        return {"codec": codec, "qscale": integer(qscale)}
    raise ValueError(f"unknown codec {codec!r}")


def apply_recipe(hr: np.ndarray, recipe: Recipe) -> np.ndarray:
    """Run a recipe on ``hr`` (any input :func:`to_float_rgb` accepts); deterministic."""
    image = to_float_rgb(hr)
    for _, image in run_steps(image, recipe):
        pass
    return image


def run_steps(image: np.ndarray, recipe: Recipe) -> Iterator[tuple[Step, np.ndarray]]:
    """Yield ``(step, image after it)`` for each step (the preview shows the stages this way)."""
    if tuple(image.shape[:2]) != tuple(recipe.hr_size):
        raise ValueError(f"recipe is for a {recipe.hr_size} image, got {image.shape[:2]}")
    for step in recipe.steps:
        image = apply_step(image, step)
        yield step, image


def apply_step(image: np.ndarray, step: Step) -> np.ndarray:
    p = step.params
    if step.op == "resize":
        image = resize(image, tuple(p["size"]), p["mode"])
        return np.clip(image, 0.0, 1.0) if p["direction"] == "final" else image
    if step.op == "blur":
        return kernels.blur(image, kernels.build_kernel(**p))
    if step.op == "noise":
        rng = np.random.default_rng(p["seed"])
        if p["kind"] == "gaussian":
            return noise.gaussian_noise(image, p["sigma"], p["gray"], rng)
        return noise.poisson_noise(image, p["scale"], p["gray"], rng)
    if step.op == "compress":
        return codecs.compress(image, **p)
    raise ValueError(f"unknown recipe step {step.op!r}")
