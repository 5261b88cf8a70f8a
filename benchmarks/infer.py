"""Inference throughput on CPU, and how far bf16 strays from fp32.

    python benchmarks/infer.py [--size 640x360] [--models compact,rrdb6,grl_tiny] [--budget 30]

For each model at 4x: output megapixels per second on a 640x360 input (the bundled
sample, resized), untiled and in 256px tiles, fp32 and bf16. Random weights (speed does
not depend on them), except the compact model, which is the bundled default ``compact-4x``
(it also feeds the precision table: the shipped weights are what bf16 must stay close to).

A configuration predicted (from a 64x64 warm-up) to take longer than ``--budget``
seconds is timed on a centred crop that fits the budget instead; the table names the
size actually timed. On a CPU without native bf16 (no AVX512-BF16/AMX) torch emulates it
about 10x slower than fp32, which is why ``auto`` precision never picks it there. A
tile-size sweep on the compact model backs the engine's CPU tile cap. Results go to
benchmarks/RESULTS.md (section "infer").
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import markdown_table, write_section  # noqa: E402

from apisr.images import load_rgb  # noqa: E402
from apisr.cpu import has_native_bf16  # noqa: E402
from apisr.infer.engine import SAMPLE, Upscaler, resize  # noqa: E402
from apisr.models import zoo  # noqa: E402
from apisr.models.registry import ARCHITECTURES, ModelDescriptor, build_model, load_model  # noqa: E402

MODELS = {
    "compact": ("compact", {"scale": 4, "num_feat": 64, "num_conv": 16}),
    "rrdb6": ("rrdb", {"scale": 4, "num_feat": 64, "num_block": 6, "num_grow_ch": 32}),
    "grl_tiny": ("grl_tiny", {"scale": 4}),
}
TILE = 256


def descriptor(key: str) -> tuple[ModelDescriptor, str]:
    name, hyperparameters = MODELS[key]
    if key == "compact":
        return load_model(zoo.resolve(zoo.DEFAULT_MODEL)), f"bundled {zoo.DEFAULT_MODEL} weights"
    torch.manual_seed(0)
    model = build_model(name, **hyperparameters).eval().requires_grad_(False)
    return ModelDescriptor(ARCHITECTURES[name], model, hyperparameters, scale=hyperparameters["scale"]), "random weights"


def throughput(upscaler: Upscaler, image: np.ndarray, budget: float) -> tuple[float, str]:
    """Output megapixels per second of one call, and the input size timed (cropped to fit ``budget`` seconds)."""
    start = time.perf_counter()
    warm = upscaler.upscale(image[:64, :64])
    predicted = (time.perf_counter() - start) * image.shape[0] * image.shape[1] / (warm.shape[0] * warm.shape[1] / 16)
    if predicted > budget:
        shrink = (budget / predicted) ** 0.5
        height, width = (max(64, int(side * shrink)) for side in image.shape[:2])
        top, left = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
        image = image[top : top + height, left : left + width]
    start = time.perf_counter()
    out = upscaler.upscale(image)
    seconds = time.perf_counter() - start
    return out.shape[0] * out.shape[1] / 1e6 / seconds, f"{image.shape[1]}x{image.shape[0]}"


def precision_error(described: ModelDescriptor, image: np.ndarray, dtype: str) -> tuple[float, float]:
    reference = Upscaler(described, precision="fp32", tile_size=0).upscale(image)
    half = Upscaler(described, precision=dtype, tile_size=0).upscale(image)
    error = np.abs(half - reference)
    return float(error.mean()), float(error.max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="640x360", help="input WIDTHxHEIGHT")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ", ".join(MODELS))
    parser.add_argument("--budget", type=float, default=30.0, help="seconds one timed call may take before cropping")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    image = resize(load_rgb(SAMPLE), (width, height))
    # The same 64x64 patch `auto` precision checks, for the error table.
    patch = load_rgb(SAMPLE)[:64, :64]

    speed_rows, error_rows = [], []
    for key in args.models.split(","):
        described, weights = descriptor(key)
        for precision in ("fp32", "bf16"):
            for tile in (0, TILE):
                upscaler = Upscaler(described, precision=precision, tile_size=tile)
                rate, timed = throughput(upscaler, image, args.budget)
                label = "untiled" if tile == 0 else f"{tile}px tiles, overlap {upscaler.tile_overlap}"
                speed_rows.append([key, precision, label, timed, f"{rate:.4f}"])
                print(speed_rows[-1], flush=True)
        mean, worst = precision_error(described, patch, "bf16")
        error_rows.append([key, weights, f"{mean:.1e}", f"{worst:.1e}"])
        print(error_rows[-1], flush=True)

    sweep_rows = []
    if "compact" in args.models:
        described, _ = descriptor("compact")
        for tile in (128, 256, 384, 512, 0):
            rate, timed = throughput(Upscaler(described, precision="fp32", tile_size=tile), image, args.budget)
            sweep_rows.append(["untiled" if tile == 0 else tile, timed, f"{rate:.4f}"])
            print(sweep_rows[-1], flush=True)

    body = (
        f"4x upscaling of a {width}x{height} input on CPU (slow configurations timed on the centred crop "
        f"named, to stay within {args.budget:g} s); output megapixels per second, higher is better. "
        f"CPU native bf16: {'yes' if has_native_bf16() else 'no (emulated by torch)'}. "
        f"Load average (1 min) when done: {os.getloadavg()[0]:.1f}.\n\n"
        + markdown_table(["model", "precision", "tiling", "input timed", "output MP/s"], speed_rows)
        + "\n\nbf16 autocast against fp32 on the 64x64 patch of the bundled sample that `auto` precision "
        "checks (values in [0, 1]); `auto` accepts bf16 only within mean 2e-3 and max 3e-2:\n\n"
        + markdown_table(["model", "weights", "mean abs error", "max abs error"], error_rows)
    )
    if sweep_rows:
        body += "\n\nTile side against speed, compact model, fp32:\n\n" + markdown_table(
            ["tile", "input timed", "output MP/s"], sweep_rows
        )
    # A subset run (e.g. only the shipped compact model) gets its own section beside the full one.
    chosen = args.models.split(",")
    write_section("infer" if set(chosen) == set(MODELS) else "infer-" + "-".join(chosen), body)


if __name__ == "__main__":
    main()
