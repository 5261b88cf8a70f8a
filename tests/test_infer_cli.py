"""``apisr upscale`` on files and folders, with bad inputs in the batch, and the Python API."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

import apisr
from apisr.cli.main import main
from apisr.models.registry import build_model


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny-2x.pth"
    torch.save({"params": build_model("compact", scale=2, num_feat=8, num_conv=2).state_dict()}, path)
    return path


def rgb(height: int = 12, width: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def upscale(capsys, *args) -> tuple[int, str]:
    code = main(["upscale", *map(str, args)])
    return code, capsys.readouterr().err


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


def test_batch_with_bad_inputs_goes_on_and_fails_at_the_end(tmp_path, capsys, checkpoint):
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.fromarray(rgb()).save(inputs / "a.png")
    Image.fromarray(rgb(seed=1)).save(inputs / "b.jpg")
    (inputs / "empty.png").write_bytes(b"")
    (inputs / "notes.png").write_text("not a picture\n")
    good = (inputs / "a.png").read_bytes()
    (inputs / "truncated.png").write_bytes(good[: len(good) // 2])
    Image.fromarray(rgb(40, 40)).save(inputs / "huge.png")
    code, err = upscale(capsys, inputs, "-o", tmp_path / "out", "-m", checkpoint, "--max-pixels", 1000)
    assert code == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_x2.png", "b_x2.png"]
    assert Image.open(tmp_path / "out" / "a_x2.png").size == (32, 24)
    errors = error_lines(err)
    assert len(errors) == 4
    for name in ("empty.png", "notes.png", "truncated.png", "huge.png"):
        assert sum(name in line for line in errors) == 1
    assert "2 upscaled, 4 failed, 0 skipped" in err


def test_sixteen_bit_gray_and_alpha_survive_the_command(tmp_path, capsys, checkpoint):
    ramp = np.linspace(0, 65535, 20 * 24).reshape(20, 24)
    cv2.imwrite(str(tmp_path / "deep.png"), np.dstack([ramp, ramp[::-1], ramp]).astype(np.uint16))
    Image.fromarray(rgb()[..., 0]).save(tmp_path / "gray.png")
    rgba = np.dstack([rgb(), np.full((12, 16), 255, np.uint8)])
    rgba[:, 8:, 3] = 0
    Image.fromarray(rgba).save(tmp_path / "cutout.png")
    code, err = upscale(capsys, tmp_path / "deep.png", tmp_path / "gray.png", tmp_path / "cutout.png",
                        "-o", tmp_path / "out", "-m", checkpoint)
    assert code == 0, err
    deep = cv2.imread(str(tmp_path / "out" / "deep_x2.png"), cv2.IMREAD_UNCHANGED)
    assert deep.dtype == np.uint16 and deep.shape == (40, 48, 3) and len(np.unique(deep)) > 256
    assert Image.open(tmp_path / "out" / "gray_x2.png").mode == "L"
    cutout = np.asarray(Image.open(tmp_path / "out" / "cutout_x2.png"))
    assert cutout.shape == (24, 32, 4)
    assert (cutout[:, :12, 3] == 255).all() and (cutout[:, 20:, 3] == 0).all()


def test_skip_existing_and_name_pattern_and_format(tmp_path, capsys, checkpoint):
    Image.fromarray(rgb()).save(tmp_path / "a.png")
    args = [tmp_path / "a.png", "-o", tmp_path / "out", "-m", checkpoint, "--format", "jpg", "--name-pattern",
            "{stem}-{model}-{scale}.{ext}", "--outscale", "1.5"]
    assert upscale(capsys, *args)[0] == 0
    made = tmp_path / "out" / "a-compact-1.5.jpg"
    assert Image.open(made).size == (24, 18) and Image.open(made).format == "JPEG"
    os.utime(made, (1, 1))
    code, err = upscale(capsys, *args, "--skip-existing")
    assert code == 0 and "0 upscaled, 0 failed, 1 skipped" in err and made.stat().st_mtime == 1


def test_never_overwrites_an_input(tmp_path, capsys, checkpoint):
    Image.fromarray(rgb()).save(tmp_path / "a.png")
    before = (tmp_path / "a.png").read_bytes()
    code, err = upscale(capsys, tmp_path / "a.png", "-o", tmp_path, "-m", checkpoint, "--name-pattern", "{stem}.{ext}")
    assert code == 1 and "refusing to overwrite the input" in err
    assert (tmp_path / "a.png").read_bytes() == before


def test_sample_recursive_and_single_file_output(tmp_path, capsys, checkpoint):
    (tmp_path / "in" / "deeper").mkdir(parents=True)
    Image.fromarray(rgb()).save(tmp_path / "in" / "deeper" / "c.webp")
    (tmp_path / "in" / "readme.txt").write_text("ignored by folder scans")
    code, err = upscale(capsys, "--sample", tmp_path / "in", "-r", "-o", tmp_path / "out", "-m", checkpoint)
    assert code == 0, err
    assert Image.open(tmp_path / "out" / "sample_x2.png").size == (640, 480)
    assert (tmp_path / "out" / "deeper" / "c_x2.png").is_file()
    code, _ = upscale(capsys, tmp_path / "in" / "deeper" / "c.webp", "-o", tmp_path / "one.webp", "-m", checkpoint)
    assert code == 0 and Image.open(tmp_path / "one.webp").size == (32, 24)


def test_usage_errors_exit_2(tmp_path, capsys, checkpoint):
    assert upscale(capsys, "-o", tmp_path)[0] == 2
    code, err = upscale(capsys, "--sample", "-o", tmp_path, "-m", tmp_path / "missing.pth")
    assert code == 2 and "cannot load the model" in err
    code, err = upscale(capsys, "--sample", "-o", tmp_path, "-m", checkpoint, "--name-pattern", "{nope}.png")
    assert code == 2 and "--name-pattern" in err


def test_python_api_returns_the_kind_it_was_given(tmp_path, checkpoint):
    model = apisr.load_model(checkpoint)
    array = rgb()
    out = apisr.upscale(array, model=model)
    assert out.dtype == np.uint8 and out.shape == (24, 32, 3)
    deep = apisr.upscale(array.astype(np.uint16) * 257, model=model, outscale=1)
    assert deep.dtype == np.uint16 and deep.shape == (12, 16, 3)
    floats = apisr.upscale(array[..., 0] / 255.0, model=model)
    assert floats.dtype == np.float32 and floats.shape == (24, 32)
    picture = apisr.upscale(Image.fromarray(array).convert("RGBA"), model=model)
    assert isinstance(picture, Image.Image) and picture.mode == "RGBA" and picture.size == (32, 24)
    Image.fromarray(array).save(tmp_path / "a.png")
    from_path = apisr.upscale(tmp_path / "a.png", model=str(checkpoint))
    np.testing.assert_array_equal(from_path, out)
