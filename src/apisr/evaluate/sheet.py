"""One PNG that compares every method at pixel zoom: ``sheet.png``, the picture a README can show.

A row per input image, a column per method, each cell the image's comparison crop (the
one ``index.html`` shows, at the same nearest-neighbour zoom). The first column is the LR
input enlarged by pixel repetition, so the sheet shows what every method started from;
the reference, when there is one, is the last. Each column is headed by the method's name
and how it reached the scale; each row by the image's name and where its crop lies. A
method that made no crop for an image (it failed, or made another size) gets a grey cell
that says so, so the columns stay aligned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from apisr.images import load_rgb_pixels, save_rgb

from .runner import Evaluation

MARGIN = 10  # around the whole sheet
GAP = 6  # between cells
LINE_SPACING = 3
BACKGROUND = (255, 255, 255)
INK = (20, 20, 24)
FAINT_INK = (90, 90, 100)
MISSING = (215, 215, 215)

# A line of text: its font and its spans, each (text, colour), drawn one after the other.
Line = tuple[ImageFont.FreeTypeFont, list[tuple[str, tuple[int, int, int]]]]


@dataclass(frozen=True)
class Column:
    label: str  # the key of the crops in ImageCrops.files
    detail: str  # a second, smaller line: how this column was made


@dataclass(frozen=True)
class SheetRow:
    title: str  # the image's name
    detail: str  # where its crop lies
    crops: dict[str, np.ndarray]  # column label -> zoomed crop, uint8 RGB


@dataclass
class Sheet:
    image: np.ndarray  # uint8 RGB
    cells: dict[tuple[int, str], tuple[int, int, int, int]]  # (row index, column label) -> x, y, w, h


def compose_sheet(columns: Sequence[Column], rows: Sequence[SheetRow], font_size: int = 18) -> Sheet:
    """Lay the crops out in a labelled grid; every column as wide as its widest crop."""
    big = ImageFont.load_default(size=font_size)
    small = ImageFont.load_default(size=max(10, round(font_size * 0.75)))
    widths = [max((row.crops[c.label].shape[1] for row in rows if c.label in row.crops), default=0) for c in columns]
    # A column no image has a crop for still needs room for its header and "no output" cells.
    widths = [width or 8 * font_size for width in widths]
    heights = [max((crop.shape[0] for crop in row.crops.values()), default=4 * font_size) for row in rows]
    sheet_width = 2 * MARGIN + sum(widths) + GAP * (len(columns) - 1)
    lefts = [MARGIN + sum(widths[:index]) + GAP * index for index in range(len(columns))]

    headers = [_paragraph(column.label, big, INK, width) + _paragraph(column.detail, small, FAINT_INK, width)
               for column, width in zip(columns, widths)]
    titles = [_row_title(row, big, small, sheet_width - 2 * MARGIN) for row in rows]
    header_height = max(map(_height, headers))
    sheet_height = 2 * MARGIN + header_height + sum(_height(t) + GAP + h + GAP for t, h in zip(titles, heights))

    canvas = Image.new("RGB", (sheet_width, sheet_height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for left, lines in zip(lefts, headers):
        _draw(draw, left, MARGIN, lines)
    cells = {}
    top = MARGIN + header_height
    for index, (row, title, height) in enumerate(zip(rows, titles, heights)):
        top = _draw(draw, MARGIN, top + GAP, title) + GAP
        for column, left, width in zip(columns, lefts, widths):
            crop = row.crops.get(column.label)
            if crop is None:
                draw.rectangle((left, top, left + width - 1, top + height - 1), fill=MISSING)
                draw.text((left + width // 2, top + height // 2), "no output", font=small, fill=INK, anchor="mm")
                continue
            canvas.paste(Image.fromarray(crop), (left, top))
            cells[(index, column.label)] = (left, top, crop.shape[1], crop.shape[0])
        top += height
    return Sheet(np.asarray(canvas), cells)


def write_sheet(evaluation: Evaluation, path: Path, font_size: int = 18) -> Sheet:
    """The sheet of an evaluation's crops (as ``evaluate`` saved them), written atomically to ``path``."""
    columns = [Column("input", f"LR input, nearest x{evaluation.scale}")]
    columns += [Column(method.name, method.rule) for method in evaluation.methods]
    if any("reference" in crops.files for crops in evaluation.crops):
        columns.append(Column("reference", "clean reference"))
    rows = []
    for crops in evaluation.crops:
        x, y, w, h = crops.box
        detail = f"crop x={x} y={y}, {w}x{h} output pixels, shown {evaluation.zoom}x"
        rows.append(SheetRow(crops.image, detail, {label: load_rgb_pixels(file) for label, file in crops.files.items()}))
    sheet = compose_sheet(columns, rows, font_size)
    save_rgb(path, sheet.image)
    return sheet


def _paragraph(text: str, font: ImageFont.FreeTypeFont, colour: tuple[int, int, int], width: int) -> list[Line]:
    return [(font, [(line, colour)]) for line in _wrap(text, font, width)]


def _row_title(row: SheetRow, big: ImageFont.FreeTypeFont, small: ImageFont.FreeTypeFont, width: int) -> list[Line]:
    """The image's name, with the crop's place after it on the same line when both fit."""
    detail = f"   {row.detail}"
    if big.getlength(row.title + detail) <= width:
        return [(big, [(row.title, INK), (detail, FAINT_INK)])]
    return _paragraph(row.title, big, INK, width) + _paragraph(row.detail, small, FAINT_INK, width)


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    ascent, descent = font.getmetrics()
    return ascent + descent + LINE_SPACING


def _height(lines: list[Line]) -> int:
    return sum(_line_height(font) for font, _ in lines)


def _draw(draw: ImageDraw.ImageDraw, left: int, top: int, lines: list[Line]) -> int:
    """Draw the lines downwards from ``top``; returns the y below the last."""
    for font, spans in lines:
        x = left
        for text, colour in spans:
            draw.text((x, top), text, font=font, fill=colour)
            x += font.getlength(text)
        top += _line_height(font)
    return top


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy wrap to ``width`` pixels: at spaces, else after ``_ - . /`` (file names), else anywhere."""
    lines: list[str] = []
    line = ""
    for token in re.split(r"(?<=[\s_./-])", text.strip()):
        if font.getlength((line + token).rstrip()) <= width:
            line += token
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = ""
        for char in token.lstrip():
            if line and font.getlength(line + char) > width:
                lines.append(line)
                line = ""
            line += char
    return lines + [line.rstrip()] if line.strip() else lines
