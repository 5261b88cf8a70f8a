"""``apisr dataset-stats``: complexity, resolution and sharpness of one or more frame folders, as JSON and a plot."""

from __future__ import annotations

import argparse
import sys

from apisr.cli.args import non_negative_int, positive_int
from apisr.cli.curate import add_complexity_options, resolve_complexity


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "dataset-stats",
        help="complexity histogram, resolution table and sharpness of frame folders",
        description=(
            "Measure every image of each DIR: complexity score (IC9600 ICNet, or the weight-free measure, "
            "announced loudly), frame size, and sharpness (variance of the Laplacian at 720 lines). Writes "
            "OUT/stats.json and OUT/stats.png with the datasets overlaid, to compare e.g. a curated set with another."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("dirs", nargs="+", metavar="DIR", help="folders of images (not searched recursively)")
    p.add_argument("-o", "--output", default="dataset_stats", metavar="OUT", help="folder for stats.json and stats.png")
    p.add_argument("--limit", type=non_negative_int, default=0, help="measure at most this many images per folder, a random sample (0: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the --limit sample")
    p.add_argument("--bins", type=positive_int, default=20, help="histogram bins")
    add_complexity_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import json
    from pathlib import Path

    import numpy as np
    from tqdm import tqdm

    from apisr.curate.complexity import build_scorer
    from apisr.curate.prepare import find_frames
    from apisr.curate.stats import dataset_summary, plot, sharpness
    from apisr.images import load_rgb

    choice = resolve_complexity(args)
    if choice is None:
        return 2
    scorer = build_scorer(choice, args.device)
    failures = 0
    measured = []
    for folder in map(Path, args.dirs):
        if not folder.is_dir():
            print(f"error: {folder}: not a folder", file=sys.stderr)
            failures += 1
            continue
        files = find_frames(folder)
        if args.limit and len(files) > args.limit:
            pick = np.random.default_rng(args.seed).choice(len(files), args.limit, replace=False)
            files = [files[i] for i in sorted(pick)]
        complexity, sharp, sizes = [], [], []
        for path in tqdm(files, desc=folder.name, unit="image", disable=None):
            try:
                image = load_rgb(path)
            except (OSError, ValueError) as err:
                tqdm.write(f"error: {path}: {err}", file=sys.stderr)
                failures += 1
                continue
            complexity.append(scorer.score([image])[0])
            sharp.append(sharpness(image))
            sizes.append((image.shape[1], image.shape[0]))
        if not sizes:
            print(f"error: {folder}: no readable images", file=sys.stderr)
            failures += 1
            continue
        measured.append((folder.name, complexity, sharp, sizes))
    if not measured:
        return 1

    # Shared bins, so the datasets' histograms line up in the plot and the JSON.
    complexity_bins = np.linspace(0.0, 1.0, args.bins + 1)
    top = max(max(sharp) for _, _, sharp, _ in measured)
    sharpness_bins = np.linspace(0.0, top if top > 0 else 1.0, args.bins + 1)
    summaries = [dataset_summary(name, c, s, z, complexity_bins, sharpness_bins) for name, c, s, z in measured]
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    report = {"scorer": choice.name, "scorer_warning": choice.warning, "datasets": summaries}
    (out / "stats.json").write_text(json.dumps(report, indent=2) + "\n")
    plot(summaries, choice.name, out / "stats.png")
    for s in summaries:
        sizes = ", ".join(f"{k} ({v})" for k, v in list(s["resolutions"].items())[:5])
        print(f"{s['dataset']}: {s['images']} images, complexity median {s['complexity']['median']:.3f}, "
              f"sharpness median {s['sharpness']['median']:.4g}, sizes {sizes}")
    print(f"wrote {out / 'stats.json'} and {out / 'stats.png'}")
    if choice.warning:
        print(choice.warning, file=sys.stderr)
    return 1 if failures else 0
