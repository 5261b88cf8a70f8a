"""The upscalers an evaluation compares: built-in resamplers and loaded models.

A :class:`Method` turns an RGB float image into one ``scale`` times larger. The names
``bicubic`` and ``lanczos`` are OpenCV's resamplers; anything else is a model that
``apisr upscale`` can load (a checkpoint path, waifu2x JSON/MXNet file or zoo name),
run in fp32 so that scores do not depend on the machine's half-precision support.

A model whose own scale differs from the evaluation's follows one rule, stated in the
report for every method:

- the evaluation scale is a power of the model's (a 2x model at 4x): the model is
  applied repeatedly (waifu2x's classic usage for 4x is 2x twice);
- otherwise the model is applied once and its output resized to the target size
  (area filter to shrink, Lanczos to enlarge).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

RESAMPLERS = {"bicubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4}


@dataclass
class Method:
    """``name`` for the report, ``key`` for the cache (changes when the weights change)."""

    name: str
    key: str
    rule: str
    upscale: Callable[[np.ndarray], np.ndarray]


def resample(image: np.ndarray, size: tuple[int, int], interpolation: int) -> np.ndarray:
    """Resize an RGB float image to ``size`` = (width, height) and clip to [0, 1] (cubic kernels overshoot)."""
    return np.clip(cv2.resize(image, size, interpolation=interpolation), 0.0, 1.0)


def target_size(image: np.ndarray, scale: int) -> tuple[int, int]:
    return image.shape[1] * scale, image.shape[0] * scale


def resampler_method(name: str, scale: int) -> Method:
    interpolation = RESAMPLERS[name]
    return Method(
        name=name,
        key=name,
        rule=f"OpenCV {name} x{scale}",
        upscale=lambda image: resample(image, target_size(image, scale), interpolation),
    )


def repeat_count(model_scale: int, scale: int) -> int | None:
    """How many passes of a ``model_scale`` model make ``scale`` (None: not a power)."""
    passes, reached = 0, 1
    while reached < scale and model_scale > 1:
        reached *= model_scale
        passes += 1
    return passes if reached == scale and passes else None


def model_method(spec: str, scale: int, device: str | None = None, tile_size: int | str | None = None) -> Method:
    """A model loaded the way ``apisr upscale`` loads it, adapted to ``scale`` by the rule above."""
    from apisr.infer.engine import Upscaler, resize
    from apisr.models.registry import load_model
    from apisr.models.zoo import resolve

    path = resolve(spec)
    descriptor = load_model(path)
    upscaler = Upscaler(descriptor, device=device, precision="fp32", tile_size=tile_size)
    passes = repeat_count(upscaler.scale, scale)
    if passes is not None:
        rule = f"{descriptor.name} x{upscaler.scale}" + (f", applied {passes} times" if passes > 1 else "")

        def upscale(image: np.ndarray) -> np.ndarray:
            for _ in range(passes):
                image = upscaler.upscale(image)
            return image

    else:
        rule = f"{descriptor.name} x{upscaler.scale}, then resized to x{scale}"

        def upscale(image: np.ndarray) -> np.ndarray:
            return resize(upscaler.upscale(image), target_size(image, scale))

    key = f"{Path(path).stem}-{weights_digest(descriptor.model.state_dict())[:16]}"
    return Method(name=display_names([spec])[0], key=key, rule=rule, upscale=upscale)


def build_method(spec: str, scale: int, device: str | None = None, tile_size: int | str | None = None) -> Method:
    if spec in RESAMPLERS:
        return resampler_method(spec, scale)
    return model_method(spec, scale, device, tile_size)


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weights_digest(state_dict) -> str:
    """sha256 over a state dict's names and values: the cache key of a model whatever file held it.

    (An MXNet ``-symbol.json`` names its weights in another file, so hashing the file named
    by the user would not notice new weights.)
    """
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        digest.update(name.encode())
        digest.update(state_dict[name].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def display_names(specs: list[str]) -> list[str]:
    """Short report names for method specs: the file stem, with its folder where two stems clash.

    Model files are often named alike in different folders (waifu2x's ``scale2.0x_model.json``
    for every style), and the report must keep them apart.
    """
    stems = [Path(spec).stem if Path(spec).suffix else spec for spec in specs]
    names = [
        f"{Path(spec).parent.name}/{stem}" if stems.count(stem) > 1 and Path(spec).parent.name else stem
        for spec, stem in zip(specs, stems)
    ]
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique
