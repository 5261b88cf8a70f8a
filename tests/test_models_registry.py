"""Every registered generator, at every scale its examples cover: shapes, training, save/load round trips.

The cases are read from the registry when the tests are collected, so an architecture
added later (with its ``examples``) is tested here without editing this file.
"""

from __future__ import annotations

import pytest
import torch

from apisr.models import architectures  # noqa: F401  (registers every architecture)
from apisr.models.checkpoint import model_metadata, save_safetensors
from apisr.models.registry import ARCHITECTURES, UnknownModelError, build_model, load_model

CASES = [
    pytest.param(name, hp, id=f"{name}-x{hp['scale']}-{index}")
    for name, architecture in sorted(ARCHITECTURES.items())
    for index, hp in enumerate(architecture.examples)
]


def _randomised(name: str, hp: dict, seed: int = 0) -> torch.nn.Module:
    """A model whose weights are all non-trivial (default inits leave biases near zero)."""
    torch.manual_seed(seed)
    model = build_model(name, **hp)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * 0.02)
    return model.eval()


def _input(seed: int = 1, height: int = 13, width: int = 11) -> torch.Tensor:
    return torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_architecture_gives_examples(name):
    examples = ARCHITECTURES[name].examples
    if not examples:
        # Shown by -ra: the architecture is then untested here until its module adds some.
        pytest.skip(f"{name} registers no examples=(...) in its Architecture, so the tests below skip it")
    for hp in examples:
        assert isinstance(hp.get("scale"), int), f"{name} example {hp} lacks an integer scale"


@pytest.mark.parametrize("name, hp", CASES)
def test_output_is_scale_times_input_for_odd_sizes(name, hp):
    model = _randomised(name, hp)
    with torch.no_grad():
        for height, width in ((13, 11), (7, 9)):
            out = model(_input(height=height, width=width))
            assert out.shape == (1, 3, height * hp["scale"], width * hp["scale"])
            assert torch.isfinite(out).all()


@pytest.mark.parametrize("name, hp", CASES)
def test_one_training_step_is_finite_and_changes_weights(name, hp):
    model = build_model(name, **hp).train()
    before = [p.detach().clone() for p in model.parameters()]
    x = _input(height=12, width=12)
    target = torch.rand(1, 3, 12 * hp["scale"], 12 * hp["scale"], generator=torch.Generator().manual_seed(2))
    loss = torch.nn.functional.l1_loss(model(x), target)
    loss.backward()
    # A plain SGD step by hand: building a torch.optim optimiser costs seconds of imports the first time.
    with torch.no_grad():
        for param in model.parameters():
            if param.grad is not None:
                param -= 1e-2 * param.grad
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def _half_rounded(state_dict):
    return {k: v.half().float() if v.is_floating_point() else v for k, v in state_dict.items()}


def _prefixed(state_dict, prefix):
    return {prefix + k: v for k, v in state_dict.items()}


def _write(fmt: str, directory, name: str, hp: dict, state_dict: dict):
    """Write ``state_dict`` the way format ``fmt`` does; return the file."""
    pth = directory / "model.pth"
    decoy = {k: v + 1 if v.is_floating_point() else v for k, v in state_dict.items()}
    if fmt == "bare":
        torch.save(state_dict, pth)
    elif fmt == "model_state_dict":
        torch.save({"model_state_dict": state_dict, "iteration": 7}, pth)
    elif fmt == "params_ema":
        # params_ema must win over params, whatever the order in the file.
        torch.save({"params": decoy, "params_ema": state_dict}, pth)
    elif fmt == "params":
        torch.save({"params": state_dict}, pth)
    elif fmt == "state_dict":
        torch.save({"state_dict": state_dict}, pth)
    elif fmt == "module_prefix":
        torch.save(_prefixed(state_dict, "module."), pth)
    elif fmt == "orig_mod_prefix":
        torch.save({"model_state_dict": _prefixed(state_dict, "_orig_mod.")}, pth)
    elif fmt == "fp16_pth":
        torch.save({k: v.half() if v.is_floating_point() else v for k, v in state_dict.items()}, pth)
    else:
        path = directory / "model.safetensors"
        metadata = model_metadata(name, hp) if fmt.endswith("metadata") else {}
        save_safetensors(path, state_dict, metadata, half=fmt.startswith("safetensors_fp16"))
        return path
    return pth


FORMATS = [
    "bare",
    "model_state_dict",
    "params_ema",
    "params",
    "state_dict",
    "module_prefix",
    "orig_mod_prefix",
    "fp16_pth",
    "safetensors_fp32",
    "safetensors_fp32_metadata",
    "safetensors_fp16",
    "safetensors_fp16_metadata",
]


# Every format with each architecture's first example; its other scales with two formats
# (the wrappers themselves are architecture-blind, see test_models_checkpoint.py).
ROUND_TRIPS = [
    pytest.param(name, hp, fmt, id=f"{name}-x{hp['scale']}-{index}-{fmt}")
    for name, architecture in sorted(ARCHITECTURES.items())
    for index, hp in enumerate(architecture.examples)
    for fmt in (FORMATS if index == 0 else ("bare", "safetensors_fp16_metadata"))
]


_REFERENCES: dict[tuple[str, str, bool], tuple[dict, torch.Tensor]] = {}


def _reference(name: str, hp: dict, half: bool) -> tuple[dict, torch.Tensor]:
    """The example's weights and its output on ``_input()`` (with fp16-rounded weights when ``half``).

    Computed once per example and shared by the formats: some architectures are slow to run.
    """
    key = (name, repr(sorted(hp.items())), half)
    if key not in _REFERENCES:
        model = _randomised(name, hp)
        state_dict = {k: v.clone() for k, v in model.state_dict().items()}
        if half:
            model.load_state_dict(_half_rounded(state_dict))
        with torch.no_grad():
            _REFERENCES[key] = state_dict, model(_input())
    return _REFERENCES[key]


@pytest.mark.parametrize("name, hp, fmt", ROUND_TRIPS)
def test_save_detect_load_round_trip(tmp_path, name, hp, fmt):
    state_dict, expected = _reference(name, hp, half="fp16" in fmt)
    path = _write(fmt, tmp_path, name, hp, state_dict)

    descriptor = load_model(path)

    assert descriptor.name == name
    assert descriptor.scale == hp["scale"]
    for key, value in hp.items():
        assert descriptor.hyperparameters.get(key, value) == value, key
    with torch.no_grad():
        assert torch.equal(descriptor(_input()), expected)
    if fmt.endswith("metadata"):
        assert descriptor.metadata["apisr.architecture"] == name


def test_unknown_state_dict_names_what_was_found(tmp_path):
    path = tmp_path / "mystery.pth"
    torch.save({"encoder.weight": torch.zeros(4, 3, 3, 3), "encoder.bias": torch.zeros(4)}, path)
    with pytest.raises(UnknownModelError) as err:
        load_model(path)
    message = str(err.value)
    assert str(path) in message and "encoder.weight" in message and "2 tensors" in message
    for name in ARCHITECTURES:
        assert name in message


def test_declared_hyperparameters_that_do_not_fit_are_a_clear_error(tmp_path):
    name, hp = CASES[0].values
    model = _randomised(name, hp)
    wrong = {**hp, "scale": next(s for s in (1, 2, 3, 4) if s != hp["scale"])}
    path = tmp_path / "liar.safetensors"
    save_safetensors(path, model.state_dict(), model_metadata(name, wrong))
    with pytest.raises(UnknownModelError, match=rf"liar\.safetensors.*(do not fit|cannot build) {name}"):
        load_model(path)
