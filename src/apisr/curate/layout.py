"""The training-set folder written by ``apisr prepare`` and read by the trainer.

::

    DATASET/
      hr/NAME.png                  full frames: <= 720 lines, sides multiples of 8
      hr_enhanced/NAME.png         line-enhanced pseudo-GT of hr/NAME.png (same size)
      hr_crops/NAME_rRR_cCC.png    only with --crop: 256x256 grid tiles of hr/NAME.png
      hr_enhanced_crops/...        the same tiles of hr_enhanced/NAME.png (same names)
      val/hr/NAME.png              held-out frames (not enhanced, not cropped)
      val.txt                      the held-out file names, one per line
      dataset.json                 counts, source folder and the settings used
      edge_detail.json             edge-detail score of each hr/ frame (apisr.curate.detail), null
                                   for a frame without edges; read for data.min_edge_detail

Tile ``NAME_rRR_cCC`` is the square at row ``RR``, column ``CC`` of a
non-overlapping grid from the top-left corner; the right and bottom remainders
are dropped, as the paper does (a 1280x720 frame gives 2 x 5 tiles). An HR tile
and its enhanced tile share a name, which is how the trainer pairs them.
"""

from __future__ import annotations

HR = "hr"
HR_ENHANCED = "hr_enhanced"
HR_CROPS = "hr_crops"
HR_ENHANCED_CROPS = "hr_enhanced_crops"
VAL_HR = "val/hr"
VAL_LIST = "val.txt"
DATASET_JSON = "dataset.json"
EDGE_DETAIL_JSON = "edge_detail.json"
FORMAT_VERSION = 1


def crop_name(stem: str, row: int, col: int) -> str:
    return f"{stem}_r{row:02d}_c{col:02d}.png"
