"""Speed of the degradation engine on 1280x720 frames with the default (paper) 4x config.

    python benchmarks/degrade.py [--pairs 60] [--frames DIR]

Prints and writes to benchmarks/RESULTS.md:
- LR/HR pairs per second per CPU core (one pair = one full-frame degradation),
- the mean cost of each operation (per call, and per pair given how often it is drawn),
- PairDataset items per second per core, degrading the full frame (the paper) vs a
  crop with margin (``full_frame=False``, issue #11), image loading included.

Everything runs in one thread (OpenCV, torch, x265 and libavif are all told so), so
CPU seconds are core seconds; CPU time is used rather than wall time because a
shared machine's wall time also counts other people's work. Frames are synthetic
anime-like drawings unless --frames names a folder of real ones (resized to 1280x720).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import markdown_table, write_section  # noqa: E402

from apisr.degrade import draw_recipe, load_degradation_config  # noqa: E402
from apisr.degrade.dataset import PairDataset  # noqa: E402
from apisr.degrade.pipeline import apply_step  # noqa: E402
from apisr.synthetic import synthetic_frame  # noqa: E402
from apisr.images import load_rgb, save_rgb  # noqa: E402

SIZE = (720, 1280)


def frames(folder: str | None, count: int) -> list[np.ndarray]:
    if folder is None:
        return [synthetic_frame(*SIZE, np.random.default_rng(i)) for i in range(count)]
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))[:count]
    return [cv2.resize(load_rgb(p), SIZE[::-1], interpolation=cv2.INTER_AREA) for p in paths]


def step_key(step) -> str:
    p = step.params
    variant = p.get("codec") or p.get("kind") or p.get("type") or p.get("direction", "")
    return f"stage {step.stage} {step.op} {variant}"


def time_pipeline(images: list[np.ndarray], pairs: int) -> tuple[float, float, dict]:
    """CPU and wall seconds per pair, and {op: [calls, cpu seconds]}."""
    config = load_degradation_config(None, 4)
    costs: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for k in range(pairs):
        image = images[k % len(images)]
        recipe = draw_recipe(image.shape[:2], config, np.random.default_rng(k))
        for step in recipe.steps:
            t = time.process_time()
            image = apply_step(image, step)
            cost = costs[step_key(step)]
            cost[0] += 1
            cost[1] += time.process_time() - t
    return (time.process_time() - cpu_start) / pairs, (time.perf_counter() - wall_start) / pairs, costs


def time_dataset(images: list[np.ndarray], items: int, full_frame: bool) -> float:
    """CPU seconds per PairDataset item (load + degrade + crop + augment)."""
    with tempfile.TemporaryDirectory() as folder:
        for i, image in enumerate(images):
            save_rgb(Path(folder) / f"{i:03d}.png", image)
        data = PairDataset.from_folder(folder, full_frame=full_frame, crop_margin=64)
        data[0]  # warm-up: first codec use loads libraries
        start = time.process_time()
        for k in range(items):
            data.set_epoch(k // len(data))
            data[k % len(data)]
        return (time.process_time() - start) / items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=60, help="full-frame degradations to time (default: 60)")
    parser.add_argument("--frames", metavar="DIR", help="real frames to use instead of synthetic ones")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    images = frames(args.frames, 6)
    load = os.getloadavg()[0]

    cpu, wall, costs = time_pipeline(images, args.pairs)
    rows = [
        [name, calls, f"{seconds / calls * 1000:.1f}", f"{seconds / args.pairs * 1000:.1f}"]
        for name, (calls, seconds) in sorted(costs.items(), key=lambda kv: -kv[1][1])
    ]
    full_item = time_dataset(images, max(6, args.pairs // 3), full_frame=True)
    crop_item = time_dataset(images, max(12, args.pairs), full_frame=False)

    source = "synthetic anime-like frames" if args.frames is None else f"frames from {args.frames}"
    body = f"""
Default 4x config, {source}, 1280x720, one thread; {args.pairs} degradations (seeds 0..{args.pairs - 1}).
Load average while measuring: {load:.1f} (per core figures use CPU time, so other work on the machine
inflates them less than wall time; wall time per pair was {wall * 1000:.0f} ms).

| measure | per CPU core |
|---|---|
| full-frame degradation (LR/HR pair) | **{1 / cpu:.1f} pairs/s** ({cpu * 1000:.0f} ms CPU each; target 10) |
| PairDataset item, `full_frame=True` (paper; PNG load + degrade + crop) | {1 / full_item:.1f} items/s |
| PairDataset item, `full_frame=False`, 64 px margin (256 px HR patch) | {1 / crop_item:.1f} items/s |

Mean cost of each operation (CPU ms per call, and per pair given how often it is drawn):

{markdown_table(["operation", "calls", "ms / call", "ms / pair"], rows)}
"""
    write_section("degrade", body)


if __name__ == "__main__":
    main()
