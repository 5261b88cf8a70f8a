"""GRL tiny2, the APISR paper generator: checkpoint compatibility, sizes, precision, training."""

from __future__ import annotations

import copy
import io
import math

import pytest
import torch

from apisr.models.grl import GRLTiny, _cosine_attention, detect, geometry_buffers
from apisr.models.registry import descriptor_from_state_dict

# Spec section 4.1, written out by hand: the released checkpoint's keys and shapes.
BLOCK_KEYS = {
    "attn.qkv.body.weight": (192, 64),
    "attn.qkv.body.bias": (192,),
    "attn.anchor.body.0.reduction.weight": (32, 64),
    "attn.anchor.body.0.reduction.bias": (32,),
    **{
        f"attn.{transform}.{name}": shape
        for transform in (
            "window_attn.attn_transform",
            "stripe_attn.attn_transform1",
            "stripe_attn.attn_transform2",
        )
        for name, shape in (
            ("logit_scale", (2, 1, 1)),
            ("cpb_mlp.0.weight", (512, 2)),
            ("cpb_mlp.0.bias", (512,)),
            ("cpb_mlp.2.weight", (2, 512)),
        )
    },
    "attn.proj.weight": (64, 64),
    "attn.proj.bias": (64,),
    "norm1.weight": (64,),
    "norm1.bias": (64,),
    "mlp.fc1.weight": (128, 64),
    "mlp.fc1.bias": (128,),
    "mlp.fc2.weight": (64, 128),
    "mlp.fc2.bias": (64,),
    "norm2.weight": (64,),
    "norm2.bias": (64,),
}
CONV = (64, 64, 3, 3)
TOP_KEYS = {
    "conv_first.weight": (64, 3, 3, 3),
    "conv_first.bias": (64,),
    "norm_start.weight": (64,),
    "norm_start.bias": (64,),
    "norm_end.weight": (64,),
    "norm_end.bias": (64,),
    "conv_after_body.weight": CONV,
    "conv_after_body.bias": (64,),
    "conv_before_upsample.0.weight": CONV,
    "conv_before_upsample.0.bias": (64,),
    "conv_up1.weight": CONV,
    "conv_up1.bias": (64,),
    "conv_up2.weight": CONV,
    "conv_up2.bias": (64,),
    "conv_hr.weight": CONV,
    "conv_hr.bias": (64,),
    "conv_last.weight": (3, 64, 3, 3),
    "conv_last.bias": (3,),
}
BUFFERS = {
    "table_w": (1, 15, 15, 2),
    "table_sh": (1, 11, 11, 2),
    "table_sv": (1, 11, 11, 2),
    "index_w": (64, 64),
    "index_sh_a2w": (16, 64),
    "index_sv_a2w": (16, 64),
    "index_sh_w2a": (64, 16),
    "index_sv_w2a": (64, 16),
    "mask_w": (64, 64, 64),
    "mask_sh_a2w": (64, 16, 64),
    "mask_sv_a2w": (64, 16, 64),
    "mask_sh_w2a": (64, 64, 16),
    "mask_sv_w2a": (64, 64, 16),
}


def expected_parameters() -> dict[str, tuple[int, ...]]:
    keys = dict(TOP_KEYS)
    for stage in range(4):
        keys[f"layers.{stage}.conv.weight"] = CONV
        keys[f"layers.{stage}.conv.bias"] = (64,)
        for block in range(4):
            for name, shape in BLOCK_KEYS.items():
                keys[f"layers.{stage}.blocks.{block}.{name}"] = shape
    return keys


@pytest.fixture(scope="module")
def model() -> GRLTiny:
    torch.manual_seed(0)
    return GRLTiny().eval()


def test_parameter_count_is_the_papers(model):
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 1_027_939


def test_state_dict_names_and_shapes_match_the_release(model):
    parameters = expected_parameters()
    assert len(BLOCK_KEYS) == 26 and len(parameters) == 442 and len(BUFFERS) == 13
    state = model.state_dict()
    assert len(state) == 455
    assert {name: tuple(p.shape) for name, p in model.named_parameters()} == parameters
    persistent = {name: tuple(state[name].shape) for name in state if name not in parameters}
    assert persistent == BUFFERS
    for name in BUFFERS:
        expected_dtype = torch.int64 if name.startswith("index_") else torch.float32
        assert state[name].dtype == expected_dtype, name


