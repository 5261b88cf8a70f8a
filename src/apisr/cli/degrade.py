"""``apisr degrade``: make LR images from HR frames with the APISR degradation, or preview it."""

from __future__ import annotations

import sys

from apisr.cli.args import non_negative_int, positive_int


def add_parser(subparsers) -> None:
    from PIL import features

    avif = (
        "This Pillow encodes AVIF."
        if features.check("avif")
        else "This Pillow cannot encode AVIF: give avif probability 0 in --config (the default 4x/2x configs "
        "use it in stage 2, so they fail with a message) or install Pillow >= 11.3 with AVIF."
    )
    p = subparsers.add_parser(
        "degrade",
        help="degrade HR frames into realistic LR images (two-stage blur/noise/resize + video-codec compression)",
        description=(
            "Apply APISR's degradation to every image in HR_DIR: two stages of blur, noise and a resize at a "
            "random position, then 'prediction-oriented' compression (a one-frame H.264/H.265/MPEG-2/MPEG-4 "
            "video, or JPEG/WebP/AVIF), all in memory. Writes OUT/<name>.png (H/scale x W/scale) and "
            "OUT/recipes.jsonl, one JSON line per image with every drawn step, which "
            "apisr.degrade.apply_recipe replays exactly. With --preview N it writes only OUT/preview.png, "
            "a contact sheet of N samples after each stage, labelled with the drawn parameters. " + avif
        ),
    )
    p.add_argument("hr_dir", metavar="HR_DIR", help="folder of HR images (png, jpg, webp, ...; 8/16-bit, RGB or gray)")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder (created; must differ from HR_DIR)")
    p.add_argument("--scale", type=int, choices=(2, 4), default=4, help="downscaling factor (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0,
                   help="base seed; each image's draws depend only on it and the image's file name (default: %(default)s)")
    p.add_argument("--config", metavar="YAML", default=None,
                   help="degradation config: a YAML file, or the name of a packaged one such as degradation_4x_light.yaml "
                        "(default: the paper's, apisr/configs/degradation_<scale>x.yaml)")
    p.add_argument("--preview", type=non_negative_int, default=0, metavar="N",
                   help="write OUT/preview.png with N samples (cycling through the images with new draws) "
                        "instead of the LR images (default: 0, no preview)")
    p.add_argument("--jobs", type=positive_int, default=1, help="images degraded in parallel (processes; default: %(default)s)")
    p.set_defaults(func=run)


def run(args) -> int:
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial
    from pathlib import Path

    from tqdm import tqdm

    from apisr.config import ConfigError
    from apisr.degrade.config import load_degradation_config
    from apisr.degrade.dataset import IMAGE_SUFFIXES
    from apisr.images import write_text_atomic

    hr_dir, out_dir = Path(args.hr_dir), Path(args.output)
    if not hr_dir.is_dir():
        print(f"error: {hr_dir}: not a folder", file=sys.stderr)
        return 2
    if out_dir.resolve() == hr_dir.resolve():
        print("error: OUT must differ from HR_DIR (inputs are never overwritten)", file=sys.stderr)
        return 2
    try:
        config = load_degradation_config(args.config, args.scale)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    images = sorted(p for p in hr_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        print(f"error: no images in {hr_dir}", file=sys.stderr)
        return 2
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.preview:
        return _preview(images, out_dir, config, args.seed, args.preview)

    work = partial(degrade_file, out_dir=out_dir, config=config, seed=args.seed)
    results = []
    with ProcessPoolExecutor(args.jobs) if args.jobs > 1 else _Serial() as pool:
        for result in tqdm(pool.map(work, images), total=len(images), desc="degrade", unit="img"):
            results.append(result)
    failures = [error for _, error in results if error]
    for error in failures:
        print(f"error: {error}", file=sys.stderr)
    write_text_atomic(out_dir / "recipes.jsonl", "".join(line + "\n" for line, _ in results if line))
    print(f"{len(images) - len(failures)} LR images and recipes.jsonl written to {out_dir}")
    return 1 if failures else 0


def image_rng(seed: int, name: str):
    """The generator for one image: depends on the base seed and the file name only."""
    import hashlib

    import numpy as np

    key = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng(np.random.SeedSequence([seed, key]))


def degrade_file(path, out_dir, config, seed: int) -> tuple[str | None, str | None]:
    """Degrade one file into ``out_dir``; returns (JSON line, None) or (None, error message)."""
    import json

    from apisr.degrade.pipeline import degrade
    from apisr.images import load_rgb, save_rgb

    try:
        hr = load_rgb(path)
        lr, recipe = degrade(hr, config.scale, config, image_rng(seed, path.name))
        output = out_dir / f"{path.stem}.png"
        save_rgb(output, lr)
    except (OSError, ValueError, RuntimeError) as err:
        return None, f"{path}: {err}"
    return json.dumps({"image": path.name, "lr": output.name, "seed": seed, "recipe": recipe.to_dict()}), None


def _preview(images, out_dir, config, seed: int, count: int) -> int:
    from apisr.degrade.pipeline import draw_recipe
    from apisr.degrade.preview import contact_sheet
    from apisr.images import load_rgb, save_rgb

    frames, failures = [], 0
    for path in images[:count]:
        try:
            frames.append((path, load_rgb(path)))
        except OSError as err:
            print(f"error: {path}: {err}", file=sys.stderr)
            failures += 1
    samples = []
    for k in range(count if frames else 0):
        path, hr = frames[k % len(frames)]
        # The first round uses the same draws as the LR images written without --preview.
        sample_seed = seed + k // len(frames)
        try:
            recipe = draw_recipe(hr.shape[:2], config, image_rng(sample_seed, path.name))
        except ValueError as err:
            print(f"error: {path}: {err}", file=sys.stderr)
            failures += 1
            continue
        samples.append((f"{path.name}  (seed {sample_seed})", hr, recipe))
    if samples:
        save_rgb(out_dir / "preview.png", contact_sheet(samples))
        print(f"preview of {len(samples)} samples written to {out_dir / 'preview.png'}")
    return 1 if failures or not samples else 0


class _Serial:
    """A stand-in for a process pool that maps in this process (simpler tracebacks, no start-up cost)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @staticmethod
    def map(function, items):
        return map(function, items)
