"""Draw the bundled sample picture ``src/apisr/data/sample.png``.

A small synthetic anime-style scene made only from shapes, so it carries no one's
artwork: a gradient sky with outlined clouds, hills in flat colours, a round character
head with hair, eyes and highlights, and a sign with text-like strokes. Everything is
drawn at 4x with dark outlines, shrunk to 320x240 with an area filter (anti-aliased
lines, soft like a real low-resolution frame) and passed once through JPEG at quality
80 for the faint blocking that real-world inputs carry.

    python scripts/make_sample.py [OUTPUT]
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

WIDTH, HEIGHT = 320, 240
SUPER = 4  # drawn at 4x, shrunk at the end
INK = (38, 30, 46)
OUTPUT = Path(__file__).resolve().parents[1] / "src" / "apisr" / "data" / "sample.png"


def box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
    """Coordinates given at the final 320x240 size, scaled to the drawing canvas."""
    return [x0 * SUPER, y0 * SUPER, x1 * SUPER, y1 * SUPER]


def line_width(width: float) -> int:
    return max(1, round(width * SUPER))


def sky(width: int, height: int) -> Image.Image:
    top, bottom = np.array([86, 146, 224], float), np.array([206, 232, 250], float)
    t = np.linspace(0.0, 1.0, height)[:, None, None]
    rows = (top * (1 - t) + bottom * t).astype(np.uint8)
    return Image.fromarray(np.repeat(rows, width, axis=1))


def cloud(draw: ImageDraw.ImageDraw, x: float, y: float, size: float) -> None:
    puffs = [(-1.0, 0.2, 0.7), (-0.3, -0.3, 0.9), (0.5, -0.1, 0.8), (1.1, 0.25, 0.6)]
    for outline in (True, False):
        for dx, dy, r in puffs:
            cx, cy, rr = x + dx * size, y + dy * size, r * size + (1.2 if outline else 0)
            draw.ellipse(box(cx - rr, cy - rr, cx + rr, cy + rr), fill=INK if outline else (250, 250, 255))
    # A flat underside, outlined like the rest.
    draw.rectangle(box(x - size * 1.6, y + size * 0.35, x + size * 1.8, y + size * 1.2), fill=(0, 0, 0, 0))
    draw.line(box(x - size * 1.55, y + size * 0.35, x + size * 1.75, y + size * 0.35), fill=INK, width=line_width(1.2))


def hills(draw: ImageDraw.ImageDraw) -> None:
    far = [(0, 170), (60, 140), (130, 158), (200, 128), (270, 150), (320, 135), (320, 240), (0, 240)]
    near = [(0, 200), (80, 178), (170, 196), (250, 172), (320, 188), (320, 240), (0, 240)]
    for points, colour in ((far, (120, 178, 120)), (near, (84, 150, 92))):
        draw.polygon([(px * SUPER, py * SUPER) for px, py in points], fill=colour, outline=INK, width=line_width(1.2))
    for px in range(12, 320, 23):  # grass tufts
        py = 214 + (px * 7) % 17
        draw.line(box(px, py, px + 2, py - 5), fill=(52, 110, 62), width=line_width(0.8))


def character(draw: ImageDraw.ImageDraw, cx: float, cy: float) -> None:
    r = 42
    draw.ellipse(box(cx - r - 10, cy + r - 12, cx + r + 10, cy + r + 60), fill=(226, 90, 104), outline=INK, width=line_width(1.5))
    draw.ellipse(box(cx - r, cy - r, cx + r, cy + r), fill=(252, 224, 204), outline=INK, width=line_width(1.5))
    # Hair: a cap and spiky fringe in one flat colour.
    draw.chord(box(cx - r - 4, cy - r - 8, cx + r + 4, cy + r - 10), 180, 360, fill=(66, 58, 120), outline=INK, width=line_width(1.5))
    for i in range(6):
        x0 = cx - r + 4 + i * 14
        draw.polygon(
            [((x0) * SUPER, (cy - 12) * SUPER), ((x0 + 14) * SUPER, (cy - 12) * SUPER), ((x0 + 7) * SUPER, (cy + 6) * SUPER)],
            fill=(66, 58, 120),
            outline=INK,
            width=line_width(1.2),
        )
    for ex in (cx - 16, cx + 16):
        draw.ellipse(box(ex - 8, cy + 2, ex + 8, cy + 24), fill=(255, 255, 255), outline=INK, width=line_width(1.3))
        draw.ellipse(box(ex - 6, cy + 6, ex + 6, cy + 23), fill=(60, 120, 190))
        draw.ellipse(box(ex - 3, cy + 11, ex + 3, cy + 20), fill=INK)
        draw.ellipse(box(ex - 4, cy + 7, ex, cy + 11), fill=(255, 255, 255))
    draw.arc(box(cx - 7, cy + 22, cx + 7, cy + 33), 20, 160, fill=INK, width=line_width(1.2))
    for bx in (cx - 28, cx + 22):
        draw.ellipse(box(bx, cy + 24, bx + 8, cy + 28), fill=(244, 170, 170))


def sign(draw: ImageDraw.ImageDraw, x: float, y: float) -> None:
    draw.rectangle(box(x + 24, y + 36, x + 28, y + 80), fill=(120, 84, 60), outline=INK, width=line_width(1))
    draw.rounded_rectangle(box(x, y, x + 52, y + 38), radius=3 * SUPER, fill=(250, 238, 196), outline=INK, width=line_width(1.4))
    rng = np.random.default_rng(7)
    for row in range(3):
        cursor = x + 5
        while cursor < x + 44:
            glyph = rng.integers(2, 5)
            ty = y + 7 + row * 10
            kind = rng.integers(0, 3)
            if kind == 0:
                draw.line(box(cursor, ty, cursor, ty + 6), fill=INK, width=line_width(0.9))
            elif kind == 1:
                draw.arc(box(cursor, ty, cursor + glyph, ty + 6), 0, 300, fill=INK, width=line_width(0.9))
            else:
                draw.line(box(cursor, ty + 6, cursor + glyph, ty), fill=INK, width=line_width(0.9))
            cursor += glyph + 2


def draw_sample() -> Image.Image:
    canvas = sky(WIDTH * SUPER, HEIGHT * SUPER).convert("RGBA")
    clouds = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    cloud_draw = ImageDraw.Draw(clouds)
    cloud(cloud_draw, 60, 48, 16)
    cloud(cloud_draw, 240, 34, 12)
    canvas = Image.alpha_composite(canvas, clouds).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    draw.ellipse(box(276, 64, 300, 88), fill=(255, 236, 150), outline=INK, width=line_width(1.2))  # sun
    hills(draw)
    sign(draw, 230, 120)
    character(draw, 120, 128)
    small = canvas.resize((WIDTH, HEIGHT), Image.Resampling.BOX)
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=80)
    return Image.open(buffer).convert("RGB")


def main(argv: list[str]) -> None:
    output = Path(argv[0]) if argv else OUTPUT
    output.parent.mkdir(parents=True, exist_ok=True)
    draw_sample().save(output, optimize=True)
    print(f"wrote {output}")


if __name__ == "__main__":
    main(sys.argv[1:])
