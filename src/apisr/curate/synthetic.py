"""Small generated anime-like videos with a known key-frame layout, for tests and benchmarks.

Each scene is a still drawing (flat background, filled shapes, dark outlines)
drawn from its own seed, so scenes differ in content and a repeated scene id
repeats the same picture. The encoder puts an I-frame exactly every ``gop``
frames and nowhere else (no scene-cut detection, no B-frames), so the I-frame
timestamps are ``i * gop / fps``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def drawing(seed: int, width: int, height: int, shapes: int = 12) -> np.ndarray:
    """An RGB uint8 cel-like picture: flat colours with black outlines."""
    rng = np.random.default_rng(seed)
    image = np.empty((height, width, 3), np.uint8)
    image[:] = rng.integers(40, 230, 3)
    thickness = max(1, min(width, height) // 120)
    for _ in range(shapes):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        radius = int(rng.integers(min(width, height) // 16, min(width, height) // 4))
        if rng.random() < 0.5:
            cv2.circle(image, centre, radius, colour, -1, cv2.LINE_AA)
            cv2.circle(image, centre, radius, (0, 0, 0), thickness, cv2.LINE_AA)
        else:
            corner = (centre[0] + radius, centre[1] + radius // 2)
            cv2.rectangle(image, centre, corner, colour, -1)
            cv2.rectangle(image, centre, corner, (0, 0, 0), thickness)
    return image


def write_video(path: str | Path, scenes: list[int], gop: int = 5, fps: int = 10, width: int = 128,
                height: int = 96, codec: str = "libx264") -> None:
    """One GOP per entry of ``scenes`` (a scene seed), so I-frame ``i`` shows ``drawing(scenes[i])``."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0", "crf": "18"}
        for scene in scenes:
            picture = drawing(scene, width, height)
            for _ in range(gop):
                for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
