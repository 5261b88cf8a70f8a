"""Decoded video frames (YUV) to RGB arrays, without swscale's rounding bias.

PyAV converts with FFmpeg's swscale. Its default YUV -> RGB path for an unscaled 4:2:0 frame
truncates where it should round and darkens every channel: measured on anime frames, by 1.0 to
1.5 of an 8-bit level for 8- and 10-bit yuv420p. A frame that went through a video codec in the
degradation engine came back that much darker (so a model learned to brighten), and so did every
frame that `apisr curate` takes from a video. Accurate rounding with full chroma interpolation
takes swscale's exact path: within 0.05 of a level of a float reference on anime frames.

Interpolated chroma softens colour edges, as a player's chroma upsampling does; only on synthetic
colour bars whose edges fall exactly between chroma pairs is the default path, which repeats
chroma, closer. On anime-like pictures the accurate path is closer on average as well as
unbiased, so every reader of video frames uses it, the video upscaler (``apisr.infer.video``)
included.

The flags are FFmpeg's SWS_* values, which older PyAV versions accept as a plain int. The filter
bit is bicubic: bilinear and area, combined with these flags, corrupt 4:2:0 -> rgb48 output in the
FFmpeg that PyAV 18 ships. Scaled conversions take the generic path, which was never biased, with
an area filter for shrinking.
"""

from __future__ import annotations

import numpy as np

SWS_BICUBIC, SWS_AREA = 0x4, 0x20
SWS_FULL_CHR_H_INT, SWS_ACCURATE_RND = 0x2000, 0x40000
EXACT = SWS_BICUBIC | SWS_FULL_CHR_H_INT | SWS_ACCURATE_RND


def rgb_array(frame, format: str = "rgb24", width: int | None = None, height: int | None = None,
              **colour) -> np.ndarray:
    """``frame`` (an ``av.VideoFrame``) as an RGB array of ``format`` (``rgb24`` or ``rgb48le``),
    resized to ``width`` x ``height`` when given (area filter); ``colour`` takes reformat's colour
    arguments (``dst_color_range``, ``src_colorspace``, ...)."""
    width, height = width or frame.width, height or frame.height
    scaled = (width, height) != (frame.width, frame.height)
    flags = SWS_AREA if scaled else EXACT
    return frame.reformat(width, height, format, interpolation=flags, **colour).to_ndarray()
