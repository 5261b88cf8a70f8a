"""The edge loss: GMSD's similarity map in torch, zero for a match, larger for blurred edges."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from apisr.evaluate import metrics
from apisr.losses.composite import build_generator_loss
from apisr.losses.config import LossConfig
from apisr.losses.edge import edge_loss, gradient_similarity_map
from apisr.synthetic import seeded_frame


def _batch(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1)[None].float()


def test_similarity_map_is_the_metrics_one():
    # The loss's map must be the map whose spread GMSD reports, or training on it would aim elsewhere.
    picture = seeded_frame(0, 64, 96)
    blurred = F.avg_pool2d(_batch(picture), 3, 1, 1, count_include_pad=False)[0].permute(1, 2, 0).numpy()
    torch_map = gradient_similarity_map(_batch(blurred), _batch(picture))[0, 0].double().numpy()
    assert abs(float(np.std(torch_map, ddof=1)) - metrics.gmsd(blurred, picture)) < 1e-4
    assert float(np.std(torch_map, ddof=1)) > 0.01  # the blur is visible to the metric


def test_identical_images_cost_nothing_and_blur_costs_more_the_more_it_blurs():
    picture = _batch(seeded_frame(1, 64, 64))
    losses = [edge_loss(F.avg_pool2d(picture, k, 1, k // 2, count_include_pad=False), picture).item() for k in (1, 3, 5)]
    assert losses[0] < 1e-6 and 0.01 < losses[1] < losses[2]


def test_edge_term_in_the_generator_loss_sharpens_a_blurred_output():
    picture = _batch(seeded_frame(2, 48, 48))
    output = F.avg_pool2d(picture, 3, 1, 1, count_include_pad=False).requires_grad_()
    loss = build_generator_loss([LossConfig(type="edge", weight=1.0, target="gt")])
    terms = loss(output, pseudo_gt=torch.zeros_like(picture), gt=picture)
    assert set(terms) == {"edge", "total"} and torch.isfinite(terms["total"])
    terms["total"].backward()
    with torch.no_grad():
        after = edge_loss(output - 1e-4 * output.grad / output.grad.abs().max(), picture)
    assert after < terms["edge"]


def test_the_loss_is_computed_in_fp32_under_bf16_autocast():
    picture = _batch(seeded_frame(3, 64, 64))
    blurred = F.avg_pool2d(picture, 3, 1, 1, count_include_pad=False)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under_autocast = edge_loss(blurred, picture)
    assert under_autocast.dtype == torch.float32
    assert abs(under_autocast.item() - edge_loss(blurred, picture).item()) < 1e-6


def test_edge_mask_covers_the_edge_and_its_radius_and_nothing_in_flat_areas():
    from apisr.losses.edge import edge_mask

    image = torch.full((1, 3, 24, 24), 0.5)
    image[..., 12:, :] = 0.6  # a horizontal edge of 22 luma levels
    mask = edge_mask(image, threshold=20, radius=1)
    rows = mask[0, 0].amax(dim=1)
    assert rows.nonzero().flatten().tolist() == [10, 11, 12, 13]
    assert edge_mask(image, threshold=30, radius=1)[..., 2:-2, 2:-2].sum() == 0  # too faint for that threshold
