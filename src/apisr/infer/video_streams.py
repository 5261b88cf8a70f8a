"""Which streams of an input video go to the output, and how: the plan behind ``upscale_video``.

The video stream is decoded, upscaled and encoded again. Every other stream is copied
packet by packet, bit for bit, when the output container can hold its codec; audio it
cannot hold is re-encoded only when the user names an audio codec, and subtitles or
attachments it cannot hold are left out with a note, so a user never gets a silently
different file. All decisions are made before any frame is decoded: a job that cannot
finish as asked fails in the first second, not after an hour of inference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
from av.container import InputContainer, OutputContainer

# Encoder defaults: visually transparent quality at a moderate speed for each codec.
DEFAULT_CRF = {"libx264": 18, "libx265": 20, "libsvtav1": 28}
DEFAULT_PRESET = {"libx264": "medium", "libx265": "medium", "libsvtav1": "8"}
LOSSLESS_CODECS = {"ffv1"}
# Stream tags that describe the content and stay true after upscaling; counts, durations and
# encoder names (DURATION, NUMBER_OF_FRAMES, ENCODER, ...) would be stale, the muxer writes its own.
CARRIED_TAGS = ("language", "title", "handler_name")
STANDARD_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


class VideoError(RuntimeError):
    """A video job that cannot run or finish as asked; the message names the file and the reason."""


@dataclass(frozen=True)
class Colour:
    """The colour tags of the input's frames, carried to the output's stream and frames."""

    range: int
    space: int
    primaries: int
    trc: int

    @classmethod
    def of(cls, frame: av.VideoFrame) -> "Colour":
        return cls(int(frame.color_range), int(frame.colorspace), int(frame.color_primaries), int(frame.color_trc))

    def tag(self, target) -> None:
        """Write these tags onto a codec context or a frame (both have the same four attributes)."""
        target.color_range = self.range
        target.colorspace = self.space
        target.color_primaries = self.primaries
        target.color_trc = self.trc

    @property
    def matrix(self) -> int | None:
        """The swscale matrix for RGB -> YUV matching the tagged colour space (None: swscale's default, BT.601).

        AVColorSpace and swscale's SWS_CS_* numbers agree for BT.709 (1), FCC (4), BT.470BG (5),
        SMPTE 240M (7) and BT.2020 (9); SMPTE 170M is BT.601 (5) and BT.2020 CL uses the NCL matrix.
        """
        return {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9, 10: 9}.get(self.space)


@dataclass
class StreamPlan:
    """What happens to each input stream, decided from the two containers' capabilities."""

    video: av.video.stream.VideoStream
    copy: list[av.stream.Stream] = field(default_factory=list)
    reencode_audio: list[av.audio.stream.AudioStream] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def read(self) -> list[av.stream.Stream]:
        return [self.video, *self.copy, *self.reencode_audio]


def available_encoders() -> list[str]:
    wanted = ("libx264", "libx265", "libsvtav1", "ffv1")
    return [name for name in wanted if name in av.codecs_available]


def bit_depth(pix_fmt: str) -> int:
    return max(component.bits for component in av.VideoFormat(pix_fmt).components)


def plan_streams(
    source: InputContainer,
    output: OutputContainer,
    output_name: Path,
    codec: str,
    pix_fmt: str | None,
    audio_codec: str | None,
) -> StreamPlan:
    """Choose the video stream and what to do with each other stream, or raise :class:`VideoError`."""
    name = output_name.suffix or output.format.name
    if not source.streams.video:
        raise VideoError(f"{source.name}: has no video stream")
    try:
        formats = {f.name for f in av.Codec(codec, "w").video_formats or ()}
    except av.codec.codec.UnknownCodecError:
        raise VideoError(f"unknown video encoder {codec!r} (this PyAV build has: {', '.join(available_encoders())})") from None
    if pix_fmt and formats and pix_fmt not in formats:
        raise VideoError(f"{codec} cannot encode --pix-fmt {pix_fmt}; it takes: {', '.join(sorted(formats))}")
    accepted = output.supported_codecs
    # A format that cannot answer the question (mpegts, for one) accepts anything; muxing then tells.
    fits = (lambda codec_name: codec_name in accepted) if accepted else (lambda codec_name: True)
    if not fits(codec):
        raise VideoError(f"{output_name}: a {name} file cannot hold {codec} video; choose another --codec or extension")
    plan = StreamPlan(video=source.streams.video[0])
    for stream in source.streams:
        if stream is plan.video:
            continue
        codec_name = stream.codec_context.name if stream.codec_context is not None else None
        label = f"stream #{stream.index} ({stream.type}{', ' + codec_name if codec_name else ''})"
        if stream.type == "video":
            plan.notes.append(f"{label} left out: only the first video stream is upscaled")
        elif stream.type == "audio" and audio_codec:
            if audio_codec not in av.codecs_available:
                raise VideoError(f"unknown audio encoder {audio_codec!r} (try aac, libopus or flac)")
            if not fits(audio_codec):
                raise VideoError(f"{output_name}: a {name} file cannot hold {audio_codec} audio; choose another --audio-codec")
            plan.reencode_audio.append(stream)
        elif stream.type == "audio":
            if not fits(codec_name):
                raise VideoError(
                    f"{source.name}: audio {label} cannot be copied into a {name} file; "
                    f"re-encode it with --audio-codec aac (or opus), or write .mkv, which holds it as is"
                )
            plan.copy.append(stream)
        elif stream.type == "subtitle" and fits(codec_name):
            plan.copy.append(stream)
        elif stream.type == "attachment" and output.format.name == "matroska":
            plan.copy.append(stream)
        else:
            hint = "" if output.format.name == "matroska" else " (write .mkv to keep it)"
            plan.notes.append(f"{label} left out: a {name} file cannot hold it{hint}")
    return plan


def add_video_stream(
    output: OutputContainer,
    source: av.video.stream.VideoStream,
    *,
    codec: str,
    width: int,
    height: int,
    pix_fmt: str,
    colour: Colour,
    crf: int | None,
    preset: str | None,
) -> av.video.stream.VideoStream:
    """The encoder for the upscaled frames, on the input's time base so every timestamp carries over exactly."""
    rate = source.average_rate or source.guessed_rate or Fraction(25)
    stream = output.add_stream(codec, rate=rate)
    stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
    stream.time_base = source.time_base
    context = stream.codec_context
    context.time_base = source.time_base
    if source.sample_aspect_ratio:
        context.sample_aspect_ratio = source.sample_aspect_ratio
    colour.tag(context)
    options: dict[str, str] = {}
    if codec not in LOSSLESS_CODECS:
        crf = DEFAULT_CRF.get(codec) if crf is None else crf
        preset = DEFAULT_PRESET.get(codec) if preset is None else preset
        if crf is not None:
            options["crf"] = str(crf)
        if preset is not None:
            options["preset"] = str(preset)
    if codec == "libx265":
        options["x265-params"] = "log-level=error"
    context.options = options
    carry_tags(source, stream)
    return stream


def add_copied_stream(output: OutputContainer, source: av.stream.Stream) -> av.stream.Stream:
    stream = output.add_stream_from_template(source)
    carry_tags(source, stream)
    return stream


def add_audio_encoder(output: OutputContainer, source: av.audio.stream.AudioStream, codec: str) -> av.stream.Stream:
    """An encoder for audio that cannot be copied; PyAV resamples to the rate and format it needs."""
    context = source.codec_context
    rate = context.sample_rate
    rates = av.Codec(codec, "w").audio_rates
    if rates and rate not in rates:  # Opus, for one, takes 48 kHz but not 44.1 kHz
        rate = min((r for r in rates if r >= rate), default=max(rates))
    stream = output.add_stream(codec, rate=rate)
    layout = context.layout
    # A layout of unknown channel order ("2 channels") is not one an encoder takes: use the standard one.
    stream.layout = STANDARD_LAYOUTS.get(layout.nb_channels, layout.name) if "channels" in layout.name else layout
    carry_tags(source, stream)
    return stream


def carry_tags(source: av.stream.Stream, target: av.stream.Stream) -> None:
    """Language, title and the default/forced flags: what a player shows to choose a track."""
    lowered = {key.lower(): value for key, value in source.metadata.items()}
    target.metadata.update({key: lowered[key] for key in CARRIED_TAGS if key in lowered})
    target.disposition = source.disposition
