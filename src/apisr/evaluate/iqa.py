"""The paper's learned no-reference metrics, MANIQA and CLIPIQA, through pyiqa when present.

They need pyiqa (``pip install apisr[iqa]``) and its pretrained weights, which pyiqa
fetches into its own cache on first use. When either is missing the metric is "not
computed" with the reason: the report never shows a number that was not measured.
Both are higher-is-better scores in about [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

LEARNED = ("maniqa", "clipiqa")


@dataclass
class LearnedMetric:
    name: str
    score: Callable[[np.ndarray], float] | None
    reason: str = ""  # why ``score`` is None


def load_learned_metrics(device: str = "cpu", enabled: bool = True) -> list[LearnedMetric]:
    """Each of MANIQA and CLIPIQA, ready to score, or unavailable with the reason."""
    if not enabled:
        return [LearnedMetric(name, None, "switched off (--no-iqa)") for name in LEARNED]
    try:
        import pyiqa
    except ImportError:
        return [LearnedMetric(name, None, "pyiqa is not installed (pip install 'apisr[iqa]')") for name in LEARNED]
    metrics = []
    for name in LEARNED:
        try:
            model = pyiqa.create_metric(name, device=device, as_loss=False)
        except Exception as err:  # noqa: BLE001 (pyiqa raises anything from a failed download to a bad file)
            first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
            metrics.append(LearnedMetric(name, None, f"pyiqa could not load it: {first_line}"))
            continue
        metrics.append(LearnedMetric(name, _scorer(model, device)))
    return metrics


def _scorer(model, device: str) -> Callable[[np.ndarray], float]:
    import torch

    from apisr.images import to_tensor

    def score(image: np.ndarray) -> float:
        with torch.inference_mode():
            return float(model(to_tensor(image).to(device)).item())

    return score
