"""Dataset statistics for comparing frame collections, as the paper compares its dataset with AVC.

Per image: the complexity score (same scorers as curation), the frame size, and a
sharpness measure: the variance of the Laplacian of the grey image after bringing
it to 720 lines (larger frames are downscaled first, so datasets of different
resolutions are measured at the same scale), grey levels 0-255. Higher = more high-frequency detail.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from apisr.curate.defaults import TARGET_HEIGHT
from apisr.curate.rescale import rescale_to_height


def sharpness(image: np.ndarray) -> float:
    grey = cv2.cvtColor(rescale_to_height(image, TARGET_HEIGHT).astype(np.float32, copy=False), cv2.COLOR_RGB2GRAY)
    # On the 0-255 scale, the usual one for this measure.
    return float(cv2.Laplacian(grey * 255.0, cv2.CV_32F).var())


def summarise(values: list[float], bins: np.ndarray) -> dict:
    array = np.asarray(values, dtype=np.float64)
    counts, _ = np.histogram(array, bins=bins)
    return {
        "mean": float(array.mean()), "median": float(np.median(array)),
        "min": float(array.min()), "max": float(array.max()),
        "histogram": {"edges": [float(e) for e in bins], "counts": counts.tolist()},
    }


def dataset_summary(name: str, complexity: list[float], sharp: list[float], sizes: list[tuple[int, int]],
                    complexity_bins: np.ndarray, sharpness_bins: np.ndarray) -> dict:
    resolutions = Counter(f"{w}x{h}" for w, h in sizes)
    return {
        "dataset": name,
        "images": len(sizes),
        "complexity": summarise(complexity, complexity_bins),
        "sharpness": summarise(sharp, sharpness_bins),
        "resolutions": dict(resolutions.most_common()),
    }


def plot(summaries: list[dict], scorer: str, path: Path) -> None:
    """Complexity and sharpness histograms of every dataset, overlaid, into one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    panels = ((axes[0], "complexity", f"complexity ({scorer})"),
              (axes[1], "sharpness", "sharpness (Laplacian variance at 720p)"))
    for ax, key, label in panels:
        for summary in summaries:
            hist = summary[key]["histogram"]
            edges, counts = np.asarray(hist["edges"]), np.asarray(hist["counts"], dtype=np.float64)
            share = counts / max(1.0, counts.sum())
            ax.stairs(share, edges, label=f"{summary['dataset']} (n={summary['images']}, median {summary[key]['median']:.3g})")
        ax.set_xlabel(label)
        ax.set_ylabel("share of images")
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
