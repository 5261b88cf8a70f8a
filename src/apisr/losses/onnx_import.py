"""Reading the ``anime-or-not`` ONNX classifier into our torchvision-style ResNet18.

The ONNX file (PyPI package ``anime-or-not``) holds a ResNet18 whose batch norms were
folded into the convolutions at export: every Conv node has a bias and there is no
BatchNormalization node. The Conv nodes appear in the same order as the convs of
:func:`apisr.models.backbones.resnet.resnet18` (``conv1``, ``layer1.0.conv1``,
``layer1.0.conv2``, ..., a stage's ``downsample.0`` after its first block's convs),
so the import pairs them in order and checks every shape.

Our ResNet keeps its BatchNorm modules; each gets the identity statistics
(weight 1, mean 0, var 1 - eps) and the folded bias, which reproduces
``conv(x) + bias`` exactly while keeping the standard key names. That is why
perceptual taps on this network sit on the ``bn`` modules, not on the convs.

Needs the ``onnx`` package (``pip install apisr[onnx]``), only to convert once; the
result is cached as safetensors.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from apisr.models.backbones.resnet import ResNet, resnet18


def resnet18_from_onnx(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict of our ``resnet18(num_classes=2)`` equivalent to the ONNX ResNet18 at ``path``."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise ImportError("reading an ONNX backbone needs the onnx package: pip install 'apisr[onnx]'") from None

    graph = onnx.load(str(path)).graph
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
    convs = [node for node in graph.node if node.op_type == "Conv"]
    gemms = [node for node in graph.node if node.op_type == "Gemm"]
    model = resnet18(num_classes=2)
    targets = [(name, module) for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    if len(convs) != len(targets) or len(gemms) != 1:
        raise ValueError(f"{path}: expected a ResNet18 with {len(targets)} Conv nodes and one Gemm, "
                         f"found {len(convs)} and {len(gemms)}")
    state = model.state_dict()
    for node, (name, module) in zip(convs, targets):
        if len(node.input) != 3:
            raise ValueError(f"{path}: Conv node {node.name or node.output[0]} has no folded bias")
        weight, bias = weights[node.input[1]], weights[node.input[2]]
        if weight.shape != module.weight.shape:
            raise ValueError(f"{path}: Conv node {node.output[0]} has shape {tuple(weight.shape)}, "
                             f"{name} needs {tuple(module.weight.shape)}")
        state[f"{name}.weight"] = weight
        _set_identity_bn(state, _bn_after(model, name), bias)
    fc_weight, fc_bias = (weights[n] for n in gemms[0].input[1:3])
    state["fc.weight"], state["fc.bias"] = fc_weight, fc_bias
    model.load_state_dict(state, strict=True)  # checks that every shape fits
    return state


def _bn_after(model: ResNet, conv_name: str) -> str:
    """The BatchNorm that follows a conv: ``conv1`` -> ``bn1``, ``downsample.0`` -> ``downsample.1``."""
    if conv_name.endswith("downsample.0"):
        return conv_name[:-1] + "1"
    head, _, leaf = conv_name.rpartition(".")
    bn = "bn" + leaf[len("conv"):]
    return f"{head}.{bn}" if head else bn


def _set_identity_bn(state: dict[str, torch.Tensor], bn: str, bias: torch.Tensor) -> None:
    eps = 1e-5  # nn.BatchNorm2d's default, which resnet.py uses
    state[f"{bn}.weight"] = torch.ones_like(bias)
    state[f"{bn}.bias"] = bias
    state[f"{bn}.running_mean"] = torch.zeros_like(bias)
    state[f"{bn}.running_var"] = torch.full_like(bias, 1.0 - eps)
