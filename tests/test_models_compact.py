"""The compact generator: Real-ESRGAN SRVGGNetCompact key layout, detection, and the real AnimeVideo-v3 file."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from apisr.models.registry import build_model, load_model
from apisr.synthetic import synthetic_frame


def _srvgg_layout(num_feat: int, num_conv: int, scale: int) -> dict:
    """A state dict in Real-ESRGAN's SRVGGNetCompact layout, written out here from its description."""
    torch.manual_seed(num_conv)
    state_dict = {"body.0.weight": torch.randn(num_feat, 3, 3, 3) * 0.1, "body.0.bias": torch.randn(num_feat) * 0.1}
    index = 1
    for _ in range(num_conv):
        state_dict[f"body.{index}.weight"] = torch.rand(num_feat) * 0.3  # PReLU slopes
        state_dict[f"body.{index + 1}.weight"] = torch.randn(num_feat, num_feat, 3, 3) * 0.05
        state_dict[f"body.{index + 1}.bias"] = torch.randn(num_feat) * 0.05
        index += 2
    state_dict[f"body.{index}.weight"] = torch.rand(num_feat) * 0.3
    state_dict[f"body.{index + 1}.weight"] = torch.randn(3 * scale * scale, num_feat, 3, 3) * 0.05
    state_dict[f"body.{index + 1}.bias"] = torch.randn(3 * scale * scale) * 0.05
    return state_dict


@pytest.mark.parametrize("scale", [1, 2, 3, 4])
def test_srvgg_layout_is_detected_and_loaded_strictly(tmp_path, scale):
    state_dict = _srvgg_layout(num_feat=8, num_conv=3, scale=scale)
    path = tmp_path / "srvgg.pth"
    torch.save({"params": state_dict}, path)

    descriptor = load_model(path)

    assert descriptor.name == "compact"
    assert descriptor.hyperparameters == {"scale": scale, "num_feat": 8, "num_conv": 3, "in_channels": 3}
    assert descriptor.model.state_dict().keys() == state_dict.keys()


def test_forward_is_body_pixel_shuffle_plus_nearest_upsampled_input():
    model = build_model("compact", scale=3, num_feat=8, num_conv=2).eval()
    x = torch.rand(1, 3, 5, 7)
    with torch.no_grad():
        expected = F.pixel_shuffle(model.body(x), 3) + F.interpolate(x, scale_factor=3, mode="nearest")
        assert torch.allclose(model(x), expected, atol=1e-6)
        assert torch.allclose(model(x.to(memory_format=torch.channels_last)), expected, atol=1e-5)


def test_bicubic_base_survives_export_and_training_checkpoints(tmp_path):
    from apisr.models.checkpoint import model_metadata, save_safetensors

    hyperparameters = {"scale": 2, "num_feat": 8, "num_conv": 2, "upsample": "bicubic"}
    model = build_model("compact", **hyperparameters).eval()
    with torch.no_grad():
        model.body[-1].weight.zero_()
        model.body[-1].bias.zero_()
    x = torch.rand(1, 3, 6, 5)
    with torch.no_grad():
        # No residual: the output is exactly the bicubic base.
        assert torch.allclose(model(x), F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False))
    save_safetensors(tmp_path / "m.safetensors", model.state_dict(), model_metadata("compact", hyperparameters))
    config = {"model": {"architecture": "compact", "scale": 2, "hyperparameters": {k: v for k, v in
              hyperparameters.items() if k != "scale"}}}
    torch.save({"params_ema": model.state_dict(), "config": config}, tmp_path / "last.pt")
    torch.save({"params": model.state_dict()}, tmp_path / "bare.pth")
    for name in ("m.safetensors", "last.pt"):
        loaded = load_model(tmp_path / name)
        assert loaded.hyperparameters["upsample"] == "bicubic"
        with torch.no_grad():
            assert torch.allclose(loaded.model(x), model(x), atol=1e-6)
    # Keys alone cannot tell the base: a foreign file is Real-ESRGAN's nearest layout.
    assert load_model(tmp_path / "bare.pth").model.upsample == "nearest"
    with pytest.raises(ValueError, match="upsample"):
        build_model("compact", upsample="bilinear")


def test_realesrgan_parameter_count():
    assert sum(p.numel() for p in build_model("compact", scale=4).parameters()) == 621_424


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))


@pytest.mark.parametrize("downscale", [cv2.INTER_AREA, cv2.INTER_CUBIC], ids=["area", "bicubic"])
def test_realesr_animevideov3_beats_bicubic_on_a_clean_cartoon(shared_dir, downscale):
    path = shared_dir / "weights" / "realesrgan" / "realesr-animevideov3.pth"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    descriptor = load_model(path)
    assert descriptor.hyperparameters == {"scale": 4, "num_feat": 64, "num_conv": 16, "in_channels": 3}

    # Drawn at 4x with thick lines and area-shrunk, so the lines are anti-aliased and still about a
    # pixel wide in the 40x40 input: detail a 4x upscaler can recover.
    drawing = synthetic_frame(640, 640, np.random.default_rng(0), shapes=6, strokes=4, line_width=12)
    original = cv2.resize(drawing, (160, 160), interpolation=cv2.INTER_AREA)
    small = np.clip(cv2.resize(original, (40, 40), interpolation=downscale), 0, 1)
    bicubic = np.clip(cv2.resize(small, (160, 160), interpolation=cv2.INTER_CUBIC), 0, 1)
    with torch.no_grad():
        upscaled = descriptor(torch.from_numpy(small).permute(2, 0, 1)[None]).clamp(0, 1)[0].permute(1, 2, 0).numpy()

    assert _psnr(original, upscaled) > _psnr(original, bicubic) + 1.5


def test_fresh_network_responds_to_its_input_and_starts_near_its_base():
    # With PyTorch's default init the signal died in the 17-conv stack (an output change of 1e-8 for
    # an input change of 0.05), so training learned only biases at first.
    torch.manual_seed(0)
    model = build_model("compact", scale=4, num_feat=64, num_conv=16, upsample="bicubic").eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        change = (model.body(x + 0.05 * torch.randn_like(x)) - model.body(x)).abs().mean().item()
        residual = (model(x) - F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)).abs().mean().item()
    assert change > 1e-3
    assert residual < 0.2
