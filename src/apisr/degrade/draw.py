"""Drawing one name from a ``{name: probability}`` mapping."""

from __future__ import annotations

import bisect
import itertools

import numpy as np


def choose(probabilities: dict[str, float], rng: np.random.Generator) -> str:
    """One key of ``probabilities``, drawn with its probability (one uniform draw).

    A hand-rolled inverse CDF: ``Generator.choice(p=...)`` validates ``p`` on every
    call and costs ten times more, which shows when drawing thousands of recipes.
    """
    names = list(probabilities)
    cumulative = list(itertools.accumulate(probabilities.values()))
    # min(): the sum can fall a hair short of 1 in floating point.
    return names[min(bisect.bisect_right(cumulative, rng.random() * cumulative[-1]), len(names) - 1)]
