"""Which files are videos, by extension; free of heavy imports so the CLI and the server can ask cheaply."""

from __future__ import annotations

from pathlib import Path

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".mkv", ".mov", ".m4v", ".webm", ".avi", ".ts", ".m2ts", ".flv", ".wmv", ".mpg", ".mpeg"}
)
# Containers offered for outputs; .mkv holds every codec, audio and subtitle format, so it is the default.
OUTPUT_CONTAINERS = ("mkv", "mp4", "mov", "webm")
VIDEO_CODECS = ("libx264", "libx265", "libsvtav1", "ffv1")


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS
