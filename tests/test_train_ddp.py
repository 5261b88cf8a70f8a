"""Distributed training: two CPU processes (gloo) launched by torchrun end with identical weights."""

from __future__ import annotations

import os
import subprocess
import sys

import torch
from train_samples import make_dataset, overrides

from apisr.train.config import load_train_config
from apisr.train.trainer import build_generator

RANK_SCRIPT = """
import os, sys, torch
from apisr.train.config import load_train_config
from apisr.train.trainer import train
out, *items = sys.argv[1:]
trainer = train(load_train_config("train_smoke", items), progress=False)
state = {"generator": trainer.generator.state_dict(), "discriminator": trainer.discriminator.state_dict(),
         "iteration": trainer.iteration, "world_size": trainer.dist.world_size}
torch.save(state, os.path.join(out, f"rank{trainer.dist.rank}.pt"))
"""


def test_two_process_gloo_run_keeps_ranks_identical(tmp_path):
    dataset = make_dataset(tmp_path / "dataset")
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    items = overrides(dataset, tmp_path / "runs", "ddp", 6) + [
        "discriminator={type: unet_sn, num_feat: 8}", "losses=[{type: l1}, {type: gan, gan_type: vanilla, weight: 0.1}]",
        "device=cpu",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               str(script), str(tmp_path), *items]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert all(r["iteration"] == 6 and r["world_size"] == 2 for r in ranks)
    for part in ("generator", "discriminator"):
        for key, value in ranks[0][part].items():
            torch.testing.assert_close(value, ranks[1][part][key], rtol=0, atol=0, msg=f"{part}.{key}")
    # Rank 0 wrote the checkpoint, and training moved the weights away from the shared initialisation.
    saved = torch.load(tmp_path / "runs" / "ddp" / "last.pt", weights_only=True)["params"]
    torch.manual_seed(0)
    initial = build_generator(load_train_config("train_smoke", items)).state_dict()
    assert all(torch.equal(saved[k], ranks[0]["generator"][k]) for k in saved)
    assert any(not torch.equal(saved[k], initial[k]) for k in saved)
