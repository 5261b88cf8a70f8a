"""Decoded YUV frames come back as RGB without a brightness bias (swscale's default path darkens)."""

import av
import numpy as np
import pytest

from apisr.degrade import codecs
from apisr.images import to_float, to_uint8
from apisr.synthetic import seeded_frame
from apisr.yuv import rgb_array


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    return to_uint8(seeded_frame(3, 180, 322))


def _yuv(picture: np.ndarray, pix_fmt: str) -> av.VideoFrame:
    # RGB -> YUV is unbiased in swscale; only the way back needs care.
    return av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format=pix_fmt)


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv420p10le", "yuv422p", "yuv444p"])
def test_rgb24_has_no_brightness_bias(picture, pix_fmt):
    decoded = rgb_array(_yuv(picture, pix_fmt)).astype(np.float64)
    bias = (decoded - picture).mean(axis=(0, 1))
    assert np.abs(bias).max() < 0.3, bias  # swscale's default path: about -1 to -1.5 per channel


def test_rgb48_keeps_the_picture(picture):
    decoded = rgb_array(_yuv(picture, "yuv420p10le"), "rgb48le").astype(np.float64) / 65535
    assert decoded.shape == picture.shape
    assert np.abs(decoded - to_float(picture)).mean() < 0.01


def test_shrinking_averages_like_an_area_resize(picture):
    small = rgb_array(_yuv(picture, "yuv444p"), width=161, height=90)
    assert small.shape == (90, 161, 3)
    assert abs(small.mean() - picture.mean()) < 0.5


def test_video_codec_round_trip_keeps_the_brightness(picture):
    # The degradation engine's one-frame video: a model trained on darkened frames learns to brighten.
    decoded = codecs.video_frame(to_float(picture), "h264", crf=10, preset="medium")
    bias = (decoded - to_float(picture)).mean(axis=(0, 1)) * 255
    assert np.abs(bias).max() < 0.3, bias
