"""`apisr eval --sheet`: one labelled PNG whose cells are exactly the outputs' crops."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from apisr.cli.main import main
from apisr.curate.synthetic import write_video
from apisr.evaluate.methods import build_method, file_digest
from apisr.evaluate.runner import evaluate, pair_references, zoomed_crop
from apisr.evaluate.sheet import Column, SheetRow, compose_sheet, write_sheet
from apisr.images import load_rgb, load_rgb_pixels, save_rgb, to_uint8
from apisr.synthetic import seeded_frame

SCALE, ZOOM, CROP = 2, 3, 20


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """Two tiny LR pictures evaluated with two methods, and the sheet of that evaluation."""
    root = tmp_path_factory.mktemp("sheet")
    for index in range(2):
        save_rgb(root / "lr" / f"frame{index}.png", seeded_frame(index, 30 + 8 * index, 40, shapes=6))
    inputs = sorted((root / "lr").glob("*.png"))
    methods = [build_method("bicubic", SCALE), build_method("lanczos", SCALE)]
    out = root / "report"
    evaluation = evaluate(pair_references(inputs, None), methods, out, SCALE, crop_size=CROP, zoom=ZOOM,
                          progress=False)
    sheet = write_sheet(evaluation, out / "sheet.png")
    return evaluation, sheet, out, inputs


def _cached_output(out, method, input_path):
    """The output the evaluation scored, as it was cached."""
    return load_rgb(out / "cache" / method / f"{file_digest(input_path)[:16]}.png")


def test_cells_are_the_zoomed_crops_of_the_outputs(evaluated):
    evaluation, sheet, out, inputs = evaluated
    written = load_rgb_pixels(out / "sheet.png")
    assert np.array_equal(written, sheet.image)
    for row, (crops, input_path) in enumerate(zip(evaluation.crops, inputs)):
        box = crops.box
        assert box[2] == box[3] == CROP
        lr = load_rgb(input_path)
        expected = {"input": zoomed_crop(np.repeat(np.repeat(lr, SCALE, 0), SCALE, 1), box, ZOOM)}
        for method in ("bicubic", "lanczos"):
            expected[method] = zoomed_crop(_cached_output(out, method, input_path), box, ZOOM)
        assert not np.array_equal(expected["input"], expected["bicubic"])  # the check below can tell them apart
        for label, crop in expected.items():
            x, y, w, h = sheet.cells[(row, label)]
            assert (w, h) == (CROP * ZOOM, CROP * ZOOM)
            assert np.array_equal(written[y : y + h, x : x + w], to_uint8(crop)), (row, label)


def test_layout_is_a_labelled_grid_with_the_input_first(evaluated):
    evaluation, sheet, _, _ = evaluated
    labels = ["input", "bicubic", "lanczos"]
    assert set(sheet.cells) == {(row, label) for row in range(2) for label in labels}
    for row in range(2):
        lefts = [sheet.cells[(row, label)][0] for label in labels]
        assert lefts == sorted(lefts) and len(set(lefts)) == 3
        tops = {sheet.cells[(row, label)][1] for label in labels}
        assert len(tops) == 1
    assert sheet.cells[(0, "input")][0] == sheet.cells[(1, "input")][0]  # columns line up across rows
    first_top = sheet.cells[(0, "input")][1]
    second_top = sheet.cells[(1, "input")][1]
    assert second_top > first_top + CROP * ZOOM
    ink = sheet.image.min(axis=2) < 128
    # Every column has its name above the first row, and each row its title between the rows.
    for label in labels:
        x, _, w, _ = sheet.cells[(0, label)]
        assert ink[:first_top, x : x + w].any(), label
    assert ink[first_top + CROP * ZOOM : second_top].any()
    height, width = sheet.image.shape[:2]
    right = max(x + w for x, _, w, _ in sheet.cells.values())
    assert width - right < 20 and height - (second_top + CROP * ZOOM) < 20  # no stray space


def test_a_missing_crop_keeps_the_columns_aligned():
    crop = np.full((12, 12, 3), 7, np.uint8)
    rows = [SheetRow("a", "", {"input": crop, "m": crop}), SheetRow("b", "", {"input": crop})]
    sheet = compose_sheet([Column("input", "LR"), Column("m", "model")], rows, font_size=12)
    assert (1, "m") not in sheet.cells
    x, _, w, _ = sheet.cells[(0, "m")]
    _, y, _, h = sheet.cells[(1, "input")]
    hole = sheet.image[y : y + h, x : x + w]
    assert not np.array_equal(hole, np.broadcast_to(crop, hole.shape))
    assert (hole != 255).all(axis=2).mean() > 0.5  # a filled placeholder, not blank page


def test_long_names_wrap_inside_their_column():
    crop = np.zeros((30, 30, 3), np.uint8)
    long_name = "noise3_scale2.0x_model-0000_with_a_long_tail"
    sheet = compose_sheet([Column(long_name, "waifu2x_upconv7 x2, applied 2 times")], [SheetRow("r", "", {long_name: crop})])
    assert sheet.image.shape[1] == 30 + 2 * 10  # the column keeps the crop's width; the label wraps instead
    x, y, _, _ = sheet.cells[(0, long_name)]
    assert y > 3 * 18  # several header lines above the cell


def test_cli_writes_the_sheet_atomically(evaluated, tmp_path):
    _, _, _, inputs = evaluated
    out = tmp_path / "report"
    code = main(["eval", *map(str, inputs), "-o", str(out), "--scale", str(SCALE), "--crop-size", str(CROP),
                 "--zoom", "2", "--sheet", "--no-progress"])
    assert code == 0
    sheet = load_rgb_pixels(out / "sheet.png")
    assert sheet.shape[1] > 3 * CROP * 2  # input, bicubic, lanczos side by side
    assert not list(out.glob(".*"))  # no temporary file left behind
    assert main(["eval", str(inputs[0]), "-o", str(tmp_path / "plain"), "--scale", str(SCALE), "--no-progress"]) == 0
    assert not (tmp_path / "plain" / "sheet.png").exists()


def test_sheet_grows_a_column_for_the_reference(tmp_path):
    hr = seeded_frame(3, 40, 40, shapes=5)
    save_rgb(tmp_path / "hr" / "pic.png", hr)
    save_rgb(tmp_path / "lr" / "pic.png", cv2.resize(hr, (20, 20), interpolation=cv2.INTER_AREA))
    samples = pair_references([tmp_path / "lr" / "pic.png"], tmp_path / "hr")
    evaluation = evaluate(samples, [build_method("bicubic", 2)], tmp_path / "r", 2, crop_size=16, zoom=2,
                          progress=False)
    sheet = write_sheet(evaluation, tmp_path / "r" / "sheet.png")
    x, y, w, h = sheet.cells[(0, "reference")]
    assert x > sheet.cells[(0, "bicubic")][0]
    bx, by, bw, bh = evaluation.crops[0].box
    expected = to_uint8(zoomed_crop(load_rgb(tmp_path / "hr" / "pic.png"), (bx, by, bw, bh), 2))
    assert np.array_equal(sheet.image[y : y + h, x : x + w], expected)


def _extract_script():
    """scripts/extract_real_lq.py, which makes the real low-quality inputs for a sheet (scripts are not a package)."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "extract_real_lq.py"
    spec = importlib.util.spec_from_file_location("extract_real_lq", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_real_lq_frames_are_taken_where_asked_without_black_bars(tmp_path):
    script = _extract_script()
    picture = np.full((20, 30, 3), 200, np.uint8)
    framed = np.zeros((24, 40, 3), np.uint8)
    framed[2:22, 5:35] = picture
    assert np.array_equal(script.trim_black_bars(framed), picture)

    clip = tmp_path / "clip.mp4"
    write_video(clip, scenes=[1, 2, 3, 4], gop=5, width=64, height=48)  # 20 frames
    assert script.main([str(clip), "-o", str(tmp_path / "out"), "--at", "0,0.5"]) == 0
    written = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert written == ["clip_f0000_I.png", "clip_f0010_I.png"]
    assert load_rgb(tmp_path / "out" / "clip_f0010_I.png").shape == (48, 64, 3)
    assert script.main([str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "out")]) == 1
