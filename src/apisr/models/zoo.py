"""Model names and the files behind them.

Two kinds of named models:

- **bundled**: trained by this project and shipped inside the package as
  ``apisr/weights/<name>.safetensors`` (fp16, with a model card ``<name>.md`` beside it).
  :func:`bundled_models` lists those present. The default, :data:`DEFAULT_MODEL`, is one.
- **published**: other projects' released checkpoints, fetched once into the weights
  cache by :func:`apisr.hub.fetch` (sha256-checked where a hash is known).

:func:`resolve` turns what a user typed (a path, a name, or nothing) into a file.
There is no silent fallback: a missing default is an error that says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..hub import RemoteFile, fetch

DEFAULT_MODEL = "compact-4x"
BUNDLED_DIR = Path(__file__).resolve().parents[1] / "weights"
CHECKPOINT_SUFFIXES = (".safetensors", ".pth", ".pt", ".ckpt", ".bin")

_APISR = "https://github.com/Kiteretsu77/APISR/releases/download"
_REAL_ESRGAN = "https://github.com/xinntao/Real-ESRGAN/releases/download"


class ModelNotFound(FileNotFoundError):
    """A model spec that is neither an existing file nor an available named model."""


@dataclass(frozen=True)
class PublishedModel:
    name: str
    scale: int
    remote: RemoteFile


PUBLISHED: dict[str, PublishedModel] = {
    model.name: model
    for model in (
        PublishedModel(
            "apisr-grl-4x",
            4,
            RemoteFile(
                "4x_APISR_GRL_GAN_generator.pth",
                f"{_APISR}/v0.1.0/4x_APISR_GRL_GAN_generator.pth",
                "56fff250139563dea59c4ca81af19cc098d94dc3abaad23640f14cec488e5da1",
                "APISR GRL-tiny 4x, the paper model",
            ),
        ),
        PublishedModel(
            "apisr-rrdb-2x",
            2,
            RemoteFile(
                "2x_APISR_RRDB_GAN_generator.pth",
                f"{_APISR}/v0.1.0/2x_APISR_RRDB_GAN_generator.pth",
                "3b0d2b3a3c0461ac17d00f4f32240666fb832b738ea5a48449b1acf07fbb07e5",
                "APISR RRDB-6 2x",
            ),
        ),
        PublishedModel(
            "apisr-rrdb-4x",
            4,
            RemoteFile(
                "4x_APISR_RRDB_GAN_generator.pth",
                f"{_APISR}/v0.2.0/4x_APISR_RRDB_GAN_generator.pth",
                # Not checked: the only hash seen is a third-party mirror's, not confirmed elsewhere.
                None,
                "APISR RRDB-6 4x (its authors warn of possible colour artefacts)",
            ),
        ),
        PublishedModel(
            "realesr-animevideov3",
            4,
            RemoteFile(
                "realesr-animevideov3.pth",
                f"{_REAL_ESRGAN}/v0.2.5.0/realesr-animevideov3.pth",
                # The release asset (2,504,012 bytes). Copies re-saved by other tools hold the
                # same tensors but other bytes: load such a copy by its path instead.
                "b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d",
                "Real-ESRGAN AnimeVideo-v3, compact 4x",
            ),
        ),
        PublishedModel(
            "realesrgan-anime-6b",
            4,
            RemoteFile(
                "RealESRGAN_x4plus_anime_6B.pth",
                f"{_REAL_ESRGAN}/v0.2.2.4/RealESRGAN_x4plus_anime_6B.pth",
                "f872d837d3c90ed2e05227bed711af5671a6fd1c9f7d7e91c911a61f155e99da",
                "Real-ESRGAN x4plus anime, RRDB-6 4x",
            ),
        ),
    )
}


def bundled_models() -> list[str]:
    """Names of the bundled models installed with this copy of apisr."""
    return sorted(path.stem for path in BUNDLED_DIR.glob("*.safetensors"))


def bundled_path(name: str) -> Path:
    return BUNDLED_DIR / f"{name}.safetensors"


def known_names() -> list[str]:
    return sorted({DEFAULT_MODEL, *bundled_models(), *PUBLISHED})


def resolve(spec: str | Path | None = None, weights_dir: str | Path | None = None) -> Path:
    """The checkpoint file for ``spec``: None (the default model), a path, or a known name.

    A published model's own file name (``RealESRGAN_x4plus_anime_6B.pth``) works as a
    name too. ``weights_dir`` is searched first for published files (see :func:`apisr.hub.fetch`).
    """
    spec = DEFAULT_MODEL if spec is None else spec
    path = Path(spec)
    if path.is_file():
        return path
    if path.is_dir():
        raise ModelNotFound(f"{path}: is a folder, not a checkpoint file")
    name = str(spec)
    if bundled_path(name).is_file():
        return bundled_path(name)
    published = PUBLISHED.get(name) or next((m for m in PUBLISHED.values() if m.remote.filename == name), None)
    if published is not None:
        return fetch(published.remote, weights_dir)
    if name == DEFAULT_MODEL:
        raise ModelNotFound(
            f"the default model {DEFAULT_MODEL!r} is not installed: {bundled_path(name)} does not exist "
            f"(this copy of apisr ships without it). Pass a checkpoint file or one of: {', '.join(sorted(PUBLISHED))}"
        )
    if isinstance(spec, Path) or "/" in name or "\\" in name or path.suffix.lower() in CHECKPOINT_SUFFIXES:
        raise ModelNotFound(f"{spec}: no such checkpoint file")
    raise ModelNotFound(f"unknown model {name!r}: not a file and not a known name; known names: {', '.join(known_names())}")
