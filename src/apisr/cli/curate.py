"""``apisr curate``: pick the most complex I-frames of anime videos as training frames (paper §3.1)."""

from __future__ import annotations

import argparse
import sys

from apisr.cli.args import positive_float, positive_int, whole_number
from apisr.curate.defaults import DEDUP_MAX_DISTANCE, RESIZE_FILTERS, SCORER_CHOICES, SHORT_POLICIES, TARGET_HEIGHT


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "curate",
        help="extract the most complex I-frames of videos into a frame folder",
        description=(
            "Decode only the I-frames of each video, split them into partitions, score every SKIP-th with "
            "the IC9600 complexity network (or a weight-free measure, announced loudly) and keep the top ones "
            "per partition, without near-duplicates. Writes PNGs, manifest.jsonl and curate.json into OUT. "
            "A re-run skips videos already finished."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="VIDEO_OR_DIR",
                   help="video files, or folders searched recursively for videos")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output folder (created; existing results are kept and reused)")
    g = p.add_argument_group("selection (the paper's defaults)")
    g.add_argument("--partitions", type=positive_int, default=8, help="contiguous partitions each video's I-frames are split into")
    g.add_argument("--skip", type=positive_int, default=5, help="score every SKIP-th I-frame of a partition")
    g.add_argument("--frames-short", type=positive_int, default=16, help="frames kept per video of at most --long-minutes")
    g.add_argument("--frames-long", type=positive_int, default=24, help="frames kept per video longer than --long-minutes")
    g.add_argument("--long-minutes", type=positive_float, default=30.0, help="duration (whole minutes) above which a video is long")
    g.add_argument("--dedup-distance", type=whole_number(-1, 64), default=DEDUP_MAX_DISTANCE,
                   help="frames whose 64-bit perceptual hashes differ in at most this many bits are duplicates; "
                        "-1 keeps duplicates")
    g = p.add_argument_group("frame size")
    g.add_argument("--height", type=positive_int, default=TARGET_HEIGHT, help="taller frames are downscaled to this height")
    g.add_argument("--resize-filter", choices=RESIZE_FILTERS, default="area", help="downscaling filter")
    g.add_argument("--short-frames", choices=SHORT_POLICIES, default="skip",
                   help="frames shorter than --height: skip them, or keep them at their size (never upscaled)")
    add_complexity_options(p)
    p.add_argument("--jobs", type=positive_int, default=1,
                   help="videos processed in parallel (processes); ICNet already uses every core, so raise it mainly "
                        "with the fallback scorer or many short videos")
    p.set_defaults(func=run)


def add_complexity_options(parser) -> None:
    """The scorer options, shared with ``apisr dataset-stats``."""
    g = parser.add_argument_group("complexity scorer")
    g.add_argument("--complexity-scorer", choices=SCORER_CHOICES, default="auto",
                   help="icnet: IC9600 ICNet, fail without weights; fallback: weight-free measure; "
                        "auto: ICNet when weights are found, else the fallback with a warning")
    g.add_argument("--complexity-weights", metavar="PATH", help="ICNet checkpoint (IC9600 ck.pth)")
    g.add_argument("--complexity-url", metavar="URL", help="direct download URL for ck.pth, cached in $APISR_CACHE/weights")
    g.add_argument("--complexity-sha256", metavar="HEX", help="expected sha256 of the file at --complexity-url")
    g.add_argument("--device", default="cpu", help="torch device for ICNet (cpu, cuda, cuda:1, ...)")


def resolve_complexity(args):
    """The scorer the options ask for; prints the loud fallback warning. ``None`` after printing an error."""
    from apisr.curate.complexity import resolve_scorer
    from apisr.hub import WeightsNotFound

    try:
        choice = resolve_scorer(args.complexity_scorer, args.complexity_weights, args.complexity_url, args.complexity_sha256)
    except (ValueError, FileNotFoundError, WeightsNotFound) as err:
        print(f"error: {err}", file=sys.stderr)
        return None
    if choice.warning:
        print(choice.warning, file=sys.stderr)
    print(f"complexity scorer: {choice.name}" + (f" ({choice.weights})" if choice.weights else ""))
    return choice


def run(args) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from apisr.curate.keyframes import find_videos
    from apisr.curate.pipeline import CurateSettings, is_done, rebuild_manifest, video_keys, write_run_file
    from apisr.curate.select import SelectionSettings
    from apisr.curate.workers import run_videos

    try:
        settings = CurateSettings(
            SelectionSettings(args.partitions, args.skip, args.frames_short, args.frames_long, args.long_minutes),
            height=args.height, resize_filter=args.resize_filter, short_frames=args.short_frames,
            dedup_distance=args.dedup_distance,
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    choice = resolve_complexity(args)
    if choice is None:
        return 2

    videos = find_videos(args.inputs)
    if not videos:
        print("error: no video files found in " + ", ".join(args.inputs), file=sys.stderr)
        return 2
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_run_file(out_dir, settings, choice.name, choice.warning)
    jobs = list(zip(videos, video_keys(videos)))
    todo = [(v, k) for v, k in jobs if not is_done(out_dir, k)]
    if len(todo) < len(jobs):
        print(f"{len(jobs) - len(todo)} of {len(jobs)} videos already done in {out_dir}, skipped")

    failures = 0
    for result in run_videos(todo, out_dir, settings, choice, args.device, args.jobs):
        if result.error:
            failures += 1
            tqdm.write(f"error: {result.error}", file=sys.stderr)
            continue
        line = f"{result.key}: {result.iframes} I-frames, {result.scored} scored, {len(result.records)} kept"
        if result.short_skipped:
            line += (f", {result.short_skipped} candidates shorter than {settings.height} px skipped "
                     "(--short-frames keep keeps them)")
        tqdm.write(line)
    total = rebuild_manifest(out_dir)
    print(f"{total} frames in {out_dir / 'manifest.jsonl'} (scorer: {choice.name})")
    if choice.warning:
        print(choice.warning, file=sys.stderr)
    if failures:
        print(f"{failures} of {len(todo)} videos failed", file=sys.stderr)
        return 1
    return 0
