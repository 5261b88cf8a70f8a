"""A tiny synthetic training dataset and config for the training tests (see tests/test_train_*.py).

The folder looks like `apisr prepare` output (hr/, hr_enhanced/, val/hr/); the config is the
shipped smoke config shrunk further: a compact generator with 8 features, 32px HR patches.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from apisr.synthetic import synthetic_frame
from apisr.images import save_rgb


def make_dataset(root: Path, images: int = 4, size: int = 128) -> Path:
    rng = np.random.default_rng(7)
    for i in range(images):
        frame = synthetic_frame(size, size, rng)
        save_rgb(root / "hr" / f"{i:03d}.png", frame)
        # A stand-in for the line-enhanced pseudo-GT: darker lines, like the real enhancement.
        save_rgb(root / "hr_enhanced" / f"{i:03d}.png", np.clip(frame * 1.1 - 0.05, 0, 1))
    save_rgb(root / "val" / "hr" / "000.png", synthetic_frame(size, size, rng))
    return root


def overrides(dataset: Path, runs: Path, name: str = "t", iterations: int = 20, **extra: object) -> list[str]:
    """KEY=VALUE overrides of train_smoke for a run that takes seconds."""
    items = {
        "data.dataset": dataset, "runs_dir": runs, "name": name, "iterations": iterations,
        "model.hyperparameters": "{num_feat: 8, num_conv: 2}", "data.hr_patch": 32, "data.batch_size": 2,
        "data.val_patch": 32, "data.val_images": 1, "log_every": 5, "val_every": 10, "save_every": 10,
        **extra,
    }
    return [f"{k}={v}" for k, v in items.items()]
