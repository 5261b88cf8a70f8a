"""Upscale a video file: decode, upscale in batches, encode, with the three stages overlapped.

Three threads, joined by two bounded queues, so memory stays flat whatever the length:

    reader   demux, decode, YUV -> RGB       ->  queue of frames (2 batches)
    main     batches of frames -> the model  ->  queue of batches (2)
    writer   RGB -> YUV, encode, mux

Packets of the streams that are copied (audio, subtitles) travel with the frame that follows
them, so they reach the muxer in the input's order and libavformat interleaves them.
Every frame keeps its own timestamp (variable frame rate survives) and its colour tags;
the YUV <-> RGB conversions use the matrix and range the input is tagged with.

The output is written under a temporary name next to the target and renamed when complete,
so an interrupted or failed job never leaves a half-written file under the final name.
"""

from __future__ import annotations

import queue
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import av
import numpy as np
import torch

from ..images import atomic_output
from ..yuv import rgb_array
from .engine import Upscaler
from .video_streams import (
    Colour,
    VideoError,
    add_audio_encoder,
    add_copied_stream,
    add_video_stream,
    bit_depth,
    plan_streams,
)

__all__ = ["VideoError", "VideoOptions", "VideoReport", "upscale_video"]

CORRUPT_POLICIES = ("skip", "stop")
# Copied packets ride with the next frame; after the video ends they are sent on in groups this size.
_PACKETS_PER_ITEM = 64
_POLL_S = 0.1


