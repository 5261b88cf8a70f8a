"""RRDBNet: the paper's parameter counts, and strict loading of Real-ESRGAN's and APISR's key layouts."""

from __future__ import annotations

import pytest
import torch

from apisr.models.registry import UnknownModelError, build_model, load_model


def _count(model):
    return sum(p.numel() for p in model.parameters())


def test_parameter_counts_match_the_paper():
    assert _count(build_model("rrdb", scale=4, num_block=6)) == 4_467_779
    assert _count(build_model("rrdb", scale=2, num_block=6)) == 4_472_963


def _published_layout(scale: int, num_block: int = 6, num_feat: int = 64, grow: int = 32) -> dict:
    """Keys and shapes of a published RRDB-6 file, written out here from its description."""
    folded_in = {4: 3, 2: 12, 1: 48}[scale]
    torch.manual_seed(scale)
    layout = {"conv_first": (num_feat, folded_in)}
    for block in range(num_block):
        for rdb in (1, 2, 3):
            for conv in range(1, 6):
                out = grow if conv < 5 else num_feat
                layout[f"body.{block}.rdb{rdb}.conv{conv}"] = (out, num_feat + (conv - 1) * grow)
    for name in ("conv_body", "conv_up1", "conv_up2", "conv_hr"):
        layout[name] = (num_feat, num_feat)
    layout["conv_last"] = (3, num_feat)
    state_dict = {}
    for name, (out, inp) in layout.items():
        state_dict[f"{name}.weight"] = torch.randn(out, inp, 3, 3) * 0.01
        state_dict[f"{name}.bias"] = torch.randn(out) * 0.01
    return state_dict


@pytest.mark.parametrize(
    "scale, wrapper",
    [(4, "params_ema"), (2, "model_state_dict")],
    ids=["RealESRGAN_x4plus_anime_6B", "2x_APISR_RRDB_GAN_generator"],
)
def test_published_layouts_load_strictly(tmp_path, scale, wrapper):
    state_dict = _published_layout(scale)
    assert len(state_dict) == 192
    path = tmp_path / "published.pth"
    torch.save({wrapper: state_dict}, path)

    descriptor = load_model(path)

    assert descriptor.name == "rrdb" and descriptor.scale == scale
    assert descriptor.hyperparameters["num_block"] == 6 and descriptor.hyperparameters["num_feat"] == 64
    for key, value in descriptor.model.state_dict().items():
        assert torch.equal(value, state_dict[key])
    with torch.no_grad():
        assert descriptor(torch.rand(1, 3, 7, 5)).shape == (1, 3, 7 * scale, 5 * scale)


def test_block_count_and_width_are_read_from_the_keys(tmp_path):
    state_dict = _published_layout(1, num_block=2, num_feat=16, grow=8)
    torch.save(state_dict, tmp_path / "small.pth")
    hp = load_model(tmp_path / "small.pth").hyperparameters
    assert (hp["scale"], hp["num_block"], hp["num_feat"], hp["num_grow_ch"]) == (1, 2, 16, 8)


def test_a_missing_block_is_not_taken_for_rrdb(tmp_path):
    state_dict = {k: v for k, v in _published_layout(4, num_block=2).items() if not k.startswith("body.1.rdb3")}
    torch.save(state_dict, tmp_path / "broken.pth")
    with pytest.raises(UnknownModelError, match="no known architecture"):
        load_model(tmp_path / "broken.pth")


def test_a_wrong_shape_is_a_clear_error(tmp_path):
    state_dict = _published_layout(4, num_block=1)
    state_dict["conv_hr.weight"] = torch.zeros(64, 64, 1, 1)
    torch.save(state_dict, tmp_path / "wrong.pth")
    with pytest.raises(UnknownModelError, match=r"wrong\.pth: the tensors do not fit rrdb"):
        load_model(tmp_path / "wrong.pth")
