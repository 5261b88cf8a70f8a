"""Sessions, uploads and upscaling jobs of the web UI, free of any HTTP detail.

Every browser session gets its own temporary folder under the server's root folder; the
uploads and results of its jobs live there and nowhere else. Files are named by the
server (``3-input.png``), never after anything in a request, and are served back by job
id and item index only. A session's folder is deleted when the page says goodbye, when
it has been idle for ``session_ttl`` seconds, and when the server stops.

Jobs run one at a time on a single worker thread: one model at a time is what the
machine can afford, and a queue is fairer than thrashing.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from apisr.infer.video_formats import VIDEO_EXTENSIONS

# Suffixes the browser can show as they are; other pictures (TIFF) get a PNG preview.
BROWSER_IMAGES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".avif"}


class Cancelled(Exception):
    """The job's session ended while it ran."""


class UploadError(ValueError):
    """An upload the server will not take; the message is shown in the page as it is."""


@dataclass(frozen=True)
class JobSettings:
    model_id: str
    outscale: float | None
    precision: str
    tile: int | str


@dataclass
class Item:
    name: str  # the uploaded file's name, for display only
    kind: str  # "image" or "video"
    input: Path
    preview: Path  # what the page shows as "before"
    output: Path | None = None
    size: tuple[int, int] | None = None
    out_size: tuple[int, int] | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Job:
    id: str
    settings: JobSettings
    items: list[Item]
    state: str = "queued"  # queued, running, done, failed
    progress: float = 0.0
    message: str = ""
    cancelled: bool = False

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "state": self.state,
            "progress": round(self.progress, 4),
            "message": self.message,
            "items": [
                {
                    "index": index,
                    "name": item.name,
                    "kind": item.kind,
                    "size": item.size,
                    "out_size": item.out_size,
                    "error": item.error,
                    "notes": item.notes,
                    "done": item.output is not None,
                }
                for index, item in enumerate(self.items)
            ],
        }


@dataclass
class Session:
    token: str
    folder: Path
    last_seen: float
    jobs: dict[str, Job] = field(default_factory=dict)
    counter: int = 0

    def new_path(self, suffix: str, role: str) -> Path:
        """A fresh file name chosen by the server."""
        self.counter += 1
        return self.folder / f"{self.counter}-{role}{suffix}"


class Sessions:
    """All live sessions and their folders under one temporary root."""

    def __init__(self, ttl: float):
        self.ttl = ttl
        self.root = Path(tempfile.mkdtemp(prefix="apisr-serve-"))
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def get(self, token: str | None) -> Session:
        """The session for a cookie value, or a new one; sweeps out idle sessions on the way."""
        now = time.monotonic()
        with self._lock:
            for stale in [s for s in self._sessions.values() if now - s.last_seen > self.ttl]:
                self._drop(stale)
            session = self._sessions.get(token or "")
            if session is None:
                token = secrets.token_urlsafe(24)
                folder = self.root / secrets.token_hex(8)
                folder.mkdir()
                session = self._sessions[token] = Session(token, folder, now)
            session.last_seen = now
            return session

    def find(self, token: str | None) -> Session | None:
        """The live session for a cookie value, without creating one."""
        with self._lock:
            session = self._sessions.get(token or "")
            if session is not None:
                session.last_seen = time.monotonic()
            return session

    def end(self, token: str | None) -> None:
        with self._lock:
            session = self._sessions.get(token or "")
            if session is not None:
                self._drop(session)

    def close(self) -> None:
        with self._lock:
            for session in list(self._sessions.values()):
                self._drop(session)
        shutil.rmtree(self.root, ignore_errors=True)

    def _drop(self, session: Session) -> None:
        for job in session.jobs.values():
            job.cancelled = True
        del self._sessions[session.token]
        shutil.rmtree(session.folder, ignore_errors=True)


class Worker:
    """Runs jobs one after the other; ``run_item(job, item, on_progress)`` does the upscaling."""

    def __init__(self, run_item: Callable[[Job, Item, Callable[[float], None]], None]):
        self.run_item = run_item
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="apisr-serve-job")

    def submit(self, job: Job) -> None:
        self._executor.submit(self._run, job)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _run(self, job: Job) -> None:
        job.state = "running"
        count = len(job.items)
        failed = 0
        for index, item in enumerate(job.items):
            if job.cancelled:
                return
            job.message = f"upscaling {item.name} ({index + 1} of {count})"

            def on_progress(fraction: float, index=index) -> None:
                if job.cancelled:
                    raise Cancelled
                job.progress = (index + min(max(fraction, 0.0), 1.0)) / count

            try:
                self.run_item(job, item, on_progress)
            except Cancelled:
                return
            except Exception as err:  # noqa: BLE001 - one bad file must not stop the others
                item.error = f"{item.name}: {err}"
                failed += 1
            job.progress = (index + 1) / count
        job.state = "failed" if failed == count else "done"
        job.message = f"{count - failed} of {count} upscaled" + (f", {failed} failed" if failed else "")


def classify_upload(path: Path, name: str, max_pixels: int) -> tuple[str, tuple[int, int]]:
    """``("image"|"video", (width, height))`` for a file the server can upscale, else :class:`UploadError`.

    Decided by content, not by the name a browser sent.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            size = image.size
            image.verify()
    except Image.DecompressionBombError:
        raise UploadError(f"{name}: more pixels than this server takes ({max_pixels:,})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        size = None
    if size is not None:
        if size[0] * size[1] > max_pixels:
            raise UploadError(f"{name}: {size[0]}x{size[1]} is more pixels than this server takes ({max_pixels:,})")
        return "image", size
    import av

    try:
        with av.open(str(path)) as container:
            if container.streams.video and container.format.name not in IMAGE_DEMUXERS:
                context = container.streams.video[0].codec_context
                return "video", (context.width, context.height)
    except av.error.FFmpegError:
        pass
    raise UploadError(f"{name}: not an image or a video this server can read")


# FFmpeg also opens single pictures and raw text as "video"; those are not videos to upscale.
IMAGE_DEMUXERS = {"image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "gif", "tty"}


def upload_suffix(kind: str, name: str) -> str:
    """The suffix to store an upload under: the sent one when it is a known kind, else a neutral one."""
    suffix = Path(name).suffix.lower()
    if kind == "video":
        return suffix if suffix in VIDEO_EXTENSIONS else ".mkv"
    return suffix if suffix in BROWSER_IMAGES | {".tif", ".tiff"} else ".img"
