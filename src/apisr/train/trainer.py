"""The training loop: stage 1 (L1) or stage 2 (L1 + perceptual + GAN), resumable, optionally distributed.

One iteration: the generator upscales a batch of degraded LR patches; its loss (the
config's ``losses`` list) compares the output with the line-enhanced pseudo-GT (or, per
term, the plain GT) and, in stage 2, asks the discriminator's opinion; the discriminator
then learns to tell the plain GT ("real") from the output ("fake"). Both share one gradient
scaler (fp16 only), the learning rates follow the config's schedule (step decay or
cosine), and an EMA copy of the
generator follows along: it is what validation measures and what ``apisr export`` ships.

Everything that decides the next iteration is in the checkpoint (weights, EMA,
optimisers, schedulers, scaler, RNG, iteration), and the data order is a function of the
iteration (see :mod:`apisr.train.data`), so ``--resume`` continues exactly where the
last checkpoint stopped.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from apisr.config import dump_yaml, to_dict
from apisr.images import save_rgb, to_array
from apisr.losses.composite import build_generator_loss
from apisr.losses.gan import gan_loss
from apisr.models.discriminator import build_discriminator
from apisr.models.registry import build_model
from apisr.train import checkpoint as ckpt
from apisr.train.config import TrainConfig
from apisr.train.data import training_data, validation_pairs
from apisr.train.ema import EMA
from apisr.train.logger import RunLogger
from apisr.train.runtime import Distributed, autocast_dtype, init_distributed, pick_device, run_dir

log = logging.getLogger("apisr.train")


def build_generator(config: TrainConfig) -> nn.Module:
    generator = build_model(config.model.architecture, scale=config.model.scale, **config.model.hyperparameters)
    if config.model.pretrained:
        from apisr.models.checkpoint import read_state_dict

        state, _ = read_state_dict(config.model.pretrained)
        generator.load_state_dict(state, strict=True)
        log.info("generator initialised from %s", config.model.pretrained)
    return generator


class Trainer:
    def __init__(self, config: TrainConfig, weights_dir: str | Path | None = None, resume: bool = False,
                 progress: bool = True, tensorboard: bool = True) -> None:
        self.config = config
        self.progress = progress
        self.tensorboard = tensorboard
        self.data_summary: dict[str, Any] = {}
        on_cuda = config.device.startswith("cuda") or (config.device == "auto" and torch.cuda.is_available())
        self.dist: Distributed = init_distributed("cuda" if on_cuda else "cpu")
        self.device = pick_device(config.device, self.dist.local_rank)
        self.dtype = autocast_dtype(config.precision, self.device)
        self.run_dir = run_dir(config)
        self.memory_format = torch.channels_last if config.channels_last else torch.contiguous_format

        # Same seed on every rank: identical initial weights without a broadcast.
        torch.manual_seed(config.seed)
        self.generator = build_generator(config).to(self.device, memory_format=self.memory_format)
        self.discriminator = None
        if config.adversarial:
            self.discriminator = build_discriminator(config.discriminator.type, num_feat=config.discriminator.num_feat)
            self.discriminator.to(self.device, memory_format=self.memory_format)
        self.loss = build_generator_loss(config.losses, weights_dir).to(self.device)
        self.gan_type = next((e.gan_type for e in config.losses if e.type == "gan"), "lsgan")
        self.ema = EMA(self.generator, config.ema_decay) if config.ema_decay > 0 else None

        opt = config.optimizer
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=opt.lr_generator, betas=opt.betas)
        self.sched_g = _scheduler(self.opt_g, config)
        self.opt_d = self.sched_d = None
        if self.discriminator is not None:
            self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=opt.lr_discriminator, betas=opt.betas)
            self.sched_d = _scheduler(self.opt_d, config)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.dtype == torch.float16)
        self.iteration = 0
        # The best validation score so far, signed so that higher is better (see _best_score).
        self.best_score = -math.inf

        if resume:
            self._resume()
        self.train_g: nn.Module = self.generator
        self.train_d: nn.Module | None = self.discriminator
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.train_g = DistributedDataParallel(self.generator, device_ids=ids)
            if self.discriminator is not None:
                self.train_d = DistributedDataParallel(self.discriminator, device_ids=ids)
        if config.compile:
            self.train_g = torch.compile(self.train_g)

    # ----------------------------------------------------------------- state
    def state(self) -> dict[str, Any]:
        """Everything the next iteration depends on, as plain containers (``weights_only``-loadable)."""

        def sd(x):
            return None if x is None else x.state_dict()

        return {
            "iteration": self.iteration,
            # BasicSR's key names: apisr.models.checkpoint.read_state_dict (upscale, model.pretrained)
            # then reads a training checkpoint directly, preferring the EMA weights.
            "params": sd(self.generator),
            "discriminator": sd(self.discriminator),
            "params_ema": None if self.ema is None else self.ema.model.state_dict(),
            "optimizer_g": sd(self.opt_g), "optimizer_d": sd(self.opt_d),
            "scheduler_g": sd(self.sched_g), "scheduler_d": sd(self.sched_d),
            "scaler": self.scaler.state_dict(),
            "rng": ckpt.rng_state(),
            "best_score": self.best_score,
            "config": to_dict(self.config),
            "training_data": self.data_summary,
        }

    def _resume(self) -> None:
        path = self.run_dir / ckpt.LAST
        if not path.is_file():
            log.info("no checkpoint in %s: starting from iteration 0", self.run_dir)
            return
        state = ckpt.load_checkpoint(path, self.device)
        self.generator.load_state_dict(state["params"])
        if self.discriminator is not None:
            self.discriminator.load_state_dict(state["discriminator"])
            self.opt_d.load_state_dict(state["optimizer_d"])
            self.sched_d.load_state_dict(state["scheduler_d"])
        if self.ema is not None and state["params_ema"] is not None:
            self.ema.model.load_state_dict(state["params_ema"])
        self.opt_g.load_state_dict(state["optimizer_g"])
        self.sched_g.load_state_dict(state["scheduler_g"])
        self.scaler.load_state_dict(state["scaler"])
        ckpt.set_rng_state(state["rng"])
        self.iteration = int(state["iteration"])
        self.best_score = float(state["best_score"] if "best_score" in state else state["best_psnr"])
        log.info("resumed %s at iteration %d", path, self.iteration)

    def save(self) -> None:
        if self.dist.main:
            ckpt.save_training_checkpoint(self.state(), self.run_dir, self.config.keep_last)

    # ------------------------------------------------------------------ steps
    def _autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One generator update and, in stage 2, one discriminator update."""
        lr, hr, target = (batch[k].to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
                          for k in ("lr", "hr", "hr_enhanced"))
        with self._autocast():
            output = self.train_g(lr)
            # The discriminator judges the output through the unwrapped module: its weights are
            # not trained in this pass, so DDP must not wait for their gradients.
            verdict = None
            if self.discriminator is not None:
                self.discriminator.requires_grad_(False)
                verdict = self.discriminator(output)
            ema_output = None
            if self.loss.needs_ema_output:
                with torch.no_grad():
                    ema_output = self.ema.model(lr)
            terms = self.loss(output, target, hr, verdict, ema_output)
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(terms["total"]).backward()
        self.scaler.step(self.opt_g)
        logged = {f"loss/{k}": v.item() for k, v in terms.items()}

        if self.discriminator is not None:
            self.discriminator.requires_grad_(True)
            with self._autocast():
                # Real (plain GT, not the enhanced one) and fake in one pass, as DDP wants one forward per backward.
                both = self.train_d(torch.cat([hr, output.detach()]))
                real, fake = _split_verdicts(both, hr.shape[0])
                loss_real = gan_loss(real, True, self.gan_type)
                loss_fake = gan_loss(fake, False, self.gan_type)
            self.opt_d.zero_grad(set_to_none=True)
            self.scaler.scale(loss_real + loss_fake).backward()
            self.scaler.step(self.opt_d)
            self.sched_d.step()
            logged.update({"loss_d/real": loss_real.item(), "loss_d/fake": loss_fake.item()})
        self.scaler.update()
        self.sched_g.step()
        if self.ema is not None:
            self.ema.update(self.generator, self.iteration)
        self.iteration += 1
        return logged

    # ------------------------------------------------------------- validation
    @torch.no_grad()
    def validate(self, pairs: list[tuple[torch.Tensor, torch.Tensor]], logger: RunLogger) -> dict[str, float]:
        """Mean PSNR/SSIM/GMSD (Y channel, scale-pixel border cropped) of the EMA generator, and NIQE
        when the images hold the two 96-pixel blocks it needs; the first ``sample_images`` outputs
        become PNGs."""
        from apisr.evaluate import metrics
        from apisr.evaluate.niqe import niqe

        model = self.ema.model if self.ema is not None else self.generator
        was_training = model.training
        model.eval()
        scale = self.config.model.scale
        scores: dict[str, list[float]] = {"val/psnr": [], "val/ssim": [], "val/gmsd": [], "val/niqe": []}
        folder = self.run_dir / "samples" / f"iter_{self.iteration:08d}"
        for index, (lr, hr) in enumerate(pairs):
            output = model(lr[None].to(self.device)).float().clamp(0, 1)
            out_image, hr_image = to_array(output), to_array(hr)
            scores["val/psnr"].append(metrics.psnr(out_image, hr_image, crop_border=scale))
            scores["val/ssim"].append(metrics.ssim(out_image, hr_image, crop_border=scale))
            scores["val/gmsd"].append(metrics.gmsd(out_image, hr_image, crop_border=scale))
            try:
                scores["val/niqe"].append(niqe(out_image, crop_border=scale))
            except ValueError:  # too small for NIQE's blocks
                pass
            if index < self.config.sample_images:
                save_rgb(folder / f"val_{index:02d}.png", out_image)
                logger.image(self.iteration, f"val/{index:02d}", out_image)
        model.train(was_training)
        return {key: float(sum(values) / len(values)) for key, values in scores.items() if values}

    # ------------------------------------------------------------------- loop
    def fit(self) -> Path:
        config = self.config
        data = training_data(config, self.dist.rank, self.dist.world_size)
        self.data_summary = data.summary
        pairs = validation_pairs(config) if self.dist.main else []
        logger = RunLogger(self.run_dir, tensorboard=self.tensorboard) if self.dist.main else None
        if self.dist.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            dump_yaml(config, self.run_dir / "config.yaml")
            log.info("run folder %s; %s on %s, autocast %s; %d training images, %d validation images",
                     self.run_dir, config.model.architecture, self.device, self.dtype or "off",
                     data.summary["images"], len(pairs))
            if not pairs:
                log.info("no validation images in %s/val/hr: no validation and no best.pt", config.data.dataset)
        bar = None
        if self.dist.main and self.progress:
            from tqdm import tqdm

            bar = tqdm(total=config.iterations, initial=self.iteration, unit="it", dynamic_ncols=True)
        self.generator.train()
        batches = data.batches(self.iteration)
        data_time, step_time = 0.0, 0.0
        while self.iteration < config.iterations:
            tick = time.perf_counter()
            batch = next(batches)
            tock = time.perf_counter()
            logged = self.step(batch)
            data_time += tock - tick
            step_time += time.perf_counter() - tock
            it = self.iteration
            if not self.dist.main:
                continue
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k.split("/")[-1]: f"{v:.4g}" for k, v in logged.items() if k.startswith("loss/")})
            if it % config.log_every == 0 or it == config.iterations:
                logged["lr/generator"] = self.sched_g.get_last_lr()[0]
                logged["time/data_share"] = data_time / max(data_time + step_time, 1e-9)
                logger.scalars(it, logged)
            if pairs and (it % config.val_every == 0 or it == config.iterations):
                scores = self.validate(pairs, logger)
                logger.scalars(it, scores)
                log.info("iteration %d: validation PSNR %.3f dB, SSIM %.4f, GMSD %.4f", it, scores["val/psnr"],
                         scores["val/ssim"], scores["val/gmsd"])
                if _best_score(scores, config.best_metric) > self.best_score:
                    self.best_score = _best_score(scores, config.best_metric)
                    ckpt.save_atomic(self.state(), self.run_dir / ckpt.BEST)
            if it % config.save_every == 0 or it == config.iterations:
                self.save()
        if bar is not None:
            bar.close()
        if logger is not None:
            logger.close()
        return self.run_dir


def _best_score(scores: dict[str, float], metric: str) -> float:
    score = scores[f"val/{metric}"]
    return -score if metric == "gmsd" else score


def _split_verdicts(verdict, n: int):
    if isinstance(verdict, torch.Tensor):
        return verdict[:n], verdict[n:]
    return [v[:n] for v in verdict], [v[n:] for v in verdict]


def train(config: TrainConfig, weights_dir: str | Path | None = None, resume: bool = False,
          progress: bool = True, tensorboard: bool = True) -> Trainer:
    """Run (or continue) training to ``config.iterations``; returns the finished trainer."""
    trainer = Trainer(config, weights_dir, resume, progress, tensorboard)
    trainer.fit()
    return trainer


def _scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> torch.optim.lr_scheduler.LRScheduler:
    opt = config.optimizer
    if opt.schedule == "cosine":
        # A closed form of the iteration (unlike CosineAnnealingLR's recursion, whose length is
        # saved in its state), so a run resumed with other --iterations anneals to its new end.
        total = config.iterations
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda iteration: 0.5 * (1.0 + math.cos(math.pi * min(iteration, total) / total)))
    return torch.optim.lr_scheduler.StepLR(optimizer, opt.decay_every, opt.decay_gamma)
