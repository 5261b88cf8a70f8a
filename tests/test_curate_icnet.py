"""ICNet: the IC9600 checkpoint's key names and shapes (spec §1.2), strict loading, scores in [0, 1]."""

import time

import numpy as np
import pytest
import torch

from apisr.curate.complexity import ICNetScorer, resolve_scorer
from apisr.curate.icnet import ICNet, load_icnet
from apisr.hub import WeightsNotFound
from apisr.models.backbones.resnet import resnet18

# Top-level modules of ck.pth and the shapes that pin their sizes (spec §1.2).
EXPECTED_PREFIXES = {
    "b1_1", "b1_1_slam", "b1_2", "b1_2_slam", "b2_1", "b2_1_slam", "b2_2", "b2_2_slam", "b2_3", "b2_3_slam",
    "b2_4", "b2_4_slam", "up1", "up2", "to_map_f", "to_map_f_slam", "to_map", "to_score_f", "to_score_f_slam", "head",
}
EXPECTED_SHAPES = {
    "b1_1.0.weight": (64, 3, 7, 7),  # conv1 of the detail trunk
    "b1_1.1.running_var": (64,),  # bn1
    "b1_1.4.1.conv2.weight": (64, 64, 3, 3),  # layer1
    "b1_2.0.downsample.0.weight": (128, 64, 1, 1),  # layer2
    "b2_1.0.weight": (64, 3, 7, 7),
    "b2_3.0.conv1.weight": (256, 128, 3, 3),  # layer3
    "b2_4.1.conv2.weight": (512, 512, 3, 3),  # layer4
    "b1_1_slam.linear.0.weight": (512, 32 * 32),
    "b1_1_slam.linear.2.weight": (1, 512),
    "b1_2_slam.linear.0.weight": (512, 32 * 32),
    "b2_1_slam.linear.0.weight": (512, 32 * 32),
    "b2_2_slam.linear.0.weight": (512, 32 * 32),
    "b2_3_slam.linear.0.weight": (512, 16 * 16),
    "b2_4_slam.linear.0.weight": (512, 8 * 8),
    "b2_4_slam.linear.2.bias": (1,),
    "up1.conv.weight": (256, 128, 1, 1),
    "up1.conv.bias": (256,),
    "up1.bn.running_mean": (256,),
    "up2.conv.weight": (256, 512, 1, 1),
    "to_map_f.conv.weight": (512, 512, 3, 3),
    "to_map_f.bn.weight": (512,),
    "to_map_f_slam.linear.0.weight": (512, 32 * 32),
    "to_map.to_map.0.weight": (1, 512, 1, 1),
    "to_score_f.conv.weight": (512, 512, 3, 3),
    "to_score_f.bn.num_batches_tracked": (),
    "to_score_f_slam.linear.0.weight": (512, 32 * 32),
    "head.0.weight": (512, 512),
    "head.2.weight": (1, 512),
    "head.2.bias": (1,),
}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = ICNet().eval()
    path = tmp_path_factory.mktemp("icnet") / "ck.pth"
    torch.save(model.state_dict(), path)
    return model, path


def test_state_dict_names_and_shapes_match_the_checkpoint(checkpoint):
    state_dict = checkpoint[0].state_dict()
    assert {key.split(".")[0] for key in state_dict} == EXPECTED_PREFIXES
    for key, shape in EXPECTED_SHAPES.items():
        assert tuple(state_dict[key].shape) == shape, key


def test_trunks_have_torchvision_resnet18_names():
    """children[:5] of torchvision's ResNet-18 is (conv1, bn1, relu, maxpool, layer1) -> indices 0, 1, 4."""
    reference = resnet18().state_dict()
    renamed = {"conv1": "0", "bn1": "1", "layer1": "4"}
    state_dict = ICNet().state_dict()
    for key, tensor in reference.items():
        head, rest = key.split(".", 1)
        if head in renamed:
            expected = f"b1_1.{renamed[head]}.{rest}"
        elif head == "layer2":
            expected = f"b1_2.{rest}"
        else:
            continue
        assert state_dict[expected].shape == tensor.shape
    trunk_keys = [k for k in reference if k.split(".")[0] in {"conv1", "bn1", "layer1", "layer2", "layer3", "layer4"}]
    assert sum(k.startswith(("b2_1.", "b2_2.", "b2_3.", "b2_4.")) for k in state_dict) == len(trunk_keys)


def test_checkpoint_loads_strictly_and_scores_in_unit_range(checkpoint, capsys):
    model, path = checkpoint
    loaded = load_icnet(path)  # strict: every key present, none extra
    for key, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], tensor), key
    image = np.random.default_rng(0).random((512, 512, 3), dtype=np.float32)
    start = time.perf_counter()
    (score,) = ICNetScorer(path).score([image])  # one forward: ~1-5 s on 2 CPU cores
    elapsed = time.perf_counter() - start
    assert 0.0 <= score <= 1.0
    with capsys.disabled():
        print(f"\nICNet: one 512x512 score on CPU took {elapsed:.2f} s")


def test_score_head_and_map_head_share_the_features():
    """``score`` is ``forward`` without the map head; compared on small stand-in features to keep the test fast."""
    torch.manual_seed(1)
    model = ICNet().eval()
    fused = torch.rand(1, 512, 16, 16)
    with torch.inference_mode():
        model.features = lambda x: fused
        scores, complexity_map = model(torch.zeros(1, 3, 512, 512))
        assert model.score(torch.zeros(1, 3, 512, 512)).item() == pytest.approx(scores.item())
    assert complexity_map.shape == (1, 1, 16, 16)
    assert 0.0 <= complexity_map.min() and complexity_map.max() <= 1.0


def test_load_rejects_other_state_dicts(tmp_path):
    path = tmp_path / "other.pth"
    torch.save(resnet18().state_dict(), path)
    with pytest.raises(ValueError, match="not an ICNet"):
        load_icnet(path)


def test_scorer_resolution(tmp_path, monkeypatch):
    weights = tmp_path / "ck.pth"
    weights.write_bytes(b"x")
    assert resolve_scorer("auto", weights=str(weights)).kind == "icnet"
    with pytest.raises(FileNotFoundError):
        resolve_scorer("auto", weights=str(tmp_path / "missing.pth"))
    fallback = resolve_scorer("auto")  # the test cache is empty
    assert fallback.kind == "fallback" and "WARNING" in fallback.warning
    with pytest.raises(WeightsNotFound):
        resolve_scorer("icnet")
    assert resolve_scorer("fallback").warning is None
    cache = tmp_path / "cache"
    (cache / "weights").mkdir(parents=True)
    (cache / "weights" / "ck.pth").write_bytes(b"x")
    monkeypatch.setenv("APISR_CACHE", str(cache))
    assert resolve_scorer("auto").weights == str(cache / "weights" / "ck.pth")
