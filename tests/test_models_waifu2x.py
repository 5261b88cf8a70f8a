"""waifu2x upconv_7: the network's geometry and both weight readers (JSON and MXNet)."""

from __future__ import annotations

import json
import struct

import cv2
import numpy as np
import pytest
import torch

from apisr.evaluate.metrics import psnr
from apisr.images import to_array, to_tensor
from apisr.models.registry import load_model
from apisr.models.waifu2x import CHANNELS, UpConv7, Waifu2xError, read_mxnet_params
from apisr.synthetic import seeded_frame

# (in, out) planes of upconv_7's seven layers as the published models list them.
PLANES = list(zip((3, *CHANNELS), (*CHANNELS, 3)))


def random_layers(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Weights and biases in the published layouts: convs (out, in, 3, 3), the last (in, out, 4, 4)."""
    rng = np.random.default_rng(seed)
    layers = []
    for index, (n_in, n_out) in enumerate(PLANES):
        last = index == len(PLANES) - 1
        shape = (n_in, n_out, 4, 4) if last else (n_out, n_in, 3, 3)
        # Three decimals keep the JSON text (and the test) small; float32 holds them as the reader will.
        weight, bias = (np.round(rng.normal(0, 0.05, size), 3).astype(np.float32) for size in (shape, n_out))
        layers.append((weight, bias))
    return layers


def write_json_model(path, layers) -> None:
    document = []
    for index, ((n_in, n_out), (weight, bias)) in enumerate(zip(PLANES, layers)):
        last = index == len(PLANES) - 1
        size = 4 if last else 3
        layer = {
            "class_name": "nn.SpatialFullConvolution" if last else "nn.SpatialConvolutionMM",
            "kW": size, "kH": size, "dW": 2 if last else 1, "dH": 2 if last else 1,
            "padW": 3 if last else 0, "padH": 3 if last else 0,
            "nInputPlane": n_in, "nOutputPlane": n_out,
            "weight": np.round(weight.astype(np.float64), 3).tolist(),
            "bias": np.round(bias.astype(np.float64), 3).tolist(),
        }
        if index == 0:
            layer["model_config"] = {"arch_name": "upconv_7", "scale_factor": 2, "channels": 3, "offset": 14}
        document.append(layer)
    path.write_text(json.dumps(document))


def write_mxnet_params(path, arrays: dict[str, np.ndarray]) -> None:
    """An NDArray list file as MXNet writes it (format 2, dense, on CPU, fp32)."""
    chunks = [struct.pack("<QQQ", 0x112, 0, len(arrays))]
    for array in arrays.values():
        chunks.append(struct.pack("<IiI", 0xF993FAC9, 0, array.ndim))
        chunks.append(struct.pack(f"<{array.ndim}q", *array.shape))
        chunks.append(struct.pack("<iii", 1, 0, 0))
        chunks.append(np.ascontiguousarray(array, np.float32).tobytes())
    chunks.append(struct.pack("<Q", len(arrays)))
    for name in arrays:
        chunks.append(struct.pack("<Q", len(name)) + name.encode())
    path.write_bytes(b"".join(chunks))


def mxnet_arrays(layers) -> dict[str, np.ndarray]:
    arrays = {}
    for number, (weight, bias) in enumerate(layers, start=1):
        arrays[f"arg:conv{number}_layer_weight"] = weight
        arrays[f"arg:conv{number}_layer_bias"] = bias
    return arrays


def test_upconv7_doubles_any_size_exactly():
    model = UpConv7().eval()
    assert sum(p.numel() for p in model.parameters()) == 552_483
    with torch.no_grad():
        for height, width in ((20, 24), (9, 13), (5, 6)):
            assert model(torch.rand(1, 3, height, width)).shape == (1, 3, 2 * height, 2 * width)


@pytest.fixture(scope="module")
def json_model(tmp_path_factory):
    """A 4.5 MB upconv_7 JSON written once for the module, and its layers."""
    layers = random_layers()
    path = tmp_path_factory.mktemp("waifu2x") / "scale2.0x_model.json"
    write_json_model(path, layers)
    return path, layers


def test_json_model_loads_with_the_published_layouts(json_model):
    path, layers = json_model
    descriptor = load_model(path)
    assert descriptor.name == "waifu2x_upconv7" and descriptor.scale == 2
    state = descriptor.model.state_dict()
    assert torch.equal(state["body.0.weight"], torch.from_numpy(layers[0][0]))
    assert torch.equal(state["body.10.bias"], torch.from_numpy(layers[5][1]))
    # The transposed conv keeps Torch7's (in, out, kH, kW), which is PyTorch's too.
    assert torch.equal(state["upsample.weight"], torch.from_numpy(layers[6][0]))
    assert descriptor.metadata["apisr.source_format"] == "waifu2x-json"


def test_json_reader_refuses_other_waifu2x_models(tmp_path):
    path = tmp_path / "noise0_model.json"
    path.write_text(json.dumps([{"model_config": {"arch_name": "vgg_7"}, "nInputPlane": 3}] * 7))
    with pytest.raises(Waifu2xError, match="only waifu2x upconv_7.*vgg_7"):
        load_model(path)


def test_mxnet_params_and_symbol_load_the_same_model(tmp_path):
    layers = random_layers()
    params = tmp_path / "scale2.0x_model-0000.params"
    write_mxnet_params(params, mxnet_arrays(layers))
    arrays = read_mxnet_params(params)
    assert list(arrays) == list(mxnet_arrays(layers))
    assert np.array_equal(arrays["arg:conv7_layer_weight"], layers[6][0])

    symbol = tmp_path / "scale2.0x_model-symbol.json"
    symbol.write_text(json.dumps({"nodes": [], "heads": []}))
    # The same layers as the JSON fixture, so the same state dict as the JSON reader gives.
    expected = {}
    for key, (weight, bias) in zip([f"body.{2 * i}" for i in range(6)] + ["upsample"], layers):
        expected[f"{key}.weight"], expected[f"{key}.bias"] = torch.from_numpy(weight), torch.from_numpy(bias)
    for path in (params, symbol):
        state = load_model(path).model.state_dict()
        assert all(torch.equal(state[key], tensor) for key, tensor in expected.items()), path


def test_damaged_mxnet_files_fail_with_the_file_name(tmp_path):
    good = tmp_path / "good-0000.params"
    write_mxnet_params(good, mxnet_arrays(random_layers()))
    truncated = tmp_path / "cut-0000.params"
    truncated.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(Waifu2xError, match="cut-0000.params.*truncated"):
        load_model(truncated)
    other = tmp_path / "other-0000.params"
    write_mxnet_params(other, {"arg:fc1_weight": np.zeros((2, 2), np.float32)})
    with pytest.raises(Waifu2xError, match="unexpected array 'arg:fc1_weight'"):
        load_model(other)


def test_real_mxnet_model_beats_bicubic_on_a_cartoon(shared_dir):
    path = shared_dir / "weights/waifu2x/mxnet/upconv_7_anime_style_art_rgb/scale2.0x_model-0000.params"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    descriptor = load_model(path)
    hr = seeded_frame(0, 128, 128)
    lr = cv2.resize(hr, (64, 64), interpolation=cv2.INTER_AREA)
    with torch.no_grad():
        upscaled = to_array(descriptor.model(to_tensor(lr)))
    bicubic = np.clip(cv2.resize(lr, (128, 128), interpolation=cv2.INTER_CUBIC), 0, 1)
    # Measured: about 29 dB against 23 dB; a misread layout or a misaligned output falls far below.
    assert psnr(upscaled, hr, crop_border=2) > psnr(bicubic, hr, crop_border=2) + 3
