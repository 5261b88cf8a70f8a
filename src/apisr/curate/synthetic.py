"""Small generated anime-like videos with a known key-frame layout, for tests and benchmarks.

Each scene is a still :func:`apisr.synthetic.seeded_frame` drawn from its own seed, so
scenes differ in content and a repeated scene id repeats the same picture. The encoder puts
an I-frame exactly every ``gop`` frames and nowhere else (no scene-cut detection, no
B-frames), so the I-frame timestamps are ``i * gop / fps``.
"""

from __future__ import annotations

from pathlib import Path

from apisr.images import to_uint8
from apisr.synthetic import seeded_frame


def write_video(path: str | Path, scenes: list[int], gop: int = 5, fps: int = 10, width: int = 128,
                height: int = 96, codec: str = "libx264") -> None:
    """One GOP per entry of ``scenes`` (a scene seed), so I-frame ``i`` shows ``seeded_frame(scenes[i], ...)``."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0", "crf": "18"}
        for scene in scenes:
            picture = to_uint8(seeded_frame(scene, height, width))
            for _ in range(gop):
                for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
