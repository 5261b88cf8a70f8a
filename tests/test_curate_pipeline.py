"""`apisr curate` end to end on generated videos: top-k per partition, dedup, resume, a corrupt file."""

import json

import numpy as np
import pytest

from apisr.cli.main import main
from apisr.curate.complexity import FallbackScorer
from apisr.curate.dedup import hamming, dhash
from apisr.curate.keyframes import iter_keyframes
from apisr.curate.select import partition_bounds
from apisr.curate.synthetic import write_video
from apisr.images import load_rgb

DISTINCT = list(range(100, 116))  # 16 I-frames, all different
REPEATING = [1, 2] * 8  # 16 I-frames showing only two pictures
ARGS = ["--partitions", "4", "--skip", "1", "--frames-short", "8", "--short-frames", "keep"]


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    write_video(folder / "distinct.mp4", DISTINCT)
    write_video(folder / "repeating.mp4", REPEATING)
    (folder / "corrupt.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return folder


@pytest.fixture(scope="module")
def curated(videos, tmp_path_factory):
    """One run with default dedup and the auto scorer (no weights in the test cache: the loud fallback)."""
    out = tmp_path_factory.mktemp("curated")
    code = main(["curate", str(videos), "-o", str(out), *ARGS])
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    return out, code, records


def by_video(records, stem):
    return [r for r in records if r["video"].endswith(stem + ".mp4")]


def test_corrupt_video_fails_the_run_but_not_the_others(curated):
    out, code, records = curated
    assert code == 1
    assert {r["video"].rsplit("/", 1)[-1] for r in records} == {"distinct.mp4", "repeating.mp4"}
    assert not (out / ".parts" / "corrupt.jsonl").exists()


def test_top_k_per_partition_by_complexity(curated, videos):
    _, _, records = curated
    kept = by_video(records, "distinct")
    frames = list(iter_keyframes(videos / "distinct.mp4"))
    scores = FallbackScorer().score([f.image for f in frames])
    assert len(kept) == 8
    for part, (start, stop) in enumerate(partition_bounds(len(frames), 4)):
        mine = sorted((r for r in kept if r["partition"] == part), key=lambda r: r["rank"])
        expected = sorted(range(start, stop), key=lambda i: -scores[i])[:2]
        assert [r["iframe_index"] for r in mine] == expected
        assert [r["complexity"] for r in mine] == pytest.approx([scores[i] for i in expected], abs=1e-5)


def test_records_describe_the_written_frames(curated):
    out, _, records = curated
    for r in records:
        assert r["pict_type"] == "I" and r["scorer"] == "fallback-v1"
        assert r["timestamp"] == pytest.approx(r["iframe_index"] * 0.5)
        image = load_rgb(out / r["file"])
        assert image.shape == (r["height"], r["width"], 3) == (96, 128, 3)
        assert 0.0 <= r["complexity"] <= 1.0


def test_the_fallback_is_announced(curated, capsys):
    out, _, _ = curated
    run = json.loads((out / "curate.json").read_text())
    assert run["scorer"] == "fallback-v1" and "not found" in run["scorer_warning"]


def test_duplicates_are_dropped_across_the_video(curated):
    out, _, records = curated
    kept = by_video(records, "repeating")
    assert len(kept) == 2  # only two different pictures exist
    hashes = [dhash(load_rgb(out / r["file"])) for r in kept]
    assert hamming(*hashes) > 6


def run_without_dedup(videos, out, jobs):
    code = main(["curate", str(videos), "-o", str(out), *ARGS, "--dedup-distance", "-1",
                 "--complexity-scorer", "fallback", "--jobs", str(jobs)])
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    return code, records


def test_without_dedup_duplicates_stay(videos, tmp_path):
    code, records = run_without_dedup(videos, tmp_path, jobs=1)
    assert code == 1
    assert len(by_video(records, "repeating")) == 8 and len(by_video(records, "distinct")) == 8


@pytest.mark.slow  # each spawned worker imports torch: ~10 s on a busy 2-core machine
def test_parallel_workers_give_the_same_result(videos, tmp_path, capsys):
    _, serial = run_without_dedup(videos, tmp_path / "serial", jobs=1)
    code, parallel = run_without_dedup(videos, tmp_path / "parallel", jobs=2)
    assert code == 1 and "corrupt.mp4" in capsys.readouterr().err
    assert [(r["file"], r["complexity"]) for r in sorted(parallel, key=lambda r: r["file"])] == [
        (r["file"], r["complexity"]) for r in sorted(serial, key=lambda r: r["file"])
    ]


def test_rerun_skips_finished_videos(videos, curated, capsys):
    out, _, records = curated
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")}
    capsys.readouterr()
    code = main(["curate", str(videos), "-o", str(out), *ARGS])
    captured = capsys.readouterr()
    assert code == 1  # the corrupt file is retried, and fails again
    assert "2 of 3 videos already done" in captured.out
    assert "corrupt.mp4" in captured.err
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")} == stamps
    assert len((out / "manifest.jsonl").read_text().splitlines()) == len(records)
