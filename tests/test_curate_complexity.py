"""The weight-free complexity measure and the frame-size steps of curation."""

import numpy as np

from apisr.curate.complexity import FallbackScorer
from apisr.curate.rescale import crop_to_multiple, rescale_to_height, to_training_frame
from apisr.synthetic import seeded_frame


def test_fallback_ranks_flat_below_drawing_below_dense_detail():
    flat = np.full((240, 320, 3), 0.6, np.float32)
    gradient = np.repeat(np.linspace(0, 1, 320, dtype=np.float32)[None, :, None], 240, 0).repeat(3, 2)
    cel = seeded_frame(1, 240, 320, shapes=6)
    busy = seeded_frame(2, 240, 320, shapes=80)
    scores = FallbackScorer().score([flat, gradient, cel, busy])
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[0] < scores[2] < scores[3]
    assert scores[1] < scores[2]


def test_taller_frames_go_to_720_lines_and_shorter_ones_stay():
    tall = np.random.default_rng(0).random((1080, 1920, 3), dtype=np.float32)
    assert rescale_to_height(tall).shape == (720, 1280, 3)
    assert rescale_to_height(tall, filter="cubic").max() <= 1.0
    short = tall[:400, :600]
    assert rescale_to_height(short) is short


def test_crop_to_multiple_of_8_drops_bottom_right():
    image = np.arange(75 * 101 * 3, dtype=np.float32).reshape(75, 101, 3)
    cropped = crop_to_multiple(image)
    assert cropped.shape == (72, 96, 3)
    assert np.array_equal(cropped, image[:72, :96])
    assert to_training_frame(np.zeros((1081, 1925, 3), np.float32)).shape == (720, 1280, 3)
