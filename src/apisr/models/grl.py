"""GRL "tiny2", the APISR paper's 4x generator, with the released checkpoint's key names.

GRL (Li et al., CVPR 2023) is an image-restoration transformer. APISR trains a small
configuration of it: embed dim 64, 4 stages of 4 blocks, 2 window heads and 2 stripe heads,
MLP ratio 2 and a "nearest+conv" 4x upsampler, 1,027,939 parameters in all.

Every block mixes two attentions over one shared QKV projection (64 -> 192, split in halves):

* **window attention**: 8x8 windows, shifted by 4 in even-indexed blocks (Swin style, with
  the -100 mask for tokens that wrapped around);
* **anchored stripe attention**: the block input is average-pooled 2x2 and projected to 32
  channels ("anchors"); inside each 8x8 stripe the 16 anchors first attend to the stripe's
  64 keys/values, then the 64 queries attend to the anchors, whose values are that result.
  Odd blocks use the transposed ("v") stripe shape and tables, which for 8x8 stripes are
  the same numbers.

Both are cosine attentions with a learnable per-head logit scale (clamped at log 100) and a
Swin-V2 continuous position bias: an MLP 2 -> 512 -> heads over a log-spaced table of
relative coordinates, squashed by ``16 * sigmoid``. Blocks are res-post-norm:
``x + norm1(attn(x))`` then ``x + norm2(mlp(x))``.

The released ``4x_APISR_GRL_GAN_generator.pth`` also holds 13 geometry buffers (coordinate
tables, relative-position indices and shift masks) computed for 64x64 inputs, so they are
registered here with the same names and values and the file loads strictly. The masks depend
on the input size: other sizes get fresh ones on every forward pass (no cache, no state).

Half precision: the original's inference script says its GRL does not work in fp16. Two weak
spots explain that: the cosine normalisation squares un-normalised activations (the blocks
have no pre-norm), so a norm above 65504 overflows and the attention silently goes flat or
NaN; and for sizes other than 64 the geometry is rebuilt in float32 and mixed with half
weights. Here the position bias, the normalisation, the logits and the softmax always run in
float32, under autocast or after ``model.half()`` alike; the projections, the MLPs and the
convolutions keep the low precision.
"""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Architecture, StateDict, register

RGB_MEAN = (0.4488, 0.4371, 0.4040)
SCALE = 4
# The "tiny2" configuration APISR trains; nothing else is built or detected here.
EMBED_DIM = 64
DEPTHS = (4, 4, 4, 4)
HEADS = 2  # per attention kind (window and stripe)
MLP_RATIO = 2
NUM_FEAT = 64  # width of the upsampler
WINDOW = 8
STRIPE = (8, 8)
ANCHOR_DOWN = 2
# Everything is padded to a multiple of the largest window/stripe side.
PAD_MULTIPLE = 8
MASK_VALUE = -100.0
MAX_LOGIT_SCALE = math.log(100.0)
POSITION_BIAS_HIDDEN = 512
BUFFER_NAMES = (
    "table_w", "table_sh", "table_sv",
    "index_w", "index_sh_a2w", "index_sh_w2a", "index_sv_a2w", "index_sv_w2a",
    "mask_w", "mask_sh_a2w", "mask_sh_w2a", "mask_sv_a2w", "mask_sv_w2a",
)  # fmt: skip


# ----------------------------------------------------------------------------------------
# Geometry: coordinate tables, relative-position indices, shift masks (pure functions)
# ----------------------------------------------------------------------------------------


def relative_coords_table(window: tuple[int, int], down: int = 1) -> torch.Tensor:
    """Log-spaced relative coordinates between a window and its (down-scaled) anchor window.

    Shape (1, T_h, T_w, 2) with channel 0 the vertical and 1 the horizontal offset. Offsets
    run from -(a-1)-(w-a)//2 to (w-1)-(w-a)//2 per axis (a = w // down), are divided by the
    positive extent, stretched to [-8, 8] and compressed with sign(t) * log2(|t|+1) / 3.
    """
    axes = []
    for size in window:
        anchor = size // down
        positive = size - 1 - (size - anchor) // 2
        negative = -(anchor - 1) - (size - anchor) // 2
        axes.append(torch.arange(negative, positive + 1, dtype=torch.float32) / positive)
    table = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1) * 8
    table = torch.sign(table) * torch.log2(table.abs() + 1.0) / math.log2(8)
    return table.unsqueeze(0)


