"""The trainer on CPU: learning, exact resume, crash-safe checkpoints, export to a loadable model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from train_samples import make_dataset, overrides

from apisr.config import ConfigError
from apisr.models.registry import load_model
from apisr.train import checkpoint as ckpt
from apisr.train.config import load_train_config, shipped_configs
from apisr.train.trainer import Trainer, train

GAN = ["discriminator.type=unet_sn", "losses=[{type: l1}, {type: gan, gan_type: vanilla, weight: 0.1}]",
       "optimizer.lr_discriminator=0.0005"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("dataset"))


def test_shipped_configs_validate_and_unknown_keys_are_named():
    assert {"train_smoke", "train_grl_tiny_x4_l1", "train_grl_tiny_x4_gan", "train_rrdb6_x4_gan"} <= set(shipped_configs())
    for name in shipped_configs():
        load_train_config(name)
    gan = load_train_config("train_grl_tiny_x4_gan")
    assert gan.data.batch_size == 32 and gan.optimizer.betas == (0.9, 0.99) and gan.adversarial
    assert [e.weight for e in gan.losses] == [1.0, 0.5, 0.5, 0.2]
    with pytest.raises(ConfigError, match="optimizer.betta"):
        load_train_config("train_smoke", ["optimizer.betta=1"])


def test_smoke_run_lowers_l1(dataset, tmp_path):
    config = load_train_config("train_smoke", overrides(dataset, tmp_path, iterations=60, **{
        "optimizer.lr_generator": 0.002, "ema_decay": 0.0, "val_every": 60, "save_every": 60}))
    trainer = train(config, progress=False)
    losses = [json.loads(line) for line in (trainer.run_dir / "metrics.jsonl").read_text().splitlines()]
    l1 = [entry["loss/l1"] for entry in losses if "loss/l1" in entry]
    assert len(l1) == 12
    # Averages of the first and last 15 iterations' logged values, to see past batch-to-batch noise.
    assert sum(l1[-3:]) / 3 < 0.8 * sum(l1[:3]) / 3
    assert any("val/psnr" in entry for entry in losses)
    assert (trainer.run_dir / "best.pt").is_file() and (trainer.run_dir / "config.yaml").is_file()
    assert len(list((trainer.run_dir / "samples").rglob("*.png"))) == 1


def test_resume_gives_the_same_weights_as_a_straight_run(dataset, tmp_path):
    straight = train(load_train_config("train_smoke", overrides(dataset, tmp_path, "straight", 20) + GAN), progress=False)
    train(load_train_config("train_smoke", overrides(dataset, tmp_path, "split", 10) + GAN), progress=False)
    resumed = train(load_train_config("train_smoke", overrides(dataset, tmp_path, "split", 20) + GAN),
                    resume=True, progress=False)
    assert resumed.iteration == straight.iteration == 20
    for mine, theirs in [(resumed.generator, straight.generator), (resumed.discriminator, straight.discriminator),
                         (resumed.ema.model, straight.ema.model)]:
        for (key, a), b in zip(mine.state_dict().items(), theirs.state_dict().values()):
            torch.testing.assert_close(a, b, rtol=0, atol=0, msg=key)
    # keep_last numbered checkpoints beside last.pt
    assert sorted(p.name for p in (resumed.run_dir / "checkpoints").iterdir()) == ["iter_00000010.pt", "iter_00000020.pt"]


KILL_DURING_SAVE = """
import os, signal, sys, torch
from pathlib import Path
from apisr.train import checkpoint as ckpt
run = Path(sys.argv[1])
ckpt.save_training_checkpoint({"iteration": 5, "w": torch.ones(3)}, run, keep_last=2)
real_save = torch.save
def dying_save(obj, f):
    real_save(obj, f)
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)  # killed after writing, before the rename
torch.save = dying_save
ckpt.save_training_checkpoint({"iteration": 6, "w": torch.zeros(3)}, run, keep_last=2)
"""


def test_kill_during_save_leaves_the_previous_checkpoint(tmp_path):
    result = subprocess.run([sys.executable, "-c", KILL_DURING_SAVE, str(tmp_path)], capture_output=True)
    assert result.returncode == -9
    state = ckpt.load_checkpoint(tmp_path / ckpt.LAST)
    assert state["iteration"] == 5 and torch.equal(state["w"], torch.ones(3))


def test_export_loads_as_the_ema_generator(dataset, tmp_path):
    from apisr.cli.main import main

    trainer = train(load_train_config("train_smoke", overrides(dataset, tmp_path, iterations=10)), progress=False)
    out = tmp_path / "model.safetensors"
    assert main(["export", str(trainer.run_dir / "last.pt"), "-o", str(out)]) == 0
    model = load_model(out)
    assert model.name == "compact" and model.scale == 4
    assert "compact 4x generator" in model.metadata["apisr.model_card"]
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(model(x), trainer.ema.model.eval()(x))
