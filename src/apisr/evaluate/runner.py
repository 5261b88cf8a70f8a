"""Run every method on every input once, score the outputs and keep the crops to compare.

An evaluation sees :class:`Sample` s (an input picture and, when there is one, the clean
reference it should become) and :class:`~apisr.evaluate.methods.Method` s. For each pair
it upscales (or reuses the cached output in ``REPORT_DIR/cache/<method key>/<input
sha256>.png``: outputs are stored as 8-bit PNG and always scored as read back, so a
cached and a fresh run give the same numbers), then computes:

- with a reference: PSNR-Y, SSIM-Y and GMSD (crop border = scale);
- always: NIQE (crop border = scale) and, where pyiqa works, MANIQA and CLIPIQA.

A value that cannot be computed is None together with the reason, never a guess.
For the HTML page the same square crop (the most detailed one, by gradient energy, or the
user's) is cut from the input (nearest-neighbour enlarged), every output and the reference.
"""

from __future__ import annotations

import functools
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from apisr.images import load_rgb, save_rgb

from .iqa import LearnedMetric
from .methods import Method, file_digest
from .metrics import gmsd, psnr, ssim, to_y
from .niqe import niqe

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".avif")


@dataclass(frozen=True)
class MetricInfo:
    key: str
    label: str
    higher_is_better: bool
    meaning: str


METRICS = (
    MetricInfo("psnr", "PSNR-Y (dB)", True, "pixel fidelity to the reference"),
    MetricInfo("ssim", "SSIM-Y", True, "structural similarity to the reference"),
    MetricInfo("gmsd", "GMSD", False, "edge (gradient) deviation from the reference"),
    MetricInfo("niqe", "NIQE", False, "distance from natural-image statistics, no reference"),
    MetricInfo("maniqa", "MANIQA", True, "learned perceptual quality, no reference"),
    MetricInfo("clipiqa", "CLIPIQA", True, "CLIP-based perceptual quality, no reference"),
)
FULL_REFERENCE = ("psnr", "ssim", "gmsd")


@dataclass(frozen=True)
class Sample:
    name: str
    input_path: Path
    reference_path: Path | None = None


@dataclass
class Row:
    image: str
    method: str
    values: dict[str, float | None]
    notes: dict[str, str] = field(default_factory=dict)  # metric -> why it is None


@dataclass
class ImageCrops:
    """The crop shown for one image: box in output pixels and one PNG per column."""

    image: str
    box: tuple[int, int, int, int]  # x, y, width, height
    files: dict[str, Path]  # column label -> zoomed crop


@dataclass
class Evaluation:
    scale: int
    methods: list[Method]
    rows: list[Row] = field(default_factory=list)
    crops: list[ImageCrops] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    metric_notes: dict[str, str] = field(default_factory=dict)  # metric -> why not computed at all
    zoom: int = 3
    synthetic: str = ""  # how inputs were made, when they were