def _grid(height: int, width: int) -> torch.Tensor:
    """(height*width, 2) integer (row, column) coordinates in row-major order."""
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return torch.stack([rows.flatten(), cols.flatten()], dim=-1)


def relative_position_index(window: tuple[int, int], down: int = 1, window_to_anchor: bool = True) -> torch.Tensor:
    """Row into the flattened coordinate table for every (query, key) pair.

    Window tokens and anchor tokens both count from (0, 0) of their own grid. With
    ``window_to_anchor`` the rows are window tokens and the columns anchors (shape N x M);
    otherwise the reverse (M x N). Square window attention is the case ``down == 1``.
    """
    anchor = (window[0] // down, window[1] // down)
    row_stride = anchor[1] + window[1] - 1
    tokens, anchors = _grid(*window), _grid(*anchor)
    if window_to_anchor:
        offsets = tokens[:, None] - anchors[None] + torch.tensor([anchor[0] - 1, anchor[1] - 1])
    else:
        offsets = anchors[:, None] - tokens[None] + torch.tensor([window[0] - 1, window[1] - 1])
    return offsets[..., 0] * row_stride + offsets[..., 1]


def _axis_regions(length: int, window: int, shift: int) -> torch.Tensor:
    """Which side of the wrap-around seam each position lies on after a cyclic shift.

    0 = positions that were never near the seam, 1 = the last full window before the
    shifted-in strip, 2 = the strip that wrapped around. No shift, no seam.
    """
    if shift == 0:
        return torch.zeros(length, dtype=torch.long)
    positions = torch.arange(length)
    return (positions >= length - window).long() + (positions >= length - shift).long()


def _window_regions(size: tuple[int, int], window: tuple[int, int], shift: tuple[int, int]) -> torch.Tensor:
    """(num_windows, window_h * window_w) region label of every token of every window."""
    labels = 3 * _axis_regions(size[0], window[0], shift[0])[:, None] + _axis_regions(size[1], window[1], shift[1])
    return _partition(labels[None, :, :, None], window).reshape(-1, window[0] * window[1])


def _mask_from_labels(query_labels: torch.Tensor, key_labels: torch.Tensor) -> torch.Tensor:
    differs = query_labels[:, :, None] != key_labels[:, None, :]
    return torch.where(differs, MASK_VALUE, 0.0)


def shift_mask(size: tuple[int, int], window: tuple[int, int], shift: tuple[int, int]) -> torch.Tensor:
    """(num_windows, N, N) additive mask for shifted-window attention on a ``size`` map."""
    labels = _window_regions(size, window, shift)
    return _mask_from_labels(labels, labels)


def anchor_shift_mask(
    size: tuple[int, int], window: tuple[int, int], shift: tuple[int, int], down: int, window_to_anchor: bool
) -> torch.Tensor:
    """(num_windows, N, M) or (num_windows, M, N) mask between shifted stripes and their anchors."""
    tokens = _window_regions(size, window, shift)
    anchors = _window_regions(
        (size[0] // down, size[1] // down),
        (window[0] // down, window[1] // down),
        (shift[0] // down, shift[1] // down),
    )
    return _mask_from_labels(tokens, anchors) if window_to_anchor else _mask_from_labels(anchors, tokens)


def geometry_buffers(img_size: int) -> dict[str, torch.Tensor]:
    """The 13 tensors the released checkpoint stores, computed for ``img_size`` squared inputs.

    The stripe masks are computed with a half-stripe shift, as the original does, although
    this configuration never shifts its stripes and so never reads them.
    """
    size = (img_size, img_size)
    window = (WINDOW, WINDOW)
    half = (WINDOW // 2, WINDOW // 2)
    buffers = {
        "table_w": relative_coords_table(window),
        "index_w": relative_position_index(window),
        "mask_w": shift_mask(size, window, half),
    }
    for suffix, stripe in (("h", STRIPE), ("v", STRIPE[::-1])):
        stripe_shift = (stripe[0] // 2, stripe[1] // 2)
        buffers[f"table_s{suffix}"] = relative_coords_table(stripe, ANCHOR_DOWN)
        for direction, window_to_anchor in (("a2w", False), ("w2a", True)):
            buffers[f"index_s{suffix}_{direction}"] = relative_position_index(stripe, ANCHOR_DOWN, window_to_anchor)
            buffers[f"mask_s{suffix}_{direction}"] = anchor_shift_mask(
                size, stripe, stripe_shift, ANCHOR_DOWN, window_to_anchor
            )
    return {name: buffers[name] for name in BUFFER_NAMES}


# ----------------------------------------------------------------------------------------
# Window helpers and the float32 attention core
# ----------------------------------------------------------------------------------------


def _partition(x: torch.Tensor, window: tuple[int, int]) -> torch.Tensor:
    """(B, H, W, C) -> (B, num_windows, window_h * window_w, C), windows in row-major order."""
    batch, height, width, channels = x.shape
    x = x.reshape(batch, height // window[0], window[0], width // window[1], window[1], channels)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(batch, -1, window[0] * window[1], channels)


def _merge(windows: torch.Tensor, window: tuple[int, int], size: tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`_partition`: (B, num_windows, N, C) -> (B, H, W, C)."""
    batch, _, _, channels = windows.shape
    rows, cols = size[0] // window[0], size[1] // window[1]
    x = windows.reshape(batch, rows, cols, window[0], window[1], channels)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(batch, size[0], size[1], channels)


def _split_heads(x: torch.Tensor, parts: int, heads: int) -> tuple[torch.Tensor, ...]:
    """(B, nW, N, parts*heads*d) -> ``parts`` tensors of shape (B, nW, heads, N, d)."""
    batch, windows, tokens, channels = x.shape
    x = x.reshape(batch, windows, tokens, parts, heads, channels // (parts * heads))
    return x.permute(3, 0, 1, 4, 2, 5).unbind(0)


def _join_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, nW, heads, N, d) -> (B, nW, N, heads*d)."""
    batch, windows, heads, tokens, dim = x.shape
    return x.transpose(2, 3).reshape(batch, windows, tokens, heads * dim)


def _float32(device: torch.device):
    # Autocast would silently downcast the matmuls below again.
    return torch.autocast(device_type=device.type, enabled=False)


def _cosine_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    scale: torch.Tensor,
    bias: torch.Tensor,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """softmax(scale * cos(q, k) + bias [+ mask]) @ v, computed in float32.

    q: (B, nW, heads, N1, d), k and v: (B, nW, heads, N2, d), scale: (heads, 1, 1),
    bias: (heads, N1, N2), mask: (nW, N1, N2). Returns v's dtype.
    """
    # Written out rather than F.scaled_dot_product_attention: with these tiny windows and a
    # float mask the fused CPU kernel is several times slower than plain batched matmuls.
    with _float32(query.device):
        query = F.normalize(query.float(), dim=-1) * scale
        key = F.normalize(key.float(), dim=-1)
        logits = query @ key.transpose(-1, -2) + bias
        if mask is not None:
            logits = logits + mask.float()[:, None]
        out = logits.softmax(dim=-1) @ value.float()
    return out.to(value.dtype)


# ----------------------------------------------------------------------------------------
# Modules (attribute names follow the released checkpoint's keys)
# ----------------------------------------------------------------------------------------


class AttentionTransform(nn.Module):
    """Per-head logit scale and continuous position bias of one cosine attention."""

    def __init__(self, heads: int):
        super().__init__()
        self.logit_scale = nn.Parameter(torch.full((heads, 1, 1), math.log(10.0)))
        self.cpb_mlp = nn.Sequential(
            nn.Linear(2, POSITION_BIAS_HIDDEN),
            nn.ReLU(),
            nn.Linear(POSITION_BIAS_HIDDEN, heads, bias=False),
        )

    def scale_and_bias(self, table: torch.Tensor, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """float32 (heads, 1, 1) scale and (heads, *index.shape) bias."""
        first, _, last = self.cpb_mlp
        with _float32(table.device):
            scale = self.logit_scale.float().clamp(max=MAX_LOGIT_SCALE).exp()
            hidden = F.relu(F.linear(table.float().reshape(-1, 2), first.weight.float(), first.bias.float()))
            # The sigmoid is applied per table entry, before the (much larger) gather.
            per_offset = 16 * torch.sigmoid(F.linear(hidden, last.weight.float()))
            bias = per_offset[index.reshape(-1)].reshape(*index.shape, -1).permute(2, 0, 1)
        return scale, bias


class LinearProjection(nn.Module):
    """A linear layer kept under ``.body``, as the checkpoint names it."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.body = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class PooledLinear(nn.Module):
    """Average-pool (B, H, W, C) by ``down``, then a linear ``reduction`` of the channels."""

    def __init__(self, in_features: int, out_features: int, down: int):
        super().__init__()
        self.down = down
        self.reduction = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.avg_pool2d(x.permute(0, 3, 1, 2), self.down).permute(0, 2, 3, 1)
        return self.reduction(pooled)


class AnchorProjection(nn.Module):
    def __init__(self, dim: int, down: int):
        super().__init__()
        self.body = nn.Sequential(PooledLinear(dim, dim // 2, down))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Positions(NamedTuple):
    """The geometry tensors one forward pass shares between all blocks."""

    window_table: torch.Tensor
    window_index: torch.Tensor
    window_mask: torch.Tensor
    # Per stripe orientation ("h", "v"): (table, index anchor->window, index window->anchor).
    stripes: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


class WindowAttention(nn.Module):
    def __init__(self, heads: int, shift: int):
        super().__init__()
        self.heads = heads
        self.shift = shift
        self.attn_transform = AttentionTransform(heads)

    def forward(self, qkv: torch.Tensor, positions: Positions) -> torch.Tensor:
        """(B, H, W, 3C') -> (B, H, W, C')."""
        size = qkv.shape[1:3]
        window = (WINDOW, WINDOW)
        if self.shift:
            qkv = torch.roll(qkv, shifts=(-self.shift, -self.shift), dims=(1, 2))
        query, key, value = _split_heads(_partition(qkv, window), 3, self.heads)
        scale, bias = self.attn_transform.scale_and_bias(positions.window_table, positions.window_index)
        mask = positions.window_mask if self.shift else None
        out = _merge(_join_heads(_cosine_attention(query, key, value, scale, bias, mask)), window, size)
        if self.shift:
            out = torch.roll(out, shifts=(self.shift, self.shift), dims=(1, 2))
        return out


class AnchorStripeAttention(nn.Module):
    """Stripe attention routed through anchors: anchors <- (k, v), then queries <- (anchors, that)."""

    def __init__(self, heads: int, orientation: str):
        super().__init__()
        self.heads = heads
        self.orientation = orientation
        self.stripe = STRIPE if orientation == "h" else STRIPE[::-1]
        self.attn_transform1 = AttentionTransform(heads)
        self.attn_transform2 = AttentionTransform(heads)

    def forward(self, qkv: torch.Tensor, anchor: torch.Tensor, positions: Positions) -> torch.Tensor:
        size = qkv.shape[1:3]
        anchor_stripe = (self.stripe[0] // ANCHOR_DOWN, self.stripe[1] // ANCHOR_DOWN)
        query, key, value = _split_heads(_partition(qkv, self.stripe), 3, self.heads)
        (anchors,) = _split_heads(_partition(anchor, anchor_stripe), 1, self.heads)
        table, index_a2w, index_w2a = positions.stripes[self.orientation]
        scale, bias = self.attn_transform1.scale_and_bias(table, index_a2w)
        summary = _cosine_attention(anchors, key, value, scale, bias)
        scale, bias = self.attn_transform2.scale_and_bias(table, index_w2a)
        out = _cosine_attention(query, anchors, summary, scale, bias)
        return _merge(_join_heads(out), self.stripe, size)


class MixedAttention(nn.Module):
    def __init__(self, dim: int, heads_window: int, heads_stripe: int, shift: int, orientation: str):
        super().__init__()
        self.qkv = LinearProjection(dim, 3 * dim)
        self.anchor = AnchorProjection(dim, ANCHOR_DOWN)
        self.window_attn = WindowAttention(heads_window, shift)
        self.stripe_attn = AnchorStripeAttention(heads_stripe, orientation)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, positions: Positions) -> torch.Tensor:
        qkv_window, qkv_stripe = self.qkv(x).chunk(2, dim=-1)
        window = self.window_attn(qkv_window, positions)
        stripe = self.stripe_attn(qkv_stripe, self.anchor(x), positions)
        return self.proj(torch.cat([window, stripe], dim=-1))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


def _drop_path(x: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    """Stochastic depth: drop the whole residual branch of some samples while training."""
    if not training or rate == 0.0:
        return x
    keep = torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), device=x.device) >= rate
    return x * keep.to(x.dtype) / (1.0 - rate)


class Block(nn.Module):
    """Res-post-norm transformer block: x + norm1(attention(x)), then x + norm2(mlp(x))."""

    def __init__(self, dim: int, heads_window: int, heads_stripe: int, mlp_ratio: float, index: int, drop_path: float):
        super().__init__()
        self.drop_path = drop_path
        self.attn = MixedAttention(
            dim,
            heads_window,
            heads_stripe,
            shift=WINDOW // 2 if index % 2 == 0 else 0,
            orientation="h" if index % 2 == 0 else "v",
        )
        self.norm1 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, positions: Positions) -> torch.Tensor:
        x = x + _drop_path(self.norm1(self.attn(x, positions)), self.drop_path, self.training)
        return x + _drop_path(self.norm2(self.mlp(x)), self.drop_path, self.training)


class Stage(nn.Module):
    """Transformer blocks, a 3x3 conv, and the stage's own residual."""

    def __init__(self, dim: int, blocks: list[Block]):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.conv = nn.Conv2d(dim, dim, 3, 1, 1)

    def forward(self, x: torch.Tensor, positions: Positions) -> torch.Tensor:
        out = x
        for block in self.blocks:
            out = block(out, positions)
        return x + self.conv(out.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


class GRLTiny(nn.Module):
    """GRL tiny2 with the nearest+conv 4x upsampler; any input size (padded, cropped back).

    Input and output are NCHW RGB in [0, 1]; the output is 4x larger.
    """

    def __init__(self, img_size: int = 64, drop_path_rate: float = 0.1):
        super().__init__()
        self.scale = SCALE
        self.img_size = img_size
        self.register_buffer("mean", torch.tensor(RGB_MEAN).view(1, 3, 1, 1), persistent=False)
        for name, tensor in geometry_buffers(img_size).items():
            self.register_buffer(name, tensor)

        self.conv_first = nn.Conv2d(3, EMBED_DIM, 3, 1, 1)
        self.norm_start = nn.LayerNorm(EMBED_DIM)
        # Stochastic depth grows linearly from 0 at the first block to the rate at the last.
        rates = iter(torch.linspace(0, drop_path_rate, sum(DEPTHS)).tolist())
        self.layers = nn.ModuleList(
            Stage(EMBED_DIM, [Block(EMBED_DIM, HEADS, HEADS, MLP_RATIO, i, next(rates)) for i in range(depth)])
            for depth in DEPTHS
        )
        self.norm_end = nn.LayerNorm(EMBED_DIM)
        self.conv_after_body = nn.Conv2d(EMBED_DIM, EMBED_DIM, 3, 1, 1)

        # nn.LeakyReLU() here has the default slope 0.01, unlike the 0.2 after the up-convs.
        self.conv_before_upsample = nn.Sequential(nn.Conv2d(EMBED_DIM, NUM_FEAT, 3, 1, 1), nn.LeakyReLU())
        self.conv_up1 = nn.Conv2d(NUM_FEAT, NUM_FEAT, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(NUM_FEAT, NUM_FEAT, 3, 1, 1)
        self.conv_hr = nn.Conv2d(NUM_FEAT, NUM_FEAT, 3, 1, 1)
        self.conv_last = nn.Conv2d(NUM_FEAT, 3, 3, 1, 1)
        self.apply(_init_weights)

    def _positions(self, size: tuple[int, int], device: torch.device) -> Positions:
        if size == (self.img_size, self.img_size):
            window_mask = self.mask_w
        else:
            window_mask = shift_mask(size, (WINDOW, WINDOW), (WINDOW // 2, WINDOW // 2)).to(device)
        return Positions(
            window_table=self.table_w,
            window_index=self.index_w,
            window_mask=window_mask,
            stripes={
                "h": (self.table_sh, self.index_sh_a2w, self.index_sh_w2a),
                "v": (self.table_sv, self.index_sv_a2w, self.index_sv_w2a),
            },
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        height, width = image.shape[-2:]
        pad_h, pad_w = -height % PAD_MULTIPLE, -width % PAD_MULTIPLE
        x = image
        if pad_h or pad_w:
            # Reflect needs the pad to be smaller than the side; tiny inputs replicate.
            mode = "reflect" if pad_h < height and pad_w < width else "replicate"
            x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
        mean = self.mean.to(x.dtype)
        # Channels-last runs the convolutions, above all the three at 2x and 4x size, faster
        # on CPU; it is also the layout the transformer body works in.
        shallow = self.conv_first((x - mean).contiguous(memory_format=torch.channels_last))

        tokens = self.norm_start(shallow.permute(0, 2, 3, 1))  # B, H, W, C from here on
        positions = self._positions(tuple(tokens.shape[1:3]), tokens.device)
        for stage in self.layers:
            tokens = stage(tokens, positions)
        tokens = self.norm_end(tokens)
        features = self.conv_after_body(tokens.permute(0, 3, 1, 2)) + shallow

        features = self.conv_before_upsample(features)
        features = F.leaky_relu(self.conv_up1(F.interpolate(features, scale_factor=2, mode="nearest")), 0.2)
        features = F.leaky_relu(self.conv_up2(F.interpolate(features, scale_factor=2, mode="nearest")), 0.2)
        out = self.conv_last(F.leaky_relu(self.conv_hr(features), 0.2)) + mean
        return out[..., : height * SCALE, : width * SCALE].contiguous()


def _init_weights(module: nn.Module) -> None:
    # Swin-V1 initialisation, as GRL trains with; convolutions keep PyTorch's default.
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


# ----------------------------------------------------------------------------------------
# Registry
# ----------------------------------------------------------------------------------------

_SIGNATURE = "layers.0.blocks.0.attn.stripe_attn.attn_transform1.logit_scale"


def detect(state_dict: StateDict) -> dict[str, Any] | None:
    """``{"scale": 4, "img_size": ...}`` for a GRL-tiny state dict (embed dim 64, 4x4 blocks)."""
    needed = (_SIGNATURE, "conv_before_upsample.0.weight", "conv_first.weight", "mask_w", "conv_up2.weight")
    if not all(key in state_dict for key in needed):
        return None
    if tuple(state_dict["conv_first.weight"].shape) != (EMBED_DIM, 3, 3, 3):
        return None
    if tuple(state_dict["conv_before_upsample.0.weight"].shape) != (NUM_FEAT, EMBED_DIM, 3, 3):
        return None
    blocks = {".".join(key.split(".")[1:4:2]) for key in state_dict if re.match(r"layers\.\d+\.blocks\.", key)}
    if blocks != {f"{stage}.{block}" for stage, depth in enumerate(DEPTHS) for block in range(depth)}:
        return None
    # mask_w holds one mask per 8x8 window of the square size the buffers were made for.
    windows = state_dict["mask_w"].shape[0]
    side = math.isqrt(windows)
    if side * side != windows:
        return None
    return {"scale": SCALE, "img_size": side * WINDOW}


def build(scale: int = SCALE, img_size: int = 64, drop_path_rate: float = 0.1) -> GRLTiny:
    """The paper configuration; ``drop_path_rate`` only matters while training."""
    if scale != SCALE:
        raise ValueError(f"GRL-tiny (nearest+conv) is 4x only, not {scale}x")
    return GRLTiny(img_size=img_size, drop_path_rate=drop_path_rate)


# Each output pixel sees 8x8 windows shifted by half a window in every other block, so the
# reach grows by up to a window per block pair; 64 input pixels covers the attention that
# matters in practice (the trained weights attend locally), and tiles stay window-aligned.
ARCHITECTURE = register(
    Architecture(
        name="grl_tiny",
        detect=detect,
        build=build,
        supports_fp16=True,
        supports_bf16=True,
        size_multiple=1,
        receptive_field=64,
        examples=({"scale": 4, "img_size": 16},),
        description="GRL tiny2 (APISR paper model), 4x, 1.03M parameters",
    )
)
