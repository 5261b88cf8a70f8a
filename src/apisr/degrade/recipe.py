"""A recipe: the list of operations one degradation applied, with every drawn parameter.

A recipe explains a training sample ("resize down x0.42 bicubic, then blur aniso
15 px, ...") and, applied to the same HR image, reproduces its LR image byte for byte
(:func:`apisr.degrade.pipeline.apply_recipe`). Random noise stores the seed of its own
generator so that replaying needs nothing but the recipe. It travels as JSON.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Step:
    """One applied operation: ``op`` is resize, blur, noise or compress; ``stage`` is 1 or 2."""

    stage: int
    op: str
    params: dict = field(default_factory=dict)

    def describe(self) -> str:
        """A short human label, e.g. ``blur aniso 15px sx=1.20 sy=2.31 rot=40``."""
        p = self.params
        if self.op == "resize":
            height, width = p["size"]
            factor = "" if p["factor"] is None else f" x{p['factor']:.2f}"
            return f"resize {p['direction']}{factor} {p['mode']} -> {width}x{height}"
        if self.op == "blur":
            if p["type"] == "sinc":
                return f"blur sinc {p['size']}px omega={p['omega']:.2f}"
            if "aniso" in p["type"]:
                shape = f"sx={p['sigma_x']:.2f} sy={p['sigma_y']:.2f} rot={math.degrees(p['rotation']):.0f}"
            else:
                shape = f"s={p['sigma_x']:.2f}"
            beta = f" beta={p['beta']:.2f}" if "beta" in p else ""
            return f"blur {p['type']} {p['size']}px {shape}{beta}"
        if self.op == "noise":
            colour = "gray" if p["gray"] else "color"
            amount = f"sigma={p['sigma']:.1f}" if p["kind"] == "gaussian" else f"scale={p['scale']:.2f}"
            return f"noise {p['kind']} {amount} {colour}"
        if self.op == "compress":
            details = " ".join(f"{k}={v}" for k, v in p.items() if k != "codec")
            return f"{p['codec']} {details}"
        return f"{self.op} {p}"


@dataclass(frozen=True)
class Recipe:
    """Everything one call of :func:`apisr.degrade.pipeline.degrade` did to an ``hr_size`` image."""

    scale: int
    hr_size: tuple[int, int]
    steps: tuple[Step, ...]

    def to_dict(self) -> dict:
        return {
            "scale": self.scale,
            "hr_size": list(self.hr_size),
            "steps": [{"stage": s.stage, "op": s.op, "params": s.params} for s in self.steps],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Recipe:
        steps = tuple(Step(int(s["stage"]), str(s["op"]), dict(s["params"])) for s in data["steps"])
        return cls(int(data["scale"]), tuple(data["hr_size"]), steps)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Recipe:
        return cls.from_dict(json.loads(text))

    def stage(self, number: int) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.stage == number)
