"""Building the training set from a folder of frames: HR frames, their pseudo-GT and optional tiles.

Per frame (``prepare_frame``): rescale to 720 lines and crop to a multiple of 8,
compute the line-enhanced pseudo-GT once (:func:`apisr.enhance.pseudo_gt.enhance_lines`),
cut both into a 256-pixel grid when asked. Held-out frames are only rescaled.
Outputs follow :mod:`apisr.curate.layout`; each is written atomically and
``hr/NAME.png`` last, so its presence means the frame is complete and a re-run skips it.
Then (``edge_detail_scores``) the edge-detail score of every training frame, so that a
training run with ``data.min_edge_detail`` need not decode them all again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from apisr.curate import layout
from apisr.curate.defaults import SIZE_MULTIPLE, TARGET_HEIGHT
from apisr.curate.detail import edge_detail
from apisr.curate.rescale import is_short, to_training_frame
from apisr.enhance.lines import OUTLIER_THRESHOLD
from apisr.enhance.pseudo_gt import enhance_lines
from apisr.images import load_rgb, save_rgb

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".avif", ".tif", ".tiff")


@dataclass(frozen=True)
class PrepareSettings:
    gamma: float  # XDoG gamma, drawn once per dataset (see apisr.enhance.xdog.draw_gamma)
    height: int = TARGET_HEIGHT
    resize_filter: str = "area"
    short_frames: str = "skip"
    crop: int = 0  # tile size; 0 = no tiles
    outlier_threshold: int = OUTLIER_THRESHOLD


def find_frames(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def split_validation(names: list[str], fraction: float, rng: np.random.Generator) -> set[str]:
    """A random ``round(fraction * len(names))`` of ``names``, the same for the same generator state."""
    count = round(fraction * len(names))
    order = rng.permutation(len(names))
    return {sorted(names)[i] for i in order[:count]}


def grid_tiles(image: np.ndarray, size: int) -> list[tuple[int, int, np.ndarray]]:
    """``(row, col, tile)`` of a non-overlapping ``size`` grid from the top-left; remainders are dropped."""
    rows, cols = image.shape[0] // size, image.shape[1] // size
    return [(r, c, image[r * size : (r + 1) * size, c * size : (c + 1) * size]) for r in range(rows) for c in range(cols)]


def is_prepared(dataset: Path, stem: str, held_out: bool) -> bool:
    return (dataset / (layout.VAL_HR if held_out else layout.HR) / f"{stem}.png").is_file()


def prepare_frame(source: Path, dataset: Path, held_out: bool, settings: PrepareSettings) -> str:
    """Write one frame's outputs; returns ``"done"`` or ``"short"`` (skipped by the short-frame policy).

    Unreadable images raise ``OSError`` / ``ValueError`` for the caller to report.
    """
    image = load_rgb(source)
    if is_short(image, settings.height) and settings.short_frames == "skip":
        return "short"
    hr = to_training_frame(image, settings.height, settings.resize_filter, SIZE_MULTIPLE)
    stem = source.stem
    if held_out:
        save_rgb(dataset / layout.VAL_HR / f"{stem}.png", hr)
        return "done"
    enhanced = enhance_lines(hr, settings.gamma, settings.outlier_threshold)
    if settings.crop:
        for (row, col, tile), (_, _, enhanced_tile) in zip(grid_tiles(hr, settings.crop), grid_tiles(enhanced, settings.crop)):
            save_rgb(dataset / layout.HR_CROPS / layout.crop_name(stem, row, col), tile)
            save_rgb(dataset / layout.HR_ENHANCED_CROPS / layout.crop_name(stem, row, col), enhanced_tile)
    save_rgb(dataset / layout.HR_ENHANCED / f"{stem}.png", enhanced)
    save_rgb(dataset / layout.HR / f"{stem}.png", hr)
    return "done"


def png_names(folder: Path) -> list[str]:
    """The finished PNGs of an output folder (temporary files of interrupted writes start with a dot)."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.glob("*.png") if not p.name.startswith("."))


def count_outputs(dataset: Path) -> dict[str, int]:
    return {
        "train": len(png_names(dataset / layout.HR)),
        "val": len(png_names(dataset / layout.VAL_HR)),
        "crops": len(png_names(dataset / layout.HR_CROPS)),
    }


def edge_detail_of_file(path: Path) -> float | None:
    """The edge-detail score of an image file; None for a frame without edges (JSON has no NaN)."""
    score = edge_detail(load_rgb(path))
    return None if math.isnan(score) else score


def read_edge_details(dataset: Path) -> dict[str, float | None]:
    """The scores ``apisr prepare`` recorded (``edge_detail.json``), by file name; empty if none."""
    path = dataset / layout.EDGE_DETAIL_JSON
    return json.loads(path.read_text()) if path.is_file() else {}


def edge_detail_scores(
    frames: list[Path], known: dict[str, float | None],
    map_fn: Callable[[Callable, list[Path]], Iterable] = map,
) -> dict[str, float | None]:
    """The edge-detail score of each frame, by file name: from ``known`` where it has the name,
    else computed through ``map_fn`` (``map``, a process pool's ``map``, or one wrapped in a
    progress bar)."""
    missing = [path for path in frames if path.name not in known]
    computed = dict(zip((path.name for path in missing), map_fn(edge_detail_of_file, missing)))
    return {path.name: known[path.name] if path.name in known else computed[path.name] for path in frames}
