"""Reading and writing pictures for upscaling, keeping what the pixels alone lose.

:func:`read_image` returns the colour as float32 in [0, 1] (``(H, W, 3)`` RGB or
``(H, W, 1)`` gray), the alpha channel separately (or None) and an :class:`ImageInfo`
with the bit depth (8 or 16), the format and the ICC profile. It applies the EXIF
orientation, turns palette, CMYK, LA/PA and 1-bit images into gray/RGB(+alpha), and
refuses pictures over a pixel limit before decoding them (a small PNG can declare a
huge canvas: a "decompression bomb").

16-bit PNG and TIFF are decoded with OpenCV (Pillow reads 16-bit colour as 8-bit);
everything else with Pillow. :func:`write_image` writes PNG (8 or 16-bit), JPEG, WebP
or TIFF atomically and carries the ICC profile over; 16-bit stays 16-bit where the
format allows it.
"""

from __future__ import annotations

import io
import re
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from apisr.images import atomic_output

DEFAULT_MAX_PIXELS = 100_000_000
# Output formats by extension, and which of them hold 16 bits and alpha.
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF"}
SIXTEEN_BIT = {"PNG", "TIFF"}
NO_ALPHA = {"JPEG"}
# EXIF orientation -> (rotations of 90 degrees counter-clockwise, then mirror left-right).
ORIENTATIONS = {2: (0, True), 3: (2, False), 4: (2, True), 5: (1, True), 6: (3, False), 7: (3, True), 8: (1, False)}


class ImageReadError(ValueError):
    """A file that is not a readable picture, or one over the pixel limit."""


@dataclass(frozen=True)
class ImageInfo:
    bit_depth: int  # 8 or 16
    mode: str  # "gray" or "rgb"
    format: str  # Pillow's name: "PNG", "JPEG", ...
    icc_profile: bytes | None = None


def read_image(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, np.ndarray | None, ImageInfo]:
    """``(colour, alpha, info)``: colour ``(H, W, 3|1)`` float32, alpha ``(H, W)`` float32 or None.

    Raises :class:`ImageReadError` with a one-line reason for anything that is not a
    readable picture within ``max_pixels`` (``None`` or 0: no limit).
    """
    path = Path(path)
    if not path.is_file():
        raise ImageReadError("no such file")
    if path.stat().st_size == 0:
        raise ImageReadError("empty file (0 bytes)")
    try:
        with Image.open(path) as image:
            _check_pixels(image.size, max_pixels)
            if _is_16bit_colour(path, image):
                colour, alpha, info = _read_16bit(path, image)
            else:
                colour, alpha, info = _read_pillow(image)
    except Image.DecompressionBombError as err:
        # Pillow's own guard (2 x Image.MAX_IMAGE_PIXELS) fired before ours could.
        found = re.search(r"\((\d+) pixels\)", str(err))
        pixels = f"{int(found.group(1)) / 1e6:.1f} MP" if found else "the picture"
        limit = min(max_pixels or sys.maxsize, 2 * (Image.MAX_IMAGE_PIXELS or sys.maxsize))
        raise ImageReadError(f"{pixels} is over the limit of {limit / 1e6:g} MP (a decompression bomb?)") from None
    except UnidentifiedImageError:
        raise ImageReadError("not a picture Pillow can identify (wrong extension or corrupt header)") from None
    except (OSError, SyntaxError, ValueError, struct.error, zlib.error) as err:
        if isinstance(err, ImageReadError):
            raise
        raise ImageReadError(f"cannot decode: {err}") from None
    return colour, alpha, info


def _check_pixels(size: tuple[int, int], max_pixels: int | None) -> None:
    width, height = size
    if max_pixels and width * height > max_pixels:
        raise ImageReadError(
            f"{width}x{height} = {width * height / 1e6:.1f} MP is over the limit of {max_pixels / 1e6:g} MP "
            "(raise it with --max-pixels if the picture is genuine)"
        )


