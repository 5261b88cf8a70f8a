"""Shared fixtures.

``shared_dir`` points at the project's ``../shared`` folder (real anime frames, clips and
peer weights). Users and CI without it get a clear skip, never a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


def pytest_configure(config):
    # Under pytest-xdist each worker is its own process: one torch thread each keeps
    # two workers on two cores from fighting over them.
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: this test needs the project's shared data")
    return SHARED


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's real cache, and none may download."""
    monkeypatch.setenv("APISR_CACHE", str(tmp_path_factory.mktemp("apisr-cache")))
    monkeypatch.setenv("APISR_OFFLINE", "1")
