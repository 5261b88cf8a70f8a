"""The shared argparse value types: bad values are refused at parse time with a message naming them."""

import argparse

import pytest

from apisr.cli.args import fraction, non_negative_int, positive_float, positive_int, whole_number
from apisr.cli.main import main


@pytest.mark.parametrize("parse, text, value", [
    (non_negative_int, "0", 0), (positive_int, "7", 7), (whole_number(-1, 64), "-1", -1),
    (positive_float, "0.5", 0.5), (fraction, "0", 0.0), (fraction, "0.25", 0.25),
])
def test_accepts(parse, text, value):
    assert parse(text) == value


@pytest.mark.parametrize("parse, text, message", [
    (non_negative_int, "-1", "expected a whole number >= 0, got -1"),
    (positive_int, "0", "expected a whole number >= 1, got 0"),
    (positive_int, "2.5", "expected a whole number, got '2.5'"),
    (whole_number(1, 100), "101", "expected a whole number from 1 to 100, got 101"),
    (positive_float, "0", "expected a number > 0"),
    (positive_float, "nan", "expected a number > 0"),
    (positive_float, "fast", "expected a number, got 'fast'"),
    (fraction, "1", "from 0 up to (not including) 1"),
])
def test_refuses_with_a_message(parse, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(text)


@pytest.mark.parametrize("argv, option", [
    (["prepare", "frames", "-o", "out", "--jobs", "0"], "--jobs"),
    (["prepare", "frames", "-o", "out", "--val-fraction", "1.5"], "--val-fraction"),
    (["curate", "video.mkv", "-o", "out", "--partitions", "0"], "--partitions"),
    (["degrade", "hr", "-o", "out", "--preview", "-2"], "--preview"),
    (["eval", "pictures", "-o", "out", "--zoom", "0"], "--zoom"),
    (["upscale", "picture.png", "--quality", "0"], "--quality"),
    (["serve", "--port", "70000"], "--port"),
    (["train", "train_smoke", "--iterations", "0"], "--iterations"),
])
def test_subcommands_refuse_bad_numbers_before_any_work(argv, option, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert f"argument {option}" in capsys.readouterr().err
