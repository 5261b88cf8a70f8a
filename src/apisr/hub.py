"""Fetching published weights into a local cache, checked by sha256.

A :class:`RemoteFile` names a file that lives on a hub (a URL and its sha256).
:func:`fetch` returns its local path, looking in this order:

1. an explicit directory the user gave (``weights_dir``, e.g. ``--weights-dir``);
2. the cache, ``$APISR_CACHE`` or ``~/.cache/apisr`` (``weights/`` inside it);
3. a download from the URL into the cache, unless ``APISR_OFFLINE=1``.

A file whose sha256 does not match is never used. When no step succeeds the error
names the file, the URL and the folders where the user can put it by hand.
There is no silent fallback to other weights.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path


class WeightsNotFound(FileNotFoundError):
    """A required weights file is neither on disk nor downloadable."""


@dataclass(frozen=True)
class RemoteFile:
    filename: str
    url: str
    sha256: str | None  # None only where no hash is published: such a file is not checked
    description: str = ""


def cache_dir() -> Path:
    root = os.environ.get("APISR_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "apisr"


def weights_cache_dir() -> Path:
    return cache_dir() / "weights"


def offline() -> bool:
    return os.environ.get("APISR_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fetch(remote: RemoteFile, weights_dir: str | Path | None = None, progress: bool = True) -> Path:
    """Return a verified local copy of ``remote`` (see module docstring for the search order)."""
    candidates = []
    if weights_dir is not None:
        candidates.append(Path(weights_dir) / remote.filename)
    cached = weights_cache_dir() / remote.filename
    candidates.append(cached)
    for path in candidates:
        if path.is_file():
            _verify(remote, path)
            return path
    if offline():
        raise WeightsNotFound(_missing_message(remote, candidates, "APISR_OFFLINE is set, so nothing is downloaded"))
    try:
        _download(remote, cached, progress)
    except OSError as err:  # URLError is an OSError
        raise WeightsNotFound(_missing_message(remote, candidates, f"download failed: {err}")) from None
    return cached


def _verify(remote: RemoteFile, path: Path) -> None:
    if remote.sha256 is None:
        return
    actual = sha256_of(path)
    if actual != remote.sha256:
        raise WeightsNotFound(
            f"{path}: sha256 {actual} does not match the expected {remote.sha256} for "
            f"{remote.filename} ({remote.url}); delete the file and fetch it again"
        )


def _download(remote: RemoteFile, target: Path, progress: bool) -> None:
    from tqdm import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False) as tmp:
        tmp_path = Path(tmp.name)
        try:
            with urllib.request.urlopen(remote.url, timeout=60) as response:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=remote.filename, disable=not progress) as bar:
                    while block := response.read(1 << 20):
                        tmp.write(block)
                        bar.update(len(block))
        except BaseException:
            tmp.close()
            tmp_path.unlink(missing_ok=True)
            raise
    try:
        _verify(remote, tmp_path)
    except WeightsNotFound:
        tmp_path.unlink(missing_ok=True)
        raise
    shutil.move(str(tmp_path), target)


def _missing_message(remote: RemoteFile, looked_in: list[Path], reason: str) -> str:
    places = " or ".join(str(p.parent) for p in looked_in)
    what = f" ({remote.description})" if remote.description else ""
    return (
        f"weights file {remote.filename}{what} not found: {reason}. "
        f"Download it from {remote.url} and put it in {places}"
    )
