"""The training config: typed, frozen, validated, with the paper's values as defaults.

``apisr train CONFIG.yaml`` reads one of these (:func:`load_train_config`); the resolved
config (every default filled in) is saved as ``config.yaml`` in the run folder and inside
every checkpoint. Shipped configs live in ``apisr/configs/train_*.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from apisr.config import ConfigError, from_dict, packaged_config, parse_yaml, read_yaml
from apisr.losses.config import LossConfig


@dataclass(frozen=True)
class ModelConfig:
    # A registered generator (apisr.models.registry), e.g. grl_tiny, rrdb, compact.
    architecture: str = "grl_tiny"
    scale: int = 4
    # Keyword arguments of the architecture's build besides scale (e.g. num_block: 6 for RRDB-6).
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    # A generator checkpoint to start from (stage 2 starts from stage 1's export or checkpoint).
    pretrained: Path | None = None

    def __post_init__(self) -> None:
        if self.scale not in (1, 2, 3, 4, 8):
            raise ConfigError(f"scale: {self.scale} is not one of 1, 2, 3, 4, 8")
        if "scale" in self.hyperparameters:
            raise ConfigError("hyperparameters.scale: give the scale once, as model.scale")


@dataclass(frozen=True)
class DiscriminatorConfig:
    # patchgan_multiscale: three spectral-norm PatchGANs at x1, x1/2, x1/4 (the paper's default);
    # unet_sn: Real-ESRGAN's U-Net with spectral norm (what the original RRDB GAN training used).
    type: Literal["patchgan_multiscale", "unet_sn"] = "patchgan_multiscale"
    # Width of the first layer (64 in the paper); smaller only for quick experiments and tests.
    num_feat: int = 64


@dataclass(frozen=True)
class DegradationShare:
    """Another degradation config and the share of training items it degrades (``data.degradation_mix``)."""

    config: Path
    share: float

    def __post_init__(self) -> None:
        if not 0 < self.share <= 1:
            raise ConfigError(f"share: {self.share} is outside (0, 1]")


@dataclass(frozen=True)
class DataConfig:
    # A folder written by `apisr prepare`: hr/, hr_enhanced/, val/hr/.
    dataset: Path = Path("dataset")
    # The degradation config YAML; null means the packaged paper config for the model's scale.
    degradation: Path | None = None
    # Other degradation configs for a share of the training items each (the rest use
    # `degradation`), e.g. milder ones closer to real low-bitrate video. Validation always uses
    # `degradation`, so that runs with different mixes stay comparable.
    degradation_mix: list[DegradationShare] = field(default_factory=list)
    # Train only on frames whose edge-detail score (apisr.curate.detail) is at least this; 0
    # keeps all. Soft frames teach soft lines; validation keeps every frame of val/hr.
    min_edge_detail: float = 0.0
    hr_patch: int = 256
    batch_size: int = 32
    num_workers: int = 5
    # Degrade the whole frame then crop (the paper), or degrade a crop with a margin (much faster on CPU).
    full_frame: bool = True
    # HR pixels degraded around the patch on each side when full_frame is false (a multiple of the scale).
    crop_margin: int = 64
    # Keep decoded frames in memory (uint8; about 5.5 MB per 720p frame with its pseudo-GT, per
    # loading process): PNG decoding otherwise costs more than degrading a crop.
    cache_frames: bool = False
    # Fixed synthetic validation set: this many HR images from val/hr, degraded once with val_seed.
    val_images: int = 16
    val_patch: int = 256
    val_seed: int = 1234

    def __post_init__(self) -> None:
        if self.hr_patch < 16 or self.batch_size < 1 or self.num_workers < 0 or self.val_images < 0:
            raise ConfigError("hr_patch >= 16, batch_size >= 1, num_workers >= 0 and val_images >= 0 are required")
        if self.min_edge_detail < 0:
            raise ConfigError(f"min_edge_detail: {self.min_edge_detail} is negative")
        total = sum(entry.share for entry in self.degradation_mix)
        if total > 1 + 1e-9:
            raise ConfigError(f"degradation_mix: the shares add up to {total:g}, more than 1")


@dataclass(frozen=True)
class OptimizerConfig:
    lr_generator: float = 2e-4
    lr_discriminator: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.99)
    # step (the paper): multiply both learning rates by decay_gamma every decay_every iterations.
    # cosine: anneal both from their start to zero over the run's iterations, which suits short
    # runs whose length is known (the CPU-trained compact models).
    schedule: Literal["step", "cosine"] = "step"
    decay_every: int = 100_000
    decay_gamma: float = 0.5

    def __post_init__(self) -> None:
        if self.lr_generator <= 0 or self.lr_discriminator <= 0 or self.decay_every < 1 or not 0 < self.decay_gamma <= 1:
            raise ConfigError("learning rates must be > 0, decay_every >= 1 and 0 < decay_gamma <= 1")


@dataclass(frozen=True)
class TrainConfig:
    name: str = "run"
    iterations: int = 300_000
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    # The generator's loss terms; a gan entry adds the discriminator.
    losses: list[LossConfig] = field(default_factory=lambda: [LossConfig(type="l1", weight=1.0)])
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    # Exponential moving average of the generator (exported as the release weights); 0 turns it off.
    ema_decay: float = 0.999
    # auto: bf16 on CUDA (fp16 if the GPU lacks bf16) and on CPUs with native bf16, else fp32.
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    channels_last: bool = False
    compile: bool = False
    device: str = "auto"
    # Folder for runs; null means ~/.cache/apisr/runs (or $APISR_CACHE/runs). The run is <runs_dir>/<name>.
    runs_dir: Path | None = None
    log_every: int = 100
    val_every: int = 5_000
    save_every: int = 5_000
    # Numbered checkpoints kept besides last.pt and best.pt.
    keep_last: int = 3
    # Validation images written as PNG each validation (the first N of the set).
    sample_images: int = 4
    # The validation score that picks best.pt: psnr or ssim (higher is better) or gmsd (lower is
    # better). A GAN stage trades PSNR for edges, so its best PSNR is its first validation.
    best_metric: Literal["psnr", "ssim", "gmsd"] = "psnr"

    def __post_init__(self) -> None:
        if self.iterations < 1:
            raise ConfigError(f"iterations: {self.iterations} must be at least 1")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"ema_decay: {self.ema_decay} is outside [0, 1)")
        for key in ("log_every", "val_every", "save_every"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key}: must be at least 1")
        if not self.losses:
            raise ConfigError("losses: at least one loss term is needed")
        if sum(e.type == "gan" for e in self.losses) > 1:
            raise ConfigError("losses: at most one gan term")
        if self.ema_decay == 0 and any(e.type == "artifact" for e in self.losses):
            raise ConfigError("losses: an artifact term compares with the EMA generator; set ema_decay above 0")

    @property
    def adversarial(self) -> bool:
        return any(e.type == "gan" for e in self.losses)


def load_train_config(path: str | Path, overrides: list[str] = ()) -> TrainConfig:
    """A config file, or the name of a shipped one (``train_smoke``), with ``KEY=VALUE`` overrides applied.

    A key is a dotted path (``data.batch_size``); a value is YAML (``8``, ``true``, ``[0.9, 0.99]``).
    """
    path = Path(path)
    if not path.is_file():
        shipped = packaged_config(path.name if path.suffix else f"{path.name}.yaml")
        if shipped is None:
            raise ConfigError(f"{path}: no such config file, and no shipped config of that name "
                              f"(shipped: {', '.join(shipped_configs())})")
        path = shipped
    data = read_yaml(path) or {}
    for item in overrides:
        _apply_override(data, item)
    try:
        return from_dict(TrainConfig, data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def _apply_override(data: dict, item: str) -> None:
    key, sep, text = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {item!r}: expected KEY=VALUE")
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {item!r}: {part} is not a mapping")
    node[leaf] = parse_yaml(text)


def shipped_configs() -> list[str]:
    folder = Path(str(resources.files("apisr") / "configs"))
    return sorted(p.stem for p in folder.glob("train_*.yaml"))
