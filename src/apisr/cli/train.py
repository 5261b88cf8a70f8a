"""``apisr train CONFIG.yaml``: train a generator (stage 1 L1 or stage 2 GAN) from a typed config."""

from __future__ import annotations

import argparse

from apisr.cli.args import positive_int
from apisr.train.config import shipped_configs


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a super-resolution generator from a YAML config",
        description=(
            "Train a generator on a dataset made by `apisr prepare`; LR inputs are degraded on the fly. "
            f"CONFIG is a YAML file or the name of a shipped config ({', '.join(shipped_configs())}). "
            "Multi-GPU / multi-node: launch with torchrun (e.g. `torchrun --nproc_per_node 4 -m apisr train CONFIG`)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("config", help="training config YAML, or the name of a shipped one")
    parser.add_argument("--dataset", help="dataset folder (overrides data.dataset)")
    parser.add_argument("--name", help="run name, the run folder's name (overrides name)")
    parser.add_argument("--runs-dir", help="folder holding run folders (overrides runs_dir; default ~/.cache/apisr/runs)")
    parser.add_argument("--iterations", type=positive_int, help="total iterations to reach (overrides iterations)")
    parser.add_argument("--pretrained", help="generator weights to start from (overrides model.pretrained)")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 or auto (overrides device)")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], help="autocast precision (overrides precision)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override any config key, value in YAML syntax; repeatable (e.g. --set data.batch_size=8)",
    )
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's last.pt if there is one")
    parser.add_argument("--weights-dir", help="folder with perceptual-network weight files (looked in before the cache)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    parser.set_defaults(func=run)


def overrides(args: argparse.Namespace) -> list[str]:
    """The shortcut options as KEY=VALUE overrides, followed by the explicit --set ones."""
    named = {"dataset": "data.dataset", "name": "name", "runs_dir": "runs_dir", "iterations": "iterations",
             "pretrained": "model.pretrained", "device": "device", "precision": "precision"}
    items = [f"{key}={getattr(args, attr)}" for attr, key in named.items() if getattr(args, attr) is not None]
    return items + list(args.set)


def run(args: argparse.Namespace) -> int:
    import logging
    import sys

    import yaml

    from apisr.config import ConfigError
    from apisr.hub import WeightsNotFound
    from apisr.models.checkpoint import CheckpointError
    from apisr.models.registry import UnknownModelError
    from apisr.config import to_dict
    from apisr.train.config import load_train_config

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        config = load_train_config(args.config, overrides(args))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.print_config:
        print(yaml.safe_dump(to_dict(config), sort_keys=False), end="")
        return 0
    from apisr.train.trainer import train

    try:
        trainer = train(config, weights_dir=args.weights_dir, resume=args.resume, progress=not args.no_progress)
    except (WeightsNotFound, FileNotFoundError, ConfigError, CheckpointError, UnknownModelError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if trainer.dist.main:
        print(f"finished at iteration {trainer.iteration}; checkpoints in {trainer.run_dir}")
    return 0
