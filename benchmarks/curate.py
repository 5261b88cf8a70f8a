"""Curation and line-enhancement speed on a generated 720p video.

Prints and records in RESULTS.md: I-frames extracted per second (key-frame-only
decoding, against decoding every frame), frames scored per second by each
complexity scorer (ICNet with random weights: the speed does not depend on them),
and the line-enhancement (pseudo-GT) time per 720p frame.

    python benchmarks/curate.py [--gops 40] [--gop 24] [--icnet-frames 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from apisr.curate.complexity import FallbackScorer
from apisr.curate.icnet import ICNet, preprocess
from apisr.curate.keyframes import iter_keyframes
from apisr.curate.synthetic import write_video
from apisr.synthetic import seeded_frame
from apisr.enhance.pseudo_gt import enhance_lines
from results import markdown_table, write_section


def decode_all(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(1 for frame in container.decode(container.streams.video[0]) if frame.to_ndarray(format="rgb24") is not None)


def timed(fn, repeat: int = 1) -> tuple[float, float]:
    """Best of ``repeat`` (wall-clock seconds, CPU seconds of this process).

    On a shared machine wall time includes waiting for a core; CPU time does not,
    and for single-threaded steps it is close to the wall time of an idle machine.
    """
    wall = cpu = float("inf")
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def load_average() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gops", type=int, default=40, help="I-frames in the generated video")
    parser.add_argument("--gop", type=int, default=24, help="frames per GOP (24 fps: one I-frame per second)")
    parser.add_argument("--icnet-frames", type=int, default=4, help="frames scored by ICNet (slow on CPU)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "bench720.mp4"
        write_video(video, list(range(args.gops)), gop=args.gop, fps=24, width=1280, height=720)
        frames_total = args.gops * args.gop
        keyframes: list[np.ndarray] = []
        t_key = timed(lambda: keyframes.extend(f.image for f in iter_keyframes(video)))
        t_all = timed(lambda: decode_all(video))

    fallback = FallbackScorer()
    t_fallback = timed(lambda: fallback.score(keyframes), repeat=2)
    model = ICNet().eval()
    icnet_batch = keyframes[: args.icnet_frames]
    with torch.inference_mode():
        model.score(preprocess(icnet_batch[:1]))  # warm-up
        t_icnet = timed(lambda: [model.score(preprocess([f])) for f in icnet_batch])

    frame = seeded_frame(0, 720, 1280, shapes=40)
    enhance_lines(frame, 0.975)  # warm-up
    t_enhance = timed(lambda: enhance_lines(frame, 0.975), repeat=3)

    def rate(count: int, seconds: tuple[float, float], unit: str) -> list[str]:
        return [f"{count / seconds[0]:.2f} {unit}", f"{count / seconds[1]:.2f} {unit}"]

    rows = [
        ["I-frame extraction (skip non-key, 1280x720 H.264, to float RGB)", *rate(len(keyframes), t_key, "I-frames/s"),
         f"{len(keyframes)} I-frames of {frames_total} frames"],
        ["decoding every frame, for comparison", *rate(frames_total, t_all, "frames/s"),
         "generated scenes are static, so P-frames decode unusually fast here"],
        ["complexity score, fallback-v1", *rate(len(keyframes), t_fallback, "frames/s"), "720p frames"],
        ["complexity score, ICNet, batch 1", *rate(len(icnet_batch), t_icnet, "frames/s"),
         f"{t_icnet[0] / len(icnet_batch):.2f} s per frame (wall)"],
        ["line enhancement (pseudo-GT), 1280x720", f"{t_enhance[0]:.3f} s/frame", f"{t_enhance[1]:.3f} s/frame", "best of 3"],
    ]
    note = (f"Load average at the end: {load_average()}. The machine is shared: CPU time is the time this process "
            "spent on a core. For the single-threaded steps it is close to the wall time of an idle machine; ICNet "
            f"runs on {torch.get_num_threads()} threads, so its idle wall time is about its CPU time divided by that.")
    write_section("curate", markdown_table(["step", "speed (wall)", "speed (CPU time)", "notes"], rows) + "\n\n" + note)


if __name__ == "__main__":
    main()
