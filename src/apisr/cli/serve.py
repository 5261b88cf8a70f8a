"""``apisr serve``: the local web UI (FastAPI + one self-contained page, see :mod:`apisr.web.app`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from apisr.cli.args import positive_float, positive_int, whole_number


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "serve",
        help="web UI: upload pictures or a video, compare before/after, download",
        description=(
            "Start a local web server with a page to upscale pictures and videos: choose the model, outscale, "
            "precision and tile size, follow the progress, compare the result with the input (slider, pixel "
            "zoom) and download it. Uploads live in a temporary folder that is deleted when the page is "
            "closed, after --session-ttl seconds idle, and when the server stops. Open the printed address "
            "in a browser; stop with Ctrl-C."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; 127.0.0.1 only accepts this machine, 0.0.0.0 every network "
                        "(there is no login: anyone who can reach the port can use the server)")
    p.add_argument("--port", type=whole_number(0, 65535), default=7860, help="TCP port")
    p.add_argument("--models-dir", type=Path, default=None, metavar="FOLDER",
                   help="folder of checkpoints (.safetensors, .pth, .pt, .ckpt, .bin) offered next to the "
                        "bundled models")
    p.add_argument("--device", default="auto", help="auto (CUDA if available, else CPU), cpu, cuda, cuda:N")
    p.add_argument("--max-upload-mb", type=positive_float, default=512, metavar="MIB",
                   help="largest upload accepted, all files of one request together, in MiB")
    p.add_argument("--max-pixels", type=positive_int, default=50_000_000, metavar="N",
                   help="refuse pictures with more pixels than this")
    p.add_argument("--session-ttl", type=positive_float, default=3600, metavar="SECONDS",
                   help="delete a session's files after this long without a request from its page")
    p.set_defaults(func=run)


def run(args) -> int:
    import uvicorn

    from apisr.web.app import ServerSettings, create_app

    if args.models_dir is not None and not args.models_dir.is_dir():
        print(f"error: --models-dir {args.models_dir}: no such folder", file=sys.stderr)
        return 2
    settings = ServerSettings(
        models_dir=args.models_dir,
        device=args.device,
        max_upload_bytes=int(args.max_upload_mb * 2**20),
        max_pixels=args.max_pixels,
        session_ttl=args.session_ttl,
    )
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}: anyone who can reach port {args.port} can use this server",
              file=sys.stderr)
    print(f"apisr web UI on http://{args.host}:{args.port}/ (Ctrl-C stops it)", file=sys.stderr)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return 0
