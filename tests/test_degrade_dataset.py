"""PairDataset: aligned, reproducible triplets whatever the worker count."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import torch

from apisr.degrade import load_degradation_config
from apisr.degrade.config import KernelConfig, NoiseConfig, ResizeConfig, StageConfig
from apisr.degrade.dataset import PairDataset, joint_augment
from apisr.synthetic import synthetic_frame
from apisr.images import save_rgb


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    root = tmp_path_factory.mktemp("pairs")
    (root / "hr").mkdir()
    (root / "enhanced").mkdir()
    for i in range(3):
        image = synthetic_frame(100, 140, np.random.default_rng(i))
        save_rgb(root / "hr" / f"f{i}.png", image)
        save_rgb(root / "enhanced" / f"f{i}.png", 1.0 - image)  # easy to tell apart, same geometry
    return root


def test_items_are_aligned_triplets_of_the_right_size(frames):
    data = PairDataset.from_folder(frames / "hr", enhanced_dir=frames / "enhanced", hr_patch=64)
    item = data[0]
    assert set(item) == {"lr", "hr", "hr_enhanced"}
    assert item["lr"].shape == (3, 16, 16) and item["hr"].shape == (3, 64, 64)
    assert item["hr_enhanced"].shape == (3, 64, 64) and item["lr"].dtype == torch.float32
    torch.testing.assert_close(item["hr_enhanced"], 1.0 - item["hr"], atol=1 / 255, rtol=0)


def _gentle_config():
    """Only an area resize and a near-lossless JPEG: the LR must then be the HR patch shrunk."""
    config = load_degradation_config(None, 4)
    keep = ResizeConfig(directions={"keep": 1.0}, modes={"area": 1.0})
    stage = StageConfig(resize=keep, blur_prob=0.0, kernel=KernelConfig(), noise=NoiseConfig(prob=0.0),
                        compression={"jpeg": 1.0})
    codecs = dataclasses.replace(config.codecs, jpeg_quality=(100, 100))
    return dataclasses.replace(config, stage1=stage, stage2=stage, final_resize_modes={"area": 1.0}, codecs=codecs)


@pytest.mark.parametrize("full_frame", [True, False])
def test_lr_patch_lies_under_the_hr_patch(frames, full_frame):
    data = PairDataset.from_folder(frames / "hr", hr_patch=64, config=_gentle_config(), full_frame=full_frame,
                                   crop_margin=16, augment_prob=0.0)
    for index in range(len(data)):
        item = data[index]
        hr = item["hr"].permute(1, 2, 0).numpy()
        shrunk = cv2.resize(hr, (16, 16), interpolation=cv2.INTER_AREA)
        lr = item["lr"].permute(1, 2, 0).numpy()
        # Compare the interiors under every one-LR-pixel shift: no shift must fit best.
        errors = {
            (dy, dx): np.abs(lr[1 + dy : 15 + dy, 1 + dx : 15 + dx] - shrunk[1:15, 1:15]).mean()
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        }
        assert min(errors, key=errors.get) == (0, 0), errors
        assert errors[(0, 0)] < 0.06


def test_same_items_whatever_the_worker_count_and_new_ones_per_epoch(frames):
    data = PairDataset.from_folder(frames / "hr", hr_patch=64, seed=3)
    serial = [data[i] for i in range(len(data))]
    loader = torch.utils.data.DataLoader(data, batch_size=1, num_workers=2)
    parallel = list(loader)
    for one, batch in zip(serial, parallel):
        for key in one:
            assert torch.equal(one[key], batch[key][0])
    data.set_epoch(1)
    assert not torch.equal(data[0]["lr"], serial[0]["lr"])
    other_seed = PairDataset.from_folder(frames / "hr", hr_patch=64, seed=4)
    assert not torch.equal(other_seed[0]["lr"], serial[0]["lr"])


def test_cached_frames_give_the_same_items_without_reading_again(frames, tmp_path):
    import shutil

    shutil.copytree(frames, tmp_path / "copy")
    plain = PairDataset.from_folder(frames / "hr", enhanced_dir=frames / "enhanced", hr_patch=64, seed=5)
    cached = PairDataset.from_folder(tmp_path / "copy" / "hr", enhanced_dir=tmp_path / "copy" / "enhanced",
                                     hr_patch=64, seed=5, cache_frames=True)
    first = [cached[i] for i in range(len(cached))]
    shutil.rmtree(tmp_path / "copy")  # a second epoch must not need the files
    cached.set_epoch(1)
    plain.set_epoch(1)
    for i in range(len(plain)):
        for key, value in plain[i].items():
            assert torch.equal(cached[i][key], value)
    assert not torch.equal(first[0]["lr"], cached[0]["lr"])


def test_a_mix_degrades_its_share_of_the_items_with_its_own_config(frames):
    paper, gentle = load_degradation_config(None, 4), _gentle_config()
    kwargs = dict(hr_patch=64, full_frame=False, crop_margin=16, augment_prob=0.0)
    plain = PairDataset.from_folder(frames / "hr", config=paper, **kwargs)
    all_gentle = PairDataset.from_folder(frames / "hr", config=paper, mix=[(1.0, gentle)], **kwargs)
    for index in range(len(plain)):
        # The gentle config's LR is close to the HR patch shrunk; the paper's chain is far from it.
        hr = all_gentle[index]["hr"].permute(1, 2, 0).numpy()
        shrunk = cv2.resize(hr, (16, 16), interpolation=cv2.INTER_AREA)
        gentle_error, paper_error = (np.abs(d[index]["lr"].permute(1, 2, 0).numpy() - shrunk).mean()
                                     for d in (all_gentle, plain))
        assert gentle_error < paper_error / 2
    # A mix is drawn per item: over many items and epochs about its share of them are gentle.
    half = PairDataset.from_folder(frames / "hr", config=paper, mix=[(0.5, gentle)], **kwargs)
    picks = [half._pick_config(np.random.default_rng(seed)) is gentle for seed in range(400)]
    assert 150 < sum(picks) < 250
    with pytest.raises(ValueError, match="shares may add up to 1 at most"):
        PairDataset.from_folder(frames / "hr", config=paper, mix=[(0.7, gentle), (0.6, gentle)], **kwargs)


def test_joint_augment_moves_all_images_alike():
    rng = np.random.default_rng(0)
    base = np.arange(4 * 6 * 3, dtype=np.float32).reshape(4, 6, 3)
    seen = set()
    for _ in range(40):
        a, b = joint_augment([base, base * 2], 1.0, rng)
        assert np.array_equal(b, a * 2)
        seen.add(a.tobytes())
    assert len(seen) == 8  # 2 x 2 x 2 combinations of hflip, vflip and transpose
    untouched = joint_augment([base], 0.0, rng)[0]
    assert untouched is base


def test_bad_inputs_are_named(frames, tmp_path):
    with pytest.raises(ValueError, match="smaller than the 256px HR patch"):
        PairDataset.from_folder(frames / "hr")[0]
    with pytest.raises(FileNotFoundError, match="no line-enhanced version"):
        PairDataset.from_folder(frames / "hr", enhanced_dir=tmp_path, hr_patch=64)[0]
    with pytest.raises(ValueError, match="not a multiple of the scale"):
        PairDataset.from_folder(frames / "hr", hr_patch=66)
