"""Figures of line crispness and of drawn texture, for upscalers run on real low-quality frames.

Real frames have no ground truth, so PSNR and its kin say nothing about them; a crop sheet shows
the look but not how much. These four figures put numbers on what a GAN stage changes (each the
mean over the frames, BT.601 on the 0-255 scale, of the 4x output):

- ``edge-grad``: the mean luma gradient magnitude (Sobel / 4) on edge pixels: higher is crisper.
- ``flat-Y-hp``: the mean luma high-pass (the image minus its Gaussian blur, sigma 1) on flat
  pixels: a stipple or a grid raises it; a clean flat colour keeps it near 0.
- ``flat-C-hp`` and ``edge-C-hp``: the same high-pass of Cb and Cr (their mean), on flat and on
  edge pixels: a colour stipple, and a green-and-magenta fringe inside lines.

Edge and flat pixels are chosen once per frame, from a bicubic 4x of the input blurred with sigma 4
(gradient above 6 or below 1), so every upscaler is measured on the same pixels.

    python scripts/texture_figures.py bicubic compact-4x my_model.safetensors [--frames DIR]

``bicubic`` is a plain bicubic resize; other names are models as for ``apisr upscale -m``. The
frames default to those ``scripts/extract_real_lq.py`` writes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from apisr import load_model, upscale
from apisr.evaluate.metrics import to_y
from apisr.infer.imageio import read_image

SCALE = 4


def ycbcr(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rgb = np.clip(image, 0, 1).astype(np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return (to_y(rgb).astype(np.float32),
            128 - 37.797 * r - 74.203 * g + 112.0 * b,
            128 + 112.0 * r - 93.786 * g - 18.214 * b)


def high_pass(channel: np.ndarray) -> np.ndarray:
    return np.abs(channel - cv2.GaussianBlur(channel, (0, 0), 1.0))


def gradient(channel: np.ndarray) -> np.ndarray:
    return np.hypot(cv2.Sobel(channel, cv2.CV_32F, 1, 0), cv2.Sobel(channel, cv2.CV_32F, 0, 1)) / 4


def bicubic(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_CUBIC)


def figures(output: np.ndarray, edge: np.ndarray, flat: np.ndarray) -> tuple[float, float, float, float]:
    y, cb, cr = ycbcr(output)
    colour = (high_pass(cb) + high_pass(cr)) / 2
    return gradient(y)[edge].mean(), high_pass(y)[flat].mean(), colour[flat].mean(), colour[edge].mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="bicubic, a model name or a model file")
    parser.add_argument("--frames", type=Path, default=Path("~/.cache/apisr/real_lq").expanduser(),
                        help="folder of low-quality frames (PNG) (default: %(default)s)")
    args = parser.parse_args()
    frames = []
    for path in sorted(args.frames.glob("*.png")):
        image = read_image(path)[0]
        structure = gradient(cv2.GaussianBlur(ycbcr(bicubic(image))[0], (0, 0), 4))
        frames.append((image, structure > 6, structure < 1))
    if not frames:
        parser.error(f"{args.frames}: no PNG frames (run scripts/extract_real_lq.py first)")
    print(f"{'model':40s} {'edge-grad':>9s} {'flat-Y-hp':>9s} {'flat-C-hp':>9s} {'edge-C-hp':>9s}")
    for spec in args.models:
        model = None if spec == "bicubic" else load_model(spec)
        rows = [figures(bicubic(image) if model is None else upscale(image, model, precision="fp32"), edge, flat)
                for image, edge, flat in frames]
        print(f"{Path(spec).name[:40]:40s}" + "".join(f" {value:9.3f}" for value in np.mean(rows, axis=0)), flush=True)


if __name__ == "__main__":
    main()
