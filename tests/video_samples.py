"""Short synthetic videos for the video and web tests, written with PyAV.

Each clip has a known frame count and timestamps, a sine audio track and, where the
container holds one, a subtitle stream, so tests can compare output against input exactly.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Callable

import av
import numpy as np

MS = Fraction(1, 1000)
FONT = b"not really a font, but bytes to carry over unchanged" * 4


def colour_bars(height: int, width: int, index: int = 0) -> np.ndarray:
    """Eight flat colour bars plus a grey ramp row band that shifts with ``index`` (frames differ)."""
    bars = np.array(
        [[192, 192, 192], [192, 192, 0], [0, 192, 192], [0, 192, 0], [192, 0, 192], [192, 0, 0], [0, 0, 192], [128, 128, 128]],
        dtype=np.uint8,
    )
    image = bars[(np.arange(width) * len(bars)) // width][None].repeat(height, axis=0)
    band = slice(height * 3 // 4, height)
    image[band] = ((np.arange(width) * 4 + index * 8) % 256).astype(np.uint8)[None, :, None]
    return image


def write_clip(
    path: Path,
    pts_ms: list[int],
    *,
    size: tuple[int, int] = (48, 64),
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    audio: str | None = "aac",
    subtitles: bool = True,
    colorspace: int = 1,
    color_range: int = 1,
    picture: Callable[[int, int, int], np.ndarray] = colour_bars,
    crf: int = 12,
) -> Path:
    """A clip whose frames sit at ``pts_ms`` (milliseconds; uneven steps make it VFR); frame ``i``
    shows ``picture(height, width, i)``, uint8 RGB."""
    height, width = size
    out = av.open(str(path), "w")
    video = out.add_stream(codec, rate=25)
    video.width, video.height, video.pix_fmt = width, height, pix_fmt
    video.codec_context.time_base = MS
    video.codec_context.colorspace = colorspace
    video.codec_context.color_range = color_range
    if codec == "libx264":
        video.codec_context.options = {"crf": str(crf)}
    sound = out.add_stream(audio, rate=44100) if audio else None
    if sound is not None:
        sound.metadata["language"] = "jpn"
    subtitle = None
    if subtitles:
        subtitle_codec = {"matroska": "subrip", "mp4": "mov_text"}.get(out.format.name)
        if subtitle_codec:
            subtitle = out.add_mux_stream(subtitle_codec)
            subtitle.time_base = MS
    if subtitles and out.format.name == "matroska":  # a font for the subtitles, as fansubs ship them
        out.add_attachment("font.ttf", "application/x-truetype-font", FONT)
    for index, pts in enumerate(pts_ms):
        frame = av.VideoFrame.from_ndarray(picture(height, width, index), format="rgb24")
        frame = frame.reformat(format=pix_fmt, dst_colorspace=colorspace, dst_color_range=color_range)
        frame.pts, frame.time_base = pts, MS
        out.mux(video.encode(frame))
    out.mux(video.encode(None))
    if sound is not None:
        seconds = (pts_ms[-1] + 40) / 1000
        t = np.arange(int(44100 * seconds)) / 44100
        samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 44100, 0
        out.mux(sound.encode(frame))
        out.mux(sound.encode(None))
    if subtitle is not None:
        # mov_text samples start with the text's length as a 16-bit big-endian number.
        packet = av.Packet(b"Hello" if out.format.name == "matroska" else b"\x00\x05Hello")
        packet.stream, packet.pts, packet.dts, packet.duration, packet.time_base = subtitle, 0, 0, 300, MS
        out.mux(packet)
    out.close()
    return path


def anime_picture(height: int, width: int, index: int = 0) -> np.ndarray:
    """A synthetic anime-like frame (flat colours, soft shading, line art), uint8 RGB; one per ``index``."""
    from apisr.synthetic import seeded_frame

    return np.round(seeded_frame(index, height, width) * 255).astype(np.uint8)


def packets(path: Path, kind: str) -> list[tuple[int | None, bytes]]:
    """(pts in seconds * 1000, payload) of every non-empty packet of the first stream of ``kind``."""
    with av.open(str(path)) as container:
        stream = getattr(container.streams, kind)[0]
        return [
            (None if p.pts is None else round(float(p.pts * p.time_base) * 1000), bytes(p))
            for p in container.demux(stream)
            if p.size
        ]


def attachments(path: Path) -> list[tuple[str, bytes]]:
    with av.open(str(path)) as container:
        return [(stream.name, bytes(stream.data)) for stream in container.streams if stream.type == "attachment"]


def audio_language(path: Path) -> str | None:
    with av.open(str(path)) as container:
        return container.streams.audio[0].metadata.get("language")


def frame_times_ms(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        return [round(frame.time * 1000) for frame in container.decode(video=0)]


def decoded_frames(path: Path) -> list[np.ndarray]:
    """Every frame as uint8 RGB, converted on swscale's accurate path (as the upscaler reads them)."""
    from apisr.yuv import rgb_array

    with av.open(str(path)) as container:
        return [rgb_array(frame, dst_color_range=2) for frame in container.decode(video=0)]


def nearest_model(scale: int = 2):
    """A compact model whose last conv is zero: its output is exactly the nearest-upsampled input."""
    import torch

    from apisr.models.registry import build_model

    model = build_model("compact", num_feat=8, num_conv=2, scale=scale)
    with torch.no_grad():
        model.body[-1].weight.zero_()
        model.body[-1].bias.zero_()
    return model


def save_model(path: Path, scale: int = 2) -> Path:
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in nearest_model(scale).state_dict().items()}, str(path))
    return path


def tiny_upscaler(scale: int = 2):
    from apisr.infer.engine import Upscaler
    from apisr.models.registry import descriptor_from_state_dict

    descriptor = descriptor_from_state_dict(nearest_model(scale).state_dict())
    return Upscaler(descriptor, device="cpu", precision="fp32", tile_size=0)
