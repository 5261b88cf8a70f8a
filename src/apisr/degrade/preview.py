"""A contact sheet that shows what the degradation did, stage by stage.

One row per sample: the HR input, the image after stage 1, after stage 2 (resized to
the LR size, before the final codec), the final LR, and a zoom into the LR's centre,
where codec blocks and ringing are visible. Under each picture are the steps of that
stage with their drawn parameters, so a reader can match artefacts to causes.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from apisr.degrade.pipeline import run_steps, to_float_rgb
from apisr.degrade.recipe import Recipe
from apisr.images import to_uint8

COLUMNS = ("HR input", "after stage 1", "after stage 2 (LR size)", "final LR", "final LR, centre zoomed")
BACKGROUND = (250, 250, 250)
TEXT = (20, 20, 20)


def stage_images(hr: np.ndarray, recipe: Recipe) -> list[np.ndarray]:
    """[HR, after stage 1, after stage 2 before its codec, final LR] for one recipe."""
    hr = to_float_rgb(hr)
    after = list(run_steps(hr, recipe))
    end_of_stage1 = max(i for i, (step, _) in enumerate(after) if step.stage == 1)
    final_resize = next(i for i, (step, _) in enumerate(after) if step.params.get("direction") == "final")
    return [hr, after[end_of_stage1][1], after[final_resize][1], after[-1][1]]


def contact_sheet(samples: list[tuple[str, np.ndarray, Recipe]], cell_width: int = 300) -> np.ndarray:
    """A uint8 RGB sheet for ``(title, hr, recipe)`` samples, one row each."""
    font = ImageFont.load_default(size=13)
    title_font = ImageFont.load_default(size=15)
    line_height, pad = 17, 8
    rows = []
    for title, hr, recipe in samples:
        shots = stage_images(hr, recipe)
        lr = shots[-1]
        height, width = lr.shape[:2]
        centre = lr[height // 2 - height // 8 : height // 2 + height // 8, width // 2 - width // 8 : width // 2 + width // 8]
        pictures = [*shots, centre if centre.size else lr]
        captions = [[part for line in caption for part in _wrap(line, font, cell_width)] for caption in _captions(recipe, shots)]
        cell_height = round(cell_width * hr.shape[0] / hr.shape[1])
        text_lines = max(len(c) for c in captions)
        row_height = line_height + pad + cell_height + pad + (text_lines + 1) * line_height + pad
        row = Image.new("RGB", (len(COLUMNS) * (cell_width + pad) + pad, row_height), BACKGROUND)
        draw = ImageDraw.Draw(row)
        draw.text((pad, 2), title, fill=TEXT, font=title_font)
        for column, (name, picture, caption) in enumerate(zip(COLUMNS, pictures, captions)):
            x = pad + column * (cell_width + pad)
            y = line_height + pad
            row.paste(Image.fromarray(_fit(picture, cell_width, cell_height)), (x, y))
            draw.text((x, y + cell_height + 2), name, fill=(90, 90, 90), font=font)
            for k, line in enumerate(caption):
                draw.text((x, y + cell_height + pad + (k + 1) * line_height), line, fill=TEXT, font=font)
        rows.append(np.asarray(row))
    width = max(r.shape[1] for r in rows)
    separator = np.full((2, width, 3), 200, np.uint8)
    out = []
    for r in rows:
        out += [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=250), separator]
    return np.concatenate(out[:-1], axis=0)


def _captions(recipe: Recipe, shots: list[np.ndarray]) -> list[list[str]]:
    stage1 = [s.describe() for s in recipe.stage(1)]
    stage2 = [s.describe() for s in recipe.stage(2)]
    h, w = shots[0].shape[:2]
    lh, lw = shots[-1].shape[:2]
    return [
        [f"{w}x{h}", f"scale {recipe.scale}x"],
        stage1,
        stage2[:-1],
        [stage2[-1], f"{lw}x{lh}"],
        ["nearest-neighbour zoom"],
    ]


def _wrap(text: str, font, width: int) -> list[str]:
    """Break ``text`` at spaces so that each line fits ``width`` pixels; continuation lines are indented."""
    lines, current = [], ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and font.getlength(candidate) > width:
            lines.append(current)
            candidate = f"    {word}"
        current = candidate
    return [*lines, current]


def _fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale into a ``width x height`` box on a light background; small images upscale with nearest neighbour."""
    h, w = image.shape[:2]
    factor = min(width / w, height / h)
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    mode = cv2.INTER_NEAREST if factor > 1 else cv2.INTER_AREA
    scaled = cv2.resize(to_uint8(image), size, interpolation=mode)
    canvas = np.full((height, width, 3), 235, np.uint8)
    y, x = (height - size[1]) // 2, (width - size[0]) // 2
    canvas[y : y + size[1], x : x + size[0]] = scaled
    return canvas
