"""Take a few real low-quality frames out of video clips, to compare upscalers on with ``apisr eval --sheet``.

Synthetic benchmarks score what our degradations imitate; these frames are the real thing:
broadcast anime re-encoded at a low bitrate, with its blocking, ringing and smeared lines.
By default it reads the four low-bitrate Pokemon clips of the project's shared data
(``../shared/data/anime_video/charz_*.mp4``, 720x406 H.264 at 0.1-0.23 Mbit/s) and writes
two frames of each, at 40% and 70% of the clip, into ``~/.cache/apisr/real_lq/``:

    python scripts/extract_real_lq.py [VIDEO ...] [-o DIR] [--at 0.4,0.7]

A frame is saved exactly as decoded (no resize, no filtering), except that black bars
(pillarbox or letterbox: two of the clips show 4:3 pictures in a 16:9 frame) are cut off, so
no upscaler spends time on them and the automatic crop of ``apisr eval`` never lands on
their edge. Names say where a frame came from: ``<clip>_f<frame index>_<picture type>.png``
(I, P or B: at these bitrates P and B pictures carry the strongest artefacts).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import av
import numpy as np
from av.video.frame import PictureType

from apisr.images import save_rgb
from apisr.yuv import rgb_array

SHARED_CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "anime_video"
OUTPUT = Path.home() / ".cache" / "apisr" / "real_lq"
BLACK = 24  # 8-bit level under which a whole row or column counts as a black bar


def trim_black_bars(frame: np.ndarray) -> np.ndarray:
    """The frame without the rows and columns at its edges that are black all along."""
    lit = frame.max(axis=2) > BLACK
    rows, cols = np.flatnonzero(lit.any(axis=1)), np.flatnonzero(lit.any(axis=0))
    if not rows.size:
        return frame  # an all-black frame: nothing to trim to
    return frame[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def extract(video: Path, fractions: list[float], out_dir: Path) -> list[Path]:
    """Decode ``video`` up to its last wanted frame and save the frames at ``fractions`` of its length."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        if not stream.frames:
            raise ValueError("the container does not say how many frames it has")
        wanted = sorted({min(stream.frames - 1, round(f * (stream.frames - 1))) for f in fractions})
        written = []
        for index, frame in enumerate(container.decode(stream)):
            if index in wanted:
                path = out_dir / f"{video.stem}_f{index:04d}_{PictureType(frame.pict_type).name}.png"
                save_rgb(path, trim_black_bars(rgb_array(frame)))
                written.append(path)
            if index >= wanted[-1]:
                break
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("videos", nargs="*", type=Path, metavar="VIDEO",
                        help=f"clips to take frames from; none: {SHARED_CLIPS}/charz_*.mp4")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT, help="folder for the PNG frames (created)")
    parser.add_argument("--at", default="0.4,0.7",
                        help="where to take frames, as comma-separated fractions of each clip's length")
    args = parser.parse_args(argv)
    try:
        fractions = [float(part) for part in args.at.split(",")]
    except ValueError:
        parser.error(f"--at: expected fractions like 0.4,0.7, got {args.at!r}")
    if not all(0.0 <= f <= 1.0 for f in fractions):
        parser.error("--at: fractions must lie between 0 and 1")
    videos = args.videos or sorted(SHARED_CLIPS.glob("charz_*.mp4"))
    if not videos:
        parser.error(f"no clips given and none found in {SHARED_CLIPS}")

    failed = 0
    for video in videos:
        try:
            for path in extract(video, fractions, args.output):
                print(path)
        except (OSError, ValueError, av.FFmpegError) as err:
            print(f"{video}: cannot take frames ({err})", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
