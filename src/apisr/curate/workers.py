"""Running :func:`~apisr.curate.pipeline.curate_video` over many videos, in a process pool when asked.

Each worker process builds its scorer once (ICNet weights are loaded per process,
not per video) and gives torch an equal share of the cores. Progress: one bar
per worker slot for the video it is on, and an overall bar of videos.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path

from apisr.curate.complexity import ScorerChoice, build_scorer
from apisr.curate.pipeline import CurateSettings, VideoResult, curate_video

_worker_scorer = None  # per worker process, set by _init_worker


def _init_worker(choice: ScorerChoice, device: str, threads: int, lock) -> None:
    import torch
    from tqdm import tqdm

    global _worker_scorer
    tqdm.set_lock(lock)
    torch.set_num_threads(threads)
    _worker_scorer = build_scorer(choice, device)


def _run_one(video: Path, key: str, out_dir: Path, settings: CurateSettings, slots: int) -> VideoResult:
    identity = multiprocessing.current_process()._identity
    position = 1 + ((identity[0] - 1) % slots if identity else 0)
    return curate_video(video, key, out_dir, settings, _worker_scorer, position)


def run_videos(todo: list[tuple[Path, str]], out_dir: Path, settings: CurateSettings, choice: ScorerChoice,
               device: str = "cpu", jobs: int = 1) -> Iterator[VideoResult]:
    """Results as videos finish (in input order when ``jobs == 1``)."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm import tqdm

    overall = tqdm(total=len(todo), desc="videos", unit="video", position=0, disable=None)
    try:
        if jobs == 1 or len(todo) <= 1:
            scorer = build_scorer(choice, device)
            for video, key in todo:
                yield curate_video(video, key, out_dir, settings, scorer)
                overall.update()
            return
        threads = max(1, (os.cpu_count() or 1) // jobs)
        # spawn, not fork: forking a process that already started torch's thread pools can deadlock.
        context = multiprocessing.get_context("spawn")
        lock = context.RLock()  # the bars of all processes share it, so their lines do not interleave
        tqdm.set_lock(lock)
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker,
                                 initargs=(choice, device, threads, lock)) as pool:
            futures = [pool.submit(_run_one, video, key, out_dir, settings, jobs) for video, key in todo]
            for future in as_completed(futures):
                yield future.result()
                overall.update()
    finally:
        overall.close()
