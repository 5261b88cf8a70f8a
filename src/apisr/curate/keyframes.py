"""Decoding only the key frames of a video with PyAV, never every frame.

The decoder is told to skip everything that is not a key frame
(``skip_frame = "NONKEY"``), so P/B frames are never decoded, let alone written.
Each decoded frame's picture type is still checked: only intra-coded (``I``)
pictures are returned.

Counting the key frames beforehand (:func:`probe`) only reads packet headers,
which is what lets the curation partition a video before decoding any of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from apisr.yuv import rgb_array

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".ts", ".m2ts", ".flv", ".wmv")


@dataclass(frozen=True)
class VideoInfo:
    duration: float  # seconds
    width: int
    height: int
    key_packets: int  # an upper bound on the I-frames the decoder will return


@dataclass(frozen=True)
class KeyFrame:
    index: int  # 0-based among the video's I-frames
    time: float  # presentation time in seconds
    pict_type: str  # always "I"
    image: np.ndarray  # RGB float32 (H, W, 3) in [0, 1]


def probe(path: str | Path) -> VideoInfo:
    """Duration, frame size and number of key packets, reading packets without decoding them."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        key_packets = 0
        last_time = 0.0
        for packet in container.demux(stream):
            if packet.pts is not None and packet.time_base is not None:
                last_time = max(last_time, float(packet.pts * packet.time_base))
            key_packets += bool(packet.is_keyframe)
        if container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = last_time
        return VideoInfo(duration, stream.codec_context.width, stream.codec_context.height, key_packets)


def iter_keyframes(path: str | Path) -> Iterator[KeyFrame]:
    """The video's I-frames in presentation order, decoded one at a time."""
    import av
    from av.video.frame import PictureType

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        index = 0
        for frame in container.decode(stream):
            # A key packet can hold a recovery-point picture that is not intra-coded.
            if frame.pict_type != PictureType.I:
                continue
            rgb = rgb_array(frame).astype(np.float32)
            rgb *= 1.0 / 255.0  # in place: a 1080p frame is 25 MB as float32
            time = float(frame.time) if frame.time is not None else 0.0
            yield KeyFrame(index, time, "I", rgb)
            index += 1


def find_videos(inputs: list[str | Path]) -> list[Path]:
    """Video files named directly, plus those found (recursively, sorted) in named folders."""
    videos: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            videos += sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
        else:
            videos.append(item)
    return videos
