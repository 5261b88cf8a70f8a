"""The upscaling engine: a loaded model applied to pictures of any size.

:class:`Upscaler` wraps a :class:`~apisr.models.registry.ModelDescriptor` and does
what every caller would otherwise repeat:

- **Tiles.** Large inputs are cut into overlapping tiles whose size is chosen from the
  free memory of the device (or given). Neighbouring outputs are blended with feathered
  weights: inside the overlap the first quarter next to a tile's inner edge is dropped
  (those pixels lack context), the middle half is a linear cross-fade, so there is no
  visible seam. A tile that runs out of memory is split in half and retried.
- **Precision.** ``auto`` runs half precision where it is fast and accurate enough
  (fp16 on CUDA, bf16 on CPUs with native bf16), after checking the model against fp32
  on a patch of the bundled sample; a tile whose half-precision output is not finite is
  redone in fp32.
- **Shapes.** Inputs are padded (reflect) to the model's size multiple and cropped back;
  gray, gray+alpha, RGB and RGBA arrays are accepted and returned in the same layout.

The object holds the model and its settings only: nothing of one call is kept on it,
so two threads may upscale with the same instance at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from apisr.cpu import has_native_bf16
from apisr.models.registry import ModelDescriptor

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}

# Half precision is used automatically only when it stays this close to fp32 on a patch
# of the bundled sample (values in [0, 1]). Measured (benchmarks/infer.py): bf16 with the
# realesr-animevideov3 weights differs by 4.7e-4 mean and 1.9e-2 max on the sample, well
# inside; a model that overflows or loses its colours in half precision is not.
HALF_MEAN_TOLERANCE = 2e-3
HALF_MAX_TOLERANCE = 3e-2

# Auto tiles on CPU never exceed this side: smaller tiles keep a layer's activations in
# cache. Measured (compact model, 960x540 input, 2 idle cores, output MP/s): 256px tiles
# 1.28-1.41, 384px 1.19-1.22, 512px 0.88-0.93, untiled 0.76-0.85; 128px loses to overlap.
CPU_TILE_CAP = 256
MIN_TILE = 16
# Share of free memory the activations of one tile may take.
MEMORY_FRACTION = {"cuda": 0.6, "cpu": 0.25}
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample.png"


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None``/``"auto"``: the first CUDA device if there is one, else the CPU."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device} requested but CUDA is not available (torch {torch.__version__})")
    return device


def preferred_dtype(descriptor: ModelDescriptor, device: torch.device) -> torch.dtype:
    """The fastest precision the hardware and the architecture allow (before the accuracy check)."""
    if device.type == "cuda":
        if descriptor.supports_fp16:
            return torch.float16
        if descriptor.supports_bf16 and torch.cuda.is_bf16_supported():
            return torch.bfloat16
    elif device.type == "cpu" and descriptor.supports_bf16 and has_native_bf16():
        return torch.bfloat16
    return torch.float32


@dataclass
class _TilePlan:
    """Tile side and overlap for one call, in input pixels; shrinks when memory runs out.

    Made afresh for every call, so that a split forced in one thread does not leak into another.
    """

    tile: int
    overlap: int


class Upscaler:
    """Applies a super-resolution model to images and batches of frames.

    ``tile_size``: ``None`` or ``"auto"`` picks the largest tile the free memory allows
    (capped on CPU), ``0`` never tiles, an int is the tile side in input pixels.
    ``tile_overlap``: input pixels shared by neighbouring tiles; default the
    architecture's receptive field.
    """

    def __init__(
        self,
        descriptor: ModelDescriptor,
        device: str | torch.device | None = None,
        precision: str = "auto",
        tile_size: int | str | None = None,
        tile_overlap: int | None = None,
    ):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        self.descriptor = descriptor
        self.device = resolve_device(device)
        self.model = descriptor.model.to(self.device).eval().requires_grad_(False)
        self.scale = int(descriptor.scale)
        self.multiple = max(1, int(descriptor.size_multiple))
        self.tile_size = self._check_tile_size(tile_size)
        self.tile_overlap = self._check_overlap(tile_overlap)
        # Largest activation per input pixel, for sizing tiles from free memory.
        self.bytes_per_pixel = self._measure_bytes_per_pixel()
        if precision == "auto":
            self.dtype = preferred_dtype(descriptor, self.device)
            if self.dtype != torch.float32 and not self._half_is_accurate(self.dtype):
                self.dtype = torch.float32
        else:
            self.dtype = DTYPES[precision]
        self.precision = next(name for name, dtype in DTYPES.items() if dtype == self.dtype)

    def _check_tile_size(self, tile_size: int | str | None) -> int | None:
        if tile_size is None or tile_size == "auto":
            return None
        tile = int(tile_size)
        if tile < 0 or 0 < tile < MIN_TILE:
            raise ValueError(f"tile size must be 0 (no tiling), 'auto' or at least {MIN_TILE}, not {tile_size}")
        return _round_up(tile, self.multiple) if tile else 0

    def _check_overlap(self, tile_overlap: int | None) -> int:
        if tile_overlap is not None and int(tile_overlap) < 0:
            raise ValueError(f"tile overlap must be >= 0, not {tile_overlap}")
        overlap = _round_up(
            self.descriptor.architecture.receptive_field if tile_overlap is None else int(tile_overlap), self.multiple
        )
        if self.tile_size:
            if tile_overlap is None:  # the default yields to a small tile
                overlap = min(overlap, _round_down(self.tile_size // 4, self.multiple))
            elif 2 * overlap >= self.tile_size:
                raise ValueError(f"tile overlap {overlap} must be less than half the tile size {self.tile_size}")
        return overlap

    # -- public ---------------------------------------------------------------------------

    def upscale(
        self,
        image: np.ndarray,
        outscale: float | None = None,
        downsample_threshold: int | None = None,
    ) -> np.ndarray:
        """Upscale one ``(H, W)`` or ``(H, W, C)`` float image in [0, 1], ``C`` = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.

        ``downsample_threshold``: first shrink the input so its short side is at most this
        (``None``/``<= 0``: never). ``outscale``: the final size relative to the input as given
        (default: the model's scale applied to what the model saw). Returns float32 in the
        input's layout.
        """
        image = np.asarray(image, dtype=np.float32)
        squeeze = image.ndim == 2
        if squeeze:
            image = image[..., None]
        if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4):
            raise ValueError(f"expected an (H, W) or (H, W, C) image with C in 1..4, got shape {image.shape}")
        height, width, channels = image.shape
        has_alpha = channels in (2, 4)
        color = image[..., : channels - 1] if has_alpha else image
        alpha = image[..., -1] if has_alpha else None
        gray = color.shape[2] == 1

        model_input = shrink_short_side(color, downsample_threshold)
        rgb = np.repeat(model_input, 3, axis=2) if gray else model_input
        batch = [rgb]
        alpha_input = None if alpha is None else shrink_short_side(alpha[..., None], downsample_threshold)[..., 0]
        alpha_through_model = alpha_input is not None and alpha_input.min() != alpha_input.max()
        if alpha_through_model:
            # The same network sharpens a cut-out's edge the way it sharpens the lines next to it.
            batch.append(np.repeat(alpha_input[..., None], 3, axis=2))
        tensor = torch.from_numpy(np.ascontiguousarray(np.stack(batch).transpose(0, 3, 1, 2)))
        result = self.upscale_tensor(tensor).permute(0, 2, 3, 1).numpy()

        if outscale is not None:
            size = (max(1, round(width * outscale)), max(1, round(height * outscale)))
        else:
            size = (result.shape[2], result.shape[1])
        out = resize(result[0], size)
        if gray:
            out = out.mean(axis=2, keepdims=True)
        if alpha is not None:
            if alpha_through_model:
                out_alpha = keep_flat_alpha(resize(result[1], size).mean(axis=2), alpha)
            else:
                out_alpha = np.full(size[::-1], alpha.flat[0], dtype=np.float32)
            out = np.concatenate([out, out_alpha[..., None]], axis=2)
        return out[..., 0] if squeeze else out

    @torch.inference_mode()
    def upscale_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` float in [0, 1] -> ``(N, 3, sH, sW)`` float32 in [0, 1], on the input's device."""
        if x.ndim != 4 or x.shape[1] != self.descriptor.in_channels:
            raise ValueError(f"expected (N, {self.descriptor.in_channels}, H, W), got {tuple(x.shape)}")
        n, _, height, width = x.shape
        padded = _pad_to_multiple(x.float(), self.multiple)
        plan = self._plan(n, padded.shape[2], padded.shape[3])
        out = self._run(padded, plan).to(x.device)
        return out[:, :, : height * self.scale, : width * self.scale].clamp_(0, 1)

    # -- tiling ---------------------------------------------------------------------------

    def _plan(self, batch: int, height: int, width: int) -> _TilePlan:
        if self.tile_size:  # given, and checked against the overlap
            return _TilePlan(tile=self.tile_size, overlap=self.tile_overlap)
        tile = max(height, width, MIN_TILE) if self.tile_size == 0 else self._auto_tile(batch)
        return _TilePlan(tile=tile, overlap=min(self.tile_overlap, _round_down(tile // 4, self.multiple)))

    def _auto_tile(self, batch: int) -> int:
        """The largest square tile whose activations fit in the chosen share of free memory."""
        if self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            cap = None
        else:
            free, cap = _available_ram(), CPU_TILE_CAP
        pixels = free * MEMORY_FRACTION.get(self.device.type, 0.25) / (self.bytes_per_pixel * batch)
        tile = int(math.sqrt(max(pixels, 1)))
        if cap is not None:
            tile = min(tile, cap)
        return max(_round_down(tile, self.multiple), MIN_TILE)

    def _run(self, x: torch.Tensor, plan: _TilePlan) -> torch.Tensor:
        """Upscale ``x`` whole if it fits the plan's tile, else tile by tile; split on out-of-memory."""
        height, width = x.shape[2:]
        if height <= plan.tile and width <= plan.tile:
            try:
                return self._forward(x)
            except RuntimeError as err:
                if not _is_out_of_memory(err):
                    raise
                self._shrink(plan, max(height, width), err)
        return self._run_tiles(x, plan)

    def _shrink(self, plan: _TilePlan, failed: int, err: RuntimeError) -> None:
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        half = _round_down(min(plan.tile, failed) // 2, self.multiple)
        if half < MIN_TILE:
            raise RuntimeError(f"out of memory even with {failed}px tiles: {err}") from err
        plan.tile = half
        plan.overlap = min(plan.overlap, _round_down(half // 4, self.multiple))

    def _run_tiles(self, x: torch.Tensor, plan: _TilePlan) -> torch.Tensor:
        n, _, height, width = x.shape
        s = self.scale
        tile, overlap = plan.tile, plan.overlap
        out = torch.zeros(n, self.descriptor.out_channels, height * s, width * s, device=x.device)
        total = torch.zeros(1, 1, height * s, width * s, device=x.device)
        for top, bottom in _spans(height, tile, overlap, self.multiple):
            for left, right in _spans(width, tile, overlap, self.multiple):
                # A tile may itself be split further if memory ran out since the plan was made.
                result = self._run(x[:, :, top:bottom, left:right], plan).to(x.device)
                weight = _feather(bottom - top, top > 0, bottom < height, overlap, s, x.device)[:, None] * _feather(
                    right - left, left > 0, right < width, overlap, s, x.device
                )[None, :]
                out[:, :, top * s : bottom * s, left * s : right * s] += result * weight
                total[:, :, top * s : bottom * s, left * s : right * s] += weight
        return out / total

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """One pass of the model in the chosen precision; fp32 again if half precision overflowed."""
        x = x.to(self.device)
        if self.dtype != torch.float32:
            with torch.autocast(self.device.type, dtype=self.dtype):
                y = self.model(x)
            if torch.isfinite(y).all():
                return y.float()
        return self.model(x).float()

    # -- measurements at construction -------------------------------------------------------

    def _probe(self, size: int = 64) -> torch.Tensor:
        """A patch of the bundled sample (outlines, flat colour, gradient) for quick checks."""
        side = _round_up(size, self.multiple)
        # From the top left corner: sky gradient, a cloud's outline, flat colour.
        image = cv2.cvtColor(cv2.imread(str(SAMPLE), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)[:side, :side]
        return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div(255).unsqueeze(0)

    @torch.inference_mode()
    def _measure_bytes_per_pixel(self) -> float:
        """Bytes of activations per input pixel, from the largest layer output on a probe.

        Peak memory is a few activations alive at once, so the largest one times a margin.
        """
        largest = 0

        def hook(_module, _inputs, output):
            nonlocal largest
            if isinstance(output, torch.Tensor):
                largest = max(largest, output.numel() * 4)

        leaves = [m for m in self.model.modules() if not list(m.children())]
        handles = [m.register_forward_hook(hook) for m in leaves]
        probe = self._probe(32)
        try:
            self.model(probe.to(self.device))
        finally:
            for handle in handles:
                handle.remove()
        pixels = probe.shape[2] * probe.shape[3]
        return 4 * max(largest, 4 * 3 * pixels * self.scale**2) / pixels

    @torch.inference_mode()
    def _half_is_accurate(self, dtype: torch.dtype) -> bool:
        probe = self._probe().to(self.device)
        reference = self.model(probe).float().clamp(0, 1)
        with torch.autocast(self.device.type, dtype=dtype):
            half = self.model(probe).float().clamp(0, 1)
        error = (half - reference).abs()
        return bool(torch.isfinite(half).all()) and (
            error.mean().item() <= HALF_MEAN_TOLERANCE and error.max().item() <= HALF_MAX_TOLERANCE
        )


# -- pure helpers ------------------------------------------------------------------------------


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an ``(H, W[, C])`` float image to ``size`` = (width, height): area to shrink, Lanczos to enlarge."""
    height, width = image.shape[:2]
    if (width, height) == tuple(size):
        return image
    shrinking = size[0] * size[1] < width * height
    out = cv2.resize(image, tuple(size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LANCZOS4)
    if out.ndim < image.ndim:  # cv2 drops a single channel axis
        out = out[..., None]
    return np.clip(out, 0.0, 1.0)


def shrink_short_side(image: np.ndarray, threshold: int | None) -> np.ndarray:
    """Shrink (area filter) so that the short side is ``threshold`` when it is longer; else unchanged."""
    height, width = image.shape[:2]
    if not threshold or threshold <= 0 or min(height, width) <= threshold:
        return image
    factor = threshold / min(height, width)
    return resize(image, (max(1, round(width * factor)), max(1, round(height * factor))))


def keep_flat_alpha(upscaled: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Make areas that were fully opaque or fully transparent in ``alpha`` exactly so in ``upscaled``.

    The model (or a filter) may leave 0.998 in an opaque area or ringing next to an edge;
    a pixel whose 3x3 neighbourhood was entirely 1 (or 0) in the input stays 1 (or 0).
    """
    kernel = np.ones((3, 3), np.uint8)
    size = (upscaled.shape[1], upscaled.shape[0])
    opaque = cv2.resize(cv2.erode((alpha >= 1).astype(np.uint8), kernel), size, interpolation=cv2.INTER_NEAREST)
    clear = cv2.resize(cv2.erode((alpha <= 0).astype(np.uint8), kernel), size, interpolation=cv2.INTER_NEAREST)
    out = np.clip(upscaled, 0.0, 1.0)
    out[opaque.astype(bool)] = 1.0
    out[clear.astype(bool)] = 0.0
    return out


def _spans(length: int, tile: int, overlap: int, multiple: int) -> list[tuple[int, int]]:
    """``(start, end)`` of the tiles along one axis: as few as fit, all the same size.

    Evening out the tiles (rather than a full-size last tile shifted back to fit) avoids
    redoing most of a tile: 640 pixels in 512px tiles become two of 330, not two of 512.
    """
    if length <= tile:
        return [(0, length)]
    count = math.ceil((length - overlap) / (tile - overlap))
    size = _round_up(math.ceil((length - overlap) / count) + overlap, multiple)
    starts = [i * (size - overlap) for i in range(count - 1)] + [length - size]
    return [(start, start + size) for start in starts]


def _feather(length: int, lead: bool, trail: bool, overlap: int, scale: int, device: torch.device) -> torch.Tensor:
    """Blend weights along one axis of a tile's output (``length`` input pixels).

    At an inner edge (a neighbour tile exists): 0 over the first quarter of the overlap, a
    linear ramp over the middle half, 1 beyond. Image borders keep weight 1.
    """
    weight = torch.ones(length * scale, device=device)
    if overlap == 0:
        return weight
    margin = overlap // 4 * scale
    width = overlap * scale - 2 * margin
    ramp = ((torch.arange(overlap * scale, device=device) + 0.5 - margin) / width).clamp(0, 1)
    if lead:
        weight[: overlap * scale] = ramp
    if trail:
        weight[-overlap * scale :] = torch.minimum(weight[-overlap * scale :], ramp.flip(0))
    return weight


def _pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    height, width = x.shape[2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if not (pad_h or pad_w):
        return x
    # Reflection needs the pad to be smaller than the side; tiny images replicate their edge.
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


def _is_out_of_memory(err: BaseException) -> bool:
    return isinstance(err, torch.OutOfMemoryError) or "can't allocate memory" in str(err)


def _available_ram() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 << 30


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _round_down(value: int, multiple: int) -> int:
    return value // multiple * multiple
