"""``apisr prepare``: turn a folder of frames into the training set (HR, pseudo-GT, tiles, validation split)."""

from __future__ import annotations

import argparse
import sys

from apisr.cli.args import fraction, non_negative_int, positive_float, positive_int
from apisr.curate.defaults import RESIZE_FILTERS, SHORT_POLICIES, TARGET_HEIGHT


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "prepare",
        help="build the training set (HR frames + line-enhanced pseudo-GT) from a frame folder",
        description=(
            "Rescale each frame to 720 lines (crop to multiples of 8), compute its line-enhanced pseudo-GT "
            "(USM x3 on XDoG lines, USM x1 elsewhere) and optionally cut both into a 256-pixel grid. "
            "Layout: DATASET/hr, hr_enhanced, [hr_crops, hr_enhanced_crops], val/hr, val.txt, dataset.json, "
            "edge_detail.json (each training frame's edge-detail score, for data.min_edge_detail). "
            "A re-run skips frames already done."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("frames", metavar="FRAMES_DIR", help="folder of frames (png, jpg, webp, ...), e.g. the output of apisr curate")
    p.add_argument("-o", "--output", required=True, metavar="DATASET", help="dataset folder (created; existing outputs are kept)")
    p.add_argument("--crop", type=non_negative_int, default=0, metavar="SIZE",
                   help="also cut HR and pseudo-GT into SIZE x SIZE grid tiles (the paper uses 256); 0: no tiles")
    p.add_argument("--height", type=positive_int, default=TARGET_HEIGHT, help="taller frames are downscaled to this height")
    p.add_argument("--resize-filter", choices=RESIZE_FILTERS, default="area", help="downscaling filter")
    p.add_argument("--short-frames", choices=SHORT_POLICIES, default="skip",
                   help="frames shorter than --height: skip them, or keep them at their size (never upscaled)")
    p.add_argument("--outlier-threshold", type=non_negative_int, default=32,
                   help="line components with fewer pixels than this are not treated as lines")
    p.add_argument("--gamma", type=positive_float, default=None,
                   help="XDoG gamma; default: 0.97 + 0.01 * U(0,1) drawn from --seed, as the paper")
    split = p.add_mutually_exclusive_group()
    split.add_argument("--val-fraction", type=fraction, default=0.0,
                       help="hold out this fraction of the frames (random, by --seed) for validation")
    split.add_argument("--val-list", metavar="FILE", help="hold out the frames named in FILE (one file name or stem per line)")
    p.add_argument("--seed", type=int, default=0, help="seed for the validation split and the XDoG gamma")
    p.add_argument("--jobs", type=positive_int, default=1, help="frames processed in parallel (processes)")
    p.set_defaults(func=run)


def run(args) -> int:
    import json
    from concurrent.futures import ProcessPoolExecutor
    from contextlib import ExitStack
    from functools import partial
    from multiprocessing import get_context
    from pathlib import Path

    import numpy as np
    from tqdm import tqdm

    from apisr.curate import layout
    from apisr.curate.prepare import (
        PrepareSettings, count_outputs, edge_detail_scores, find_frames, is_prepared, png_names, prepare_frame,
        read_edge_details, split_validation,
    )
    from apisr.enhance.xdog import draw_gamma
    from apisr.images import write_text_atomic

    frames_dir, dataset = Path(args.frames), Path(args.output)
    if not frames_dir.is_dir():
        print(f"error: {frames_dir}: not a folder", file=sys.stderr)
        return 2
    frames = find_frames(frames_dir)
    failures = 0
    by_stem: dict[str, Path] = {}
    for frame in frames:
        if frame.stem in by_stem:
            print(f"error: {frame}: same name as {by_stem[frame.stem]}, skipped", file=sys.stderr)
            failures += 1
        else:
            by_stem[frame.stem] = frame
    if not by_stem:
        print(f"error: no images in {frames_dir}", file=sys.stderr)
        return 2

    rng = np.random.default_rng(args.seed)
    gamma = args.gamma if args.gamma is not None else draw_gamma(rng)
    if args.val_list:
        wanted = {Path(line.strip()).stem for line in Path(args.val_list).read_text().splitlines() if line.strip()}
        for stem in sorted(wanted - set(by_stem)):
            print(f"warning: {args.val_list}: {stem} is not in {frames_dir}", file=sys.stderr)
        held_out = wanted & set(by_stem)
    else:
        held_out = split_validation(list(by_stem), args.val_fraction, rng)
    settings = PrepareSettings(gamma, args.height, args.resize_filter, args.short_frames, args.crop, args.outlier_threshold)

    dataset.mkdir(parents=True, exist_ok=True)
    todo = [(path, stem in held_out) for stem, path in by_stem.items() if not is_prepared(dataset, stem, stem in held_out)]
    if len(todo) < len(by_stem):
        print(f"{len(by_stem) - len(todo)} of {len(by_stem)} frames already prepared in {dataset}, skipped")

    short = 0
    with ExitStack() as stack:
        pool = None
        if args.jobs > 1:
            pool = stack.enter_context(ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")))
            calls = [(path, pool.submit(prepare_frame, path, dataset, held, settings).result) for path, held in todo]
        else:
            calls = [(path, partial(prepare_frame, path, dataset, held, settings)) for path, held in todo]
        with tqdm(total=len(todo), desc="prepare", unit="frame", disable=None) as bar:
            for path, call in calls:
                try:
                    short += call() == "short"
                except (OSError, ValueError) as err:
                    tqdm.write(f"error: {path}: {err}", file=sys.stderr)
                    failures += 1
                bar.update()

        # Scores of the frames written by an earlier run are kept; this run's are (re)computed.
        written = {f"{path.stem}.png" for path, held in todo if not held}
        known = {name: score for name, score in read_edge_details(dataset).items() if name not in written}
        hr_frames = [dataset / layout.HR / name for name in png_names(dataset / layout.HR)]

        def scored(function, frames):
            results = pool.map(function, frames) if pool else map(function, frames)
            return tqdm(results, total=len(frames), desc="edge detail", unit="frame", disable=None)

        scores = edge_detail_scores(hr_frames, known, scored)
    if short:
        print(f"{short} frames shorter than {args.height} px skipped (--short-frames keep keeps them)")

    # What is in val/hr, so frames skipped as short or unreadable are not listed.
    val_names = png_names(dataset / layout.VAL_HR)
    write_text_atomic(dataset / layout.VAL_LIST, "".join(f"{name}\n" for name in val_names))
    write_text_atomic(dataset / layout.EDGE_DETAIL_JSON, json.dumps(scores, indent=0) + "\n")
    counts = count_outputs(dataset)
    info = {
        "format": layout.FORMAT_VERSION,
        "source": str(frames_dir.resolve()),
        "counts": counts,
        "settings": {
            "height": args.height, "resize_filter": args.resize_filter, "short_frames": args.short_frames,
            "crop": args.crop, "outlier_threshold": args.outlier_threshold, "xdog_gamma": gamma,
            "seed": args.seed, "val_fraction": args.val_fraction, "val_list": args.val_list,
        },
    }
    write_text_atomic(dataset / layout.DATASET_JSON, json.dumps(info, indent=2) + "\n")
    print(f"{dataset}: {counts['train']} training frames, {counts['val']} validation, {counts['crops']} tiles")
    if failures:
        print(f"{failures} frames failed", file=sys.stderr)
        return 1
    return 0
