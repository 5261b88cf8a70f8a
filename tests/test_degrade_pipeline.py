"""The two-stage pipeline: determinism, replay, configured frequencies, inputs, config errors."""

from __future__ import annotations

import collections
import dataclasses

import numpy as np
import pytest

from apisr.config import ConfigError
from apisr.degrade import DegradationConfig, Recipe, apply_recipe, degrade, draw_recipe, load_degradation_config
from apisr.degrade.config import default_config_path
from apisr.synthetic import synthetic_frame

CONFIG4 = load_degradation_config(None, 4)


@pytest.fixture(scope="module")
def hr() -> np.ndarray:
    return synthetic_frame(64, 96, np.random.default_rng(11))


def test_packaged_configs_are_the_paper_defaults():
    assert CONFIG4 == DegradationConfig()
    config2 = load_degradation_config(None, 2)
    assert config2.scale == 2 and config2.stage2.resize is None
    assert config2.stage1 == CONFIG4.stage1 and config2.stage2.compression == CONFIG4.stage2.compression
    assert CONFIG4.stage2.compression["h264"] == 0.30 and CONFIG4.codecs.h265_crf == (28, 42)


def test_a_packaged_config_loads_by_its_bare_name_only():
    mild = load_degradation_config("degradation_4x_mild.yaml", 4)
    assert mild.stage1.resize.down_range[0] >= 0.5 and mild.stage2.compression == CONFIG4.stage2.compression
    with pytest.raises(ConfigError, match="elsewhere/degradation_4x_mild.yaml: cannot read config"):
        load_degradation_config("elsewhere/degradation_4x_mild.yaml", 4)


def test_same_seed_same_bytes_other_seed_differs(hr):
    lr_a, recipe_a = degrade(hr, 4, CONFIG4, np.random.default_rng(5))
    lr_b, recipe_b = degrade(hr, 4, CONFIG4, np.random.default_rng(5))
    assert lr_a.shape == (16, 24, 3) and lr_a.dtype == np.float32
    assert lr_a.tobytes() == lr_b.tobytes() and recipe_a == recipe_b
    others = [degrade(hr, 4, CONFIG4, np.random.default_rng(s))[0] for s in (6, 7)]
    assert all(o.tobytes() != lr_a.tobytes() for o in others)


def test_recipe_replays_exactly_through_json(hr):
    for seed in range(6):
        lr, recipe = degrade(hr, 4, CONFIG4, np.random.default_rng(seed))
        again = Recipe.from_json(recipe.to_json())
        assert again == recipe
        assert apply_recipe(hr, again).tobytes() == lr.tobytes()
        # Every stage ends in a compression; stage 2 resizes to the LR size first.
        ops = [(s.stage, s.op) for s in recipe.steps]
        assert ops.count((1, "compress")) == 1 and ops[-1] == (2, "compress")
        assert recipe.steps[-2].params["direction"] == "final" and recipe.steps[-2].params["size"] == [16, 24]
        assert recipe.steps[0].describe()  # every step has a label for the preview


def _frequencies(draws, key):
    counts = collections.Counter(key(r) for r in draws)
    return {k: v / len(draws) for k, v in counts.items()}


def _assert_close(observed: dict, expected: dict, n: int):
    for name, p in expected.items():
        # Five binomial standard deviations: a fixed seed, and still a real check of the probabilities.
        tolerance = 5 * np.sqrt(p * (1 - p) / n) + 1e-9
        assert abs(observed.get(name, 0.0) - p) <= tolerance, (name, observed.get(name, 0.0), p)
    assert set(observed) <= set(expected)


def test_codec_and_resize_position_frequencies_match_the_config():
    rng = np.random.default_rng(2024)
    n = 3000
    draws = [draw_recipe((720, 1280), CONFIG4, rng) for _ in range(n)]

    final_codec = _frequencies(draws, lambda r: r.steps[-1].params["codec"])
    _assert_close(final_codec, CONFIG4.stage2.compression, n)
    stage1_codec = _frequencies(draws, lambda r: next(s for s in r.stage(1) if s.op == "compress").params["codec"])
    _assert_close(stage1_codec, CONFIG4.stage1.compression, n)

    def position(recipe, stage):
        ops = [s.op for s in recipe.stage(stage) if s.params.get("direction") != "final"]
        i = ops.index("resize")
        # Where the resize sits relative to blur and noise (blur can be absent in stage 2).
        if "blur" in ops and i < ops.index("blur"):
            return "before_blur"
        return "before_noise" if i < ops.index("noise") else "after_noise"

    stage1_positions = _frequencies(draws, lambda r: position(r, 1))
    _assert_close(stage1_positions, CONFIG4.stage1.resize.positions, n)
    with_blur = [r for r in draws if any(s.op == "blur" for s in r.stage(2))]
    _assert_close(_frequencies(with_blur, lambda r: position(r, 2)), CONFIG4.stage2.resize.positions, len(with_blur))
    assert len(with_blur) / n == pytest.approx(0.8, abs=5 * np.sqrt(0.16 / n))

    directions = _frequencies(draws, lambda r: next(s for s in r.stage(1) if s.op == "resize").params["direction"])
    _assert_close(directions, CONFIG4.stage1.resize.directions, n)
    presets = _frequencies(
        [r for r in draws if r.steps[-1].params["codec"] in ("h264", "h265")], lambda r: r.steps[-1].params["preset"]
    )
    _assert_close(presets, CONFIG4.codecs.presets, sum(1 for r in draws if r.steps[-1].params["codec"] in ("h264", "h265")))
    crfs = [r.steps[-1].params["crf"] for r in draws if r.steps[-1].params["codec"] == "h264"]
    assert min(crfs) == 23 and max(crfs) == 38  # both ends of the inclusive range occur


