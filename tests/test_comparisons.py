"""The report's comparisons on inputs small enough to check by hand."""

import math

import pandas as pd
import pytest

from nnreport.evaluation.comparisons import (
    BINOMIAL,
    WELCH,
    accuracy_interval,
    best_group,
    compare,
    welch_interval,
)


def _runs(values: dict[str, list[float]], diverged=()) -> pd.DataFrame:
    return pd.DataFrame([{"variant": v, "seed": s, "final_val_accuracy": x,
                          "status": "diverged" if v in diverged else "completed"}
                         for v, xs in values.items() for s, x in enumerate(xs)])


def test_wilson_interval_by_hand():
    # p = 0.9 on n = 100, z = 1.959964 (z^2 = 3.841459): centre (p + z^2/2n) / (1 + z^2/n)
    # = 0.919207 / 1.038415 = 0.885202; half-width z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n)
    # = 1.959964 * 0.0315601 / 1.038415 = 0.059568
    low, high = accuracy_interval(0.9, 100)
    assert (low, high) == pytest.approx((0.885202 - 0.059568, 0.885202 + 0.059568), abs=3e-6)


def test_welch_interval_by_hand():
    # means 0.91 and 0.89, each sample variance 1e-4 over 3 seeds: se = sqrt(2e-4/3) = 0.0081650,
    # Welch's df = 4, t(0.975, 4) = 2.776445: 0.02 -+ 0.022669
    low, high = welch_interval([0.90, 0.91, 0.92], [0.88, 0.89, 0.90])
    assert (low, high) == pytest.approx((0.02 - 0.022669, 0.02 + 0.022669), abs=2e-6)
    with pytest.raises(ValueError, match="two values or more on each side, got 1 and 3"):
        welch_interval([0.9], [0.8, 0.81, 0.82])


def test_with_seeds_an_effect_is_resolved_only_when_its_interval_excludes_zero():
    runs = _runs({"base": [0.88, 0.89, 0.90], "small": [0.90, 0.91, 0.92],
                  "large": [0.80, 0.81, 0.82]})
    small = compare(runs, "small", "base", "final_val_accuracy")
    assert small.method == WELCH and small.difference == pytest.approx(0.02)
    assert small.low < 0 < small.high and not small.resolved
    large = compare(runs, "large", "base", "final_val_accuracy")
    assert large.high < 0 and large.resolved


def test_with_one_seed_the_binomial_intervals_must_not_overlap():
    runs = _runs({"base": [0.8990], "close": [0.8993], "far": [0.8500]})
    close = compare(runs, "close", "base", "final_val_accuracy", n_images=10_000)
    assert close.method == BINOMIAL and math.isnan(close.low) and not close.resolved
    assert compare(runs, "far", "base", "final_val_accuracy", n_images=10_000).resolved
    with pytest.raises(ValueError, match="number of validation images is needed"):
        compare(runs, "far", "base", "final_val_accuracy")


def test_the_best_group_holds_what_cannot_be_told_apart_from_the_best():
    runs = _runs({"base": [0.88, 0.89, 0.90], "best": [0.905, 0.91, 0.915],
                  "close": [0.90, 0.91, 0.92], "far": [0.80, 0.81, 0.82],
                  "broken": [0.95, 0.95, 0.95]}, diverged=("broken",))
    assert best_group(runs, "best", "final_val_accuracy") == ["base", "best", "close"]