def _is_16bit_colour(path: Path, image: Image.Image) -> bool:
    """16-bit RGB(A) and gray+alpha, which Pillow would truncate to 8 bits."""
    if image.format == "PNG":
        with open(path, "rb") as file:
            header = file.read(26)
        # IHDR: bit depth at byte 24, colour type at 25 (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA).
        return len(header) == 26 and header[24] == 16 and header[25] in (2, 4, 6)
    if image.format == "TIFF":
        bits = image.tag_v2.get(258, (8,))
        return max(bits) == 16 and image.mode not in ("I;16", "I;16B", "I;16L", "I")
    return False


def _read_16bit(path: Path, image: Image.Image) -> tuple[np.ndarray, np.ndarray | None, ImageInfo]:
    array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise ImageReadError("cannot decode the 16-bit picture")
    if array.dtype != np.uint16:
        raise ImageReadError(f"expected 16-bit samples, OpenCV decoded {array.dtype}")
    array = _orient(array, _orientation(image))
    values = array.astype(np.float32) / 65535.0
    if values.ndim == 2:
        values = values[..., None]
    channels = values.shape[2]
    if channels == 2:  # OpenCV keeps gray+alpha as two planes
        colour, alpha = values[..., :1], values[..., 1]
    elif channels == 4:
        colour, alpha = cv2.cvtColor(values[..., :3], cv2.COLOR_BGR2RGB), values[..., 3]
    elif channels == 3:
        colour, alpha = cv2.cvtColor(values, cv2.COLOR_BGR2RGB), None
    else:
        colour, alpha = values, None
    mode = "gray" if colour.shape[2] == 1 else "rgb"
    return np.ascontiguousarray(colour), alpha, ImageInfo(16, mode, image.format, image.info.get("icc_profile"))


def from_pil(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None, ImageInfo]:
    """An 8-bit (or 16-bit gray) Pillow image as ``(colour, alpha, info)``, like :func:`read_image`."""
    return _read_pillow(image)


def to_pil(colour: np.ndarray, alpha: np.ndarray | None, info: ImageInfo) -> Image.Image:
    """Back to Pillow: ``L``/``LA``/``RGB``/``RGBA``, or ``I;16`` for 16-bit gray without alpha."""
    if info.bit_depth == 16 and colour.shape[2] == 1 and alpha is None:
        return Image.fromarray((np.clip(colour[..., 0], 0, 1) * 65535.0 + 0.5).astype(np.uint16))
    pixels = colour if alpha is None else np.concatenate([colour, alpha[..., None]], axis=2)
    return _pil_8bit(pixels)


def _read_pillow(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None, ImageInfo]:
    source_format = image.format or "PNG"
    icc = image.info.get("icc_profile")
    image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode == "CMYK":
        image, icc = _cmyk_to_rgb(image, icc), None
        mode = "RGB"
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, dtype=np.float32) / 65535.0
        return np.clip(values, 0, 1)[..., None], None, ImageInfo(16, "gray", source_format, icc)
    if mode == "F":
        values = np.asarray(image, dtype=np.float32)
        return np.clip(values, 0, 1)[..., None], None, ImageInfo(16, "gray", source_format, icc)
    if mode == "P":
        mode = "RGBA" if "transparency" in image.info or image.palette.mode == "RGBA" else "RGB"
        image = image.convert(mode)
    elif mode == "PA":
        image, mode = image.convert("RGBA"), "RGBA"
    if mode in ("1", "L", "LA"):
        target = "LA" if mode == "LA" else "L"
        values = np.asarray(image.convert(target), dtype=np.float32) / 255.0
        values = values.reshape(*values.shape[:2], -1)
        alpha = values[..., 1] if target == "LA" else None
        return np.ascontiguousarray(values[..., :1]), alpha, ImageInfo(8, "gray", source_format, icc)
    has_alpha = mode in ("RGBA", "RGBa", "La") or "A" in mode
    values = np.asarray(image.convert("RGBA" if has_alpha else "RGB"), dtype=np.float32) / 255.0
    alpha = values[..., 3] if has_alpha else None
    return np.ascontiguousarray(values[..., :3]), alpha, ImageInfo(8, "rgb", source_format, icc)


