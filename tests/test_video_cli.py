"""`apisr upscale VIDEO`: the same command as for pictures, chosen by file type."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from apisr.cli.main import main
from video_samples import decoded_frames, frame_times_ms, packets, save_model, write_clip

FRAMES_MS = [0, 40, 80, 120, 160, 240]


def test_video_input_routes_to_the_video_pipeline(tmp_path, capsys):
    model = save_model(tmp_path / "tiny.safetensors", scale=2)
    source = write_clip(tmp_path / "in.mp4", FRAMES_MS)
    target = tmp_path / "out.mp4"
    code = main(["upscale", str(source), "-o", str(target), "-m", str(model), "--precision", "fp32", "--outscale", "3",
                 "--crf", "10", "--preset", "ultrafast"])
    assert code == 0, capsys.readouterr().err
    assert decoded_frames(target)[0].shape == (144, 192, 3)  # --outscale 3 over a 2x model
    assert frame_times_ms(target) == FRAMES_MS
    assert packets(target, "audio") == packets(source, "audio")
    assert "6 frames 192x144" in capsys.readouterr().err


def test_folder_of_videos_and_a_bad_video(tmp_path, capsys):
    model = save_model(tmp_path / "tiny.safetensors", scale=2)
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_clip(inputs / "good.mkv", FRAMES_MS)
    (inputs / "bad.mp4").write_bytes(b"not a video at all")
    code = main(["upscale", str(inputs), "-o", str(tmp_path / "out"), "-m", str(model), "--video-format", "mp4",
                 "--codec", "libx264", "--pix-fmt", "yuv420p10le"])
    err = capsys.readouterr().err
    assert code == 1 and "bad.mp4" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good_x2.mp4"]
    assert len(frame_times_ms(tmp_path / "out" / "good_x2.mp4")) == len(FRAMES_MS)


@pytest.mark.slow  # a second Python process has to import torch
def test_ctrl_c_leaves_no_file_under_the_output_name(tmp_path):
    """A real SIGINT to a running `apisr upscale`: exit code 130 and nothing left in the output folder."""
    model = save_model(tmp_path / "tiny.safetensors", scale=2)
    source = write_clip(tmp_path / "in.mkv", list(range(0, 40 * 400, 40)), size=(96, 128), audio=None, subtitles=False)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "apisr", "upscale", str(source), "-o", str(out / "clip.mkv"), "-m", str(model),
               "--precision", "fp32", "--batch-size", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    log = (tmp_path / "stderr.txt").open("w+")
    # A child inherits an ignored SIGINT (as a test worker may have it), and Python then leaves it
    # ignored; restore the default, as in a terminal, so that Ctrl-C reaches the job.
    process = subprocess.Popen(command, stderr=log, env=env,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # Once the partial file exists the job is under way; let it write a while, then press Ctrl-C.
        deadline = time.monotonic() + 60
        while not (out.is_dir() and any(out.iterdir())):
            assert process.poll() is None and time.monotonic() < deadline, log.read()
            time.sleep(0.05)
        time.sleep(0.5)
        assert process.poll() is None, "the job ended before it could be interrupted"
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    log.seek(0)
    assert process.returncode == 130, log.read()
    assert list(out.iterdir()) == []
