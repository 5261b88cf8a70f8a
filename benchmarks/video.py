"""Video upscaling throughput: frames/s for a 640x360 clip at 4x, and where the time goes.

    python benchmarks/video.py [--frames 12] [--device auto]

Runs on the CPU, and on the GPU too when there is one (naming it). The model is the
default bundled one when installed, else a randomly initialised compact 4x of the same
size as realesr-animevideov3 (64 features, 16 convs: the cost is the same, the picture
is not the point). The clip is the first frames of a shared anime clip scaled to 640x360
when ../shared is present, else synthetic moving colour bars. Each stage's busy time is
the time its thread spent working (decode includes YUV -> RGB; encode includes RGB -> YUV,
libx264 and muxing); the stages overlap, so their sum exceeds the wall time when they do.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import markdown_table, write_section  # noqa: E402

from apisr.infer.engine import Upscaler  # noqa: E402
from apisr.infer.video import VideoOptions, upscale_video  # noqa: E402

SIZE = (640, 360)
SHARED_CLIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "anime_video" / "charz_calm_sleeping.mp4"


def make_clip(path: Path, frames: int) -> str:
    out = av.open(str(path), "w")
    stream = out.add_stream("libx264", rate=24)
    stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
    stream.codec_context.options = {"crf": "16"}
    if SHARED_CLIP.is_file():
        source = f"first {frames} frames of {SHARED_CLIP.name}, scaled to 640x360"
        with av.open(str(SHARED_CLIP)) as clip:
            for index, frame in enumerate(clip.decode(video=0)):
                if index == frames:
                    break
                scaled = frame.reformat(*SIZE, "yuv420p", interpolation="AREA")
                scaled.pts, scaled.time_base = index, Fraction(1, 24)
                out.mux(stream.encode(scaled))
    else:
        source = "synthetic moving colour bars"
        x = np.arange(SIZE[0])
        for index in range(frames):
            row = np.stack([(x + 7 * index) % 256, (2 * x) % 256, (255 - x + 3 * index) % 256], axis=1)
            image = np.repeat(row[None].astype(np.uint8), SIZE[1], axis=0)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = index, Fraction(1, 24)
            out.mux(stream.encode(frame))
    out.mux(stream.encode(None))
    out.close()
    return source


def load_descriptor():
    from apisr.infer.api import load_model
    from apisr.models.registry import build_model, descriptor_from_state_dict

    try:
        descriptor = load_model()
        return descriptor, f"{descriptor.name} {descriptor.scale}x (default model)"
    except (OSError, ValueError):
        model = build_model("compact", num_feat=64, num_conv=16, scale=4)
        return descriptor_from_state_dict(model.state_dict()), "compact 64x16 4x, random weights (default model not installed)"


def measure(clip: Path, device: str, frames: int) -> list[object]:
    descriptor, model_name = load_descriptor()
    upscaler = Upscaler(descriptor, device=device)
    with tempfile.TemporaryDirectory() as folder:
        report = upscale_video(clip, Path(folder) / "out.mkv", upscaler, VideoOptions(preset="veryfast"), progress=False)
    assert report.frames == frames, (report.frames, frames)
    busy = report.busy
    total = sum(busy.values())
    name = torch.cuda.get_device_name() if upscaler.device.type == "cuda" else "CPU"
    shares = [f"{100 * busy[stage] / total:.0f}%" for stage in ("decode", "inference", "encode")]
    print(f"{name}: {report.fps:.2f} frames/s; busy {busy}", file=sys.stderr)
    return [name, model_name, upscaler.precision, frames, f"{report.seconds:.1f}", f"{report.fps:.2f}", *shares]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=12, help="frames in the clip (default: 12)")
    args = parser.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "clip.mkv"
        source = make_clip(clip, args.frames)
        rows = [measure(clip, device, args.frames) for device in devices]
    header = ["device", "model", "precision", "frames", "wall s", "frames/s", "decode", "inference", "encode"]
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    body = (
        f"640x360 -> 2560x1440 (4x), libx264 crf 18 preset veryfast, batches of 4; clip: {source}.\n"
        f"Load average when done (1, 5, 15 min): {load} (other work on the machine slows every stage).\n"
        "decode / inference / encode: each stage's share of the busy time of the three threads.\n\n"
        + markdown_table(header, rows)
    )
    write_section("video", body)


if __name__ == "__main__":
    main()
