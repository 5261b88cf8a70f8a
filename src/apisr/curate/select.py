"""The paper's frame selection, as pure functions over indices and scores.

A video's I-frames are split into contiguous partitions (default 8) so the picks
spread over its whole length; inside a partition every ``skip``-th I-frame is a
candidate (default 5) and the ``k`` most complex candidates are kept. ``k`` is
the per-video target (16 frames, or 24 for videos longer than 30 minutes)
divided by the number of partitions.

Two deliberate differences from the original script: the I-frames are split
evenly (the original drops the remainder after ``len // partitions`` frames per
partition, which loses up to 7 I-frames at the end), and a video with fewer
I-frames than partitions gets one partition per I-frame (the original selects
nothing from it).
"""

from __future__ import annotations

from dataclasses import dataclass

from apisr.curate.dedup import is_duplicate


@dataclass(frozen=True)
class SelectionSettings:
    partitions: int = 8
    skip: int = 5
    frames_short: int = 16
    frames_long: int = 24
    long_minutes: float = 30.0

    def __post_init__(self) -> None:
        for name in ("partitions", "skip", "frames_short", "frames_long"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")

    def per_partition(self, duration_s: float) -> int:
        """Frames kept per partition for a video of ``duration_s`` seconds (at least 1)."""
        # As the original: whole minutes, and "long" means strictly more than long_minutes.
        target = self.frames_long if int(duration_s // 60) > self.long_minutes else self.frames_short
        return max(1, target // self.partitions)


def partition_bounds(count: int, partitions: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of each partition of ``count`` I-frames, contiguous and as even as possible."""
    parts = min(partitions, count)
    return [(p * count // parts, (p + 1) * count // parts) for p in range(parts)]


def candidate_plan(count: int, partitions: int, skip: int) -> dict[int, int]:
    """``{I-frame index: partition}`` for every candidate that gets scored."""
    plan = {}
    for part, (start, stop) in enumerate(partition_bounds(count, partitions)):
        for index in range(start, stop, skip):
            plan[index] = part
    return plan


def pick_top(scores: list[float], fingerprints: list[int], k: int, taken: list[int], max_distance: int) -> list[int]:
    """Indices of up to ``k`` highest-scoring candidates, none a near-duplicate of another or of ``taken``.

    Greedy by descending score (ties: earlier first). ``taken`` holds the
    fingerprints already selected elsewhere in the video and is extended in place.
    """
    chosen = []
    for i in sorted(range(len(scores)), key=lambda i: (-scores[i], i)):
        if len(chosen) == k:
            break
        if is_duplicate(fingerprints[i], taken, max_distance):
            continue
        chosen.append(i)
        taken.append(fingerprints[i])
    return chosen
