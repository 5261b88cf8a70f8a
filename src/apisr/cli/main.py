"""The ``apisr`` command: one subcommand per step of the pipeline.

Each subcommand lives in its own module ``apisr.cli.<name>`` that defines
``add_parser(subparsers)``; the module imports heavy libraries (torch, av) only
inside its ``run`` function so that ``apisr --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# In pipeline order, as `apisr --help` lists them.
COMMANDS = [
    "curate",
    "prepare",
    "dataset_stats",
    "degrade",
    "train",
    "export",
    "eval",
    "upscale",
    "serve",
]


def build_parser(commands: list[str] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="apisr",
        description="Real-world anime super-resolution: curate -> degrade -> train -> evaluate -> upscale.",
    )
    from apisr import __version__

    parser.add_argument("--version", action="version", version=f"apisr {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in commands:
        importlib.import_module(f"apisr.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Naming a subcommand imports only its module: a broken optional extra elsewhere
    # cannot stop `apisr upscale`, and start-up stays quick.
    chosen = [name for name in COMMANDS if argv and argv[0].replace("-", "_") == name]
    parser = build_parser(chosen or COMMANDS)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
