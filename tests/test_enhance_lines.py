"""Line enhancement (spec §3): USM, binary XDoG, small-component removal, passive dilation, merge."""

import numpy as np

from apisr.enhance.lines import merge, passive_dilation, remove_small_components
from apisr.enhance.pseudo_gt import enhance_lines, line_map
from apisr.enhance.usm import usm_sharpen
from apisr.enhance.xdog import draw_gamma, xdog


def line_picture(size=160, column=80):
    image = np.full((size, size, 3), 0.8, np.float32)
    image[:, column : column + 2] = 0.1  # a dark vertical line, 2 px wide
    return image


def test_usm_leaves_flat_areas_and_steepens_edges():
    image = line_picture()
    sharp = usm_sharpen(image)
    assert np.array_equal(sharp[:, :20], image[:, :20])  # far from any edge the mask is 0
    assert sharp[:, 80].mean() < image[:, 80].mean()  # the dark line gets darker
    assert sharp.dtype == np.float32 and 0.0 <= sharp.min() and sharp.max() <= 1.0


def test_xdog_is_binary_and_finds_the_line():
    grey = line_picture()[..., 0]
    lines = xdog(grey, gamma=0.975)
    assert set(np.unique(lines)) <= {0.0, 1.0}
    assert lines[:, 80:82].all()  # on the line
    assert lines[:, :78].sum() == 0 and lines[:, 84:].sum() == 0
    noisy = np.random.default_rng(0).random((64, 64), dtype=np.float32)
    assert set(np.unique(xdog(noisy, 0.97))) <= {0.0, 1.0}


def test_gamma_is_drawn_from_the_given_generator():
    gammas = [draw_gamma(np.random.default_rng(seed)) for seed in (0, 0, 1)]
    assert gammas[0] == gammas[1] != gammas[2]
    assert all(0.97 <= g < 0.98 for g in gammas)


def test_components_under_the_threshold_are_removed():
    lines = np.zeros((60, 60), np.float32)
    lines[5, 5:36] = 1  # 31 px: removed
    lines[15, 5:37] = 1  # 32 px: kept
    diagonal = np.arange(18, 58)
    lines[diagonal, diagonal] = 1  # 40 px touching only at corners: one component with 8-connectivity, kept
    lines[1:4, 50:53] = 1  # 9 px blob: removed
    cleaned = remove_small_components(lines, 32)
    assert cleaned[5].sum() == 0 and cleaned[1:4].sum() == 0
    assert np.array_equal(cleaned[15], lines[15])
    assert np.array_equal(cleaned[18:], lines[18:])


def test_passive_dilation_matches_a_per_pixel_reference():
    rng = np.random.default_rng(3)
    lines = (rng.random((24, 30)) < 0.25).astype(np.float32)
    padded = np.pad(lines, 1)
    expected = lines.copy()
    for y in range(lines.shape[0]):
        for x in range(lines.shape[1]):
            if lines[y, x] == 0 and padded[y : y + 3, x : x + 3].sum() >= 3:
                expected[y, x] = 1
    assert np.array_equal(passive_dilation(lines), expected)


def test_merge_takes_each_source_by_the_mask():
    a, b = np.full((4, 4, 3), 0.9, np.float32), np.full((4, 4, 3), 0.2, np.float32)
    mask = np.zeros((4, 4), np.float32)
    mask[1, 2] = 1
    merged = merge(a, b, mask)
    assert np.allclose(merged[1, 2], 0.9) and np.allclose(np.delete(merged.reshape(16, 3), 6, 0), 0.2)


def test_pseudo_gt_changes_only_lines_and_their_surroundings():
    image = line_picture(200, 100)
    out = enhance_lines(image, gamma=0.975)
    once = usm_sharpen(image)
    thrice = usm_sharpen(usm_sharpen(once))
    lines = line_map(thrice, 0.975)
    assert lines.sum() > 0
    off = lines == 0
    assert np.allclose(out[off], once[off])  # single sharpening away from lines
    assert np.allclose(out[~off], thrice[~off])  # triple sharpening on them
    assert np.array_equal(out[:, :30], image[:, :30])  # far from lines: unchanged
    assert out[:, 100].mean() < once[:, 100].mean()


def test_pseudo_gt_keeps_shape_and_range():
    image = np.random.default_rng(0).random((48, 64, 3), dtype=np.float32)
    out = enhance_lines(image, gamma=0.97)
    assert out.shape == image.shape and out.dtype == np.float32 and 0.0 <= out.min() and out.max() <= 1.0
