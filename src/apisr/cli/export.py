"""``apisr export CHECKPOINT -o model.safetensors``: a training checkpoint's EMA generator as a release file."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a training checkpoint's generator as a .safetensors release file",
        description=(
            "Write the EMA generator of a training checkpoint (last.pt, best.pt or a numbered one) as "
            "safetensors with metadata (architecture, scale, training config, data summary, model card), "
            "which `apisr upscale -m FILE` loads directly."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("checkpoint", help="training checkpoint (.pt) written by apisr train")
    parser.add_argument("-o", "--output", required=True, help="output .safetensors file (written atomically)")
    parser.add_argument("--half", action="store_true", help="store weights as fp16 (half the size; loaded back as fp32)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import pickle
    import sys

    from apisr.train.export import export_checkpoint

    try:
        path = export_checkpoint(args.checkpoint, args.output, half=args.half)
    except (OSError, KeyError, RuntimeError, pickle.UnpicklingError) as err:
        print(f"error: {args.checkpoint}: not an apisr training checkpoint ({err})", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0