def find_images(inputs: Sequence[str | Path]) -> tuple[list[Path], list[str]]:
    """Image files named or inside the named folders (sorted), and a line per input that is neither."""
    found, errors = [], []
    for item in map(Path, inputs):
        if item.is_dir():
            found += sorted(p for p in item.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif item.is_file():
            found.append(item)
        else:
            errors.append(f"{item}: no such file or folder")
    return found, errors


def unique_names(paths: Sequence[Path]) -> list[str]:
    """File stems, with ``-2``, ``-3`` ... added where two inputs share one."""
    names, seen = [], {}
    for path in paths:
        stem = path.stem
        seen[stem] = seen.get(stem, 0) + 1
        names.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return names


def pair_references(inputs: Sequence[Path], reference_dir: Path | None) -> list[Sample]:
    """Samples for these inputs, each with the reference of the same stem in ``reference_dir`` if any."""
    references = {}
    if reference_dir is not None:
        references = {p.stem: p for p in find_images([reference_dir])[0]}
    return [
        Sample(name, path, references.get(path.stem)) for name, path in zip(unique_names(inputs), inputs)
    ]


def make_synthetic(
    hr_paths: Sequence[Path], out_dir: Path, scale: int, seed: int, config=None
) -> tuple[list[Sample], list[str]]:
    """Degrade clean HR pictures with apisr's degradation engine into LR inputs, under a fixed seed.

    Each image's generator is seeded from ``seed`` and its name, so adding an image does
    not change the others. The HR is cropped to a multiple of ``scale`` (top-left) so the
    upscaled outputs line up with it. LR, cropped HR and each image's recipe (JSON) are
    written under ``out_dir``.
    """
    from apisr.degrade.config import load_degradation_config
    from apisr.degrade.pipeline import degrade

    config = config or load_degradation_config(scale=scale)
    samples, errors = [], []
    for name, path in zip(unique_names(hr_paths), hr_paths):
        try:
            hr = load_rgb(path)
        except (OSError, ValueError) as err:
            errors.append(f"{path}: cannot read the image ({err})")
            continue
        height, width = (hr.shape[0] // scale) * scale, (hr.shape[1] // scale) * scale
        if height < 16 * scale or width < 16 * scale:
            errors.append(f"{path}: too small for a x{scale} benchmark ({hr.shape[1]}x{hr.shape[0]})")
            continue
        hr = hr[:height, :width]
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        lr, recipe = degrade(hr, scale, config, rng)
        lr_path, hr_path = out_dir / "lr" / f"{name}.png", out_dir / "hr" / f"{name}.png"
        save_rgb(lr_path, lr)
        save_rgb(hr_path, hr)
        (out_dir / "lr" / f"{name}.json").write_text(recipe.to_json())
        samples.append(Sample(name, lr_path, hr_path))
    return samples, errors


def choose_crop(image: np.ndarray, size: int) -> tuple[int, int, int, int]:
    """The ``size`` square (x, y, w, h) with the most gradient energy: where the methods differ most."""
    height, width = image.shape[:2]
    size = min(size, height, width)
    luma = to_y(image)
    energy = np.abs(cv2.Sobel(luma, cv2.CV_64F, 1, 0)) + np.abs(cv2.Sobel(luma, cv2.CV_64F, 0, 1))
    # Summed-area table: the energy of every window in one pass.
    table = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    windows = table[size:, size:] - table[:-size, size:] - table[size:, :-size] + table[:-size, :-size]
    y, x = np.unravel_index(np.argmax(windows), windows.shape)
    return int(x), int(y), size, size


def zoomed_crop(image: np.ndarray, box: tuple[int, int, int, int], zoom: int) -> np.ndarray:
    """The box cut out and enlarged ``zoom`` times by pixel repetition (nearest neighbour)."""
    x, y, w, h = box
    crop = image[y : y + h, x : x + w]
    return np.repeat(np.repeat(crop, zoom, axis=0), zoom, axis=1)


def _fit_reference(reference: np.ndarray, shape: tuple[int, ...], scale: int) -> np.ndarray | None:
    """The reference cut to the output size when it is at most ``scale - 1`` pixels larger; else None."""
    height, width = shape[:2]
    extra_h, extra_w = reference.shape[0] - height, reference.shape[1] - width
    if 0 <= extra_h < scale and 0 <= extra_w < scale:
        return reference[:height, :width]
    return None


def _cached_output(method: Method, image: np.ndarray, digest: str, cache_dir: Path) -> np.ndarray:
    path = cache_dir / re.sub(r"[^\w.-]", "_", method.key) / f"{digest}.png"
    if not path.is_file():
        save_rgb(path, method.upscale(image))
    return load_rgb(path)


def score(
    output: np.ndarray,
    reference: np.ndarray | None,
    scale: int,
    learned: Sequence[LearnedMetric],
) -> tuple[dict[str, float | None], dict[str, str]]:
    """Every metric of one output; None plus a note for those that cannot be computed."""
    measures: dict[str, Callable[[], float] | None] = {
        key: None if reference is None else functools.partial(metric, output, reference, crop_border=scale)
        for key, metric in (("psnr", psnr), ("ssim", ssim), ("gmsd", gmsd))
    }
    measures["niqe"] = functools.partial(niqe, output, crop_border=scale)
    for metric in learned:
        measures[metric.name] = None if metric.score is None else functools.partial(metric.score, output)
    values: dict[str, float | None] = {}
    notes: dict[str, str] = {}
    for key, measure in measures.items():
        values[key] = None
        if measure is None:
            continue
        try:
            values[key] = measure()
        except (ValueError, RuntimeError) as err:  # too small for the metric, or pyiqa refusing the input
            notes[key] = str(err).strip().splitlines()[0]
    return values, notes


def evaluate(
    samples: Sequence[Sample],
    methods: Sequence[Method],
    out_dir: Path,
    scale: int,
    learned: Sequence[LearnedMetric] = (),
    crop: tuple[int, int, int, int] | None = None,
    crop_size: int = 96,
    zoom: int = 3,
    progress: bool = True,
    on_error: Callable[[str], None] = print,
) -> Evaluation:
    """Upscale each sample with each method (cached), score it and cut its comparison crops."""
    evaluation = Evaluation(scale=scale, methods=list(methods), zoom=zoom)
    for metric in learned:
        if metric.score is None:
            evaluation.metric_notes[metric.name] = metric.reason
    if not any(sample.reference_path for sample in samples):
        for key in FULL_REFERENCE:
            evaluation.metric_notes[key] = "no reference images (use --reference or --synthetic)"
    cache_dir = out_dir / "cache"
    bar = tqdm(total=len(samples) * len(methods), desc="eval", unit="run", disable=not progress)
    for sample in samples:
        try:
            image = load_rgb(sample.input_path)
            reference = load_rgb(sample.reference_path) if sample.reference_path else None
        except (OSError, ValueError) as err:
            _report(evaluation, on_error, f"{sample.input_path}: cannot read the image ({err})")
            bar.update(len(methods))
            continue
        digest = file_digest(sample.input_path)[:16]
        columns: dict[str, np.ndarray] = {}
        for method in methods:
            bar.set_postfix_str(f"{sample.name} / {method.name}")
            try:
                output = _cached_output(method, image, digest, cache_dir)
            except (RuntimeError, ValueError) as err:
                _report(evaluation, on_error, f"{sample.input_path}: {method.name} failed ({err})")
                bar.update(1)
                continue
            fitted = None if reference is None else _fit_reference(reference, output.shape, scale)
            if reference is not None and fitted is None:
                _report(
                    evaluation,
                    on_error,
                    f"{sample.reference_path}: reference is {reference.shape[1]}x{reference.shape[0]} but "
                    f"{method.name} made {output.shape[1]}x{output.shape[0]}; full-reference metrics skipped",
                )
            values, notes = score(output, fitted, scale, learned)
            evaluation.rows.append(Row(sample.name, method.name, values, notes))
            columns[method.name] = output
            bar.update(1)
        if columns:
            evaluation.crops.append(
                _save_crops(sample, image, reference, columns, scale, crop, crop_size, zoom, out_dir / "crops")
            )
    bar.close()
    return evaluation


def _report(evaluation: Evaluation, on_error: Callable[[str], None], line: str) -> None:
    evaluation.errors.append(line)
    on_error(line)


def _save_crops(
    sample: Sample,
    image: np.ndarray,
    reference: np.ndarray | None,
    columns: dict[str, np.ndarray],
    scale: int,
    crop: tuple[int, int, int, int] | None,
    crop_size: int,
    zoom: int,
    crops_dir: Path,
) -> ImageCrops:
    first = next(iter(columns.values()))
    fitted = None if reference is None else _fit_reference(reference, first.shape, scale)
    if crop is None:
        box = choose_crop(fitted if fitted is not None else first, crop_size)
    else:
        # The user's box, kept inside the picture.
        x, y = min(crop[0], first.shape[1] - 1), min(crop[1], first.shape[0] - 1)
        box = (x, y, min(crop[2], first.shape[1] - x), min(crop[3], first.shape[0] - y))
    x, y, w, h = box
    # The input is enlarged to the output grid by repetition, so it shows what the methods started from.
    pictures = {"input": np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)[: first.shape[0], : first.shape[1]]}
    pictures.update(columns)
    if fitted is not None:
        pictures["reference"] = fitted
    folder = crops_dir / _safe(sample.name)
    files = {}
    for index, (label, picture) in enumerate(pictures.items()):
        if picture.shape[:2] != first.shape[:2]:
            continue  # a method that made another size has no matching crop
        files[label] = folder / f"{index:02d}-{_safe(label)}.png"
        save_rgb(files[label], zoomed_crop(picture, (x, y, w, h), zoom))
    return ImageCrops(sample.name, box, files)


def _safe(text: str) -> str:
    return re.sub(r"[^\w.-]", "_", text)
