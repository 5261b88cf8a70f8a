"""The paper's partition / skip / top-k selection and near-duplicate handling."""

import numpy as np
import pytest

from apisr.curate.dedup import dhash, hamming, is_duplicate
from apisr.curate.select import SelectionSettings, candidate_plan, partition_bounds, pick_top
from apisr.synthetic import seeded_frame


@pytest.mark.parametrize("count,parts", [(100, 8), (17, 8), (8, 8), (3, 8), (1, 8)])
def test_partitions_cover_every_i_frame_contiguously(count, parts):
    bounds = partition_bounds(count, parts)
    assert len(bounds) == min(count, parts)
    assert bounds[0][0] == 0 and bounds[-1][1] == count
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    sizes = [stop - start for start, stop in bounds]
    assert max(sizes) - min(sizes) <= 1


def test_candidates_are_every_skip_th_of_each_partition():
    plan = candidate_plan(40, 4, 5)
    assert sorted(plan) == [0, 5, 10, 15, 20, 25, 30, 35]
    assert [plan[i] for i in sorted(plan)] == [0, 0, 1, 1, 2, 2, 3, 3]
    plan = candidate_plan(22, 2, 5)  # partitions of 11: candidates restart at each partition start
    assert sorted(plan) == [0, 5, 10, 11, 16, 21]


def test_frames_per_partition_follow_duration():
    settings = SelectionSettings()
    assert settings.per_partition(10 * 60) == 2
    assert settings.per_partition(30 * 60 + 59) == 2  # 30 whole minutes is not long
    assert settings.per_partition(31 * 60) == 3
    assert SelectionSettings(partitions=32).per_partition(60) == 1
    with pytest.raises(ValueError):
        SelectionSettings(skip=0)


def test_pick_top_keeps_the_k_highest():
    scores = [0.1, 0.9, 0.5, 0.7, 0.3]
    taken = []
    assert pick_top(scores, [1 << i for i in range(5)], 2, taken, max_distance=-1) == [1, 3]
    assert taken == [1 << 1, 1 << 3]


def test_pick_top_skips_near_duplicates_within_and_across_partitions():
    a, b = 0, (1 << 64) - 1
    taken = [b]  # already kept from an earlier partition
    chosen = pick_top([0.9, 0.8, 0.7, 0.6], [a, a ^ 1, b ^ 3, a ^ (1 << 40) ^ (1 << 41) ^ 255], 3, taken, max_distance=2)
    assert chosen == [0, 3]  # 1 is within 1 bit of 0; 2 within 2 bits of the earlier b


def test_dhash_matches_the_same_picture_and_separates_others():
    picture = seeded_frame(7, 120, 160)
    brighter = np.clip(picture * 0.9 + 0.08, 0, 1)
    noisy = np.clip(picture + np.random.default_rng(0).normal(0, 0.01, picture.shape).astype(np.float32), 0, 1)
    other = seeded_frame(8, 120, 160)
    assert hamming(dhash(picture), dhash(brighter)) <= 2
    assert hamming(dhash(picture), dhash(noisy)) <= 4
    assert hamming(dhash(picture), dhash(other)) > 12
    assert is_duplicate(dhash(noisy), [dhash(other), dhash(picture)], 6)
    assert not is_duplicate(dhash(picture), [dhash(picture)], -1)
