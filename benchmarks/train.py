"""Training throughput: iterations/s and samples/s, with and without data loading.

    python benchmarks/train.py [--quick] [--grl-iterations N] [--iterations N]

Measures on the best device here (and on the CPU), with the real :class:`Trainer` step:

1. GRL-tiny 4x, batch 32 (``--grl-batch``), LR 64: stage 1 (L1) and stage 2 (L1 + VGG19 + Danbooru ResNet50
   perceptual + three-scale PatchGAN), data loading excluded (step on ready batches) and, for
   stage 1, included (the DataLoader with on-the-fly degradation feeding the loop). Perceptual
   networks get random weights: the timing does not depend on them, and the real files may be absent.
2. The compact generator (64 features, 16 convs; batch 16, LR 64), the CPU training candidate:
   fp32 vs bf16 autocast vs channels-last, and full-frame vs crop-with-margin degradation with
   data loading included, with the share of time spent waiting for data; and the shipped
   ``train_compact_x4_l1`` recipe as its training record runs it (one training thread, one worker).

Training frames are synthetic 1280x720 anime-like pictures (the size `apisr prepare` makes).
Figures go to benchmarks/RESULTS.md (section "train").
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import markdown_table, write_section  # noqa: E402

from apisr.synthetic import synthetic_frame  # noqa: E402
from apisr.images import save_rgb  # noqa: E402
from apisr.losses.backbones import PerceptualBackbone  # noqa: E402
from apisr.train.config import load_train_config  # noqa: E402
from apisr.train.data import training_data  # noqa: E402
from apisr.cpu import has_native_bf16  # noqa: E402
from apisr.train.trainer import Trainer  # noqa: E402


def _random_weights(self: PerceptualBackbone, weights_dir=None):
    return self.build().eval().requires_grad_(False)


# Timing only: the perceptual networks run with random weights (same cost as the published ones).
PerceptualBackbone.load = _random_weights


def make_frames(root: Path, count: int) -> Path:
    rng = np.random.default_rng(0)
    for i in range(count):
        save_rgb(root / "hr" / f"{i:03d}.png", synthetic_frame(720, 1280, rng))
        (root / "hr_enhanced").mkdir(exist_ok=True)
        os.link(root / "hr" / f"{i:03d}.png", root / "hr_enhanced" / f"{i:03d}.png")
    return root


def config_for(base: str, dataset: Path, runs: Path, device: str, precision: str, **extra) -> object:
    items = {"data.dataset": dataset, "runs_dir": runs, "device": device, "precision": precision,
             "data.num_workers": 2, "ema_decay": 0.999, **extra}
    return load_train_config(base, [f"{k}={v}" for k, v in items.items()])


def step_rate(trainer: Trainer, batch: dict, warmup: int, iterations: int) -> float:
    """Iterations per second of the training step alone, on one ready batch."""
    for _ in range(warmup):
        trainer.step(batch)
    _sync(trainer.device)
    start = time.perf_counter()
    for _ in range(iterations):
        trainer.step(batch)
    _sync(trainer.device)
    return iterations / (time.perf_counter() - start)


def loop_rate(trainer: Trainer, config, warmup: int, iterations: int) -> tuple[float, float]:
    """(iterations/s, share of time waiting for data) of the loop fed by the DataLoader."""
    batches = training_data(config).batches(0)
    for _ in range(warmup):
        trainer.step(next(batches))
    waited, start = 0.0, time.perf_counter()
    for _ in range(iterations):
        tick = time.perf_counter()
        batch = next(batches)
        waited += time.perf_counter() - tick
        trainer.step(batch)
    _sync(trainer.device)
    total = time.perf_counter() - start
    return iterations / total, waited / total


def loader_rate(config, batches: int) -> float:
    """Samples per second the DataLoader alone delivers (degradation in its workers)."""
    iterator = training_data(config).batches(0)
    next(iterator)  # workers started, first batch ready
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * config.data.batch_size / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def first_batch(config) -> dict:
    return next(iter(training_data(config).loader))


GRL = {"model.architecture": "grl_tiny", "model.hyperparameters": "{img_size: 64}", "data.hr_patch": 256}
STAGE2 = {"losses": "[{type: l1}, {type: perceptual, backbone: vgg19, weight: 0.5},"
                    " {type: perceptual, backbone: danbooru_resnet50, weight: 0.5}, {type: gan, weight: 0.2}]",
          "discriminator.type": "patchgan_multiscale"}
COMPACT = {"model.architecture": "compact", "model.hyperparameters": "{num_feat: 64, num_conv: 16}",
           "data.hr_patch": 256, "data.batch_size": 16}


def bench_grl(dataset, runs, device, precisions, iterations, warmup, batch, rows):
    for stage, extra in (("1 (L1)", {}), ("2 (L1+VGG+R50+GAN)", STAGE2)):
        for precision in precisions:
            config = config_for("train_smoke", dataset, runs, device, precision, **GRL, **extra,
                                **{"data.batch_size": batch})
            trainer = Trainer(config, progress=False, tensorboard=False)
            rate = step_rate(trainer, first_batch(config), warmup, iterations)
            included, share = ("-", "-")
            if stage.startswith("1") and precision == "fp32":
                r, s = loop_rate(trainer, config, 0, iterations)
                included, share = f"{r:.4f}", f"{s:.0%}"
            rows.append([f"GRL-tiny stage {stage}, batch {batch}", device, precision, f"{rate:.4f}", f"{rate * batch:.2f}",
                         included, share])
            print(rows[-1], flush=True)


def bench_compact(dataset, runs, device, iterations, warmup, rows, loader_rows, recipe_rows):
    for precision, channels_last in (("fp32", False), ("bf16", False), ("fp32", True), ("bf16", True)):
        config = config_for("train_smoke", dataset, runs, device, precision, **COMPACT, channels_last=channels_last)
        trainer = Trainer(config, progress=False, tensorboard=False)
        emulated = precision == "bf16" and trainer.dtype is None
        if emulated:
            trainer.dtype = torch.bfloat16  # measure the emulated bf16 the trainer would refuse here
        # Emulated bf16 takes minutes per step: one timed step, no warm-up, is enough to see it.
        rate = step_rate(trainer, first_batch(config), 0 if emulated else warmup, 1 if emulated else iterations)
        label = setting_label(precision, channels_last)
        rows.append(["compact 64f/16c stage 1", device, label, f"{rate:.3f}", f"{rate * 16:.2f}", "-", "-"])
        print(rows[-1], flush=True)
    for full_frame in (True, False):
        config = config_for("train_smoke", dataset, runs, device, "fp32", **COMPACT, **{"data.full_frame": full_frame})
        trainer = Trainer(config, progress=False, tensorboard=False)
        rate, share = loop_rate(trainer, config, 1, iterations)
        mode = "full frame" if full_frame else "crop + 64px margin"
        loader_rows.append([mode, f"{loader_rate(config, 2):.2f}", f"{rate * 16:.2f}", f"{share:.0%}"])
        print(loader_rows[-1], flush=True)
    recipe_rows.append(shipped_recipe(dataset, runs, device, iterations * 10, warmup + 3))
    print(recipe_rows[-1], flush=True)


def shipped_recipe(dataset, runs, device, iterations, warmup) -> list[str]:
    """The loop of the shipped stage-1 config as its training record runs it: one training thread
    and its one DataLoader worker (each its own core), precision and layout from the config."""
    config = config_for("train_compact_x4_l1", dataset, runs, device, "auto", **{"data.num_workers": 1})
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        trainer = Trainer(config, progress=False, tensorboard=False)
        rate, share = loop_rate(trainer, config, warmup, iterations)
    finally:
        torch.set_num_threads(threads)
    data = config.data
    precision = {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(trainer.dtype, "fp32")
    return [f"train_compact_x4_l1 (HR {data.hr_patch}, batch {data.batch_size})", device,
            setting_label(precision, config.channels_last),
            f"{rate:.3f}", f"{rate * data.batch_size:.2f}", f"{share:.0%}"]


def setting_label(precision: str, channels_last: bool) -> str:
    return precision + (" + channels_last" if channels_last else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grl-iterations", type=int, default=None, help="timed GRL iterations (default 1 on CPU, 10 on GPU)")
    parser.add_argument("--iterations", type=int, default=3, help="timed compact iterations per setting")
    parser.add_argument("--grl-batch", type=int, default=32, help="GRL batch size (32 needs about 20 GB on a CPU)")
    parser.add_argument("--skip-grl", action="store_true", help="only the compact generator")
    args = parser.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows, loader_rows, recipe_rows = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        dataset, runs = make_frames(Path(tmp) / "data", 32), Path(tmp) / "runs"
        for device in devices:
            gpu = device == "cuda"
            if not args.skip_grl:
                n = args.grl_iterations or (10 if gpu else 1)
                bench_grl(dataset, runs, device, ["fp32", "bf16"] if gpu else ["fp32"], n, 2 if gpu else 0,
                          args.grl_batch, rows)
            bench_compact(dataset, runs, device, args.iterations * (10 if gpu else 1), 1, rows, loader_rows, recipe_rows)
    body = "\n\n".join([
        "Training step throughput (the real `Trainer.step`: forward, losses, backward, Adam, EMA; stage 2 also the "
        "discriminator step). *Step only* runs on a ready batch; *with data* is the loop fed by the DataLoader "
        "(2 workers degrading 1280x720 synthetic frames on the fly), and *data share* the part of its time spent "
        "waiting for a batch. Perceptual networks have random weights (same cost).",
        markdown_table(["model", "device", "precision", "it/s step only", "samples/s step only", "it/s with data",
                        "data share"], rows),
        "Data loading alone and the compact fp32 loop with data, batch 16, HR 256, 2 workers:",
        markdown_table(["degradation", "loader samples/s", "loop samples/s", "data share"], loader_rows),
        "The shipped stage-1 recipe (`train_compact_x4_l1`: crop + 64px margin, cached frames) as its training"
        " record runs it, `OMP_NUM_THREADS=1`: one training thread and one DataLoader worker, a core each:",
        markdown_table(["config", "device", "precision", "it/s with data", "samples/s with data", "data share"],
                       recipe_rows),
        ("This CPU computes bf16 natively (AVX512-BF16/AMX): `precision: auto` trains in bf16 autocast here."
         if has_native_bf16() else
         "This CPU has no native bf16 (AVX512-BF16/AMX): bf16 rows are the emulated autocast that `precision: auto`"
         " avoids (the trainer falls back to fp32 with one log line).")
        + " GRL rows are single iterations on the CPU.",
    ])
    write_section("train", body)


if __name__ == "__main__":
    main()
