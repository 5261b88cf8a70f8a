"""``apisr upscale``: super-resolve pictures (files or folders) with a trained model.

The command runs in four steps, top to bottom in :func:`run`: collect the inputs into
jobs (each classified by kind), load the model into an
:class:`~apisr.infer.engine.Upscaler`, process the jobs one by one (a bad input prints
one line and the batch goes on), print a summary. Each kind of input has its handler
in ``HANDLERS``.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from apisr.cli.args import non_negative_int, positive_float, positive_int, whole_number
from apisr.infer.video_formats import OUTPUT_CONTAINERS, VIDEO_CODECS, VIDEO_EXTENSIONS

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"})
OUTPUT_FORMATS = ("png", "jpg", "webp", "same")
# Input extensions `--format same` can write back; anything else becomes PNG.
SAME_FORMATS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"})
DEFAULT_PATTERN = "{stem}_x{scale}.{ext}"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "upscale",
        help="upscale pictures with a super-resolution model",
        description=(
            "Upscale picture files, or every picture in folders, with a super-resolution model "
            "(default: the bundled compact 4x model). Large pictures are processed in blended tiles. "
            "Alpha, 16-bit depth, gray pictures and ICC profiles are kept; EXIF orientation is applied. "
            "Each unreadable input prints one line and the rest go on; the exit code is 0 only if every "
            "input succeeded. Try: apisr upscale --sample -o upscaled/"
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("inputs", nargs="*", metavar="INPUT",
                   help="picture or video files, or folders of them (videos by extension: "
                        f"{', '.join(sorted(VIDEO_EXTENSIONS))})")
    p.add_argument("-o", "--output", default="upscaled", metavar="OUT",
                   help="output folder (created); with a single input file, a file name with a picture "
                        "extension (.png, .jpg, .webp, .tif) or a video extension (.mkv, .mp4, ...) is the "
                        "output file itself")
    p.add_argument("--sample", action="store_true", help="also upscale the bundled sample picture (320x240 anime-style)")
    p.add_argument("-r", "--recursive", action="store_true",
                   help="search input folders recursively; the sub-folder layout is kept under OUT")

    g = p.add_argument_group("model and engine")
    g.add_argument("-m", "--model", default=None, metavar="MODEL",
                   help="checkpoint file or model name (see `apisr models`); None: the bundled default model")
    g.add_argument("--device", default="auto", help="auto (CUDA if available, else CPU), cpu, cuda, cuda:N")
    g.add_argument("--precision", choices=("auto", "fp32", "fp16", "bf16"), default="auto",
                   help="auto: fp16 on CUDA, bf16 on CPUs with native bf16, fp32 elsewhere, each only if the model "
                        "stays within tolerance of fp32 on a probe; a tile whose half-precision output is not "
                        "finite is redone in fp32")
    g.add_argument("--tile", type=_tile, default="auto", metavar="PIXELS",
                   help="tile side in input pixels; auto: from free memory (at most 256 on CPU); 0: never tile")
    g.add_argument("--tile-overlap", type=non_negative_int, default=None, metavar="PIXELS",
                   help="input pixels shared by neighbouring tiles, blended; None: the model's receptive field")
    g.add_argument("--outscale", type=positive_float, default=None, metavar="FACTOR",
                   help="final size relative to the input, whatever the model's scale (resized after the model: "
                        "Lanczos up, area down); None: the model's scale")
    g.add_argument("--downsample-threshold", type=non_negative_int, default=0, metavar="PIXELS",
                   help="first shrink (area filter) inputs whose short side is longer than this to exactly this; "
                        "0: never (the original recommends 720 or 1080 for real-world frames)")

    g = p.add_argument_group("input and output files")
    g.add_argument("--format", choices=OUTPUT_FORMATS, default="png",
                   help="output format; same: the input's format when it is PNG, JPEG, WebP or TIFF, else PNG")
    g.add_argument("--quality", type=whole_number(1, 100), default=95, help="JPEG/WebP quality 1-100 (WebP 100 is lossless)")
    g.add_argument("--name-pattern", default=DEFAULT_PATTERN,
                   help="output file name; fields: {stem} input name without extension, {suffix} input extension, "
                        "{ext} output extension, "
                        "{scale} final scale, {model} model architecture")
    g.add_argument("--skip-existing", action="store_true", help="leave inputs whose output file already exists")
    g.add_argument("--max-pixels", type=non_negative_int, default=100_000_000, metavar="N",
                   help="refuse pictures with more pixels than this (decompression-bomb guard); 0: no limit")
    _add_video_arguments(p)
    p.set_defaults(func=run)


def _add_video_arguments(p) -> None:
    g = p.add_argument_group(
        "video",
        "Videos are decoded, upscaled in batches and encoded again, the three overlapped. Audio, subtitle and "
        "attachment streams are copied bit for bit; frame timestamps (variable frame rate too) and colour tags "
        "are kept. The output is renamed into place only when complete.",
    )
    g.add_argument("--video-format", choices=OUTPUT_CONTAINERS, default="mkv",
                   help="container of video outputs written into an output folder (.mkv holds any audio and "
                        "subtitles; .mp4 only some)")
    g.add_argument("--codec", choices=VIDEO_CODECS, default="libx264",
                   help="video encoder: libx264 (H.264), libx265 (HEVC), libsvtav1 (AV1), ffv1 (lossless)")
    g.add_argument("--crf", type=non_negative_int, default=None,
                   help="constant-quality factor, lower is better; None: libx264 18, libx265 20, libsvtav1 28 "
                        "(ffv1 is lossless and ignores it)")
    g.add_argument("--preset", default=None,
                   help="encoder speed preset; None: medium for libx264/libx265, 8 for libsvtav1")
    g.add_argument("--pix-fmt", default=None,
                   help="output pixel format, e.g. yuv420p (8-bit) or yuv420p10le (10-bit); None: yuv420p, "
                        "or yuv420p10le for an input of more than 8 bits")
    g.add_argument("--start", type=_timestamp, default=None, metavar="TIME",
                   help="process from this time on (seconds or [HH:]MM:SS[.ms]); None: from the beginning")
    g.add_argument("--duration", type=_timestamp, default=None, metavar="TIME",
                   help="process this long (seconds or [HH:]MM:SS[.ms]); None: to the end")
    g.add_argument("--audio-codec", default=None, metavar="CODEC",
                   help="re-encode audio with this encoder (aac, libopus, flac) instead of copying it; needed "
                        "when the output container cannot hold the input's audio; None: copy")
    g.add_argument("--on-corrupt", choices=("skip", "stop"), default="skip",
                   help="an input with corrupt packets or cut short: skip (warn, keep the frames that decode) "
                        "or stop (fail with the reason, write nothing)")
    g.add_argument("--batch-size", type=positive_int, default=4, metavar="N",
                   help="video frames per model call")


@dataclass(frozen=True)
class Job:
    source: Path
    # Folder under OUT, so that --recursive keeps the input's layout.
    subfolder: Path
    kind: str


@dataclass
class Summary:
    done: int = 0
    failed: int = 0
    skipped: int = 0


def classify(path: Path) -> str | None:
    """The kind of input a file is, by extension; None for files a folder scan ignores."""
    suffix = path.suffix.lower()
    return "image" if suffix in IMAGE_EXTENSIONS else "video" if suffix in VIDEO_EXTENSIONS else None


def collect_jobs(inputs: list[str], recursive: bool, sample: bool) -> tuple[list[Job], list[str]]:
    """Jobs for every input file and every recognised file in input folders, and one error per missing input.

    A file named explicitly is tried whatever its extension (as a picture unless recognised otherwise).
    """
    from apisr.infer.engine import SAMPLE

    jobs: list[Job] = [Job(SAMPLE, Path(), "image")] if sample else []
    errors: list[str] = []
    for text in inputs:
        path = Path(text)
        if path.is_file():
            jobs.append(Job(path, Path(), classify(path) or "image"))
        elif path.is_dir():
            found = path.rglob("*") if recursive else path.glob("*")
            for file in sorted(f for f in found if f.is_file() and classify(f)):
                jobs.append(Job(file, file.parent.relative_to(path), classify(file)))
        else:
            errors.append(f"{path}: no such file or folder")
    return jobs, errors


def output_path(job: Job, args, scale: str, model_name: str) -> Path:
    target = Path(args.output)
    if args.single_file_output:
        return target
    if job.kind == "video":
        ext = args.video_format
    elif args.format == "same":
        suffix = job.source.suffix.lower()
        ext = suffix[1:] if suffix in SAME_FORMATS else "png"
    else:
        ext = args.format
    name = args.name_pattern.format(
        stem=job.source.stem, suffix=job.source.suffix.lstrip("."), ext=ext, scale=scale, model=model_name
    )
    return target / job.subfolder / name


def upscale_image(job: Job, target: Path, upscaler, args) -> None:
    from apisr.infer.api import upscale_picture
    from apisr.infer.imageio import read_image, write_image

    colour, alpha, info = read_image(job.source, args.max_pixels)
    colour, alpha = upscale_picture(upscaler, colour, alpha, args.outscale, args.downsample_threshold)
    write_image(target, colour, alpha, info.bit_depth, info.icc_profile, args.quality)


def upscale_video_file(job: Job, target: Path, upscaler, args) -> None:
    from apisr.infer.video import VideoOptions, upscale_video

    options = VideoOptions(
        codec=args.codec,
        crf=args.crf,
        preset=args.preset,
        pix_fmt=args.pix_fmt,
        start=args.start,
        duration=args.duration,
        audio_codec=args.audio_codec,
        on_corrupt=args.on_corrupt,
        outscale=args.outscale,
        downsample_threshold=args.downsample_threshold,
        batch_size=args.batch_size,
    )
    report = upscale_video(job.source, target, upscaler, options)
    for line in report.notes + report.problems:
        print(f"warning: {job.source}: {line}", file=sys.stderr)
    print(
        f"{job.source} -> {target}: {report.frames} frames {report.width}x{report.height}, "
        f"{report.fps:.2f} frames/s, {report.copied_streams} streams copied",
        file=sys.stderr,
    )


HANDLERS = {"image": upscale_image, "video": upscale_video_file}


def run(args) -> int:
    from PIL import Image

    from apisr.infer.api import load_model
    from apisr.infer.engine import Upscaler

    jobs, errors = collect_jobs(args.inputs, args.recursive, args.sample)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if not jobs:
        print("error: nothing to upscale: give picture files or folders, or --sample", file=sys.stderr)
        return 2
    # One input and an output named like a file of the same kind: the output is that file.
    output = Path(args.output)
    args.single_file_output = len(jobs) == 1 and not output.is_dir() and classify(output) == jobs[0].kind
    try:
        args.name_pattern.format(stem="x", suffix="png", ext="png", scale="4", model="m")
    except (KeyError, IndexError, ValueError) as err:
        print(f"error: --name-pattern {args.name_pattern!r}: unknown or bad field {err}", file=sys.stderr)
        return 2

    try:
        descriptor = load_model(args.model, args.device)
        upscaler = Upscaler(descriptor, args.device, args.precision, args.tile, args.tile_overlap)
    except (OSError, ValueError, RuntimeError) as err:
        print(f"error: cannot load the model: {err}", file=sys.stderr)
        return 2
    tiles = "auto" if upscaler.tile_size is None else upscaler.tile_size or "off"
    print(
        f"model {descriptor.name} {upscaler.scale}x ({descriptor.source or 'in memory'}) on {upscaler.device}, "
        f"{upscaler.precision}, tiles {tiles} (overlap {upscaler.tile_overlap})",
        file=sys.stderr,
    )

    # Our --max-pixels check runs right after the header is read; Pillow's fixed limit would
    # refuse a larger --max-pixels (and warn below it), so it is lifted for this run only.
    pillow_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    start = time.perf_counter()
    try:
        summary = process(jobs, upscaler, args)
    finally:
        Image.MAX_IMAGE_PIXELS = pillow_limit
    elapsed = time.perf_counter() - start
    failed = summary.failed + len(errors)
    rate = f", {summary.done / elapsed:.2f} img/s" if summary.done and elapsed > 0 else ""
    print(
        f"done in {elapsed:.1f} s{rate}: {summary.done} upscaled, {failed} failed, {summary.skipped} skipped "
        f"-> {args.output}",
        file=sys.stderr,
    )
    return 0 if failed == 0 else 1


def process(jobs: list[Job], upscaler, args) -> Summary:
    """Every job through its handler, under one progress bar; a failure is one line and the loop goes on."""
    from tqdm import tqdm

    scale = f"{args.outscale:g}" if args.outscale else str(upscaler.scale)
    summary, written = Summary(), {}
    with tqdm(jobs, unit="img", desc="upscale", file=sys.stderr, dynamic_ncols=True) as bar:
        for job in bar:
            target = output_path(job, args, scale, upscaler.descriptor.name)
            problem = _output_problem(job, target, written)
            if problem:
                bar.write(f"error: {job.source}: {problem}", file=sys.stderr)
                summary.failed += 1
                continue
            written[target.resolve()] = job.source
            if args.skip_existing and target.exists():
                summary.skipped += 1
                continue
            try:
                HANDLERS[job.kind](job, target, upscaler, args)
                summary.done += 1
            except Exception as err:  # noqa: BLE001 - one bad input must not stop the batch
                bar.write(f"error: {job.source}: {_describe(err)}", file=sys.stderr)
                summary.failed += 1
    return summary


def _output_problem(job: Job, target: Path, written: dict[Path, Path]) -> str | None:
    resolved = target.resolve()
    if resolved == job.source.resolve():
        return f"refusing to overwrite the input with its own output {target} (choose another -o or --name-pattern)"
    if resolved in written:
        return (
            f"output {target} is already the output of {written[resolved]} "
            "(put {suffix} in --name-pattern, e.g. {stem}_{suffix}_x{scale}.{ext})"
        )
    return None


def _describe(err: Exception) -> str:
    from apisr.infer.imageio import ImageReadError

    if isinstance(err, (ImageReadError, OSError, ValueError)):
        return str(err) or type(err).__name__
    return f"{type(err).__name__}: {err}"


def _tile(text: str) -> int | str:
    if text == "auto":
        return text
    value = non_negative_int(text)
    if 0 < value < 16:
        raise argparse.ArgumentTypeError("a tile must be 0 (off), auto or at least 16 pixels")
    return value


def _timestamp(text: str) -> float:
    """Seconds from ``12.5``, ``01:30`` or ``1:02:03.5``."""
    try:
        seconds = 0.0
        for part in text.split(":"):
            seconds = seconds * 60 + float(part)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds or [HH:]MM:SS[.ms], got {text!r}") from None
    if seconds < 0 or text.count(":") > 2:
        raise argparse.ArgumentTypeError(f"expected a time >= 0 as seconds or [HH:]MM:SS[.ms], got {text!r}")
    return seconds
