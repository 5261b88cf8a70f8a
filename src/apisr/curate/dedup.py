"""Perceptual fingerprints for near-duplicate frames.

I-frames repeat around scene cuts and in recaps, so the same picture can come up
several times in one video. A difference hash (dHash) compares the brightness of
horizontally adjacent cells of a 9x8 grey thumbnail (a bit is set where
the right cell is brighter by more than 2 grey levels): 64 bits that survive
re-encoding, small shifts in brightness and rescaling. Two frames whose hashes
differ in at most a few bits show the same picture.

A uniformly flat frame hashes to 0 whatever its colour; such frames score lowest
on complexity and are rarely selected anyway.
"""

from __future__ import annotations

import cv2
import numpy as np



FLAT_MARGIN = 2 / 255


def dhash(image: np.ndarray) -> int:
    """64-bit difference hash of an RGB float image."""
    grey = cv2.cvtColor(image.astype(np.float32, copy=False), cv2.COLOR_RGB2GRAY)
    thumb = cv2.resize(grey, (9, 8), interpolation=cv2.INTER_AREA)
    # A margin keeps equal neighbours (flat areas, common in anime) from flipping on rounding noise.
    bits = (thumb[:, 1:] - thumb[:, :-1] > FLAT_MARGIN).ravel()
    return int(np.packbits(bits).view(">u8")[0])


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def is_duplicate(fingerprint: int, others: list[int], max_distance: int) -> bool:
    """Whether ``fingerprint`` is within ``max_distance`` bits of any of ``others``; a negative distance disables."""
    return max_distance >= 0 and any(hamming(fingerprint, other) <= max_distance for other in others)
