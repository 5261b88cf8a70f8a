"""Reading every checkpoint wrapper this field uses, refusing what is unsafe, and writing safetensors."""

from __future__ import annotations

import json
import os

import pytest
import torch
from safetensors import safe_open

from apisr.models.checkpoint import (
    CheckpointError,
    hyperparameters_from_metadata,
    model_metadata,
    read_state_dict,
    save_safetensors,
)


def _state_dict():
    torch.manual_seed(0)
    return {"conv.weight": torch.randn(4, 3, 3, 3), "conv.bias": torch.randn(4), "steps": torch.tensor(3)}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class NotATensor:
    """Pickling this needs the class itself: weights_only loading must refuse it."""


@pytest.mark.parametrize(
    "wrap",
    [
        lambda sd: sd,
        lambda sd: {"model_state_dict": sd, "iteration": 100, "opt": {"lr": 1e-4}},
        lambda sd: {"params": sd},
        lambda sd: {"state_dict": sd, "epoch": 3},
        lambda sd: {f"module.{k}": v for k, v in sd.items()},
        lambda sd: {"model_state_dict": {f"_orig_mod.{k}": v for k, v in sd.items()}},
        lambda sd: {"state_dict": {f"_orig_mod.module.{k}": v for k, v in sd.items()}},
    ],
    ids=["bare", "model_state_dict", "params", "state_dict", "module", "orig_mod", "both_prefixes"],
)
def test_reads_every_wrapper(tmp_path, wrap):
    sd = _state_dict()
    path = tmp_path / "ckpt.pth"
    torch.save(wrap(sd), path)
    loaded, metadata = read_state_dict(path)
    assert _same(loaded, sd)
    assert metadata == {}


def test_prefers_params_ema_over_params(tmp_path):
    sd = _state_dict()
    other = {k: v + 1 for k, v in sd.items()}
    for order in ({"params_ema": sd, "params": other}, {"params": other, "params_ema": sd}):
        torch.save(order, tmp_path / "ema.pth")
        assert _same(read_state_dict(tmp_path / "ema.pth")[0], sd)


def test_half_tensors_are_widened_to_float32(tmp_path):
    sd = _state_dict()
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in sd.items()}, tmp_path / "h.pth")
    loaded, _ = read_state_dict(tmp_path / "h.pth")
    assert loaded["conv.weight"].dtype == torch.float32
    assert loaded["steps"].dtype == sd["steps"].dtype
    assert torch.allclose(loaded["conv.weight"], sd["conv.weight"], atol=2e-3)


def test_safetensors_round_trip_with_metadata_and_half(tmp_path):
    sd = _state_dict()
    metadata = model_metadata("compact", {"scale": 2, "num_feat": 4}, model_card="# card")
    full = save_safetensors(tmp_path / "m.safetensors", sd, metadata)
    half = save_safetensors(tmp_path / "h.safetensors", sd, metadata, half=True)

    loaded, read_metadata = read_state_dict(full)
    assert _same(loaded, sd)
    assert read_metadata == metadata
    assert read_metadata["apisr.scale"] == "2" and read_metadata["apisr.model_card"] == "# card"
    assert hyperparameters_from_metadata(read_metadata) == ("compact", {"scale": 2, "num_feat": 4})
    with safe_open(str(half), framework="pt") as handle:
        assert handle.get_tensor("conv.weight").dtype == torch.float16
        assert handle.get_tensor("steps").dtype == sd["steps"].dtype
    assert read_state_dict(half)[0]["conv.weight"].dtype == torch.float32
    assert half.stat().st_size < full.stat().st_size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.safetensors", "m.safetensors"]  # no temp files left
    umask = os.umask(0o022)
    try:
        shared = save_safetensors(tmp_path / "shared.safetensors", sd, metadata)
    finally:
        os.umask(umask)
    assert shared.stat().st_mode & 0o777 == 0o644  # readable by others, like any new file; not mkstemp's 0600


def test_save_handles_shared_storage_and_rejects_non_text_metadata(tmp_path):
    weight = torch.randn(4, 4)
    tied = {"a.weight": weight, "b.weight": weight, "view": weight[0]}
    path = save_safetensors(tmp_path / "tied.safetensors", tied, {})
    assert _same(read_state_dict(path)[0], {k: v.clone() for k, v in tied.items()})

    before = path.read_bytes()
    with pytest.raises(TypeError, match="str"):
        save_safetensors(path, tied, {"apisr.scale": 4})
    assert path.read_bytes() == before


def test_metadata_without_declaration_or_with_bad_json():
    assert hyperparameters_from_metadata({"format": "pt"}) is None
    with pytest.raises(CheckpointError, match="JSON"):
        hyperparameters_from_metadata({"apisr.architecture": "rrdb", "apisr.hyperparameters": "{nope"})
    declared = hyperparameters_from_metadata(model_metadata("rrdb", {"scale": 4}))
    assert declared == ("rrdb", {"scale": 4})
    assert json.loads(model_metadata("rrdb", {"scale": 4})["apisr.hyperparameters"]) == {"scale": 4}


def _write_bytes(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.pth", "no such checkpoint file"),
        (lambda d: _write_bytes(d / "empty.pth", b""), "empty"),
        (lambda d: _write_bytes(d / "garbage.pth", b"\x00\x01this is not a checkpoint" * 10), "not a PyTorch checkpoint"),
        (lambda d: _write_bytes(d / "garbage.safetensors", b"\xff" * 64), "not a readable safetensors"),
    ],
    ids=["missing", "empty", "garbage_pth", "garbage_safetensors"],
)
def test_unreadable_files_get_one_clear_line_naming_the_file(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(CheckpointError) as err:
        read_state_dict(path)
    text = str(err.value)
    assert str(path) in text and message in text and "\n" not in text


def test_refuses_files_that_need_arbitrary_unpickling(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"model": NotATensor(), "conv.weight": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match="refusing to load") as err:
        read_state_dict(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    "content, message",
    [
        ({"iteration": 5, "optimizer": {"lr": 1}}, "no state dict found"),
        ([torch.zeros(1)], "holds a list"),
        ({}, "holds a dict"),
    ],
    ids=["no_tensors", "list", "empty_dict"],
)
def test_files_without_a_state_dict(tmp_path, content, message):
    path = tmp_path / "odd.pth"
    torch.save(content, path)
    with pytest.raises(CheckpointError, match=message):
        read_state_dict(path)
