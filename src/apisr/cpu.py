"""What this CPU can do, for choosing a precision (training autocast and inference alike)."""

from __future__ import annotations

import functools
import platform
from pathlib import Path


@functools.lru_cache(maxsize=1)
def has_native_bf16() -> bool:
    """True when the CPU computes bf16 in hardware (AVX512-BF16, AMX, Arm BF16).

    Elsewhere torch emulates bf16 and it is several times slower than fp32 (10x on an
    AVX2 machine), so neither the trainer's nor the upscaler's ``auto`` may pick it.
    The answer comes from the CPU's flags, so that it is about the hardware, not about which
    bf16 kernels oneDNN can run (some of them by emulation).
    """
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.system() == "Darwin" and platform.machine() == "arm64"
    flags = set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            flags.update(line.split(":", 1)[1].split())
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})
