"""The `apisr serve` HTTP API without a browser: limits, isolation, clean-up, and video jobs."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from apisr.cli.main import build_parser
from video_samples import frame_times_ms, save_model, write_clip
from web_server import drawn_picture

MODEL = "folder:tiny-2x.safetensors"


@pytest.fixture
def app(tmp_path):
    from apisr.web.app import ServerSettings, create_app

    models = tmp_path / "models"
    models.mkdir()
    save_model(models / "tiny-2x.safetensors", scale=2)
    (models / "notes.txt").write_text("not a model")  # not offered: not a checkpoint suffix
    return create_app(ServerSettings(models_dir=models, device="cpu", max_upload_bytes=200_000))


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        client.get("/")
        yield client


def _wait(client, job_id: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise TimeoutError(job)


def test_models_are_offered_by_id_only(client):
    from apisr.models.zoo import bundled_models

    listing = client.get("/api/models").json()
    offered = [(m["id"], m["scale"], m["architecture"]) for m in listing["models"]]
    # The bundled models come first, then the folder's; every one is named by an id, never a path.
    assert [i for i, _, _ in offered[:-1]] == [f"bundled:{name}" for name in bundled_models()]
    assert offered[-1] == (MODEL, 2, "compact")
    assert listing["default"] in [i for i, _, _ in offered]


def test_a_request_cannot_name_a_file_on_the_server(client, tmp_path):
    picture = drawn_picture(tmp_path / "a.png", (32, 24)).read_bytes()
    for model in ("/etc/passwd", "../models/tiny-2x.safetensors", "folder:../tiny-2x.safetensors"):
        response = client.post("/api/jobs", data={"model": model}, files=[("files", ("a.png", picture))])
        assert response.status_code == 400 and "unknown model" in response.json()["error"]
    response = client.post("/api/jobs", data={"model": MODEL}, files=[("files", ("../../evil.png", picture))])
    job = _wait(client, response.json()["id"])
    assert job["items"][0]["name"] == "evil.png" and job["state"] == "done"
    assert not (tmp_path.parent / "evil.png").exists()


def test_uploads_over_the_limit_are_refused(client):
    big = io.BytesIO()
    Image.effect_noise((400, 400), 60).convert("RGB").save(big, format="PNG")
    assert big.tell() > 200_000
    response = client.post("/api/jobs", data={"model": MODEL}, files=[("files", ("big.png", big.getvalue()))])
    assert response.status_code == 413
    assert "at most 0.190735 MiB" in response.json()["error"]


def test_jobs_belong_to_their_session_and_end_with_it(app, client, tmp_path):
    from fastapi.testclient import TestClient

    picture = drawn_picture(tmp_path / "a.png", (32, 24)).read_bytes()
    job = client.post("/api/jobs", data={"model": MODEL, "outscale": "3"}, files=[("files", ("a.png", picture))]).json()
    job = _wait(client, job["id"])
    assert job["items"][0]["out_size"] == [96, 72]
    output = client.get(f"/api/jobs/{job['id']}/items/0/output?download=1")
    assert Image.open(io.BytesIO(output.content)).size == (96, 72)
    assert output.headers["content-disposition"] == 'attachment; filename="a_x3.png"'

    stranger = TestClient(app)  # another browser: its own cookie (not a context manager: no second lifespan)
    assert stranger.get(f"/api/jobs/{job['id']}").status_code == 404
    assert stranger.get(f"/api/jobs/{job['id']}/items/0/output").status_code == 404

    root = app.state.sessions.root
    assert any(root.rglob("*output.png"))
    assert client.post("/api/session/end").status_code == 204
    assert not any(root.rglob("*.png"))
    assert client.get(f"/api/jobs/{job['id']}").status_code == 404


def test_a_video_job_reports_progress_and_gives_a_video(client, tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", [0, 40, 80, 120, 200, 240])
    response = client.post("/api/jobs", data={"model": MODEL, "precision": "fp32"}, files=[("files", ("clip.mp4", clip.read_bytes()))])
    job = _wait(client, response.json()["id"])
    assert job["state"] == "done" and job["progress"] == 1.0
    assert job["items"][0]["kind"] == "video" and job["items"][0]["out_size"] == [128, 96]
    result = tmp_path / "result.mp4"
    result.write_bytes(client.get(f"/api/jobs/{job['id']}/items/0/output?download=1").content)
    assert frame_times_ms(result) == [0, 40, 80, 120, 200, 240]


def test_serve_binds_to_localhost_by_default():
    args = build_parser(["serve"]).parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 7860)
