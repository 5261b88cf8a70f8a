"""Training checkpoints: written atomically, loadable with ``torch.load(weights_only=True)``.

A run folder holds ``last.pt`` (always the newest), ``best.pt`` (best validation PSNR)
and ``checkpoints/iter_XXXXXXXX.pt`` (the newest ``keep_last``). Each file is written to
a temporary name, flushed to disk and renamed over the old one, so a run killed at any
moment (even mid-write, even ``kill -9``) leaves the previous complete file in place.
Numbered files are hard links to ``last.pt`` where the file system allows.

Contents are plain containers of tensors and numbers: state dicts of the generator
(``params``), its EMA (``params_ema``, BasicSR's names, so that any apisr model loader reads
a checkpoint as a generator file), the discriminator, optimisers, schedulers and the gradient scaler, the iteration, the
RNG states as tensors, the best metric, and the resolved config as a dict.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch

LAST, BEST, NUMBERED_DIR = "last.pt", "best.pt", "checkpoints"


def save_atomic(state: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_training_checkpoint(state: dict[str, Any], run_dir: Path, keep_last: int) -> Path:
    """Write ``last.pt`` and a numbered copy, then delete numbered copies beyond ``keep_last``."""
    last = run_dir / LAST
    save_atomic(state, last)
    if keep_last > 0:
        folder = run_dir / NUMBERED_DIR
        folder.mkdir(exist_ok=True)
        numbered = folder / f"iter_{state['iteration']:08d}.pt"
        numbered.unlink(missing_ok=True)
        try:
            os.link(last, numbered)
        except OSError:
            shutil.copyfile(last, numbered)
        for old in sorted(folder.glob("iter_*.pt"))[:-keep_last]:
            old.unlink()
    return last


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    return torch.load(path, map_location=device, weights_only=True)


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
