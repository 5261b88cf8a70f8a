"""Where and how a run executes: device, precision, distributed set-up, run folder."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from apisr import hub
from apisr.cpu import has_native_bf16
from apisr.train.config import TrainConfig

log = logging.getLogger("apisr.train")


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device_kind: str) -> Distributed:
    """Join the process group torchrun describes in the environment (one process: nothing to do)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Distributed()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_kind == "cuda" else "gloo")
    return Distributed(dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0")), dist.get_world_size())


def pick_device(name: str, local_rank: int) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank if device.index is None else device.index)
        torch.cuda.set_device(device)
    return device


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for the config's precision on this device; None means fp32."""
    if precision == "fp32":
        return None
    if device.type == "cuda":
        if precision == "fp16" or (precision == "auto" and not torch.cuda.is_bf16_supported()):
            return torch.float16
        return torch.bfloat16
    if precision == "fp16":
        log.info("fp16 autocast is for CUDA; training in fp32 on %s", device)
        return None
    if has_native_bf16():
        return torch.bfloat16
    if precision == "bf16":
        log.info("this CPU has no native bf16 (AVX512-BF16/AMX): training in fp32, which is faster here")
    return None


def run_dir(config: TrainConfig) -> Path:
    root = Path(config.runs_dir).expanduser() if config.runs_dir else hub.cache_dir() / "runs"
    return root / config.name
