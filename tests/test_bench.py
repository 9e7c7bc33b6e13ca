"""The benchmark's arithmetic and report; the timings themselves live in benchmarks/results/, not in tests."""

import pytest

from conftest import assert_clean_failure, run_module
from kerascmp import bench


def test_one_run_is_about_two_teraflop():
    """50 epochs x 2000 digits through the digit net, forward and backward: the issue's ~2 TFLOP."""
    assert bench.training_flops_per_image() == 20_145_888  # the hand count in benchmarks/README.md
    assert bench.training_flops_per_image() * 2 * 1000 * 50 == pytest.approx(2.0e12, rel=0.02)


def test_describe_relates_time_to_the_ceiling():
    row = bench.describe([10.0, 8.0, 12.0], epochs=50, ceiling={"bfloat16": 400.0}, precision="bfloat16")
    assert row["seconds_per_run"] == 10.0  # the median
    assert row["images_per_s"] == pytest.approx(10_000)
    assert row["fraction_of_ceiling"] == pytest.approx(row["gflop_per_s"] / 400.0)


def test_markdown_shows_both_ratios():
    row = bench.describe([8.0], 50, {"float32": 200.0, "bfloat16": 400.0}, "bfloat16")
    report = {
        "date": "2026-11-27",
        "machine": "test",
        "command": "python -m kerascmp.bench",
        "epochs": 50,
        "ceiling": {"float32": 200.0, "bfloat16": 400.0},
        "paths": {"kerascmp": {**row, "test_comparison_errors": [13.0, 14.0]}},
        "ratio": 1.9,
        "pair_ratios": [1.8, 1.9, 2.0],
        "sequence_ratio": 2.1,
        "conv_profile": None,
    }
    text = bench.markdown(report)
    assert "1.90×" in text and "2.10×" in text and "13.50 ± 0.71 (n=2)" in text
    assert "Rounds in sequence" not in bench.markdown({**report, "sequence_ratio": None})


def test_bad_flags_fail_cleanly():
    assert_clean_failure(run_module("kerascmp.bench", "--epochs", "0", timeout=120), "--epochs")
