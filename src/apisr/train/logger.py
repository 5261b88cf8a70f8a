"""Run logs: ``metrics.jsonl`` always, TensorBoard event files when the tensorboard package is installed."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

log = logging.getLogger("apisr.train")


class RunLogger:
    def __init__(self, run_dir: Path, tensorboard: bool = True) -> None:
        self.path = run_dir / "metrics.jsonl"
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(run_dir / "tensorboard"))
            except ImportError:
                log.info("tensorboard is not installed: logging to %s only (pip install tensorboard)", self.path)

    def scalars(self, iteration: int, values: dict[str, float]) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"iteration": iteration, "time": time.time(), **values}) + "\n")
        if self.writer:
            for key, value in values.items():
                self.writer.add_scalar(key, value, iteration)

    def image(self, iteration: int, tag: str, image: np.ndarray) -> None:
        """An RGB float HxWx3 image (TensorBoard only; PNG samples are written by the trainer)."""
        if self.writer:
            self.writer.add_image(tag, image, iteration, dataformats="HWC")

    def close(self) -> None:
        if self.writer:
            self.writer.close()
