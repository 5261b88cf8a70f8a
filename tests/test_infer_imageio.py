"""Reading and writing pictures: 16-bit, gray, alpha, palette, CMYK, EXIF orientation, ICC, bad files."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from apisr.infer.imageio import ImageReadError, _orient, read_image, write_image

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def gradient16(height: int = 24, width: int = 40) -> np.ndarray:
    ramp = np.linspace(0, 65535, width * height, dtype=np.float64).reshape(height, width)
    return np.dstack([ramp, ramp[::-1], np.full_like(ramp, 1234)]).astype(np.uint16)


def test_16bit_png_round_trip_keeps_depth_and_channel_order(tmp_path):
    rgb16 = gradient16()
    cv2.imwrite(str(tmp_path / "in.png"), cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
    colour, alpha, info = read_image(tmp_path / "in.png")
    assert (info.bit_depth, info.mode, alpha) == (16, "rgb", None)
    np.testing.assert_allclose(colour, rgb16 / 65535.0, atol=1e-6)
    write_image(tmp_path / "out.png", colour, bit_depth=16, icc_profile=SRGB)
    back = cv2.cvtColor(cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
    assert back.dtype == np.uint16 and len(np.unique(back[..., 0])) > 256
    np.testing.assert_array_equal(back, rgb16)
    assert Image.open(tmp_path / "out.png").info["icc_profile"] == SRGB


def test_16bit_gray_and_rgba(tmp_path):
    gray = gradient16()[..., 0]
    Image.fromarray(gray).save(tmp_path / "gray.png")
    colour, alpha, info = read_image(tmp_path / "gray.png")
    assert colour.shape == (24, 40, 1) and info.bit_depth == 16 and info.mode == "gray"
    rgba = np.dstack([gradient16(), np.full((24, 40), 30000, np.uint16)])
    cv2.imwrite(str(tmp_path / "rgba.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    colour, alpha, info = read_image(tmp_path / "rgba.png")
    assert info.bit_depth == 16 and colour.shape == (24, 40, 3)
    np.testing.assert_allclose(alpha, 30000 / 65535, atol=1e-6)
    np.testing.assert_allclose(colour, rgba[..., :3] / 65535.0, atol=1e-6)


def test_exif_orientation_is_applied(tmp_path):
    stored = np.zeros((10, 20, 3), np.uint8)
    stored[:3, :3] = 255  # a white mark top-left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(stored).save(tmp_path / "rotated.jpg", exif=exif, quality=100)
    colour, _, _ = read_image(tmp_path / "rotated.jpg")
    assert colour.shape[:2] == (20, 10)
    assert colour[:3, -3:].mean() > 0.9 and colour[-3:, :3].mean() < 0.1  # the mark is now top-right


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_of_decoded_arrays_matches_pillow(orientation):
    array = np.arange(6 * 4 * 3, dtype=np.uint8).reshape(6, 4, 3)
    image = Image.fromarray(array)
    exif = image.getexif()
    exif[0x0112] = orientation
    image.info["exif"] = exif.tobytes()
    expected = np.asarray(ImageOps.exif_transpose(Image.open(_png_bytes(image, exif))))
    np.testing.assert_array_equal(_orient(array, orientation), expected)


def _png_bytes(image: Image.Image, exif: Image.Exif) -> io.BytesIO:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", exif=exif)
    buffer.seek(0)
    return buffer


def test_palette_la_and_cmyk_inputs(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[:, 4:] = (200, 30, 60)
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=4).save(tmp_path / "pal.png")
    colour, alpha, info = read_image(tmp_path / "pal.png")
    assert alpha is None and info.mode == "rgb"
    np.testing.assert_allclose(colour[0, 6], np.array([200, 30, 60]) / 255, atol=1 / 255)

    paletted = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    paletted.save(tmp_path / "pal_t.png", transparency=paletted.getpixel((0, 0)))
    colour, alpha, _ = read_image(tmp_path / "pal_t.png")
    assert alpha[0, 0] == 0 and alpha[0, 6] == 1

    la = Image.merge("LA", [Image.new("L", (6, 5), 90), Image.new("L", (6, 5), 128)])
    la.save(tmp_path / "la.png")
    colour, alpha, info = read_image(tmp_path / "la.png")
    assert colour.shape == (5, 6, 1) and info.mode == "gray"
    np.testing.assert_allclose(alpha, 128 / 255)

    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=100)
    colour, alpha, info = read_image(tmp_path / "cmyk.jpg")
    assert colour.shape == (8, 8, 3) and info.mode == "rgb"
    np.testing.assert_allclose(colour[4, 6], np.array([200, 30, 60]) / 255, atol=6 / 255)


def test_icc_profile_is_carried_to_8bit_outputs(tmp_path):
    Image.new("RGB", (8, 8), (10, 200, 30)).save(tmp_path / "icc.png", icc_profile=SRGB)
    colour, alpha, info = read_image(tmp_path / "icc.png")
    assert info.icc_profile == SRGB
    for name in ("out.png", "out.jpg", "out.webp"):
        write_image(tmp_path / name, colour, alpha, info.bit_depth, info.icc_profile)
        assert Image.open(tmp_path / name).info.get("icc_profile") == SRGB


def test_jpeg_output_flattens_alpha_onto_white(tmp_path):
    write_image(tmp_path / "flat.jpg", np.zeros((8, 8, 3), np.float32), np.zeros((8, 8), np.float32))
    assert np.asarray(Image.open(tmp_path / "flat.jpg")).min() > 250


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares a huge canvas (its data would decompress to gigabytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty file"),
        (b"hello, I am text\n", "not a picture"),
        (png_claiming(20000, 20000), "400.0 MP is over the limit of 100 MP"),
    ],
    ids=["zero-bytes", "text", "bomb"],
)
def test_bad_files_give_one_clear_reason(tmp_path, content, message):
    (tmp_path / "bad.png").write_bytes(content)
    with pytest.raises(ImageReadError, match=message) as caught:
        read_image(tmp_path / "bad.png")
    assert "\n" not in str(caught.value)


def test_truncated_png_and_custom_pixel_limit(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "ok.png")
    data = (tmp_path / "ok.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="cannot decode"):
        read_image(tmp_path / "cut.png")
    with pytest.raises(ImageReadError, match="over the limit"):
        read_image(tmp_path / "ok.png", max_pixels=1000)
    assert read_image(tmp_path / "ok.png", max_pixels=None)[0].shape == (64, 64, 3)


def test_write_is_atomic_and_refuses_unknown_extensions(tmp_path):
    with pytest.raises(ValueError, match="cannot write .gif"):
        write_image(tmp_path / "x.gif", np.zeros((4, 4, 3), np.float32))
    write_image(tmp_path / "sub" / "x.webp", np.ones((4, 4, 3), np.float32), quality=100)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["x.webp"]
    assert np.asarray(Image.open(tmp_path / "sub" / "x.webp")).min() == 255
