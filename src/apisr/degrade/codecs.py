"""Lossy compression in memory: JPEG, WebP and AVIF stills, and one-frame H.264/H.265/MPEG-2/MPEG-4 video.

Every function takes and returns an RGB float32 ``(H, W, 3)`` image in [0, 1]; the
codec sees it quantised to 8 bits, so the output holds exact multiples of 1/255.

The video codecs reproduce APISR's "prediction-oriented" compression: the frame is
coded as a one-frame video, so it becomes an intra (I) frame whose blocks are
predicted from their already-coded neighbours, which leaves the block, ringing and
smearing artefacts of real anime video. Encoding and decoding run through PyAV's
codec contexts, with no container, subprocess or temporary file. The frame is
converted to yuv420p (BT.601, limited range, as ffmpeg does for a PNG input), which
needs even sides: odd frames are padded by repeating the last row/column and cropped
back after decoding.
"""

from __future__ import annotations

import fractions
import io

import cv2
import numpy as np
from PIL import Image

from apisr.images import to_float, to_uint8
from apisr.yuv import rgb_array

# Our codec name -> (PyAV encoder, PyAV decoder).
VIDEO_CODERS = {
    "h264": ("libx264", "h264"),
    "h265": ("libx265", "hevc"),
    "mpeg2": ("mpeg2video", "mpeg2video"),
    "mpeg4": ("mpeg4", "mpeg4"),
}


def compress(image: np.ndarray, codec: str, **params) -> np.ndarray:
    """Compress and decompress ``image`` with ``codec`` and its drawn parameters (see the functions below)."""
    if codec == "jpeg":
        return jpeg(image, **params)
    if codec == "webp":
        return webp(image, **params)
    if codec == "avif":
        return avif(image, **params)
    if codec in VIDEO_CODERS:
        return video_frame(image, codec, **params)
    raise ValueError(f"unknown codec {codec!r} (known: jpeg, webp, avif, {', '.join(VIDEO_CODERS)})")


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Baseline JPEG (4:2:0) at ``quality`` 0..100 through OpenCV."""
    bgr = cv2.cvtColor(to_uint8(image), cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not encode JPEG")
    return _decode_with_opencv(data, "JPEG")


def _decode_with_opencv(data: bytes | memoryview | np.ndarray, fmt: str) -> np.ndarray:
    rgb = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB)
    if rgb is None:
        raise RuntimeError(f"OpenCV could not decode {fmt}")
    return to_float(rgb)


def webp(image: np.ndarray, quality: int, method: int) -> np.ndarray:
    """Lossy WebP at ``quality`` 0..100 with encoder effort ``method`` 0..6.

    Pillow encodes, because OpenCV cannot set ``method``. OpenCV decodes: it gives the
    same pixels (libwebp's decoder either way) in two thirds of the time, since Pillow
    decodes through libwebp's animation API into RGBA and converts that to RGB.
    """
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, "WEBP", quality=int(quality), method=int(method))
    return _decode_with_opencv(buffer.getbuffer(), "WebP")


def avif(image: np.ndarray, quality: int, speed: int) -> np.ndarray:
    """AVIF (AV1 intra) at ``quality`` 0..100 and encoder ``speed`` 0..10, through Pillow's libavif."""
    # One encoder thread: cheaper per image, and the bytes cannot depend on the machine's core count.
    return _pillow_round_trip(image, "AVIF", quality=int(quality), speed=int(speed), max_threads=1)


def _pillow_round_trip(image: np.ndarray, fmt: str, **options) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, fmt, **options)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return to_float(np.asarray(decoded.convert("RGB")))


def video_frame(image: np.ndarray, codec: str, **params) -> np.ndarray:
    """Code ``image`` as a one-frame ``codec`` video and decode it again.

    Parameters: ``crf`` and ``preset`` for h264/h265, ``qscale`` for mpeg2/mpeg4.
    """
    import av

    encoder_name, decoder_name = VIDEO_CODERS[codec]
    height, width = image.shape[:2]
    rgb = to_uint8(image)
    if height % 2 or width % 2:
        rgb = np.pad(rgb, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")

    encoder = av.CodecContext.create(encoder_name, "w")
    encoder.width, encoder.height = rgb.shape[1], rgb.shape[0]
    encoder.pix_fmt = "yuv420p"
    encoder.time_base = fractions.Fraction(1, 25)
    # One thread: a single small frame gains nothing from threads, and starting
    # them costs more than coding it. DataLoader workers supply the parallelism.
    encoder.thread_count = 1
    if codec in ("h264", "h265"):
        encoder.options = _x26x_options(codec, params)
    else:
        # ffmpeg's `-qscale:v Q` stamps Q on every frame, which PyAV cannot do; pinning
        # the rate control's quantiser range to [Q, Q] codes the frame at Q all the same.
        encoder.qmin = encoder.qmax = int(params["qscale"])
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    # Sending None flushes the encoder: x264/x265 hold the frame back otherwise.
    packets = [*encoder.encode(frame), *encoder.encode(None)]

    decoder = av.CodecContext.create(decoder_name, "r")
    decoder.thread_count = 1
    frames = [f for packet in packets for f in decoder.decode(packet)]
    frames += decoder.decode(None)
    if len(frames) != 1:
        raise RuntimeError(f"{encoder_name} round trip gave {len(frames)} frames instead of 1")
    decoded = rgb_array(frames[0])
    return to_float(decoded[:height, :width])


def _x26x_options(codec: str, params: dict) -> dict[str, str]:
    options = {"crf": str(params["crf"]), "preset": params["preset"]}
    if codec == "h265":
        # Without pools=none x265 sizes its thread pool (and so its decisions) by the
        # machine's core count; one thread keeps the output the same everywhere.
        options["x265-params"] = "log-level=error:pools=none:frame-threads=1"
    return options
