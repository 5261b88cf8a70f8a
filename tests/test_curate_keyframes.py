"""Key-frame decoding: only I-frames, at their timestamps, with their content."""

import numpy as np
import pytest

from apisr.curate.keyframes import find_videos, iter_keyframes, probe
from apisr.curate.synthetic import write_video
from apisr.images import to_float, to_uint8
from apisr.synthetic import seeded_frame

SCENES = [3, 1, 4, 1, 5, 9, 2, 6]
GOP, FPS = 5, 10


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("kf") / "clip.mp4"
    write_video(path, SCENES, gop=GOP, fps=FPS)
    return path


def test_probe_counts_key_packets_without_decoding(video):
    info = probe(video)
    assert info.key_packets == len(SCENES)
    assert (info.width, info.height) == (128, 96)
    assert info.duration == pytest.approx(len(SCENES) * GOP / FPS, abs=0.11)


def test_only_i_frames_at_gop_timestamps(video):
    frames = list(iter_keyframes(video))
    # 40 frames were encoded; only the one I-frame per GOP comes back.
    assert [f.index for f in frames] == list(range(len(SCENES)))
    assert all(f.pict_type == "I" for f in frames)
    assert [f.time for f in frames] == pytest.approx([i * GOP / FPS for i in range(len(SCENES))])


def test_i_frames_show_their_scene(video):
    for frame, scene in zip(iter_keyframes(video), SCENES):
        assert frame.image.dtype == np.float32 and frame.image.shape == (96, 128, 3)
        expected = to_float(to_uint8(seeded_frame(scene, 96, 128)))
        others = [abs(frame.image - to_float(to_uint8(seeded_frame(s, 96, 128)))).mean() for s in set(SCENES) - {scene}]
        assert abs(frame.image - expected).mean() < 0.03 < min(others)


def test_find_videos_searches_folders(tmp_path, video):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.mkv").write_bytes(b"")
    (tmp_path / "a.mp4").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in find_videos([tmp_path, video])] == ["a.mp4", "b.mkv", "clip.mp4"]
