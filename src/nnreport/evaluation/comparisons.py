"""Comparisons the report states as findings, each with its uncertainty (from scipy.stats).

With several seeds per variant, a difference of means carries Welch's t interval over seeds
(`scipy.stats.ttest_ind(equal_var=False)`); with one seed, each accuracy carries its Wilson
binomial interval from the number of validation images (`scipy.stats.binomtest`), and two runs
are told apart only when their intervals do not overlap (a conservative rule: one seed cannot
resolve smaller differences).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy import stats

CONFIDENCE = 0.95
WELCH = "welch"
BINOMIAL = "binomial"


@dataclass(frozen=True)
class Comparison:
    """A variant against a reference (the base, or the best): the difference of their means and
    what the evidence says of it."""

    variant: str
    reference: str
    difference: float  # mean(variant) - mean(reference)
    low: float  # the interval of the difference (Welch), NaN with one seed
    high: float
    method: str  # WELCH or BINOMIAL
    resolved: bool  # the evidence tells the two apart (the interval excludes 0, or the
    #                 binomial intervals do not overlap)


def accuracy_interval(accuracy: float, n_images: int,
                      confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson interval of an accuracy measured on `n_images` images."""
    correct = int(round(accuracy * n_images))
    ci = stats.binomtest(correct, n_images).proportion_ci(confidence, method="wilson")
    return float(ci.low), float(ci.high)


def welch_interval(a: list[float], b: list[float],
                   confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Welch's t interval of mean(a) - mean(b); both need two values or more."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"Welch's interval needs two values or more on each side, got "
                         f"{len(a)} and {len(b)}")
    if pd.Series(a).std() == 0 and pd.Series(b).std() == 0:  # identical seeds: no spread
        d = sum(a) / len(a) - sum(b) / len(b)
        return d, d
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(confidence)
    return float(ci.low), float(ci.high)


def compare(runs: pd.DataFrame, variant: str, reference: str, metric: str,
            n_images: int | None = None, confidence: float = CONFIDENCE) -> Comparison:
    """Compare `metric` of two variants over their non-diverged seeds (`runs`: one row per
    run). With one seed on either side, `n_images` (the validation images) gives each accuracy
    its binomial interval."""
    ok = runs[runs["status"] != "diverged"]
    a = ok.loc[ok["variant"] == variant, metric].astype(float).tolist()
    b = ok.loc[ok["variant"] == reference, metric].astype(float).tolist()
    if not a or not b:
        raise ValueError(f"no finished run of {variant if not a else reference} to compare")
    difference = sum(a) / len(a) - sum(b) / len(b)
    if len(a) > 1 and len(b) > 1:
        low, high = welch_interval(a, b, confidence)
        return Comparison(variant, reference, difference, low, high, WELCH,
                          low > 0 or high < 0)
    if n_images is None:
        raise ValueError(f"{variant} or {reference} has one seed: the number of validation "
                         f"images is needed for a binomial interval")
    (a_low, a_high), (b_low, b_high) = (accuracy_interval(sum(x) / len(x), n_images,
                                                          confidence) for x in (a, b))
    return Comparison(variant, reference, difference, math.nan, math.nan, BINOMIAL,
                      a_low > b_high or b_low > a_high)


def best_group(runs: pd.DataFrame, best: str, metric: str, n_images: int | None = None,
               confidence: float = CONFIDENCE) -> list[str]:
    """The variants the evidence cannot tell apart from `best` (itself included), in order."""
    ok = runs[runs["status"] != "diverged"]
    return [v for v in ok["variant"].drop_duplicates()
            if v == best or not compare(ok, v, best, metric, n_images, confidence).resolved]


PAIRED = "paired"


def mean_interval(values, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Student's t interval of the mean of `values` (e.g. each validation image's MSE: the
    sampling noise of the images)."""
    ci = stats.ttest_1samp(values, 0.0).confidence_interval(confidence)
    return float(ci.low), float(ci.high)


def paired_comparison(variant: str, reference: str, a, b,
                      confidence: float = CONFIDENCE) -> Comparison:
    """Compare two runs scored on the same images (`a`, `b`: each image's score, in the same
    order) by the paired t interval of the mean difference a - b: the images' sampling noise,
    without the seeds' (one seed cannot resolve that)."""
    if len(a) != len(b):
        raise ValueError(f"{variant} and {reference} were scored on {len(a)} and {len(b)} "
                         "images; a paired comparison needs the same images")
    diff = [x - y for x, y in zip(a, b, strict=True)]
    mean = sum(diff) / len(diff)
    if len(set(diff)) == 1:
        return Comparison(variant, reference, mean, mean, mean, PAIRED, mean != 0)
    low, high = mean_interval(diff, confidence)
    return Comparison(variant, reference, mean, low, high, PAIRED, low > 0 or high < 0)
