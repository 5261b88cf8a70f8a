"""The ``apisr serve`` web application: a FastAPI server and one small self-contained page.

Routes (all JSON except the page and the files):

- ``GET /``: the page (``static/index.html``, ``app.js``, ``style.css``; no CDN, works offline);
- ``GET /api/models``: bundled models and the checkpoints of ``--models-dir``;
- ``POST /api/jobs``: multipart upload of one or more pictures or videos plus settings; a
  file that is neither is refused with a one-line reason (HTTP 400), one over the size
  limit with HTTP 413;
- ``GET /api/jobs/{id}``: state and progress; ``GET /api/jobs/{id}/items/{n}/{input|output}``:
  the files, by index (``?download=1`` as an attachment);
- ``POST /api/session/end``: the page leaves; its folder is deleted.

A request never names a path on the server: models are chosen by catalogue id, files by
job id and index, and everything a session uploads lives in its own temporary folder.
"""

from __future__ import annotations

import re
import secrets
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from apisr.web.catalogue import Catalogue
from apisr.web.jobs import (
    BROWSER_IMAGES,
    Item,
    Job,
    JobSettings,
    Sessions,
    UploadError,
    Worker,
    classify_upload,
    upload_suffix,
)

STATIC = Path(__file__).with_name("static")
COOKIE = "apisr_session"
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
MAX_FILES = 64
CHUNK = 1 << 20


@dataclass(frozen=True)
class ServerSettings:
    models_dir: Path | None = None
    device: str = "auto"
    max_upload_bytes: int = 512 << 20
    max_pixels: int = 50_000_000
    session_ttl: float = 3600.0


class Engines:
    """The last used :class:`~apisr.infer.engine.Upscaler`, rebuilt only when the settings change."""

    def __init__(self, catalogue: Catalogue, device: str):
        self.catalogue, self.device = catalogue, device
        self._key = None
        self._engine = None
        self._lock = threading.Lock()

    def get(self, settings: JobSettings):
        from apisr.infer.engine import Upscaler
        from apisr.models.registry import load_model

        key = (settings.model_id, settings.precision, settings.tile)
        with self._lock:
            if key != self._key:
                self._engine = None  # free the old model before loading the next
                descriptor = load_model(self.catalogue.path(settings.model_id))
                self._engine = Upscaler(descriptor, self.device, settings.precision, settings.tile)
                self._key = key
            return self._engine


def run_item(engines: Engines, job: Job, item: Item, on_progress) -> None:
    """Upscale one uploaded file into the session's folder."""
    upscaler = engines.get(job.settings)
    outscale = job.settings.outscale
    if item.kind == "video":
        from apisr.infer.video import VideoOptions, upscale_video

        # MP4 stays MP4 (it plays in browsers, and holds what the input held); anything else becomes MKV.
        suffix = item.input.suffix if item.input.suffix in (".mp4", ".m4v", ".mov") else ".mkv"
        output = item.input.with_name(item.input.stem.replace("input", "output") + suffix)
        report = upscale_video(
            item.input,
            output,
            upscaler,
            VideoOptions(outscale=outscale),
            progress=False,
            on_batch=lambda done, total: on_progress(done / total if total else 0.5),
        )
        item.notes = report.notes + report.problems
        item.out_size = (report.width, report.height)
    else:
        from apisr.infer.api import upscale_picture
        from apisr.infer.imageio import read_image, write_image

        colour, alpha, info = read_image(item.input)
        colour, alpha = upscale_picture(upscaler, colour, alpha, outscale)
        output = item.input.with_name(item.input.stem.replace("input", "output") + ".png")
        write_image(output, colour, alpha, info.bit_depth, info.icc_profile)
        item.out_size = (colour.shape[1], colour.shape[0])
    item.output = output