def _cmyk_to_rgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """Through the embedded CMYK profile to sRGB when there is one, else Pillow's naive formula."""
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError):
            pass
    return image.convert("RGB")


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except (ValueError, TypeError, OSError):
        return 1


def _orient(array: np.ndarray, orientation: int) -> np.ndarray:
    rotations, mirror = ORIENTATIONS.get(orientation, (0, False))
    if mirror:
        array = array[:, ::-1]
    return np.ascontiguousarray(np.rot90(array, rotations))


# -- writing ----------------------------------------------------------------------------------


def output_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"cannot write {suffix or 'files without an extension'}: use one of {', '.join(sorted(FORMATS))}")
    return FORMATS[suffix]


def write_image(
    path: str | Path,
    colour: np.ndarray,
    alpha: np.ndarray | None = None,
    bit_depth: int = 8,
    icc_profile: bytes | None = None,
    quality: int = 95,
) -> None:
    """Write float [0, 1] colour ``(H, W, 3|1)`` (+ alpha) atomically; the format follows the extension.

    16-bit goes out as 16-bit PNG/TIFF and as 8-bit elsewhere. JPEG has no alpha: a
    transparent picture is flattened onto white. ``quality`` applies to JPEG and WebP
    (WebP at 100 is lossless).
    """
    path = Path(path)
    kind = output_format(path)
    colour = np.clip(np.asarray(colour, dtype=np.float32), 0, 1)
    if colour.ndim == 2:
        colour = colour[..., None]
    if alpha is not None and kind in NO_ALPHA:
        alpha = np.clip(alpha, 0, 1)[..., None]
        colour, alpha = colour * alpha + (1 - alpha), None
    pixels = colour if alpha is None else np.concatenate([colour, np.clip(alpha, 0, 1)[..., None]], axis=2)
    with atomic_output(path) as tmp:
        if bit_depth == 16 and kind in SIXTEEN_BIT:
            _write_16bit(tmp, pixels, kind, icc_profile)
        else:
            _write_8bit(tmp, pixels, kind, icc_profile, quality)


def _write_8bit(path: Path, pixels: np.ndarray, kind: str, icc: bytes | None, quality: int) -> None:
    image = _pil_8bit(pixels)
    options: dict = {"icc_profile": icc} if icc else {}
    if kind in ("JPEG", "WEBP"):
        options["quality"] = quality
        if kind == "WEBP" and quality >= 100:
            options["lossless"] = True
    image.save(path, format=kind, **options)


def _pil_8bit(pixels: np.ndarray) -> Image.Image:
    array = (np.clip(pixels, 0, 1) * 255.0 + 0.5).astype(np.uint8)
    return Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)


def _write_16bit(path: Path, pixels: np.ndarray, kind: str, icc: bytes | None) -> None:
    array = (pixels * 65535.0 + 0.5).astype(np.uint16)
    channels = array.shape[2]
    if channels == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    elif channels == 4:
        array = cv2.cvtColor(array, cv2.COLOR_RGBA2BGRA)
    elif channels == 1:
        array = array[..., 0]
    ok, encoded = cv2.imencode(".png" if kind == "PNG" else ".tif", array)
    if not ok:
        raise OSError(f"OpenCV could not encode a 16-bit {kind}")
    data = encoded.tobytes()
    if icc and kind == "PNG":
        data = _with_icc_chunk(data, icc)
    path.write_bytes(data)


def _with_icc_chunk(png: bytes, icc: bytes) -> bytes:
    """Insert an iCCP chunk right after IHDR (OpenCV writes no colour profile)."""
    body = b"icc\x00\x00" + zlib.compress(icc)
    chunk = struct.pack(">I", len(body)) + b"iCCP" + body + struct.pack(">I", zlib.crc32(b"iCCP" + body))
    ihdr_end = 8 + 8 + 13 + 4  # signature, IHDR length+type, IHDR data, CRC
    return png[:ihdr_end] + chunk + png[ihdr_end:]
