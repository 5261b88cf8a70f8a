"""Curating training frames from videos: one job per video, a manifest, resumable.

For each video: count its key packets (:func:`~apisr.curate.keyframes.probe`),
plan which I-frames are candidates (:mod:`apisr.curate.select`), decode only the
I-frames, bring each candidate to 720 lines and a multiple of 8, score it, and
keep the most complex ones of each partition that are not near-duplicates of
frames already kept from that video. Only the kept frames are written.

Output folder layout:

* ``OUT/{video}_{partition}_{rank}.png``: the kept frames (rank 0 = most complex);
* ``OUT/.parts/{video}.jsonl``: one JSON record per kept frame, written atomically
  once the video is finished; its presence is what a re-run skips on;
* ``OUT/manifest.jsonl``: all parts joined, rebuilt at the end of every run;
* ``OUT/curate.json``: the settings and the scorer of the latest run.

Memory stays bounded: per partition only the best ``4 * k`` candidates are held.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from apisr.curate.dedup import dhash
from apisr.curate.defaults import DEDUP_MAX_DISTANCE, SHORT_POLICIES, SIZE_MULTIPLE, TARGET_HEIGHT
from apisr.curate.keyframes import iter_keyframes, probe
from apisr.curate.rescale import is_short, to_training_frame
from apisr.curate.select import SelectionSettings, candidate_plan, partition_bounds, pick_top
from apisr.images import save_rgb, write_text_atomic

PARTS_DIR = ".parts"
MANIFEST = "manifest.jsonl"
RUN_FILE = "curate.json"
BUFFER_FACTOR = 4  # candidates held per partition, as a multiple of k, for the duplicate check to fall back on


@dataclass(frozen=True)
class CurateSettings:
    selection: SelectionSettings = field(default_factory=SelectionSettings)
    height: int = TARGET_HEIGHT
    resize_filter: str = "area"
    short_frames: str = "skip"  # see apisr.curate.defaults.SHORT_POLICIES
    multiple: int = SIZE_MULTIPLE
    dedup_distance: int = DEDUP_MAX_DISTANCE  # negative: no duplicate removal

    def __post_init__(self) -> None:
        if self.short_frames not in SHORT_POLICIES:
            raise ValueError(f"short_frames must be one of {', '.join(SHORT_POLICIES)}, got {self.short_frames!r}")


@dataclass
class VideoResult:
    video: str
    key: str
    records: list[dict] = field(default_factory=list)
    iframes: int = 0
    scored: int = 0
    short_skipped: int = 0
    error: str | None = None


@dataclass
class _Candidate:
    score: float
    index: int
    time: float
    fingerprint: int
    frame: np.ndarray


def video_keys(videos: list[Path]) -> list[str]:
    """Output name stems: the file stem, plus a short path hash where two inputs share a stem."""
    stems = [v.stem for v in videos]
    return [
        s if stems.count(s) == 1 else f"{s}-{hashlib.sha1(str(v.resolve()).encode()).hexdigest()[:6]}"
        for s, v in zip(stems, videos)
    ]


def is_done(out_dir: Path, key: str) -> bool:
    return (out_dir / PARTS_DIR / f"{key}.jsonl").is_file()


def curate_video(video: Path, key: str, out_dir: Path, settings: CurateSettings, scorer, position: int = 1) -> VideoResult:
    """Select, write and record one video's frames; an unreadable video gives ``result.error``, never an exception."""
    import av
    from tqdm import tqdm

    result = VideoResult(str(video), key)
    try:
        info = probe(video)
        k = settings.selection.per_partition(info.duration)
        plan = candidate_plan(info.key_packets, settings.selection.partitions, settings.selection.skip)
        partitions = len(partition_bounds(info.key_packets, settings.selection.partitions))
        taken: list[int] = []
        held: dict[int, list[_Candidate]] = {p: [] for p in range(partitions)}
        with tqdm(total=info.key_packets, desc=key, unit="I-frame", position=position, leave=False, disable=None) as bar:
            for keyframe in iter_keyframes(video):
                bar.update()
                result.iframes += 1
                part = plan.get(keyframe.index)
                if part is None:
                    continue
                # Partitions come in order: once a later one starts, earlier ones are complete.
                for earlier in [p for p in held if p < part]:
                    _write_partition(earlier, held.pop(earlier), k, taken, out_dir, settings, scorer, result)
                if is_short(keyframe.image, settings.height) and settings.short_frames == "skip":
                    result.short_skipped += 1
                    continue
                frame = to_training_frame(keyframe.image, settings.height, settings.resize_filter, settings.multiple)
                score = scorer.score([frame])[0]
                result.scored += 1
                bucket = held[part]
                bucket.append(_Candidate(score, keyframe.index, keyframe.time, dhash(frame), frame))
                bucket.sort(key=lambda c: (-c.score, c.index))
                del bucket[BUFFER_FACTOR * k :]
        for part in sorted(held):
            _write_partition(part, held[part], k, taken, out_dir, settings, scorer, result)
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as err:
        result.error = f"{video}: cannot read video: {_describe(err)}"
        return result
    _write_part_file(out_dir, key, result.records)
    return result


def _write_partition(part, candidates, k, taken, out_dir, settings, scorer, result) -> None:
    chosen = pick_top([c.score for c in candidates], [c.fingerprint for c in candidates], k, taken,
                      settings.dedup_distance)
    for rank, i in enumerate(chosen):
        c = candidates[i]
        name = f"{result.key}_{part}_{rank}.png"
        save_rgb(out_dir / name, c.frame)
        result.records.append({
            "file": name,
            "video": result.video,
            "timestamp": round(c.time, 6),
            "iframe_index": c.index,
            "pict_type": "I",
            "partition": part,
            "rank": rank,
            "complexity": round(float(c.score), 6),
            "scorer": scorer.name,
            "width": int(c.frame.shape[1]),
            "height": int(c.frame.shape[0]),
        })


def _describe(err: Exception) -> str:
    if isinstance(err, IndexError):
        return "no video stream"
    return str(err).strip() or type(err).__name__


def _write_part_file(out_dir: Path, key: str, records: list[dict]) -> None:
    write_text_atomic(out_dir / PARTS_DIR / f"{key}.jsonl", "".join(json.dumps(r) + "\n" for r in records))


def rebuild_manifest(out_dir: Path) -> int:
    """Join every finished video's records into ``manifest.jsonl``; returns the number of records."""
    lines = []
    for part in sorted((out_dir / PARTS_DIR).glob("*.jsonl")):
        lines += [line for line in part.read_text(encoding="utf-8").splitlines() if line.strip()]
    write_text_atomic(out_dir / MANIFEST, "".join(line + "\n" for line in lines))
    return len(lines)


def write_run_file(out_dir: Path, settings: CurateSettings, scorer_name: str, warning: str | None) -> None:
    run = {"settings": asdict(settings), "scorer": scorer_name, "scorer_warning": warning}
    write_text_atomic(out_dir / RUN_FILE, json.dumps(run, indent=2) + "\n")
