"""`apisr prepare` (training-set layout) and `apisr dataset-stats`."""

import json

import numpy as np
import pytest

from apisr.cli.main import main
from apisr.curate import layout
from apisr.curate.detail import edge_detail
from apisr.curate.prepare import grid_tiles, split_validation
from apisr.synthetic import seeded_frame
from apisr.images import load_rgb, save_rgb

HEIGHT = 64  # a small stand-in for 720 keeps the test fast


@pytest.fixture
def frames(tmp_path):
    folder = tmp_path / "frames"
    for i, (h, w) in enumerate([(96, 130), (64, 100), (80, 120), (40, 60)]):
        save_rgb(folder / f"f{i}.png", seeded_frame(i, h, w))
    (folder / "broken.png").write_bytes(b"not an image")
    return folder


def prepare(frames, dataset, *extra):
    return main(["prepare", str(frames), "-o", str(dataset), "--height", str(HEIGHT), "--crop", "32", *extra])


def test_prepare_writes_the_documented_layout(frames, tmp_path, capsys):
    dataset = tmp_path / "ds"
    assert prepare(frames, dataset, "--val-fraction", "0.34") == 1  # the broken file
    assert "broken.png" in capsys.readouterr().err
    train = sorted(p.name for p in (dataset / layout.HR).glob("*.png"))
    val = (dataset / layout.VAL_LIST).read_text().split()
    assert len(train) == 2 and len(val) == 1  # f3 (40 px tall) is skipped as short
    assert sorted(p.name for p in (dataset / layout.VAL_HR).glob("*.png")) == val
    assert not set(val) & set(train) and "f3.png" not in train + val
    assert sorted(p.name for p in (dataset / layout.HR_ENHANCED).glob("*.png")) == train
    tiles = 0
    for name in train:
        hr, enhanced = load_rgb(dataset / layout.HR / name), load_rgb(dataset / layout.HR_ENHANCED / name)
        assert hr.shape == enhanced.shape and hr.shape[0] <= HEIGHT
        assert hr.shape[0] % 8 == 0 and hr.shape[1] % 8 == 0
        tiles += (hr.shape[0] // 32) * (hr.shape[1] // 32)
    hr_tiles = sorted(p.name for p in (dataset / layout.HR_CROPS).glob("*.png"))
    assert len(hr_tiles) == tiles
    assert hr_tiles == sorted(p.name for p in (dataset / layout.HR_ENHANCED_CROPS).glob("*.png"))
    info = json.loads((dataset / layout.DATASET_JSON).read_text())
    assert info["counts"] == {"train": 2, "val": 1, "crops": tiles}
    assert 0.97 <= info["settings"]["xdog_gamma"] < 0.98


def test_tiles_are_the_grid_of_the_frame(frames, tmp_path):
    dataset = tmp_path / "ds"
    prepare(frames, dataset)
    hr = load_rgb(dataset / layout.HR / "f0.png")
    tile = load_rgb(dataset / layout.HR_CROPS / layout.crop_name("f0", 0, 1))
    assert np.array_equal(tile, hr[0:32, 32:64])


def test_rerun_skips_prepared_frames_and_keeps_short_ones_on_request(frames, tmp_path, capsys):
    dataset = tmp_path / "ds"
    prepare(frames, dataset)
    stamps = {p: p.stat().st_mtime_ns for p in (dataset / layout.HR).glob("*.png")}
    capsys.readouterr()
    prepare(frames, dataset, "--short-frames", "keep")
    assert "3 of 5 frames already prepared" in capsys.readouterr().out
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())
    assert load_rgb(dataset / layout.HR / "f3.png").shape == (40, 56, 3)  # kept, only cropped to multiples of 8


def test_edge_detail_is_recorded_and_a_rewritten_frame_is_rescored(frames, tmp_path):
    dataset = tmp_path / "ds"
    prepare(frames, dataset, "--jobs", "2")
    scores = json.loads((dataset / layout.EDGE_DETAIL_JSON).read_text())
    assert sorted(scores) == sorted(p.name for p in (dataset / layout.HR).glob("*.png"))
    for name, score in scores.items():
        assert score == pytest.approx(edge_detail(load_rgb(dataset / layout.HR / name)))
    # A re-run keeps the recorded scores of frames it does not write, and rescores the ones it does.
    (dataset / layout.EDGE_DETAIL_JSON).write_text(json.dumps({name: 9.0 for name in scores}))
    (dataset / layout.HR / "f0.png").unlink()
    prepare(frames, dataset)
    again = json.loads((dataset / layout.EDGE_DETAIL_JSON).read_text())
    assert again["f0.png"] == pytest.approx(scores["f0.png"])
    assert all(again[name] == 9.0 for name in scores if name != "f0.png")


def test_validation_list_and_split_are_deterministic(frames, tmp_path):
    names = [f"n{i}" for i in range(20)]
    first = split_validation(names, 0.25, np.random.default_rng(5))
    assert first == split_validation(list(reversed(names)), 0.25, np.random.default_rng(5)) and len(first) == 5
    listing = tmp_path / "val.txt"
    listing.write_text("f1.png\nf2\n")
    dataset = tmp_path / "ds"
    prepare(frames, dataset, "--val-list", str(listing))
    assert (dataset / layout.VAL_LIST).read_text().split() == ["f1.png", "f2.png"]
    assert sorted(p.name for p in (dataset / layout.HR).glob("*.png")) == ["f0.png"]


def test_grid_drops_the_remainder():
    image = np.zeros((720, 1280, 3), np.float32)
    tiles = grid_tiles(image, 256)
    assert len(tiles) == 10 and tiles[-1][:2] == (1, 4)
    assert all(t.shape == (256, 256, 3) for _, _, t in tiles)


def test_dataset_stats_compares_folders(tmp_path, capsys):
    for name, shapes in (("a", 3), ("b", 40)):
        for i in range(3):
            save_rgb(tmp_path / name / f"{i}.png", seeded_frame(i, 64, 96, shapes=shapes))
    out = tmp_path / "stats"
    code = main(["dataset-stats", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(out), "--bins", "5"])
    assert code == 0
    report = json.loads((out / "stats.json").read_text())
    assert report["scorer"] == "fallback-v1" and "WARNING" in capsys.readouterr().err
    a, b = report["datasets"]
    assert a["images"] == b["images"] == 3 and a["resolutions"] == {"96x64": 3}
    assert sum(a["complexity"]["histogram"]["counts"]) == 3
    assert a["complexity"]["median"] < b["complexity"]["median"]
    assert (out / "stats.png").stat().st_size > 1000
