"""MANIQA/CLIPIQA through pyiqa: used when it works, "not computed" with the reason otherwise."""

from __future__ import annotations

import sys
import types

import numpy as np
import torch

from apisr.evaluate.iqa import load_learned_metrics


def fake_pyiqa(failing: set[str]) -> types.ModuleType:
    module = types.ModuleType("pyiqa")

    def create_metric(name, device="cpu", as_loss=False):
        if name in failing:
            raise RuntimeError(f"cannot download weights for {name}\nsecond line")
        # A stand-in scorer: the mean brightness, so the test can predict the value.
        return lambda tensor: tensor.mean().reshape(1)

    module.create_metric = create_metric
    return module


def test_missing_pyiqa_means_not_computed(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyiqa", None)  # makes `import pyiqa` raise ImportError
    metrics = load_learned_metrics()
    assert [m.name for m in metrics] == ["maniqa", "clipiqa"]
    assert all(m.score is None and "pyiqa is not installed" in m.reason for m in metrics)


def test_pyiqa_scores_are_used_and_failures_explained(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyiqa", fake_pyiqa(failing={"clipiqa"}))
    maniqa, clipiqa = load_learned_metrics()
    image = np.full((8, 8, 3), 0.25, np.float32)
    assert maniqa.score is not None and maniqa.score(image) == torch.tensor(0.25).item()
    assert clipiqa.score is None and clipiqa.reason == "pyiqa could not load it: cannot download weights for clipiqa"


def test_switched_off(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyiqa", fake_pyiqa(failing=set()))
    assert all(m.score is None and "--no-iqa" in m.reason for m in load_learned_metrics(enabled=False))