def test_geometry_tables_indices_and_masks_are_consistent():
    buffers = geometry_buffers(64)
    table_w = buffers["table_w"][0]
    # Centre is offset zero; the corner offset 7 maps to 8, then log2(9) / log2(8).
    assert table_w[7, 7].tolist() == [0.0, 0.0]
    assert table_w[14, 14].tolist() == pytest.approx([math.log2(9) / 3] * 2)
    assert torch.equal(table_w[0], -table_w[-1].flip(0))
    # Every token sees itself at the table's centre entry (row 7, column 7 of 15).
    assert torch.all(buffers["index_w"].diagonal() == 7 * 15 + 7)
    for name in ("index_w", "index_sh_a2w", "index_sh_w2a"):
        table = buffers["table_w" if name == "index_w" else "table_sh"]
        entries = table.shape[1] * table.shape[2]
        assert 0 <= buffers[name].min() and buffers[name].max() < entries, name
    mask = buffers["mask_w"]
    assert set(mask.unique().tolist()) == {-100.0, 0.0}
    windows = mask.reshape(8, 8, 64, 64)
    # Only the last row and column of windows straddle the wrap-around seam.
    assert torch.all(windows[:-1, :-1] == 0)
    assert torch.all((windows[-1] != 0).flatten(1).any(1))
    assert torch.all((windows[:, -1] != 0).flatten(1).any(1))
    assert torch.equal(mask, mask.transpose(1, 2))
    assert torch.equal(buffers["mask_sh_a2w"], buffers["mask_sh_w2a"].transpose(1, 2))


@pytest.mark.parametrize(("height", "width"), [(37, 45), (5, 7)])
def test_output_is_four_times_the_input_for_any_size(model, height, width):
    with torch.no_grad():
        out = model(torch.rand(1, 3, height, width))
    assert out.shape == (1, 3, 4 * height, 4 * width)
    assert torch.isfinite(out).all()


def test_round_trip_through_the_registry(model):
    buffer = io.BytesIO()
    torch.save({"model_state_dict": model.state_dict()}, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)["model_state_dict"]
    descriptor = descriptor_from_state_dict(state)
    assert descriptor.name == "grl_tiny"
    assert descriptor.scale == 4 and descriptor.supports_fp16 and descriptor.size_multiple == 1
    image = torch.rand(1, 3, 19, 26)
    with torch.no_grad():
        assert torch.equal(descriptor(image), model(image))


def test_detect_rejects_other_layouts(model):
    state = model.state_dict()
    assert detect(state) == {"scale": 4, "img_size": 64}
    missing_block = {k: v for k, v in state.items() if not k.startswith("layers.3.blocks.3.")}
    assert detect(missing_block) is None
    wider = dict(state, **{"conv_first.weight": torch.zeros(128, 3, 3, 3)})
    assert detect(wider) is None
    assert detect({"conv_first.weight": torch.zeros(64, 3, 3, 3)}) is None


def test_bfloat16_autocast_stays_close_to_float32(model):
    image = torch.rand(1, 3, 24, 36)
    with torch.no_grad():
        reference = model(image)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(image)
    assert torch.isfinite(low).all()
    assert (low.float() - reference).abs().mean() < 1e-2


def test_half_model_stays_close_to_float32(model):
    image = torch.rand(1, 3, 16, 24)
    half = copy.deepcopy(model).half()
    with torch.no_grad():
        reference = model(image)
        low = half(image.half())
    assert low.dtype == torch.float16
    assert torch.isfinite(low).all()
    assert (low.float() - reference).abs().mean() < 1e-2


def test_attention_survives_vectors_whose_fp16_norm_overflows():
    torch.manual_seed(1)
    # Components of 2e4 fit in fp16 but the squared norm does not.
    query = (torch.randn(1, 2, 2, 64, 16).sign() * 2e4).half()
    key = (torch.randn(1, 2, 2, 64, 16).sign() * 2e4).half()
    value = torch.randn(1, 2, 2, 64, 16).half()
    scale, bias = torch.full((2, 1, 1), 10.0), torch.rand(2, 64, 64)
    out = _cosine_attention(query, key, value, scale, bias)
    reference = _cosine_attention(query.float(), key.float(), value.float(), scale, bias)
    assert out.dtype == torch.float16
    assert torch.isfinite(out).all()
    assert torch.allclose(out.float(), reference, atol=1e-2)


def test_a_training_step_gives_finite_loss_and_gradients():
    torch.manual_seed(2)
    net = GRLTiny().train()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    before = net.conv_last.weight.detach().clone()
    low, high = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 64, 64)
    loss = torch.nn.functional.l1_loss(net(low), high)
    loss.backward()
    assert torch.isfinite(loss)
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert net.layers[0].blocks[0].attn.window_attn.attn_transform.cpb_mlp[0].weight.grad.abs().sum() > 0
    optimizer.step()
    assert not torch.equal(before, net.conv_last.weight)


def test_masks_for_other_sizes_do_not_depend_on_earlier_calls(model):
    image = torch.rand(1, 3, 24, 40)
    fresh = copy.deepcopy(model)
    with torch.no_grad():
        first = fresh(image)
        model(torch.rand(1, 3, 16, 16))
        model(torch.rand(1, 3, 48, 8))
        again = model(image)
    assert torch.equal(first, again)


def test_stored_mask_serves_only_its_own_size():
    torch.manual_seed(3)
    net = GRLTiny(img_size=16).eval()
    spoiled = copy.deepcopy(net)
    spoiled.mask_w.fill_(0.0)
    other, own = torch.rand(1, 3, 24, 16), torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(spoiled(other), net(other))
        assert not torch.equal(spoiled(own), net(own))
