"""Training pairs degraded on the fly: aligned (LR, HR, HR-enhanced) patches.

Instead of regenerating the whole LR set on disk every epoch as the original does,
each item degrades its frame when it is loaded, inside the DataLoader worker. An
item's randomness comes only from ``(seed, epoch, index)`` through
``numpy.random.SeedSequence``, so the same item is the same bytes whatever the number
of workers or the order they run in; :meth:`PairDataset.set_epoch` gives every epoch
new degradations, like the original's per-epoch regeneration.

``full_frame=True`` (the paper) degrades the whole frame, so blur, resize and video
codecs see natural full frames, and cuts one aligned patch from it. ``full_frame=False``
degrades only a window of the patch plus ``crop_margin`` HR pixels on each side (border
effects of the kernels and codec blocks then fall outside the patch), which is several
times faster on a small machine; ``benchmarks/degrade.py`` measures both.

``mix`` degrades a share of the items with other configs (e.g. milder ones, closer to real
low-bitrate video); which config an item gets is drawn from its own generator too.

``cache_frames=True`` keeps every decoded frame (uint8, about 2.8 MB per 720p frame, twice
that with the pseudo-GT) in the process that reads it: decoding a 720p PNG costs more than
degrading a crop of it, so a small machine otherwise spends most of its data time in zlib.
Each DataLoader worker holds its own cache, so use it with few workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from apisr.degrade.config import DegradationConfig, load_degradation_config
from apisr.degrade.pipeline import degrade
from apisr.images import load_rgb_pixels, to_float

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


class PairDataset(Dataset):
    """Items are dicts of float32 CHW tensors ``{"lr", "hr", "hr_enhanced"}`` in [0, 1].

    ``hr_paths``: HR frames. ``enhanced_dir``: folder of their line-enhanced versions
    under the same file names (``hr_enhanced`` equals ``hr`` without it). The LR patch
    is ``hr_patch // scale`` pixels square. ``augment_prob``: chance of the joint
    flip/transpose augmentation of the triplet (APISR: 0.5; each of hflip, vflip and
    transpose then happens with probability 0.5).
    """

    def __init__(
        self,
        hr_paths: Sequence[str | Path],
        enhanced_dir: str | Path | None = None,
        scale: int = 4,
        hr_patch: int = 256,
        config: DegradationConfig | None = None,
        mix: Sequence[tuple[float, DegradationConfig]] = (),
        seed: int = 0,
        full_frame: bool = True,
        crop_margin: int = 64,
        augment_prob: float = 0.5,
        cache_frames: bool = False,
    ):
        if hr_patch % scale:
            raise ValueError(f"hr_patch {hr_patch} is not a multiple of the scale {scale}")
        if crop_margin % scale or crop_margin < 0:
            raise ValueError(f"crop_margin {crop_margin} must be a non-negative multiple of the scale {scale}")
        self.hr_paths = [Path(p) for p in hr_paths]
        if not self.hr_paths:
            raise ValueError("PairDataset needs at least one HR image")
        self.enhanced_dir = Path(enhanced_dir) if enhanced_dir is not None else None
        self.scale = scale
        self.hr_patch = hr_patch
        self.config = config if config is not None else load_degradation_config(None, scale)
        if self.config.scale != scale:
            raise ValueError(f"the degradation config is for {self.config.scale}x, not {scale}x")
        if any(other.scale != scale for _, other in mix) or sum(share for share, _ in mix) > 1 + 1e-9:
            raise ValueError(f"mix: every config must be for {scale}x and the shares may add up to 1 at most")
        self.mix = list(mix)
        self.seed = seed
        self.full_frame = full_frame
        self.crop_margin = crop_margin
        self.augment_prob = augment_prob
        self.cache_frames = cache_frames
        self._frames: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.epoch = 0

    @classmethod
    def from_folder(cls, hr_dir: str | Path, **kwargs) -> PairDataset:
        """All images directly in ``hr_dir``, sorted by name."""
        paths = sorted(p for p in Path(hr_dir).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not paths:
            raise ValueError(f"{hr_dir}: no images ({', '.join(IMAGE_SUFFIXES)})")
        return cls(paths, **kwargs)

    def set_epoch(self, epoch: int) -> None:
        """New degradations and crops for every epoch (call before creating the epoch's iterator)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.hr_paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, self.epoch, index]))
        path = self.hr_paths[index]
        hr, enhanced = self._pixels(index)
        lr_patch, hr_box, window = self._draw_boxes(hr.shape[:2], path, rng)

        top, left, bottom, right = window
        lr, _ = degrade(to_float(hr[top:bottom, left:right]), self.scale, self._pick_config(rng), rng)
        y, x = (hr_box[0] - top) // self.scale, (hr_box[1] - left) // self.scale
        lr = lr[y : y + lr_patch, x : x + lr_patch]
        hr_crop = to_float(hr[hr_box[0] : hr_box[0] + self.hr_patch, hr_box[1] : hr_box[1] + self.hr_patch])
        en_crop = to_float(enhanced[hr_box[0] : hr_box[0] + self.hr_patch, hr_box[1] : hr_box[1] + self.hr_patch])

        lr, hr_crop, en_crop = joint_augment([lr, hr_crop, en_crop], self.augment_prob, rng)
        return {"lr": _chw(lr), "hr": _chw(hr_crop), "hr_enhanced": _chw(en_crop)}

    def _pick_config(self, rng: np.random.Generator) -> DegradationConfig:
        """``config``, or one of ``mix`` with its share; draws nothing without a mix, so that a
        run without one sees the same items as before mixes existed."""
        if not self.mix:
            return self.config
        draw = rng.random()
        for share, config in self.mix:
            if draw < share:
                return config
            draw -= share
        return self.config

    def _pixels(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The frame and its pseudo-GT (the frame itself without one) as integer pixels."""
        if index in self._frames:
            return self._frames[index]
        path = self.hr_paths[index]
        hr = load_rgb_pixels(path)
        frames = (hr, self._load_enhanced(path, hr.shape) if self.enhanced_dir is not None else hr)
        if self.cache_frames:
            self._frames[index] = frames
        return frames

    def _load_enhanced(self, path: Path, shape: tuple[int, ...]) -> np.ndarray:
        enhanced_path = self.enhanced_dir / path.name
        if not enhanced_path.is_file():
            raise FileNotFoundError(f"{path}: no line-enhanced version at {enhanced_path}")
        enhanced = load_rgb_pixels(enhanced_path)
        if enhanced.shape != shape:
            raise ValueError(f"{enhanced_path}: size {enhanced.shape[:2]} differs from its HR {shape[:2]}")
        return enhanced

    def _draw_boxes(self, size: tuple[int, int], path: Path, rng: np.random.Generator):
        """The HR patch's top-left corner (on the scale grid) and the window to degrade."""
        s, patch = self.scale, self.hr_patch
        # The LR covers whole scale x scale cells only, so trim the frame to them.
        height, width = size[0] // s * s, size[1] // s * s
        if height < patch or width < patch:
            raise ValueError(f"{path}: {size[1]}x{size[0]} is smaller than the {patch}px HR patch")
        top = int(rng.integers(0, (height - patch) // s + 1)) * s
        left = int(rng.integers(0, (width - patch) // s + 1)) * s
        if self.full_frame:
            window = (0, 0, height, width)
        else:
            m = self.crop_margin
            window = (max(0, top - m), max(0, left - m), min(height, top + patch + m), min(width, left + patch + m))
        return patch // s, (top, left), window


def joint_augment(images: list[np.ndarray], prob: float, rng: np.random.Generator) -> list[np.ndarray]:
    """With probability ``prob``, flip horizontally, vertically and transpose (each p = 0.5) all images alike."""
    if rng.random() >= prob:
        return images
    hflip, vflip, transpose = rng.random(3) < 0.5
    out = []
    for image in images:
        if hflip:
            image = image[:, ::-1]
        if vflip:
            image = image[::-1]
        if transpose:
            image = image.transpose(1, 0, 2)
        out.append(image)
    return out


def _chw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))
