"""`apisr eval` end to end on two tiny models, and the pieces it is made of."""

from __future__ import annotations

import csv
import re

import cv2
import numpy as np
import pytest
import torch

from apisr.cli.main import main
from apisr.evaluate.methods import build_method, repeat_count
from apisr.evaluate.runner import choose_crop, evaluate, make_synthetic, zoomed_crop
from apisr.images import load_rgb, save_rgb
from apisr.models.checkpoint import model_metadata, save_safetensors
from apisr.models.registry import build_model
from apisr.synthetic import seeded_frame


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Two LR inputs with their HR references, and two tiny 2x models."""
    root = tmp_path_factory.mktemp("eval")
    for index in range(2):
        texture = np.random.default_rng(index).normal(0, 0.02, (128, 224, 3))
        hr = np.clip(seeded_frame(index, 128, 224) + texture, 0, 1).astype(np.float32)
        save_rgb(root / "hr" / f"frame{index}.png", hr)
        save_rgb(root / "lr" / f"frame{index}.png", cv2.resize(hr, (112, 64), interpolation=cv2.INTER_AREA))
    models = []
    for seed in range(2):
        torch.manual_seed(seed)
        hyperparameters = {"scale": 2, "num_feat": 8, "num_conv": 2}
        model = build_model("compact", **hyperparameters)
        path = root / f"tiny{seed}.safetensors"
        save_safetensors(path, model.state_dict(), model_metadata("compact", hyperparameters))
        models.append(path)
    return root, models


@pytest.fixture(scope="module")
def report(workspace):
    root, models = workspace
    out = root / "report"
    argv = ["eval", str(root / "lr"), "-m", str(models[0]), "-m", str(models[1]), "-o", str(out),
            "--scale", "2", "--reference", str(root / "hr"), "--no-progress"]
    assert main(argv) == 0
    return out, argv


def test_csv_has_a_row_per_image_and_method(report):
    out, _ = report
    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {(r["image"], r["method"]) for r in rows} == {
        (image, method) for image in ("frame0", "frame1") for method in ("bicubic", "lanczos", "tiny0", "tiny1")
    }
    assert len(rows) == 8
    for row in rows:
        assert float(row["psnr"]) > 10 and 0 < float(row["ssim"]) <= 1 and float(row["gmsd"]) >= 0
        assert float(row["niqe"]) > 0
        # No pyiqa here: the learned metrics are empty, never invented.
        assert row["maniqa"] == "" and row["clipiqa"] == ""


def test_markdown_gives_means_per_image_and_says_not_computed(report):
    out, _ = report
    text = (out / "report.md").read_text()
    assert "## Mean over images" in text and "## Per image" in text
    assert "PSNR-Y (dB) ↑" in text and "NIQE ↓" in text and "GMSD ↓" in text
    assert re.search(r"MANIQA: not computed: pyiqa", text)
    assert text.count("| frame0 |") == 4


def test_html_shows_existing_crops_of_every_method(report):
    out, _ = report
    page = (out / "index.html").read_text()
    sources = re.findall(r"<img src='([^']+)'", page)
    assert len(sources) == 2 * 6  # input, 4 methods, reference for each image
    for source in sources:
        assert (out / source).is_file(), source
    crops = [load_rgb(out / source) for source in sources[:6]]
    assert len({crop.shape for crop in crops}) == 1  # the same crop and zoom for every column
    assert "image-rendering: pixelated" in page
    assert (out / "metrics.png").stat().st_size > 1000


def test_second_run_uses_the_cache(report):
    out, argv = report
    cached = sorted((out / "cache").rglob("*.png"))
    assert len(cached) == 8
    stamps = [path.stat().st_mtime_ns for path in cached]
    assert main(argv) == 0
    assert [path.stat().st_mtime_ns for path in cached] == stamps


def test_bad_input_is_reported_and_the_rest_goes_on(workspace, tmp_path, capsys):
    root, _ = workspace
    (tmp_path / "broken.png").write_bytes(b"not a png")
    code = main(["eval", str(root / "lr" / "frame0.png"), str(tmp_path / "broken.png"), "-o", str(tmp_path / "r"),
                 "--scale", "2", "--no-progress"])
    assert code == 1
    assert "broken.png: cannot read the image" in capsys.readouterr().err
    with open(tmp_path / "r" / "metrics.csv", newline="") as f:
        assert {row["image"] for row in csv.DictReader(f)} == {"frame0"}


def test_synthetic_benchmark_is_reproducible_and_scored_against_the_hr(workspace, tmp_path):
    root, _ = workspace
    hr_paths = [root / "hr" / "frame0.png"]
    runs = [make_synthetic(hr_paths, tmp_path / name, scale=2, seed=5)[0] for name in ("a", "b")]
    assert runs[0][0].input_path.read_bytes() == runs[1][0].input_path.read_bytes()
    assert load_rgb(runs[0][0].input_path).shape == (64, 112, 3)
    assert runs[0][0].reference_path.is_file()
    other_seed = make_synthetic(hr_paths, tmp_path / "c", scale=2, seed=6)[0]
    assert other_seed[0].input_path.read_bytes() != runs[0][0].input_path.read_bytes()
    evaluation = evaluate(runs[0], [build_method("bicubic", 2)], tmp_path / "report", 2, progress=False)
    assert len(evaluation.rows) == 1 and evaluation.rows[0].values["psnr"] > 10


@pytest.mark.parametrize(("model_scale", "scale", "passes"), [(2, 4, 2), (4, 4, 1), (2, 8, 3), (3, 4, None), (4, 2, None)])
def test_repeat_count(model_scale, scale, passes):
    assert repeat_count(model_scale, scale) == passes


def test_automatic_crop_finds_the_detailed_region():
    image = np.full((100, 120, 3), 0.5, np.float32)
    image[60:90, 10:40] = np.random.default_rng(0).random((30, 30, 3))
    x, y, w, h = choose_crop(image, 30)
    assert (x, y, w, h) == (10, 60, 30, 30)
    zoomed = zoomed_crop(image, (x, y, w, h), 3)
    assert zoomed.shape == (90, 90, 3)
    assert np.array_equal(zoomed[::3, ::3], image[60:90, 10:40])
