"""``apisr eval``: compare upscalers on pictures and write a report (CSV, Markdown, plot, HTML)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from apisr.cli.args import positive_int


def _crop(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected x,y,width,height in output pixels, got {text!r}") from None
    if x < 0 or y < 0 or w < 1 or h < 1:
        raise argparse.ArgumentTypeError(f"crop {text!r}: x and y must be >= 0, width and height >= 1")
    return x, y, w, h


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="compare models and baselines on pictures; write metrics.csv, report.md, metrics.png, index.html",
        description=(
            "Upscale every input with every method (each output cached in REPORT_DIR/cache), score it and "
            "write REPORT_DIR/metrics.csv (a row per image and method), report.md (means and per image), "
            "metrics.png and index.html (the same crop from every method side by side). Metrics: PSNR-Y, "
            "SSIM-Y and GMSD against a reference when there is one (--reference or --synthetic), NIQE always, "
            "MANIQA and CLIPIQA when pyiqa and its weights are installed (otherwise 'not computed')."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders of images (LR inputs; "
                        "with --synthetic, clean HR pictures)")
    parser.add_argument("-m", "--model", action="append", default=[], metavar="MODEL",
                        help="a method to compare, repeatable: a checkpoint file (.safetensors/.pth/waifu2x .json/"
                        "MXNet .params), a zoo name, or 'bicubic'/'lanczos'")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="REPORT_DIR",
                        help="folder for the report and the output cache (created)")
    parser.add_argument("-s", "--scale", type=int, default=4, choices=(2, 3, 4, 8),
                        help="evaluation scale; a model of another scale is applied repeatedly when the scale is a "
                        "power of its own (2x twice for 4x), else once and resized")
    parser.add_argument("--reference", type=Path, metavar="DIR",
                        help="folder of clean references, matched to inputs by file name (stem); enables PSNR/SSIM/GMSD")
    parser.add_argument("--synthetic", action="store_true",
                        help="benchmark mode: INPUTs are clean HR pictures; each is degraded with apisr's degradation "
                        "engine (fixed --seed) into the LR input, and outputs are scored against the HR")
    parser.add_argument("--seed", type=int, default=0, help="seed of the degradations in --synthetic mode")
    parser.add_argument("--degradation-config", type=Path, metavar="YAML",
                        help="degradation config for --synthetic: a YAML file or a packaged name (degradation_4x_light.yaml, "
                        "_mild, _soft); None: the packaged paper config for --scale")
    parser.add_argument("--no-baselines", action="store_true", help="do not add bicubic and lanczos automatically")
    parser.add_argument("--crop", type=_crop, metavar="X,Y,W,H",
                        help="crop shown in index.html and sheet.png, in output pixels; None: the most detailed "
                        "--crop-size square of each image")
    parser.add_argument("--crop-size", type=positive_int, default=96, help="side of the automatic crop, output pixels")
    parser.add_argument("--zoom", type=positive_int, default=3,
                        help="nearest-neighbour enlargement of crops in index.html and sheet.png")
    parser.add_argument("--sheet", action="store_true",
                        help="also write REPORT_DIR/sheet.png: one labelled PNG with a row per image and a column "
                        "per method (the LR input first), each cell the crop of index.html at --zoom")
    parser.add_argument("--device", default="auto", help="torch device for models: auto, cpu, cuda, cuda:1 ...")
    parser.add_argument("--tile", default="auto", help="tile size in input pixels for models (0: none, auto: from free memory)")
    parser.add_argument("--no-iqa", action="store_true", help="skip MANIQA/CLIPIQA even if pyiqa is installed")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from apisr.evaluate.iqa import load_learned_metrics
    from apisr.evaluate.methods import RESAMPLERS, build_method, display_names
    from apisr.evaluate.report import write_report
    from apisr.evaluate.runner import evaluate, find_images, make_synthetic, pair_references
    from apisr.infer.engine import resolve_device

    def complain(line: str) -> None:
        print(line, file=sys.stderr)

    paths, errors = find_images(args.inputs)
    for line in errors:
        complain(line)
    if not paths:
        complain("no input images found")
        return 2

    specs = ([] if args.no_baselines else list(RESAMPLERS)) + args.model
    if not specs:
        complain("nothing to compare: give -m MODEL (or drop --no-baselines)")
        return 2
    methods = []
    specs = list(dict.fromkeys(specs))
    for spec, name in zip(specs, display_names(specs)):
        try:
            method = build_method(spec, args.scale, device=args.device, tile_size=args.tile)
        except (OSError, ValueError) as err:
            # ValueError covers unknown architectures and unreadable checkpoints (CheckpointError).
            complain(f"{spec}: cannot load ({err})")
            errors.append(str(err))
            continue
        method.name = name
        methods.append(method)
    if not methods:
        return 1

    args.output.mkdir(parents=True, exist_ok=True)
    synthetic = ""
    if args.synthetic:
        from apisr.config import ConfigError
        from apisr.degrade.config import load_degradation_config

        try:
            config = load_degradation_config(args.degradation_config, scale=args.scale)
        except (ConfigError, OSError) as err:
            complain(f"degradation config: {err}")
            return 2
        samples, bad = make_synthetic(paths, args.output / "synthetic", args.scale, args.seed, config)
        synthetic = (
            f"Synthetic benchmark: clean HR pictures degraded to x{args.scale} LR by apisr's degradation engine "
            f"({args.degradation_config or 'packaged paper config'}, seed {args.seed}); outputs scored against the HR."
        )
    else:
        samples, bad = pair_references(paths, args.reference), []
        if args.reference is not None:
            for sample in samples:
                if sample.reference_path is None:
                    complain(f"{sample.input_path}: no reference of that name in {args.reference}; scored without one")
    for line in bad:
        complain(line)
    errors += bad

    learned = load_learned_metrics(device=str(resolve_device(args.device)), enabled=not args.no_iqa)
    evaluation = evaluate(
        samples,
        methods,
        args.output,
        args.scale,
        learned,
        crop=args.crop,
        crop_size=args.crop_size,
        zoom=args.zoom,
        progress=not args.no_progress,
        on_error=complain,
    )
    evaluation.synthetic = synthetic
    files = write_report(evaluation, args.output)
    print(f"report: {files['markdown']} and {files['html']}")
    if args.sheet:
        from apisr.evaluate.sheet import write_sheet

        write_sheet(evaluation, args.output / "sheet.png")
        print(f"sheet: {args.output / 'sheet.png'}")
    return 1 if errors or evaluation.errors else 0

