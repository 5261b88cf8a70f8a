"""Model names -> files: paths, bundled models, published files from the (offline) cache, and clear errors."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from apisr.hub import RemoteFile, WeightsNotFound
from apisr.models import zoo


def test_an_existing_path_resolves_to_itself(tmp_path):
    path = tmp_path / "mine.pth"
    path.write_bytes(b"x")
    assert zoo.resolve(path) == path
    assert zoo.resolve(str(path)) == path


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(zoo.ModelNotFound) as err:
        zoo.resolve("no-such-model")
    message = str(err.value)
    assert "no-such-model" in message
    for name in ("apisr-grl-4x", "realesr-animevideov3", zoo.DEFAULT_MODEL):
        assert name in message


def test_a_missing_path_and_a_folder_are_named(tmp_path):
    with pytest.raises(zoo.ModelNotFound, match="no such checkpoint file"):
        zoo.resolve(tmp_path / "gone.pth")
    with pytest.raises(zoo.ModelNotFound, match="is a folder"):
        zoo.resolve(tmp_path)


def _fake_published(monkeypatch, content: bytes, sha256: str | None):
    """Swap the realesr-animevideov3 entry for one pinned to ``sha256`` and cache ``content`` under its name."""
    original = zoo.PUBLISHED["realesr-animevideov3"]
    remote = RemoteFile(original.remote.filename, original.remote.url, sha256)
    monkeypatch.setitem(zoo.PUBLISHED, original.name, zoo.PublishedModel(original.name, original.scale, remote))
    cached = Path(os.environ["APISR_CACHE"]) / "weights" / remote.filename
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(content)
    return cached


def test_published_name_resolves_to_the_cached_file_offline(monkeypatch):
    content = b"fake weights"
    cached = _fake_published(monkeypatch, content, hashlib.sha256(content).hexdigest())
    assert zoo.resolve("realesr-animevideov3") == cached
    assert zoo.resolve("realesr-animevideov3.pth") == cached  # the published file name works as a name too


def test_published_file_with_wrong_sha256_is_refused(monkeypatch):
    _fake_published(monkeypatch, b"tampered", hashlib.sha256(b"original").hexdigest())
    with pytest.raises(WeightsNotFound, match="does not match"):
        zoo.resolve("realesr-animevideov3")


def test_published_file_absent_offline_says_where_to_get_it():
    with pytest.raises(WeightsNotFound) as err:
        zoo.resolve("realesrgan-anime-6b")
    message = str(err.value)
    assert "RealESRGAN_x4plus_anime_6B.pth" in message and "https://github.com/xinntao/Real-ESRGAN" in message


def test_missing_default_model_is_an_explicit_error(monkeypatch, tmp_path):
    monkeypatch.setattr(zoo, "BUNDLED_DIR", tmp_path)
    assert zoo.bundled_models() == []
    with pytest.raises(zoo.ModelNotFound, match=f"default model '{zoo.DEFAULT_MODEL}' is not installed"):
        zoo.resolve(None)


def test_bundled_models_are_listed_and_resolved(monkeypatch, tmp_path):
    monkeypatch.setattr(zoo, "BUNDLED_DIR", tmp_path)
    (tmp_path / f"{zoo.DEFAULT_MODEL}.safetensors").write_bytes(b"x")
    (tmp_path / "compact-2x.safetensors").write_bytes(b"x")
    (tmp_path / "compact-2x.md").write_text("model card")
    assert zoo.bundled_models() == ["compact-2x", zoo.DEFAULT_MODEL]
    assert zoo.resolve(None) == tmp_path / f"{zoo.DEFAULT_MODEL}.safetensors"
    assert zoo.resolve("compact-2x") == tmp_path / "compact-2x.safetensors"
    assert "compact-2x" in zoo.known_names()


def test_every_published_model_points_at_a_release_asset():
    for model in zoo.PUBLISHED.values():
        assert model.remote.url.startswith("https://github.com/") and "/releases/download/" in model.remote.url
        assert model.remote.url.endswith("/" + model.remote.filename)
        assert model.remote.sha256 is None or len(model.remote.sha256) == 64


def test_shipped_bundled_models_load_with_their_card_and_scale():
    from apisr.models.registry import load_model

    names = zoo.bundled_models()
    assert zoo.DEFAULT_MODEL in names
    for name in names:
        model = load_model(zoo.resolve(name))
        assert f"-{model.scale}x" in name, name
        assert model.name == "compact" and model.hyperparameters["upsample"] == "bicubic"
        assert zoo.bundled_path(name).with_suffix(".md").is_file(), f"{name} has no model card"
