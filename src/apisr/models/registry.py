"""The model registry: every generator architecture apisr can load, and how to tell them apart.

Each architecture lives in its own module (``grl.py``, ``rrdb.py``, ``compact.py``, ...)
and registers one :class:`Architecture`: a name, a ``detect`` function that looks at a
state dict's keys and shapes and returns the hyper-parameters when they fit (or None),
and a ``build`` function that makes the module from those hyper-parameters.

:func:`load_model` reads any checkpoint file (see :mod:`apisr.models.checkpoint`),
detects its architecture, loads it strictly and wraps it in a :class:`ModelDescriptor`
that tells the inference engine what it needs to know: scale, channels, which half
precisions are safe, and the size the input must be a multiple of.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

StateDict = Mapping[str, torch.Tensor]


class UnknownModelError(ValueError):
    """A checkpoint whose keys and shapes match no registered architecture."""


@dataclass(frozen=True)
class Architecture:
    name: str
    detect: Callable[[StateDict], dict[str, Any] | None]
    build: Callable[..., nn.Module]
    # Properties of every model of this architecture:
    supports_fp16: bool = True
    supports_bf16: bool = True
    # The module pads odd sizes itself when this is 1; otherwise callers pad to a multiple.
    size_multiple: int = 1
    # Pixels of input context each output pixel depends on, for choosing tile overlap.
    receptive_field: int = 32
    description: str = ""
    # Small hyper-parameter sets (one per supported scale at least) that tests build
    # and run quickly; each dict is passed to ``build`` and must contain ``scale``.
    examples: tuple[dict[str, Any], ...] = ()


@dataclass
class ModelDescriptor:
    """A loaded model and what the inference engine needs to know about it."""

    architecture: Architecture
    model: nn.Module
    hyperparameters: dict[str, Any]
    scale: int
    in_channels: int = 3
    out_channels: int = 3
    metadata: dict[str, str] = field(default_factory=dict)
    source: str = ""

    @property
    def name(self) -> str:
        return self.architecture.name

    @property
    def supports_fp16(self) -> bool:
        return self.architecture.supports_fp16

    @property
    def supports_bf16(self) -> bool:
        return self.architecture.supports_bf16

    @property
    def size_multiple(self) -> int:
        return self.architecture.size_multiple

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        return self.model(image)

    def to(self, device: torch.device | str) -> "ModelDescriptor":
        self.model.to(device)
        return self


ARCHITECTURES: dict[str, Architecture] = {}


def register(architecture: Architecture) -> Architecture:
    if architecture.name in ARCHITECTURES:
        raise ValueError(f"architecture {architecture.name!r} is registered twice")
    ARCHITECTURES[architecture.name] = architecture
    return architecture


def build_model(name: str, **hyperparameters: Any) -> nn.Module:
    """A freshly initialised generator of a registered architecture."""
    _import_architectures()
    try:
        architecture = ARCHITECTURES[name]
    except KeyError:
        raise UnknownModelError(f"unknown architecture {name!r}; known: {', '.join(sorted(ARCHITECTURES))}") from None
    return architecture.build(**hyperparameters)


def detect_architecture(state_dict: StateDict) -> tuple[Architecture, dict[str, Any]]:
    """The registered architecture whose detector accepts these keys and shapes."""
    _import_architectures()
    for architecture in ARCHITECTURES.values():
        hyperparameters = architecture.detect(state_dict)
        if hyperparameters is not None:
            return architecture, hyperparameters
    sample = ", ".join(list(state_dict)[:6])
    raise UnknownModelError(
        f"no known architecture matches this state dict ({len(state_dict)} tensors; first keys: {sample}); "
        f"known architectures: {', '.join(sorted(ARCHITECTURES))}"
    )


def descriptor_from_state_dict(
    state_dict: StateDict, metadata: Mapping[str, str] | None = None, source: str = ""
) -> ModelDescriptor:
    """Build and strictly load the model; metadata naming a registered architecture wins over detection."""
    from .checkpoint import hyperparameters_from_metadata

    _import_architectures()
    declared = hyperparameters_from_metadata(metadata or {})
    if declared is not None and declared[0] in ARCHITECTURES:
        architecture, hyperparameters = ARCHITECTURES[declared[0]], declared[1]
    else:
        architecture, hyperparameters = detect_architecture(state_dict)
    try:
        model = architecture.build(**hyperparameters)
    except (TypeError, ValueError) as err:
        raise UnknownModelError(f"cannot build {architecture.name}({_format(hyperparameters)}): {err}") from None
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as err:
        # load_state_dict lists every mismatch; the first two lines say enough.
        summary = " ".join(str(err).split("\n")[:2]).strip()
        raise UnknownModelError(
            f"the tensors do not fit {architecture.name}({_format(hyperparameters)}): {summary}"
        ) from None
    model.eval().requires_grad_(False)
    return ModelDescriptor(
        architecture=architecture,
        model=model,
        hyperparameters=hyperparameters,
        scale=int(hyperparameters["scale"]),
        in_channels=int(hyperparameters.get("in_channels", 3)),
        out_channels=int(hyperparameters.get("out_channels", 3)),
        metadata=dict(metadata or {}),
        source=source,
    )


def load_model(path: str | Path, device: torch.device | str = "cpu") -> ModelDescriptor:
    """Load any supported checkpoint file and detect its architecture from keys and shapes."""
    from .checkpoint import CheckpointError, read_state_dict

    state_dict, metadata = read_state_dict(path)
    try:
        descriptor = descriptor_from_state_dict(state_dict, metadata, source=str(path))
    except (UnknownModelError, CheckpointError) as err:
        raise type(err)(f"{path}: {err}") from None
    return descriptor.to(device)


def _format(hyperparameters: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in sorted(hyperparameters.items()))


def _import_architectures() -> None:
    # Importing the modules registers them; kept here so that `registry` itself has no cycle.
    from . import architectures  # noqa: F401
