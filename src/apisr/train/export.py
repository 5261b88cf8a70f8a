"""Turning a training checkpoint into a release file that ``apisr upscale`` loads directly.

The release weights are the EMA generator (the raw generator when the run had no EMA),
saved as safetensors with metadata: architecture, hyper-parameters and scale (so the
loader needs no detection), the resolved training config as YAML, a summary of the
training data, and a short model card that names the losses and perceptual networks used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from apisr.models.checkpoint import model_metadata, save_safetensors
from apisr.train.checkpoint import load_checkpoint
from apisr.config import to_dict


def model_card(config: dict[str, Any], iteration: int, training_data: dict[str, Any]) -> str:
    from apisr.losses.backbones import get_backbone

    model = config["model"]
    lines = [
        f"# {config['name']}",
        "",
        f"{model['architecture']} {model['scale']}x generator trained by apisr for {iteration} iterations "
        f"on {training_data.get('images', '?')} images (HR patch {config['data']['hr_patch']}).",
    ]
    if model.get("pretrained"):
        # A later stage: its iterations and losses are only the last part of the model's training.
        lines.append(f"Started from {Path(model['pretrained']).name} ({model['pretrained']}), not from scratch.")
    lines += [
        "",
        "Losses:",
    ]
    for entry in config["losses"]:
        if entry["type"] == "perceptual":
            backbone = get_backbone(entry["backbone"])
            how = " (detached: no gradient, as the original code)" if entry["detach_features"] else ""
            lines.append(f"- perceptual x{entry['weight']} through {backbone.description}{how}")
        elif entry["type"] == "gan":
            lines.append(f"- {entry['gan_type']} GAN x{entry['weight']} with a {config['discriminator']['type']} discriminator")
        else:
            lines.append(f"- {entry['type']} x{entry['weight']}")
    weights = "EMA" if config["ema_decay"] > 0 else "raw (no EMA)"
    lines += ["", f"Weights: {weights} generator."]
    return "\n".join(lines)


def export_checkpoint(checkpoint: str | Path, output: str | Path, half: bool = False) -> Path:
    state = load_checkpoint(Path(checkpoint))
    weights = state["params_ema"] if state.get("params_ema") is not None else state["params"]
    config = state["config"]
    hyperparameters = {**config["model"]["hyperparameters"], "scale": config["model"]["scale"]}
    training_data = state.get("training_data") or {}
    metadata = model_metadata(
        config["model"]["architecture"], hyperparameters,
        config=yaml.safe_dump(to_dict(config), sort_keys=False),
        training_data=json.dumps(training_data, sort_keys=True),
        iteration=str(state["iteration"]),
        model_card=model_card(config, int(state["iteration"]), training_data),
    )
    return save_safetensors(output, weights, metadata, half=half)

