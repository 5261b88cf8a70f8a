"""Inference throughput on CPU, and how far half precision strays from fp32.

    python benchmarks/infer.py [--size 640x360] [--models compact,rrdb6,grl_tiny]

For each model at 4x: output megapixels per second on a 640x360 input (the bundled
sample, resized), untiled and in 256px tiles, fp32 and bf16. Random weights (speed does
not depend on them), except the compact model, which uses Real-ESRGAN's
realesr-animevideov3 from ../shared when present, for the precision table.

On a CPU without native bf16 (no AVX512-BF16/AMX) torch emulates it, an order of
magnitude slower; there bf16 is timed on a crop of a quarter of each side so the run stays short,
and ``auto`` precision never picks it. A tile-size sweep on the compact model backs the
engine's CPU tile cap. Results go to benchmarks/RESULTS.md (section "infer").
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import markdown_table, write_section  # noqa: E402

from apisr.images import load_rgb  # noqa: E402
from apisr.infer.engine import SAMPLE, Upscaler, cpu_has_native_bf16, resize  # noqa: E402
from apisr.models.registry import ARCHITECTURES, ModelDescriptor, build_model, load_model  # noqa: E402

SHARED_COMPACT = Path(__file__).resolve().parents[2] / "shared" / "weights" / "realesrgan" / "realesr-animevideov3.pth"
MODELS = {
    "compact": ("compact", {"scale": 4, "num_feat": 64, "num_conv": 16}),
    "rrdb6": ("rrdb", {"scale": 4, "num_feat": 64, "num_block": 6, "num_grow_ch": 32}),
    "grl_tiny": ("grl_tiny", {"scale": 4}),
}
TILE = 256


def descriptor(key: str) -> tuple[ModelDescriptor, str]:
    name, hyperparameters = MODELS[key]
    if key == "compact" and SHARED_COMPACT.is_file():
        return load_model(SHARED_COMPACT), "realesr-animevideov3 weights"
    torch.manual_seed(0)
    model = build_model(name, **hyperparameters).eval().requires_grad_(False)
    return ModelDescriptor(ARCHITECTURES[name], model, hyperparameters, scale=hyperparameters["scale"]), "random weights"


def throughput(upscaler: Upscaler, image: np.ndarray) -> float:
    """Output megapixels per second of one call, after a small warm-up call."""
    upscaler.upscale(image[:32, :32])
    start = time.perf_counter()
    out = upscaler.upscale(image)
    seconds = time.perf_counter() - start
    return out.shape[0] * out.shape[1] / 1e6 / seconds


def precision_error(described: ModelDescriptor, image: np.ndarray, dtype: str) -> tuple[float, float]:
    reference = Upscaler(described, precision="fp32", tile_size=0).upscale(image)
    half = Upscaler(described, precision=dtype, tile_size=0).upscale(image)
    error = np.abs(half - reference)
    return float(error.mean()), float(error.max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="640x360", help="input WIDTHxHEIGHT")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ", ".join(MODELS))
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    image = resize(load_rgb(SAMPLE), (width, height))
    native = cpu_has_native_bf16()
    bf16_image = image if native else image[: height // 4, : width // 4]
    bf16_note = "" if native else f" ({bf16_image.shape[1]}x{bf16_image.shape[0]} crop, emulated)"

    speed_rows, error_rows = [], []
    for key in args.models.split(","):
        described, weights = descriptor(key)
        for precision, picture, note in (("fp32", image, ""), ("bf16", bf16_image, bf16_note)):
            for tile in (0, TILE):
                upscaler = Upscaler(described, precision=precision, tile_size=tile)
                rate = throughput(upscaler, picture)
                label = "untiled" if tile == 0 else f"{tile}px tiles, overlap {upscaler.tile_overlap}"
                speed_rows.append([key, precision + note, label, f"{rate:.3f}"])
                print(speed_rows[-1], flush=True)
        sample = load_rgb(SAMPLE)[:120, :160]
        mean, worst = precision_error(described, sample, "bf16")
        error_rows.append([key, weights, f"{mean:.2e}", f"{worst:.2e}"])
        print(error_rows[-1], flush=True)

    sweep_rows = []
    if "compact" in args.models:
        described, _ = descriptor("compact")
        for tile in (128, 256, 512, 0):
            rate = throughput(Upscaler(described, precision="fp32", tile_size=tile), image)
            sweep_rows.append(["untiled" if tile == 0 else tile, f"{rate:.3f}"])
            print(sweep_rows[-1], flush=True)

    body = (
        f"4x upscaling of a {width}x{height} input on CPU; output megapixels per second (higher is better). "
        f"CPU native bf16: {'yes' if native else 'no'}.\n\n"
        + markdown_table(["model", "precision", "tiling", "output MP/s"], speed_rows)
        + "\n\nbf16 autocast against fp32 on a 160x120 crop of the bundled sample (values in [0, 1]); "
        "`auto` accepts bf16 only within mean 2e-3 and max 3e-2:\n\n"
        + markdown_table(["model", "weights", "mean abs error", "max abs error"], error_rows)
    )
    if sweep_rows:
        body += "\n\nTile side against speed, compact model, fp32:\n\n" + markdown_table(["tile", "output MP/s"], sweep_rows)
    write_section("infer", body)


if __name__ == "__main__":
    main()