def create_app(settings: ServerSettings = ServerSettings()) -> FastAPI:
    catalogue = Catalogue(settings.models_dir)
    sessions = Sessions(settings.session_ttl)
    engines = Engines(catalogue, settings.device)
    worker = Worker(lambda job, item, on_progress: run_item(engines, job, item, on_progress))

    @asynccontextmanager
    async def lifespan(_app):
        try:
            yield
        finally:
            worker.close()
            sessions.close()

    app = FastAPI(title="apisr", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.sessions = sessions
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def session_of(request: Request, response: Response):
        session = sessions.get(request.cookies.get(COOKIE))
        if request.cookies.get(COOKIE) != session.token:
            response.set_cookie(COOKIE, session.token, httponly=True, samesite="strict")
        return session

    @app.get("/")
    def page(request: Request):
        response = FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})
        session_of(request, response)
        return response

    @app.get("/api/models")
    def models(request: Request, response: Response):
        session_of(request, response)
        entries = catalogue.entries()
        return {
            "models": [entry.to_dict() for entry in entries],
            "default": catalogue.default_id(),
            "max_upload_bytes": settings.max_upload_bytes,
            "models_dir": str(settings.models_dir) if settings.models_dir else None,
        }

    @app.post("/api/jobs")
    async def create_job(request: Request, response: Response):
        session = session_of(request, response)
        length = int(request.headers.get("content-length") or 0)
        if length > settings.max_upload_bytes:
            return _error(413, f"the upload is {length / 2**20:.1f} MiB; this server takes at most {_mib(settings)}")
        form = await request.form(max_files=MAX_FILES, max_fields=16)
        items: list[Item] = []
        try:
            job_settings = _job_settings(form, catalogue)
            uploads = [value for value in form.getlist("files") if isinstance(value, UploadFile)]
            if not uploads:
                raise UploadError("choose one or more pictures or a video to upscale")
            budget = settings.max_upload_bytes
            for upload in uploads:
                item, size = await _store(upload, session, budget, settings)
                items.append(item)
                budget -= size
        except UploadError as err:
            for item in items:  # all or nothing: a refused request leaves no file behind
                item.input.unlink(missing_ok=True)
                item.preview.unlink(missing_ok=True)
            return _error(413 if "at most" in str(err) else 400, str(err))
        finally:
            await form.close()
        job = Job(id=_token(), settings=job_settings, items=items)
        session.jobs[job.id] = job
        worker.submit(job)
        return job.to_dict()

    @app.get("/api/jobs/{job_id}")
    def job_state(job_id: str, request: Request, response: Response):
        job = session_of(request, response).jobs.get(job_id)
        return job.to_dict() if job else _error(404, "no such job in this session")

    @app.get("/api/jobs/{job_id}/items/{index}/{which}")
    def job_file(job_id: str, index: int, which: str, request: Request, download: bool = False):
        session = sessions.find(request.cookies.get(COOKIE))
        job = session.jobs.get(job_id) if session else None
        if job is None or not 0 <= index < len(job.items) or which not in ("input", "output"):
            return _error(404, "no such file in this session")
        item = job.items[index]
        path = item.preview if which == "input" else item.output
        if path is None or not path.is_file():
            return _error(404, "not ready")
        name = _download_name(item, path)
        return FileResponse(path, filename=name if download else None, headers={"Cache-Control": "no-store"})

    @app.post("/api/session/end")
    def end_session(request: Request):
        sessions.end(request.cookies.get(COOKIE))
        return Response(status_code=204)

    return app


async def _store(upload: UploadFile, session, budget: int, settings: ServerSettings) -> tuple[Item, int]:
    """Copy one upload into the session's folder under a server-chosen name, and check what it is.

    ``budget``: bytes this request may still upload. Returns the item and its size in bytes.
    """
    name = Path(upload.filename or "upload").name[:200] or "upload"
    staging = session.new_path(".upload", "input")
    written = 0
    with staging.open("wb") as out:
        while chunk := await upload.read(CHUNK):
            written += len(chunk)
            if written > budget:
                out.close()
                staging.unlink(missing_ok=True)
                raise UploadError(f"{name}: larger than the {_mib(settings)} this server takes at most")
            out.write(chunk)
    try:
        kind, size = await run_in_threadpool(classify_upload, staging, name, settings.max_pixels)
    except UploadError:
        staging.unlink(missing_ok=True)
        raise
    path = staging.with_suffix(upload_suffix(kind, name))
    staging.rename(path)
    item = Item(name=name, kind=kind, input=path, preview=path, size=size)
    if kind == "image" and path.suffix not in BROWSER_IMAGES:
        item.preview = await run_in_threadpool(_png_preview, path)
    return item, written


def _png_preview(path: Path) -> Path:
    from PIL import Image

    preview = path.with_name(path.stem + "-preview.png")
    with Image.open(path) as image:
        image.convert("RGBA").save(preview)
    return preview


def _job_settings(form, catalogue: Catalogue) -> JobSettings:
    model_id = str(form.get("model") or catalogue.default_id() or "")
    if not catalogue.has(model_id):
        raise UploadError(f"unknown model {model_id!r}: reload the page for the current list")
    precision = str(form.get("precision") or "auto")
    if precision not in PRECISIONS:
        raise UploadError(f"precision must be one of {', '.join(PRECISIONS)}")
    outscale_text = str(form.get("outscale") or "").strip()
    try:
        outscale = float(outscale_text) if outscale_text else None
    except ValueError:
        raise UploadError(f"outscale {outscale_text!r} is not a number") from None
    if outscale is not None and not 0 < outscale <= 16:
        raise UploadError("outscale must be more than 0 and at most 16")
    tile_text = str(form.get("tile") or "auto").strip()
    if tile_text == "auto":
        tile: int | str = "auto"
    elif tile_text.isdigit() and (int(tile_text) == 0 or int(tile_text) >= 16):
        tile = int(tile_text)
    else:
        raise UploadError("tile must be auto, 0 (no tiles) or a size of at least 16 pixels")
    return JobSettings(model_id, outscale, precision, tile)


def _download_name(item: Item, path: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(item.name).stem)[:80] or "upscaled"
    if path == item.output and item.size and item.out_size:
        factor = item.out_size[0] / item.size[0]
        return f"{stem}_x{factor:g}{path.suffix}"
    return f"{stem}{path.suffix}"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _mib(settings: ServerSettings) -> str:
    return f"{settings.max_upload_bytes / 2**20:g} MiB"


def _token() -> str:
    return secrets.token_urlsafe(12)
