"""Video upscaling end to end on short synthetic clips (see tests/video_samples.py)."""

from __future__ import annotations

import numpy as np
import pytest

from apisr.infer.video import VideoError, VideoOptions, upscale_video
from video_samples import (FONT, anime_picture, attachments, audio_language, decoded_frames, frame_times_ms, packets,
                           tiny_upscaler, write_clip)

# Uneven steps: a variable-frame-rate clip.
VFR_MS = [0, 40, 80, 200, 240, 500, 540, 580, 620, 700]


@pytest.fixture(scope="module")
def upscaler():
    return tiny_upscaler(scale=2)


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("ext", ["mkv", "mp4"])
def test_frames_timestamps_size_audio_subtitles_and_fonts_carry_over(tmp_path, upscaler, ext):
    source = write_clip(tmp_path / f"in.{ext}", VFR_MS)
    target = tmp_path / f"out.{ext}"
    report = upscale_video(source, target, upscaler, progress=False)

    assert frame_times_ms(target) == frame_times_ms(source) == VFR_MS
    assert report.frames == len(VFR_MS)
    frames = decoded_frames(target)
    assert frames[0].shape == (96, 128, 3)  # 2x the 64x48 input
    audio_in, audio_out = packets(source, "audio"), packets(target, "audio")
    assert len(audio_in) > 20 and audio_out == audio_in  # payloads and timestamps, bit for bit
    assert audio_language(target) == "jpn"
    assert packets(target, "subtitles") == packets(source, "subtitles") != []
    assert attachments(target) == ([("font.ttf", FONT)] if ext == "mkv" else [])
    assert _files(tmp_path) == sorted([source.name, target.name])


# The largest mean shift allowed, in 8-bit levels. swscale's default YUV -> RGB path shifted
# these clips by -1.1 (limited range) and -1.5 (full range) levels; the accurate one by +0.07
# and -0.66 (full range comes back as yuvj420p, whose conversions keep a small bias).
@pytest.mark.parametrize(("colorspace", "color_range", "max_shift"), [(1, 1, 0.4), (5, 2, 0.8)])
def test_colours_and_colour_tags_survive(tmp_path, upscaler, colorspace, color_range, max_shift):
    """BT.709 limited range and BT.601 full range: a nearest 2x model must give back the colours of
    the pictures the clip was made from, without a brightness shift."""
    size = (192, 256)
    source = write_clip(tmp_path / "in.mkv", [0, 40, 80], size=size, audio=None, colorspace=colorspace,
                        color_range=color_range, picture=anime_picture, crf=0)
    target = tmp_path / "out.mkv"
    upscale_video(source, target, upscaler, VideoOptions(crf=0), progress=False)
    differences = [after[::2, ::2].astype(float) - anime_picture(*size, index)
                   for index, after in enumerate(decoded_frames(target))]
    assert len(differences) == 3
    # Lossless x264, so the error left is two trips through 4:2:0 on thin coloured lines.
    assert np.mean([np.abs(d).mean() for d in differences]) < 4.5
    assert abs(np.mean([d.mean() for d in differences])) < max_shift
    assert _colour_tags(target) == _colour_tags(source)
    assert _colour_tags(target)[1] == color_range


def _colour_tags(path):
    import av

    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return int(frame.colorspace), int(frame.color_range), int(frame.color_primaries), int(frame.color_trc)


def test_segment_keeps_its_frames_and_audio_shifted_to_zero(tmp_path, upscaler):
    source = write_clip(tmp_path / "in.mkv", VFR_MS)
    target = tmp_path / "out.mkv"
    report = upscale_video(source, target, upscaler, VideoOptions(start=0.1, duration=0.5), progress=False)
    assert frame_times_ms(target) == [t - 100 for t in VFR_MS if 100 <= t < 600]
    assert report.frames == 5
    audio_in = {payload for pts, payload in packets(source, "audio") if 100 <= pts < 600}
    audio_out = packets(target, "audio")
    assert {payload for _, payload in audio_out} == audio_in
    assert min(pts for pts, _ in audio_out) >= 0


def test_truncated_input_is_skipped_with_a_warning_or_stops(tmp_path, upscaler):
    full = write_clip(tmp_path / "full.mkv", list(range(0, 1200, 40)))
    data = full.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) * 6 // 10])
    decodable = len(frame_times_ms(cut))
    assert 0 < decodable < 30

    with pytest.warns(UserWarning, match="truncated"):
        report = upscale_video(cut, tmp_path / "skip.mkv", upscaler, progress=False)
    assert report.frames == decodable == len(frame_times_ms(tmp_path / "skip.mkv"))
    assert any("truncated" in p for p in report.problems)

    with pytest.raises(VideoError, match="truncated.*stop"):
        upscale_video(cut, tmp_path / "stop.mkv", upscaler, VideoOptions(on_corrupt="stop"), progress=False)
    assert _files(tmp_path) == ["cut.mkv", "full.mkv", "skip.mkv"]


def test_interrupted_job_leaves_no_file(tmp_path, upscaler):
    source = write_clip(tmp_path / "in.mkv", list(range(0, 1200, 40)))

    def interrupt(frames_done, frames_expected):
        if frames_done >= 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        upscale_video(source, tmp_path / "out.mkv", upscaler, VideoOptions(batch_size=2), progress=False, on_batch=interrupt)
    assert _files(tmp_path) == ["in.mkv"]


def test_audio_the_container_cannot_hold_is_refused_or_reencoded(tmp_path, upscaler):
    import av

    source = write_clip(tmp_path / "in.mkv", VFR_MS)  # AAC audio: WebM takes only Opus/Vorbis
    with pytest.raises(VideoError, match="--audio-codec"):
        upscale_video(source, tmp_path / "out.webm", upscaler, VideoOptions(codec="libsvtav1"), progress=False)
    with pytest.raises(VideoError, match="cannot hold libx264"):
        upscale_video(source, tmp_path / "out.webm", upscaler, progress=False)
    assert _files(tmp_path) == ["in.mkv"]

    target = tmp_path / "opus.mkv"
    upscale_video(source, target, upscaler, VideoOptions(audio_codec="libopus"), progress=False)
    with av.open(str(target)) as container:
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "opus"
        assert abs(float(container.duration / av.time_base) - 0.74) < 0.1
    assert frame_times_ms(target) == VFR_MS
