"""`apisr degrade`: LR images with their recipes, the preview sheet, and bad input handling."""

from __future__ import annotations

import json

import numpy as np
import pytest

from apisr.cli.main import main
from apisr.degrade import Recipe, apply_recipe
from apisr.synthetic import synthetic_frame
from apisr.images import load_rgb, save_rgb


@pytest.fixture()
def hr_dir(tmp_path):
    folder = tmp_path / "hr"
    for i in range(2):
        save_rgb(folder / f"frame{i}.png", synthetic_frame(66, 90, np.random.default_rng(i)))
    return folder


def test_writes_lr_images_and_replayable_recipes(hr_dir, tmp_path):
    out = tmp_path / "lr"
    assert main(["degrade", str(hr_dir), "-o", str(out), "--scale", "4", "--seed", "9"]) == 0
    lines = [json.loads(line) for line in (out / "recipes.jsonl").read_text().splitlines()]
    assert [line["image"] for line in lines] == ["frame0.png", "frame1.png"]
    for line in lines:
        lr = load_rgb(out / line["lr"])
        assert lr.shape == (16, 22, 3)
        replayed = apply_recipe(load_rgb(hr_dir / line["image"]), Recipe.from_dict(line["recipe"]))
        assert np.array_equal(np.round(replayed * 255), np.round(lr * 255))
    first = (out / "frame0.png").read_bytes()
    again = tmp_path / "again"
    assert main(["degrade", str(hr_dir), "-o", str(again), "--seed", "9"]) == 0
    assert (again / "frame0.png").read_bytes() == first
    other = tmp_path / "other"
    assert main(["degrade", str(hr_dir), "-o", str(other), "--seed", "10"]) == 0
    assert (other / "frame0.png").read_bytes() != first


def test_preview_writes_a_labelled_sheet(hr_dir, tmp_path):
    out = tmp_path / "preview"
    assert main(["degrade", str(hr_dir), "-o", str(out), "--preview", "3"]) == 0
    sheet = load_rgb(out / "preview.png")
    assert sheet.shape[0] > 3 * 66 and sheet.shape[1] > 5 * 100  # three rows of five pictures
    assert not list(out.glob("frame*.png"))  # preview only


def test_bad_image_is_reported_and_the_rest_goes_on(hr_dir, tmp_path, capsys):
    (hr_dir / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "lr"
    assert main(["degrade", str(hr_dir), "-o", str(out)]) == 1
    assert "broken.png" in capsys.readouterr().err
    assert sorted(p.name for p in out.glob("*.png")) == ["frame0.png", "frame1.png"]


def test_bad_config_is_one_clear_line(hr_dir, tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("scale: 4\nstage2:\n  compression: {h264: 0.5, vp9: 0.5}\n")
    assert main(["degrade", str(hr_dir), "-o", str(tmp_path / "x"), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "stage2: compression.vp9: unknown name 'vp9'" in err and str(config) in err
