"""Settings of the degradation engine, as frozen dataclasses whose defaults are the paper's values.

The YAML files ``apisr/configs/degradation_4x.yaml`` and ``degradation_2x.yaml`` spell
the same values out so that users can copy and edit them; :func:`load_degradation_config`
reads one of them (or the user's file) and checks every probability, range and codec
name, naming the offending key in the error.

Probabilities of mutually exclusive choices (kernel family, codec, resize direction,
resize position, interpolation mode) are mappings ``name: probability`` that must sum to 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from apisr.config import ConfigError, check_distribution, check_probability, check_range, load_yaml, packaged_config

KERNEL_TYPES = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")
RESIZE_MODES = ("area", "bilinear", "bicubic")
RESIZE_DIRECTIONS = ("up", "down", "keep")
RESIZE_POSITIONS = ("before_blur", "before_noise", "after_noise")
IMAGE_CODECS = ("jpeg", "webp", "avif")
VIDEO_CODECS = ("h264", "h265", "mpeg2", "mpeg4")
CODECS = IMAGE_CODECS + VIDEO_CODECS
X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")

_THIRD = 1.0 / 3.0


def _check_names(name: str, mapping: dict, known: tuple[str, ...]) -> None:
    for key in mapping:
        if key not in known:
            raise ConfigError(f"{name}.{key}: unknown name {key!r} (known: {', '.join(known)})")


def _check_choices(name: str, mapping: dict[str, float], known: tuple[str, ...]) -> None:
    _check_names(name, mapping, known)
    if not mapping:
        raise ConfigError(f"{name}: needs at least one entry")
    for key, p in mapping.items():
        check_probability(f"{name}.{key}", p)
    check_distribution(name, list(mapping.values()))


@dataclass(frozen=True)
class KernelConfig:
    """One blur kernel draw (Real-ESRGAN style): size, then sinc or one of six Gaussian-like families."""

    sizes: tuple[int, ...] = (7, 9, 11, 13, 15, 17, 19, 21)
    sinc_prob: float = 0.1
    types: dict[str, float] = field(
        default_factory=lambda: {
            "iso": 0.45,
            "aniso": 0.25,
            "generalized_iso": 0.12,
            "generalized_aniso": 0.03,
            "plateau_iso": 0.12,
            "plateau_aniso": 0.03,
        }
    )
    sigma_range: tuple[float, float] = (0.2, 3.0)
    betag_range: tuple[float, float] = (0.5, 4.0)
    betap_range: tuple[float, float] = (1.0, 2.0)

    def __post_init__(self):
        if not self.sizes:
            raise ConfigError("sizes: needs at least one kernel size")
        for i, size in enumerate(self.sizes):
            if size < 3 or size % 2 == 0:
                raise ConfigError(f"sizes.{i}: kernel size {size} must be odd and at least 3")
        check_probability("sinc_prob", self.sinc_prob)
        _check_choices("types", self.types, KERNEL_TYPES)
        check_range("sigma_range", self.sigma_range, 1e-3, 100.0)
        # Both beta ranges straddle 1: half the draws sharpen the shape, half flatten it.
        check_range("betag_range", self.betag_range, 1e-3, 100.0)
        check_range("betap_range", self.betap_range, 1e-3, 100.0)
        for name, (low, high) in (("betag_range", self.betag_range), ("betap_range", self.betap_range)):
            if not low <= 1.0 <= high:
                raise ConfigError(f"{name}: range [{low}, {high}] must contain 1")


@dataclass(frozen=True)
class NoiseConfig:
    """Additive Gaussian or Poisson noise; sigma is in 8-bit levels (1 = 1/255)."""

    prob: float = 1.0
    gaussian_prob: float = 0.5
    gaussian_sigma: tuple[float, float] = (1.0, 30.0)
    poisson_scale: tuple[float, float] = (0.05, 3.0)
    gray_prob: float = 0.4

    def __post_init__(self):
        check_probability("prob", self.prob)
        check_probability("gaussian_prob", self.gaussian_prob)
        check_probability("gray_prob", self.gray_prob)
        check_range("gaussian_sigma", self.gaussian_sigma, 0.0, 255.0)
        check_range("poisson_scale", self.poisson_scale, 0.0, 100.0)


@dataclass(frozen=True)
class ResizeConfig:
    """A random resize and where in its stage it happens.

    In stage 1 the factor multiplies the current size; in stage 2 it multiplies the
    final low-resolution size (H/scale, W/scale), as in the original.
    """

    directions: dict[str, float] = field(default_factory=lambda: {"up": 0.2, "down": 0.7, "keep": 0.1})
    up_range: tuple[float, float] = (1.0, 1.2)
    down_range: tuple[float, float] = (0.1, 1.0)
    modes: dict[str, float] = field(
        default_factory=lambda: {"area": _THIRD, "bilinear": _THIRD, "bicubic": _THIRD}
    )
    positions: dict[str, float] = field(
        default_factory=lambda: {"before_blur": _THIRD, "before_noise": _THIRD, "after_noise": _THIRD}
    )

    def __post_init__(self):
        _check_choices("directions", self.directions, RESIZE_DIRECTIONS)
        check_range("up_range", self.up_range, 1.0, 16.0)
        check_range("down_range", self.down_range, 1e-3, 1.0)
        _check_choices("modes", self.modes, RESIZE_MODES)
        _check_choices("positions", self.positions, RESIZE_POSITIONS)


@dataclass(frozen=True)
class StageConfig:
    """One degradation stage: [resize] blur [resize] noise [resize], then compression.

    ``resize: null`` skips the stage's resize (stage 2 at 2x). In stage 2 the final
    resize to the low-resolution size comes just before the compression.
    """

    resize: ResizeConfig | None = field(default_factory=ResizeConfig)
    blur_prob: float = 1.0
    kernel: KernelConfig = field(default_factory=KernelConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    compression: dict[str, float] = field(default_factory=lambda: {"jpeg": 0.4, "webp": 0.6})

    def __post_init__(self):
        check_probability("blur_prob", self.blur_prob)
        _check_choices("compression", self.compression, CODECS)


@dataclass(frozen=True)
class CodecSettings:
    """Parameter ranges of each codec; integer ranges include both ends."""

    jpeg_quality: tuple[int, int] = (20, 95)
    webp_quality: tuple[int, int] = (20, 95)
    webp_method: tuple[int, int] = (0, 6)
    avif_quality: tuple[int, int] = (20, 95)
    # libavif's own default effort; the original passed none.
    avif_speed: int = 6
    h264_crf: tuple[int, int] = (23, 38)
    h265_crf: tuple[int, int] = (28, 42)
    # x264/x265 presets; MPEG-2/MPEG-4 have none (the original passed one that ffmpeg ignored).
    presets: dict[str, float] = field(
        default_factory=lambda: {"slow": 0.05, "medium": 0.35, "fast": 0.30, "faster": 0.20, "superfast": 0.10}
    )
    mpeg2_qscale: tuple[int, int] = (8, 31)
    mpeg4_qscale: tuple[int, int] = (8, 31)

    def __post_init__(self):
        for name in ("jpeg_quality", "webp_quality", "avif_quality"):
            check_range(name, getattr(self, name), 0, 100)
        check_range("webp_method", self.webp_method, 0, 6)
        if not 0 <= self.avif_speed <= 10:
            raise ConfigError(f"avif_speed: {self.avif_speed} is outside [0, 10]")
        check_range("h264_crf", self.h264_crf, 0, 51)
        check_range("h265_crf", self.h265_crf, 0, 51)
        _check_choices("presets", self.presets, X26X_PRESETS)
        check_range("mpeg2_qscale", self.mpeg2_qscale, 1, 31)
        check_range("mpeg4_qscale", self.mpeg4_qscale, 1, 31)


def _stage2_default() -> StageConfig:
    return StageConfig(
        resize=ResizeConfig(down_range=(0.15, 1.0)),
        blur_prob=0.8,
        kernel=KernelConfig(sigma_range=(0.2, 1.5)),
        noise=NoiseConfig(gaussian_sigma=(1.0, 25.0), poisson_scale=(0.05, 2.5)),
        compression={
            "jpeg": 0.06,
            "webp": 0.10,
            "avif": 0.10,
            "mpeg2": 0.12,
            "mpeg4": 0.12,
            "h264": 0.30,
            "h265": 0.20,
        },
    )


@dataclass(frozen=True)
class DegradationConfig:
    """The whole two-stage chain of APISR §2.2 (defaults: 4x)."""

    scale: int = 4
    stage1: StageConfig = field(default_factory=StageConfig)
    stage2: StageConfig = field(default_factory=_stage2_default)
    final_resize_modes: dict[str, float] = field(
        default_factory=lambda: {"area": _THIRD, "bilinear": _THIRD, "bicubic": _THIRD}
    )
    codecs: CodecSettings = field(default_factory=CodecSettings)

    def __post_init__(self):
        if self.scale not in (1, 2, 3, 4, 8):
            raise ConfigError(f"scale: {self.scale} is not one of 1, 2, 3, 4, 8")
        _check_choices("final_resize_modes", self.final_resize_modes, RESIZE_MODES)


def avif_supported() -> bool:
    """Whether the installed Pillow can encode AVIF (Pillow >= 11.3 built with libavif)."""
    from PIL import features

    return bool(features.check("avif"))


def default_config_path(scale: int) -> Path | None:
    """The packaged paper config for ``scale``, or None where none is packaged."""
    return packaged_config(f"degradation_{scale}x.yaml")


def load_degradation_config(path: str | Path | None = None, scale: int = 4) -> DegradationConfig:
    """The packaged paper config for ``scale`` (path None), a packaged config by name, or the
    user's YAML, validated.

    Raises ConfigError when the file's scale differs from ``scale``, or when it gives AVIF a
    probability but this Pillow cannot encode AVIF.
    """
    if path is None:
        path = default_config_path(scale)
        if path is None:
            raise ConfigError(f"no packaged degradation config for scale {scale} (have 2 and 4); pass your own YAML")
    elif Path(path).parent == Path(".") and not Path(path).is_file():
        # A bare name that is no file here, e.g. degradation_4x_mild.yaml, means the packaged file.
        path = packaged_config(str(path)) or path
    config = load_yaml(DegradationConfig, path)
    if config.scale != scale:
        raise ConfigError(f"{path}: scale: the file is for {config.scale}x but {scale}x was asked for")
    check_config_codecs(config, source=str(path))
    return config


def check_config_codecs(config: DegradationConfig, source: str = "config") -> None:
    """Fail early (naming the key) if the config needs an encoder this installation lacks."""
    for stage in ("stage1", "stage2"):
        p = getattr(config, stage).compression.get("avif", 0.0)
        if p > 0 and not avif_supported():
            raise ConfigError(
                f"{source}: {stage}.compression.avif: probability {p} but this Pillow cannot encode AVIF; "
                "install Pillow >= 11.3 with AVIF support or set it to 0"
            )
