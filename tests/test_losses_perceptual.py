"""Perceptual losses: taps, gradients (and the original's detached mode), backbone weight files."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from apisr import hub
from apisr.losses import backbones
from apisr.losses.backbones import danbooru_to_torchvision, get_backbone
from apisr.losses.config import LossConfig
from apisr.config import ConfigError, from_dict
from apisr.losses.perceptual import PerceptualLoss


def _loss(name: str, detach: bool = False, layers=None) -> PerceptualLoss:
    backbone = get_backbone(name)
    torch.manual_seed(0)
    return PerceptualLoss(backbone, backbone.build(), layers, detach_features=detach)


@pytest.mark.parametrize("detach", [False, True])
def test_anime_perceptual_gradient_flows_unless_detached(detach):
    loss_fn = _loss("danbooru_resnet50", detach)
    output = torch.rand(1, 3, 32, 32, requires_grad=True)
    target = torch.rand(1, 3, 32, 32)
    loss = loss_fn(output, target)
    assert loss.item() > 0  # the term is there in both modes (the original logged it)
    if detach:
        assert not loss.requires_grad
    else:
        (grad,) = torch.autograd.grad(loss, output)
        assert grad.abs().sum() > 0


def test_vgg_taps_are_before_relu_and_stop_early():
    loss_fn = _loss("vgg19", layers={"conv1_2": 1.0, "conv2_2": 1.0})
    features = loss_fn.features(torch.rand(1, 3, 16, 16))
    assert set(features) == {"conv1_2", "conv2_2"}
    assert features["conv1_2"].shape == (1, 64, 16, 16) and features["conv2_2"].shape == (1, 128, 8, 8)
    assert (features["conv1_2"] < 0).any()  # a post-ReLU tap would be >= 0 everywhere


def test_identical_images_cost_nothing_and_unknown_layers_are_named():
    loss_fn = _loss("efficientnet_lite0")
    image = torch.rand(1, 3, 32, 32)
    assert loss_fn(image, image).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="nope"):
        _loss("anime_resnet18", layers={"nope": 1.0})


def test_danbooru_keys_become_torchvision_keys():
    rf5 = {"0.0.weight": torch.zeros(1), "0.1.running_mean": torch.zeros(1), "0.4.2.conv3.weight": torch.zeros(1),
           "0.7.0.downsample.0.weight": torch.zeros(1), "1.2.weight": torch.zeros(1)}
    assert set(danbooru_to_torchvision(rf5)) == {"conv1.weight", "bn1.running_mean", "layer1.2.conv3.weight",
                                                 "layer4.0.downsample.0.weight"}
    # Every tap of the paper's anime loss exists in the network those keys load into.
    modules = dict(get_backbone("danbooru_resnet50").build().named_modules())
    assert all(tap in modules for tap in get_backbone("danbooru_resnet50").default_layers)


def test_missing_weights_name_file_url_and_folder(tmp_path):
    with pytest.raises(hub.WeightsNotFound) as err:
        get_backbone("vgg19").load(tmp_path)
    message = str(err.value)
    assert "vgg19-dcbb9e9d.pth" in message and backbones.VGG19_FILE.url in message and str(tmp_path) in message


def test_wrong_file_is_refused(tmp_path):
    torch.save({"x": torch.zeros(1)}, tmp_path / "resnet50-13306192.pth")
    with pytest.raises(hub.WeightsNotFound, match="13306192"):
        get_backbone("danbooru_resnet50").load(tmp_path)


def test_anime_or_not_onnx_import(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from apisr.losses.onnx_import import resnet18_from_onnx
    from apisr.models.backbones.resnet import resnet18

    # A BN-folded ResNet18 as the anime-or-not file stores it: one biased Conv node per conv, then a Gemm.
    torch.manual_seed(1)
    reference = resnet18(num_classes=2)
    inits, nodes, previous = [], [], "input"
    convs = [(n, m) for n, m in reference.named_modules() if isinstance(m, nn.Conv2d)]
    for i, (name, conv) in enumerate(convs):
        bias = torch.randn(conv.out_channels)
        inits += [numpy_helper.from_array(conv.weight.detach().numpy(), f"w{i}"),
                  numpy_helper.from_array(bias.numpy(), f"b{i}")]
        nodes.append(helper.make_node("Conv", [previous, f"w{i}", f"b{i}"], [f"c{i}"]))
        previous = f"c{i}"
    inits += [numpy_helper.from_array(torch.randn(2, 512).numpy(), "fc.weight"),
              numpy_helper.from_array(torch.randn(2).numpy(), "fc.bias")]
    nodes.append(helper.make_node("Gemm", [previous, "fc.weight", "fc.bias"], ["output"]))
    graph = helper.make_graph(nodes, "r18", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 2])], inits)
    path = tmp_path / "r18.onnx"
    onnx.save(helper.make_model(graph), str(path))

    model = resnet18(num_classes=2)
    model.load_state_dict(resnet18_from_onnx(path))
    model.eval()
    # conv followed by its identity-statistics BN is exactly the folded conv with its bias.
    x = torch.randn(1, 64, 8, 8)
    w, b = (numpy_helper.to_array(t) for t in inits[2:4])
    expected = F.conv2d(x, torch.tensor(w), torch.tensor(b), padding=1)
    with torch.no_grad():
        got = model.layer1[0].bn1(model.layer1[0].conv1(x))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_loss_config_is_checked():
    assert from_dict(LossConfig, {"type": "perceptual", "backbone": "anime_resnet18"}).weight == 1.0
    with pytest.raises(ConfigError, match="backbone"):
        from_dict(LossConfig, {"type": "perceptual", "backbone": "alexnet"})
    with pytest.raises(ConfigError, match="perceptual"):
        from_dict(LossConfig, {"type": "l1", "detach_features": True})