@dataclass(frozen=True)
class VideoOptions:
    codec: str = "libx264"
    crf: int | None = None  # None: the codec's default in video_streams.DEFAULT_CRF
    preset: str | None = None
    pix_fmt: str | None = None  # None: yuv420p, or yuv420p10le for an input with more than 8 bits
    start: float | None = None  # seconds
    duration: float | None = None  # seconds
    audio_codec: str | None = None  # None: copy audio as is
    on_corrupt: str = "skip"  # "skip": warn and go on; "stop": raise VideoError
    outscale: float | None = None  # final size relative to the input; None: the model's scale
    downsample_threshold: int | None = None  # shrink frames whose short side is longer, before the model
    batch_size: int = 4

    def __post_init__(self):
        if self.on_corrupt not in CORRUPT_POLICIES:
            raise ValueError(f"on_corrupt must be one of {CORRUPT_POLICIES}, not {self.on_corrupt!r}")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        for name in ("start", "duration", "downsample_threshold"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")
        if self.outscale is not None and not self.outscale > 0:
            raise ValueError("outscale must be positive")


@dataclass
class VideoReport:
    """What a job did: frames written, streams copied or left out, problems met, and where the time went."""

    output: Path
    frames: int = 0
    width: int = 0
    height: int = 0
    copied_streams: int = 0
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    busy: dict[str, float] = field(default_factory=lambda: {"decode": 0.0, "inference": 0.0, "encode": 0.0})

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


@dataclass
class _Item:
    """One decoded frame (or none, for a group of trailing packets) and the copied packets before it."""

    image: np.ndarray | None
    pts: int | None
    packets: list[av.Packet]


_END = object()


@dataclass(frozen=True)
class _Layout:
    """Sizes, depth and colour of the job, fixed by the first decoded frame."""

    colour: Colour
    bits: int  # 8 or 16: the RGB depth frames are converted to
    model_size: tuple[int, int]  # (width, height) the model sees
    final_size: tuple[int, int]  # (width, height) encoded
    pix_fmt: str

    @property
    def rgb_format(self) -> str:
        return "rgb48le" if self.bits == 16 else "rgb24"

    @classmethod
    def of(cls, frame: av.VideoFrame, scale: int, options: VideoOptions) -> "_Layout":
        deep = bit_depth(frame.format.name) > 8
        pix_fmt = options.pix_fmt or ("yuv420p10le" if deep else "yuv420p")
        width, height = frame.width, frame.height
        model_size = (width, height)
        threshold = options.downsample_threshold
        if threshold and min(width, height) > threshold:
            # As for pictures (engine.shrink_short_side): the short side becomes the threshold.
            factor = threshold / min(width, height)
            model_size = (max(1, round(width * factor)), max(1, round(height * factor)))
        if options.outscale:
            final = (round(width * options.outscale), round(height * options.outscale))
        else:
            final = (model_size[0] * scale, model_size[1] * scale)
        return cls(Colour.of(frame), 16 if deep else 8, model_size, _fit_chroma(final, pix_fmt), pix_fmt)


def _fit_chroma(size: tuple[int, int], pix_fmt: str) -> tuple[int, int]:
    """The nearest size a subsampled format can encode (4:2:0 needs even sides), at least one chroma sample."""
    components = av.VideoFormat(pix_fmt, 64, 64).components
    chroma = components[1] if len(components) > 1 else components[0]
    step_w, step_h = 64 // chroma.width, 64 // chroma.height
    return (max(step_w, round(size[0] / step_w) * step_w), max(step_h, round(size[1] / step_h) * step_h))


class _Stopped(Exception):
    """Raised inside a worker when another stage failed or the user interrupted."""


def upscale_video(
    source: str | Path,
    output: str | Path,
    upscaler: Upscaler,
    options: VideoOptions = VideoOptions(),
    *,
    progress: bool = True,
    on_batch: Callable[[int, int | None], None] | None = None,
) -> VideoReport:
    """Upscale every frame of ``source`` into ``output`` (its extension picks the container).

    ``on_batch(frames_done, frames_expected)`` is called after each batch (progress for a web
    page, say; the expected count is an estimate from the container, or None).
    Problems the input has (corrupt packets, truncation) are in ``report.problems`` under
    ``on_corrupt="skip"`` and raise :class:`VideoError` under ``"stop"``.
    """
    source, output = Path(source), Path(output)
    if source.resolve() == output.resolve():
        raise VideoError(f"{output}: the output would overwrite the input")
    with atomic_output(output) as partial:
        report = _Job(source, output, partial, upscaler, options, progress, on_batch).run()
    report.output = output
    return report


class _Job:
    def __init__(self, source, output, partial, upscaler, options, progress, on_batch):
        self.source_path, self.output_path, self.partial = source, output, partial
        self.upscaler, self.options = upscaler, options
        self.progress, self.on_batch = progress, on_batch
        self.report = VideoReport(output=partial)
        self.stop = threading.Event()
        self.failure: BaseException | None = None
        self.frames_queue: queue.Queue = queue.Queue(maxsize=2 * options.batch_size)
        self.batches_queue: queue.Queue = queue.Queue(maxsize=2)
        self.layout: _Layout | None = None  # set by the reader from the first frame

    # -- orchestration (main thread) --------------------------------------------------------

    def run(self) -> VideoReport:
        started = time.perf_counter()
        try:
            self.input = av.open(str(self.source_path))
        except av.error.FFmpegError as err:
            raise VideoError(f"{self.source_path}: cannot be read as a video ({err})") from None
        try:
            self.output = av.open(str(self.partial), "w")
            try:
                self.plan = plan_streams(
                    self.input,
                    self.output,
                    self.output_path,
                    self.options.codec,
                    self.options.pix_fmt,
                    self.options.audio_codec,
                )
                self.report.notes += self.plan.notes
                self._run_threads()
            finally:
                self.output.close()
        finally:
            self.input.close()
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _run_threads(self) -> None:
        reader = threading.Thread(target=self._worker, args=(self._read,), name="apisr-video-reader", daemon=True)
        writer = threading.Thread(target=self._worker, args=(self._write,), name="apisr-video-writer", daemon=True)
        reader.start()
        writer.start()
        try:
            self._infer()
        except _Stopped:
            pass  # a worker failed: its error is raised below
        except BaseException:  # Ctrl-C lands here, in the calling thread
            self.stop.set()
            raise
        finally:
            reader.join()
            writer.join()
        if self.failure is not None:
            raise self.failure

    def _worker(self, stage: Callable[[], None]) -> None:
        """Run the reader or the writer; its first failure stops the other stages and is re-raised by the caller."""
        try:
            stage()
        except _Stopped:
            pass
        except BaseException as err:
            if self.failure is None:
                self.failure = err
            self.stop.set()

    def _put(self, q: queue.Queue, item) -> None:
        while True:
            if self.stop.is_set():
                raise _Stopped
            try:
                q.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def _get(self, q: queue.Queue):
        while True:
            if self.stop.is_set():
                raise _Stopped
            try:
                return q.get(timeout=_POLL_S)
            except queue.Empty:
                continue

    def _problem(self, message: str) -> None:
        if self.options.on_corrupt == "stop":
            raise VideoError(f"{self.source_path}: {message} (stopped: --on-corrupt stop)")
        self.report.problems.append(message)
        warnings.warn(f"{self.source_path}: {message}", stacklevel=2)

    # -- reader thread ------------------------------------------------------------------------

    def _read(self) -> None:
        video = self.plan.video
        video.thread_type = "AUTO"
        start, end = self._segment()
        if start > 0:
            self.input.seek(int(start * av.time_base), backward=True, any_frame=False)
        packets: list[av.Packet] = []
        last_end = 0.0  # where the input's data stops, to tell a truncated file
        demuxer = self.input.demux(self.plan.read)
        while True:
            tick = time.perf_counter()
            try:
                packet = next(demuxer)
            except StopIteration:
                break
            except av.error.FFmpegError as err:
                self._problem(f"reading stopped early: {err}")
                break
            if packet.pts is not None and packet.duration is not None and packet.time_base is not None:
                last_end = max(last_end, float((packet.pts + packet.duration) * packet.time_base))
            if packet.stream is not video:
                if packet.size and _in_segment(packet, start, end):
                    packets.append(packet)
                    if len(packets) >= _PACKETS_PER_ITEM:
                        self._put(self.frames_queue, _Item(None, None, packets))
                        packets = []
                self.report.busy["decode"] += time.perf_counter() - tick
                continue
            if packet.is_corrupt:
                self._problem(f"corrupt video packet at {_seconds(packet)}")
            try:
                frames = packet.decode()
            except av.error.FFmpegError as err:
                self._problem(f"undecodable video packet at {_seconds(packet)}, skipped ({err})")
                continue
            past_end = False
            for frame in frames:
                time_s = frame.time if frame.time is not None else 0.0
                if time_s < start - 1e-6:
                    continue
                if end is not None and time_s >= end - 1e-6:
                    past_end = True
                    break
                item = _Item(self._to_rgb(frame), frame.pts, packets)
                packets = []
                self.report.busy["decode"] += time.perf_counter() - tick
                self._put(self.frames_queue, item)
                tick = time.perf_counter()
            self.report.busy["decode"] += time.perf_counter() - tick
            if past_end:
                break
        if end is None:
            self._check_complete(last_end)
        self._put(self.frames_queue, _Item(None, None, packets))
        self._put(self.frames_queue, _END)

    def _segment(self) -> tuple[float, float | None]:
        start = self.options.start or 0.0
        end = start + self.options.duration if self.options.duration is not None else None
        return start, end

    def _check_complete(self, last_end: float) -> None:
        """A file whose data stops well before the duration its header states was cut short."""
        if self.input.duration is None:
            return
        stated = self.input.duration / av.time_base + float((self.input.start_time or 0) / av.time_base)
        rate = self.plan.video.average_rate or 25
        if last_end < stated - max(2.0 / float(rate), 0.02 * stated):
            self._problem(f"the file ends at {last_end:.2f} s but its header says {stated:.2f} s: it looks truncated")

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        if self.layout is None:
            self.layout = _Layout.of(frame, self.upscaler.scale, self.options)
        layout = self.layout
        width, height = layout.model_size
        # swscale shrinks (area filter) in the same pass as YUV -> RGB, and converts an unscaled
        # frame on its accurate path (apisr.yuv: the default one darkens by about a level). The
        # frame's own matrix and range drive the conversion; RGB is always full range.
        return rgb_array(frame, layout.rgb_format, width, height, dst_color_range=2)

    # -- inference (main thread) -------------------------------------------------------------

    def _infer(self) -> None:
        total = _estimate_frames(self.plan.video, *self._segment())
        bar = _progress_bar(total, self.source_path.name) if self.progress else None
        try:
            done = False
            while not done:
                images, stamps, packets = [], [], []
                while len(images) < self.options.batch_size:
                    item = self._get(self.frames_queue)
                    if item is _END:
                        done = True
                        break
                    packets += item.packets
                    if item.image is not None:
                        images.append(item.image)
                        stamps.append(item.pts)
                tick = time.perf_counter()
                upscaled = self._upscale(images) if images else None
                self.report.busy["inference"] += time.perf_counter() - tick
                if upscaled is not None or packets:
                    self._put(self.batches_queue, (upscaled, stamps, packets))
                if images:
                    self.report.frames += len(images)
                    if bar is not None:
                        bar.update(len(images))
                    if self.on_batch is not None:
                        self.on_batch(self.report.frames, total)
            self._put(self.batches_queue, _END)
        finally:
            if bar is not None:
                bar.close()
        if self.report.frames == 0:
            raise VideoError(f"{self.source_path}: no video frame could be decoded in the chosen range")

    def _upscale(self, images: list[np.ndarray]) -> np.ndarray:
        deep = self.layout.bits == 16
        peak = 65535.0 if deep else 255.0
        stacked = np.stack(images).astype(np.int32) if deep else np.stack(images)  # torch lacks uint16 maths
        with torch.inference_mode():
            # Integers cross to the device and back: a quarter of the bytes of float32 for 8-bit video.
            batch = torch.from_numpy(stacked).to(self.upscaler.device).permute(0, 3, 1, 2).float().div_(peak)
            result = self.upscaler.upscale_tensor(batch).clamp_(0, 1).mul_(peak).round_()
            result = result.to(torch.int32 if deep else torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        return result.astype(np.uint16) if deep else result

    # -- writer thread ------------------------------------------------------------------------

    def _write(self) -> None:
        encoder = None
        pending: list[av.Packet] = []  # packets seen before the first frame: streams are not set up yet
        while True:
            item = self._get(self.batches_queue)
            if item is _END:
                break
            images, stamps, packets = item
            tick = time.perf_counter()
            if encoder is None and images is None:
                pending += packets
                continue
            if encoder is None:
                encoder = _Writer(self)
                packets = pending + packets
            for packet in packets:
                encoder.mux_copied(packet)
            if images is not None:
                for image, pts in zip(images, stamps):
                    encoder.encode(image, pts)
            self.report.busy["encode"] += time.perf_counter() - tick
        if encoder is not None:
            tick = time.perf_counter()
            encoder.flush()
            self.report.busy["encode"] += time.perf_counter() - tick


class _Writer:
    """The output's streams, set up when the first upscaled frames arrive (so the input's layout is known)."""

    def __init__(self, job: _Job):
        self.job, self.layout = job, job.layout
        options, plan, output = job.options, job.plan, job.output
        width, height = self.layout.final_size
        self.video = add_video_stream(
            output,
            plan.video,
            codec=options.codec,
            width=width,
            height=height,
            pix_fmt=self.layout.pix_fmt,
            colour=self.layout.colour,
            crf=options.crf,
            preset=options.preset,
        )
        self.streams = {stream.index: add_copied_stream(output, stream) for stream in plan.copy}
        self.audio_encoders = {
            stream.index: add_audio_encoder(output, stream, options.audio_codec) for stream in plan.reencode_audio
        }
        job.report.width, job.report.height = width, height
        job.report.copied_streams = len(self.streams)
        self.start = options.start or 0.0
        self.offset = int(round(self.start / plan.video.time_base)) if self.start else 0
        self.last_pts: int | None = None

    def encode(self, image: np.ndarray, pts: int | None) -> None:
        layout = self.layout
        frame = av.VideoFrame.from_ndarray(image, format=layout.rgb_format)
        width, height = layout.final_size
        resize = (width, height) != (frame.width, frame.height)
        # One swscale pass: resize to the final size (outscale) and RGB -> YUV with the input's matrix and range.
        frame = frame.reformat(
            width,
            height,
            layout.pix_fmt,
            dst_colorspace=layout.colour.matrix,
            src_color_range=2,
            dst_color_range=layout.colour.range or None,
            interpolation=("LANCZOS" if width * height > frame.width * frame.height else "AREA") if resize else None,
        )
        layout.colour.tag(frame)
        frame.pts = self._next_pts(pts)
        frame.time_base = self.video.codec_context.time_base
        self.job.output.mux(self.video.encode(frame))

    def _next_pts(self, pts: int | None) -> int:
        """The input's timestamp, moved to the segment's start; strictly increasing for the encoder."""
        if pts is None:
            step = int(round(1 / (self.job.plan.video.average_rate or 25) / self.video.codec_context.time_base))
            pts = (self.last_pts + max(step, 1)) if self.last_pts is not None else 0
        else:
            pts -= self.offset
            if self.last_pts is not None and pts <= self.last_pts:
                pts = self.last_pts + 1
        self.last_pts = pts
        return pts

    def mux_copied(self, packet: av.Packet) -> None:
        index = packet.stream.index
        if index in self.audio_encoders:
            self._reencode(packet, self.audio_encoders[index])
            return
        if self.start:
            shift = int(round(self.start / packet.time_base))
            if packet.pts is not None:
                packet.pts -= shift
            if packet.dts is not None:
                packet.dts -= shift
        packet.stream = self.streams[index]
        self.job.output.mux(packet)

    def _reencode(self, packet: av.Packet, stream) -> None:
        try:
            frames = packet.decode()
        except av.error.FFmpegError as err:
            self.job._problem(f"undecodable audio packet at {_seconds(packet)}, skipped ({err})")
            return
        for frame in frames:
            if self.start and frame.pts is not None:
                frame.pts -= int(round(self.start / frame.time_base))
            self.job.output.mux(stream.encode(frame))

    def flush(self) -> None:
        self.job.output.mux(self.video.encode(None))
        for stream in self.audio_encoders.values():
            self.job.output.mux(stream.encode(None))


def _in_segment(packet: av.Packet, start: float, end: float | None) -> bool:
    stamp = packet.pts if packet.pts is not None else packet.dts
    # Without a segment every packet counts, audio priming packets before zero included.
    if (not start and end is None) or stamp is None or packet.time_base is None:
        return True
    seconds = float(stamp * packet.time_base)
    return seconds >= start - 1e-6 and (end is None or seconds < end)


def _seconds(packet: av.Packet) -> str:
    stamp = packet.pts if packet.pts is not None else packet.dts
    return f"{float(stamp * packet.time_base):.3f} s" if stamp is not None and packet.time_base else "an unknown time"


def _estimate_frames(stream, start: float, end: float | None) -> int | None:
    rate = stream.average_rate or stream.guessed_rate
    if end is not None and rate:
        return max(1, int(round((end - start) * rate)))
    if stream.frames and not start:
        return stream.frames
    container = stream.container
    if container.duration and rate:
        return max(1, int(round((container.duration / av.time_base - start) * rate)))
    return None


def _progress_bar(total: int | None, name: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=name, unit="frame", dynamic_ncols=True)
