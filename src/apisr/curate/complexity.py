"""Image-complexity scorers: IC9600's ICNet, or a documented weight-free measure.

Both map an RGB float image to a score in [0, 1], higher = more complex. Which
one ran is part of every result (``scorer.name``), and choosing the fallback
because no weights were found is announced by :func:`resolve_scorer` through its
``warning``: the caller prints it and records it in its manifest. There is no
silent switch.

The weight-free measure (``fallback-v1``) averages two cues that track how much
is drawn in a frame:

* compressed size: JPEG (quality 90) bits per pixel of the 512x512 grey image,
  divided by 4 and capped at 1 (flat colour compresses to ~0.1 bpp, dense line
  art to 2-4 bpp);
* edge density: the fraction of Canny edge pixels (thresholds 50/150) of that
  grey image, divided by 0.15 and capped at 1.

It ranks frames plausibly (flat < detailed) but is not calibrated to IC9600's
scale, so scores from the two scorers must not be compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from apisr.curate.defaults import SCORER_CHOICES
from apisr.images import to_uint8

FALLBACK_NAME = "fallback-v1"
ICNET_NAME = "icnet-ic9600"


class Scorer(Protocol):
    name: str

    def score(self, images: list[np.ndarray]) -> list[float]: ...


class FallbackScorer:
    """Compressed-size ratio and edge density, see the module docstring."""

    name = FALLBACK_NAME
    size = 512

    def score(self, images: list[np.ndarray]) -> list[float]:
        return [self._score_one(image) for image in images]

    def _score_one(self, image: np.ndarray) -> float:
        grey = cv2.cvtColor(to_uint8(image), cv2.COLOR_RGB2GRAY)
        grey = cv2.resize(grey, (self.size, self.size), interpolation=cv2.INTER_AREA)
        ok, encoded = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        bits_per_pixel = encoded.size * 8 / grey.size
        edge_density = np.count_nonzero(cv2.Canny(grey, 50, 150)) / grey.size
        return float(0.5 * min(1.0, bits_per_pixel / 4.0) + 0.5 * min(1.0, edge_density / 0.15))


class ICNetScorer:
    """ICNet scores, batched; one model per process."""

    name = ICNET_NAME

    def __init__(self, weights: str | Path, device: str = "cpu", batch_size: int = 4) -> None:
        from apisr.curate.icnet import load_icnet

        self.device = device
        self.batch_size = batch_size
        self.model = load_icnet(weights, device)

    def score(self, images: list[np.ndarray]) -> list[float]:
        import torch

        from apisr.curate.icnet import preprocess

        scores: list[float] = []
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                batch = preprocess(images[start : start + self.batch_size]).to(self.device)
                scores += self.model.score(batch).float().cpu().tolist()
        return scores


@dataclass(frozen=True)
class ScorerChoice:
    """What :func:`build_scorer` will build, decided once in the main process."""

    kind: str  # "icnet" or "fallback"
    weights: str | None = None
    warning: str | None = None  # set when the fallback replaces a missing ICNet

    @property
    def name(self) -> str:
        return ICNET_NAME if self.kind == "icnet" else FALLBACK_NAME


def resolve_scorer(mode: str = "auto", weights: str | None = None, url: str | None = None,
                   sha256: str | None = None) -> ScorerChoice:
    """Find ICNet weights for ``mode`` (see ``SCORER_CHOICES``) or say loudly why the fallback is used.

    ``weights``: an explicit file (must exist). ``url``: a direct download URL
    fetched into the cache (checked against ``sha256`` when given). Otherwise the
    cache is searched for ``ck.pth``; the default URL (a Google Drive folder) is
    never downloaded from, only shown. ``mode="icnet"`` raises where ``auto``
    falls back; ``fallback`` never looks for weights.
    """
    from apisr.curate.icnet import ICNET_WEIGHTS
    from apisr.hub import RemoteFile, WeightsNotFound, fetch, weights_cache_dir

    if mode not in SCORER_CHOICES:
        raise ValueError(f"unknown complexity scorer {mode!r} (choose from {', '.join(SCORER_CHOICES)})")
    if mode == "fallback":
        return ScorerChoice("fallback")
    if weights is not None:
        if not Path(weights).is_file():
            raise FileNotFoundError(f"{weights}: complexity weights file not found")
        return ScorerChoice("icnet", str(weights))
    if url is not None:
        remote = RemoteFile(ICNET_WEIGHTS.filename, url, sha256, ICNET_WEIGHTS.description)
        return ScorerChoice("icnet", str(fetch(remote)))
    cached = weights_cache_dir() / ICNET_WEIGHTS.filename
    if cached.is_file():
        return ScorerChoice("icnet", str(cached))
    reason = (
        f"ICNet weights {ICNET_WEIGHTS.filename} not found (looked in {cached.parent}; get them from "
        f"{ICNET_WEIGHTS.url} and pass --complexity-weights PATH or put them there)"
    )
    if mode == "icnet":
        raise WeightsNotFound(reason)
    return ScorerChoice(
        "fallback",
        warning=f"WARNING: {reason}. Using the weight-free complexity measure {FALLBACK_NAME} instead: "
        "its scores are not IC9600 scores.",
    )


def build_scorer(choice: ScorerChoice, device: str = "cpu") -> Scorer:
    if choice.kind == "icnet":
        return ICNetScorer(choice.weights, device)
    return FallbackScorer()
