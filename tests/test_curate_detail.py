"""The edge-detail score: crisp frames score high, soft ones low, frames without edges not at all."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from apisr.curate.detail import edge_detail
from apisr.synthetic import synthetic_frame


def _soften(image: np.ndarray, factor: float) -> np.ndarray:
    """The frame as an upscale from a lower resolution would draw it."""
    height, width = image.shape[:2]
    small = cv2.resize(image, (int(width / factor), int(height / factor)), interpolation=cv2.INTER_AREA)
    return np.clip(cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC), 0, 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_softer_frames_score_lower(seed):
    crisp = synthetic_frame(240, 320, np.random.default_rng(seed), line_width=2)
    scores = [edge_detail(image) for image in (crisp, _soften(crisp, 1.5), _soften(crisp, 3.0))]
    assert scores[0] > 1.3 * scores[1] > 1.3 * scores[2] > 0


def test_contrast_does_not_decide_the_score():
    crisp = synthetic_frame(240, 320, np.random.default_rng(3), line_width=2)
    faded = 0.2 + 0.7 * crisp
    assert edge_detail(faded) == pytest.approx(edge_detail(crisp), rel=0.25)
    assert edge_detail(_soften(crisp, 3.0)) < 0.7 * edge_detail(faded)


def test_a_frame_without_edges_has_no_score_and_a_tiny_one_is_refused():
    ramp = np.broadcast_to(np.linspace(0, 1, 320, dtype=np.float32)[None, :, None], (240, 320, 3))
    assert math.isnan(edge_detail(ramp))
    with pytest.raises(ValueError, match="too small"):
        edge_detail(np.zeros((6, 6, 3), np.float32))
