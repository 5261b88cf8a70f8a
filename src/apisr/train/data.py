"""Feeding the trainer: on-the-fly degradation in DataLoader workers, in a resumable order.

The LR images are never stored: :class:`apisr.degrade.dataset.PairDataset` degrades each
HR image in a worker process. Its randomness depends only on (seed, epoch, index), so a
batch is a pure function of the iteration number. :class:`ResumableSampler` makes the
order one too (a seeded permutation per epoch, split across ranks), and can start in the
middle of an epoch: resuming at iteration N replays exactly the batches a straight run
would have seen, without degrading the skipped ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from apisr.train.config import TrainConfig

log = logging.getLogger("apisr.train")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []


class ResumableSampler(Sampler[tuple[int, int]]):
    """Yields ``(epoch, index)`` for this rank: a seeded shuffle per epoch, starting at any batch.

    Each rank takes every ``world_size``-th index of the permutation, after padding the
    permutation so that all ranks get the same number of full batches.
    """

    def __init__(self, size: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.batches_per_epoch = max(1, size // (batch_size * world_size))
        self.epoch, self.start_batch = 0, 0

    def position(self, iteration: int) -> tuple[int, int]:
        """(epoch, batch within the epoch) of a global iteration."""
        return divmod(iteration, self.batches_per_epoch)

    def set_start(self, iteration: int) -> None:
        self.epoch, self.start_batch = self.position(iteration)

    def __len__(self) -> int:
        return (self.batches_per_epoch - self.start_batch) * self.batch_size

    def __iter__(self) -> Iterator[tuple[int, int]]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.size, generator=generator)
        needed = self.batches_per_epoch * self.batch_size * self.world_size
        order = order.repeat(needed // self.size + 1)[:needed]
        mine = order[self.rank :: self.world_size].tolist()
        for index in mine[self.start_batch * self.batch_size :]:
            yield self.epoch, index


class EpochIndexed(Dataset):
    """Lets the sampler tell each worker's copy of the dataset which epoch an index belongs to."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        epoch, index = key
        self.dataset.set_epoch(epoch)
        return self.dataset[index]


@dataclass
class TrainingData:
    loader: DataLoader
    sampler: ResumableSampler
    summary: dict

    def batches(self, iteration: int) -> Iterator[dict[str, torch.Tensor]]:
        """Batches from global iteration ``iteration`` on, epoch after epoch, without end."""
        while True:
            self.sampler.set_start(iteration)
            for batch in self.loader:
                iteration += 1
                yield batch


def crisp_frames(paths: list[Path], min_edge_detail: float, known: dict[str, float | None]) -> list[Path]:
    """The frames whose edge-detail score is at least ``min_edge_detail`` (frames without edges
    are left out too: they say nothing of crispness). Scores come from ``known`` (what
    ``apisr prepare`` recorded) where it has them; the others are computed here."""
    from tqdm import tqdm

    from apisr.curate.prepare import edge_detail_scores

    def scored(function, frames):
        if frames:
            log.info("data.min_edge_detail: scoring %d frames that edge_detail.json lacks", len(frames))
        return tqdm(map(function, frames), total=len(frames), desc="edge detail", unit="frame", leave=False,
                    disable=not frames)

    scores = edge_detail_scores(paths, known, scored)
    kept = [path for path in paths if scores[path.name] is not None and scores[path.name] >= min_edge_detail]
    log.info("data.min_edge_detail %g: training on %d of %d frames", min_edge_detail, len(kept), len(paths))
    if not kept:
        raise ValueError(f"data.min_edge_detail {min_edge_detail}: no frame of {paths[0].parent} is that crisp")
    return kept


def _degradation(config: TrainConfig):
    from apisr.degrade.config import load_degradation_config

    return load_degradation_config(config.data.degradation, scale=config.model.scale)


def _degradation_mix(config: TrainConfig):
    from apisr.degrade.config import load_degradation_config

    return [(entry.share, load_degradation_config(entry.config, scale=config.model.scale))
            for entry in config.data.degradation_mix]


def training_data(config: TrainConfig, rank: int = 0, world_size: int = 1) -> TrainingData:
    """The infinite-in-epochs loader of degraded triplets ``{"lr", "hr", "hr_enhanced"}``."""
    from apisr.degrade.dataset import PairDataset

    root = Path(config.data.dataset)
    hr_paths = image_files(root / "hr")
    if not hr_paths:
        raise FileNotFoundError(f"{root / 'hr'}: no training images (run `apisr prepare` to make the dataset)")
    if config.data.min_edge_detail > 0:
        from apisr.curate.prepare import read_edge_details

        hr_paths = crisp_frames(hr_paths, config.data.min_edge_detail, read_edge_details(root))
    enhanced = root / "hr_enhanced"
    if not enhanced.is_dir():
        log.warning("%s is missing: L1 and perceptual terms use the plain GT, not the line-enhanced pseudo-GT", enhanced)
        enhanced = None
    dataset = PairDataset(
        hr_paths, enhanced_dir=enhanced, scale=config.model.scale, hr_patch=config.data.hr_patch,
        config=_degradation(config), mix=_degradation_mix(config), seed=config.seed,
        full_frame=config.data.full_frame, crop_margin=config.data.crop_margin,
        cache_frames=config.data.cache_frames,
    )
    sampler = ResumableSampler(len(dataset), config.data.batch_size, config.seed, rank, world_size)
    workers = config.data.num_workers
    loader = DataLoader(
        EpochIndexed(dataset), batch_size=config.data.batch_size, sampler=sampler, num_workers=workers,
        persistent_workers=workers > 0, pin_memory=torch.cuda.is_available(), drop_last=True,
        prefetch_factor=4 if workers > 0 else None,
    )
    summary = {"images": len(hr_paths), "dataset": str(root), "pseudo_gt": enhanced is not None,
               "hr_patch": config.data.hr_patch, "full_frame": config.data.full_frame,
               "min_edge_detail": config.data.min_edge_detail,
               "degradation_mix": {str(e.config): e.share for e in config.data.degradation_mix}}
    return TrainingData(loader, sampler, summary)


def validation_pairs(config: TrainConfig) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The fixed synthetic validation set: (LR, HR) pairs degraded once with ``val_seed``."""
    from apisr.degrade.dataset import PairDataset

    paths = image_files(Path(config.data.dataset) / "val" / "hr")[: config.data.val_images]
    if not paths:
        return []
    dataset = PairDataset(
        paths, scale=config.model.scale, hr_patch=config.data.val_patch, config=_degradation(config),
        seed=config.data.val_seed, full_frame=config.data.full_frame, crop_margin=config.data.crop_margin,
        augment_prob=0.0,
    )
    dataset.set_epoch(0)
    return [(item["lr"], item["hr"]) for item in (dataset[i] for i in range(len(dataset)))]
