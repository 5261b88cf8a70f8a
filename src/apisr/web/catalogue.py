"""The models the web UI offers: the bundled ones and the checkpoints in a folder the user names.

Each model has an id the page sends back (``bundled:compact-4x``, ``folder:my-4x.pth``); the
server maps ids to files from its own listing, so a request can never name another file.
The scale shown next to each name is read from the checkpoint's tensors (cached by file
modification time), without building the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from apisr.models import zoo


@dataclass(frozen=True)
class Entry:
    id: str
    name: str
    source: str  # "bundled" or "folder"
    path: Path
    scale: int | None
    architecture: str | None

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "source": self.source, "scale": self.scale,
                "architecture": self.architecture}


class Catalogue:
    def __init__(self, models_dir: Path | None):
        self.models_dir = models_dir
        self._details: dict[tuple[Path, float], tuple[int | None, str | None]] = {}

    def entries(self) -> list[Entry]:
        files = [("bundled", name, zoo.bundled_path(name)) for name in zoo.bundled_models()]
        if self.models_dir is not None and self.models_dir.is_dir():
            files += [
                ("folder", path.name, path)
                for path in sorted(self.models_dir.iterdir())
                if path.is_file() and path.suffix.lower() in zoo.CHECKPOINT_SUFFIXES
            ]
        return [Entry(f"{source}:{name}", name, source, path, *self._detail(path)) for source, name, path in files]

    def default_id(self) -> str | None:
        entries = self.entries()
        preferred = f"bundled:{zoo.DEFAULT_MODEL}"
        return preferred if any(e.id == preferred for e in entries) else (entries[0].id if entries else None)

    def has(self, model_id: str) -> bool:
        return any(entry.id == model_id for entry in self.entries())

    def path(self, model_id: str) -> Path:
        for entry in self.entries():
            if entry.id == model_id:
                return entry.path
        raise KeyError(model_id)

    def _detail(self, path: Path) -> tuple[int | None, str | None]:
        key = (path, path.stat().st_mtime)
        if key not in self._details:
            from apisr.models.checkpoint import read_state_dict
            from apisr.models.registry import detect_architecture

            try:
                architecture, hyperparameters = detect_architecture(read_state_dict(path)[0])
                self._details[key] = (int(hyperparameters["scale"]), architecture.name)
            except Exception:  # noqa: BLE001 - listed anyway; loading it will say what is wrong
                self._details[key] = (None, None)
        return self._details[key]
