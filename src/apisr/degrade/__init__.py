"""Degradation engine: realistic low-quality inputs made in memory (spec §2).

``degrade(hr, scale, config, rng)`` returns the LR image and a :class:`Recipe` of every
drawn step; ``apply_recipe(hr, recipe)`` replays it. ``PairDataset`` (in
:mod:`apisr.degrade.dataset`) yields aligned training patches on the fly.
"""

from apisr.degrade.config import DegradationConfig, load_degradation_config
from apisr.degrade.pipeline import apply_recipe, degrade, draw_recipe
from apisr.degrade.recipe import Recipe, Step

__all__ = [
    "DegradationConfig",
    "Recipe",
    "Step",
    "apply_recipe",
    "degrade",
    "draw_recipe",
    "load_degradation_config",
]