def test_scale_2_has_no_second_resize(hr):
    config2 = load_degradation_config(None, 2)
    lr, recipe = degrade(hr, 2, config2, np.random.default_rng(0))
    assert lr.shape == (32, 48, 3)
    assert [s.params["direction"] for s in recipe.stage(2) if s.op == "resize"] == ["final"]


@pytest.mark.parametrize(
    "make",
    [
        lambda img: (img * 255 + 0.5).astype(np.uint8),
        lambda img: (img * 65535 + 0.5).astype(np.uint16),
        lambda img: img[..., 1],
        lambda img: img[..., 1:2],
        lambda img: (img[:63, :95] * 65535).astype(np.uint16)[..., 0],
    ],
    ids=["uint8", "uint16", "gray", "gray1", "odd-gray16"],
)
def test_inputs_of_other_types_and_shapes(hr, make):
    source = make(hr)
    lr, recipe = degrade(source, 4, CONFIG4, np.random.default_rng(3))
    assert lr.shape == (source.shape[0] // 4, source.shape[1] // 4, 3) and lr.dtype == np.float32
    assert 0.0 <= lr.min() and lr.max() <= 1.0
    assert apply_recipe(source, recipe).tobytes() == lr.tobytes()
    if source.ndim == 2 or source.shape[2] == 1:
        # Gray in, and the degradation (gray noise aside) keeps it nearly gray.
        assert np.abs(lr[..., 0] - lr[..., 1]).mean() < 0.1


def test_rejects_a_too_small_image_and_a_wrong_scale(hr):
    with pytest.raises(ValueError, match="smaller than the scale"):
        degrade(hr[:3, :3], 4, CONFIG4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="config is for 4x"):
        degrade(hr, 2, CONFIG4, np.random.default_rng(0))


def _write_config(tmp_path, edit):
    import yaml

    data = yaml.safe_load(default_config_path(4).read_text())
    edit(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda d: d["stage2"].update(blur_prob=1.5), r"stage2: blur_prob: probability 1.5 is outside \[0, 1\]"),
        (lambda d: d["stage2"]["compression"].update(vp9=0.0), r"stage2: compression.vp9: unknown name 'vp9'"),
        (lambda d: d["stage1"]["compression"].update(jpeg=0.5), r"stage1: compression: probabilities sum to 1.1"),
        (lambda d: d["codecs"].update(h264_crf=[23, 60]), r"codecs: h264_crf: range \[23, 60\]"),
        (lambda d: d["stage1"]["kernel"].update(sizes=[7, 8]), r"kernel: sizes.1: kernel size 8 must be odd"),
        (lambda d: d["stage1"].update(nois={}), r"unknown key stage1.nois"),
        (lambda d: d["stage1"]["noise"].update(gray_prob="high"), r"stage1.noise.gray_prob: expected a number"),
        (lambda d: d["stage1"]["resize"]["positions"].update(after_noise=0.5), r"positions: probabilities sum"),
    ],
)
def test_bad_config_values_fail_naming_the_key(tmp_path, edit, message):
    path = _write_config(tmp_path, edit)
    with pytest.raises(ConfigError, match=message) as info:
        load_degradation_config(path, 4)
    assert str(path) in str(info.value)


def test_config_for_another_scale_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="the file is for 4x but 2x"):
        load_degradation_config(default_config_path(4), 2)


def test_a_scale_without_a_packaged_config_asks_for_a_yaml():
    assert default_config_path(3) is None
    with pytest.raises(ConfigError, match="no packaged degradation config for scale 3"):
        load_degradation_config(None, 3)


def test_missing_avif_support_is_a_clear_error(monkeypatch):
    from apisr.degrade import config as config_module

    monkeypatch.setattr(config_module, "avif_supported", lambda: False)
    with pytest.raises(ConfigError, match=r"stage2.compression.avif: probability 0.1 but this Pillow cannot encode AVIF"):
        load_degradation_config(None, 4)
    no_avif = dataclasses.replace(
        CONFIG4.stage2, compression={**CONFIG4.stage2.compression, "avif": 0.0, "h264": 0.40}
    )
    config_module.check_config_codecs(dataclasses.replace(CONFIG4, stage2=no_avif))
