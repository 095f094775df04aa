"""Comparisons the report states as findings, each with its uncertainty (from scipy.stats and
statsmodels).

With several seeds per variant, a difference of means carries a t interval whose standard error
adds two independent sources of noise: the training's randomness, from the spread of each
side's seeds (Welch's, `scipy.stats.ttest_ind(equal_var=False)` when alone), and, for an
accuracy, the sampling of the validation images every run is scored on, from the image-by-image
differences of the two sides' seed-averaged correctness (the paired part: both sides see the same
images, so most of that noise cancels and what is left is measured). Their degrees of freedom
come from Welch and Satterthwaite's formula. The image term is slightly conservative: each
image's average over a few seeds still carries some training noise, counted a second time.

Comparisons made as a family (every variant against the base, for one metric) are corrected
with Holm's step-down procedure (`statsmodels.stats.multitest.multipletests`): an effect is
called resolved only when its Holm-adjusted p-value is below 5 %, and its interval is at the
confidence Holm tests it at (1 - 0.05/k for the k-th smallest remaining p-value; the level of the
first comparison not resolved for all after it), so that an interval excludes zero exactly when
the correction resolves the effect.

With one seed on a side, the seeds cannot measure the training's randomness: a difference of
accuracies is then the mean of the image-by-image differences of the two runs' correctness
(both are scored on the same images), with the paired t test's interval (`paired_effect`): the
sampling noise of the images only, so it is narrower than what a second seed could show; the
family is still corrected with Holm's procedure. Without each image's scores (a loss), one seed
gives no interval: the difference is stated, untested. An accuracy alone carries its Wilson
binomial interval from the number of validation images (`scipy.stats.binomtest`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

CONFIDENCE = 0.95
WELCH = "welch"
BINOMIAL = "binomial"
HOLM = "holm"
PAIRED = "paired"


ACCURACY_BOUNDS = (-1.0, 1.0)  # no difference of two accuracies lies outside it


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
    p: float = math.nan  # the two-sided p-value of the difference (WELCH)
    p_adjusted: float = math.nan  # corrected for its family (Holm); p alone otherwise
    confidence: float = CONFIDENCE  # the confidence of [low, high]
    images: bool = False  # whether the interval covers the sampling of the images too
    df: float = math.inf  # the t interval's degrees of freedom (Satterthwaite's, or paired)
    clipped: bool = False  # the interval reached past what the metric can differ by, and was
    #                        cut there (an accuracy difference lies within [-1, 1])


def accuracy_interval(accuracy: float, n_images: int,
                      confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson interval of an accuracy measured on `n_images` images."""
    correct = int(round(accuracy * n_images))
    ci = stats.binomtest(correct, n_images).proportion_ci(confidence, method="wilson")
    return float(ci.low), float(ci.high)


def welch_interval(a: list[float], b: list[float],
                   confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Welch's t interval of mean(a) - mean(b); both need two values or more."""
    return effect(a, b).interval(confidence)


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


@dataclass(frozen=True)
class Effect:
    """A difference of means with its standard error and degrees of freedom."""

    difference: float
    se: float
    df: float
    images: bool  # the image term is in the standard error

    @property
    def p(self) -> float:
        """The two-sided p-value of a zero difference."""
        if self.se == 0:
            return 0.0 if self.difference != 0 else 1.0
        return float(2 * stats.t.sf(abs(self.difference) / self.se, self.df))

    def interval(self, confidence: float) -> tuple[float, float]:
        """The t interval of the difference at `confidence`."""
        if self.se == 0:
            return self.difference, self.difference
        half = float(stats.t.ppf(0.5 + confidence / 2, self.df)) * self.se
        return self.difference - half, self.difference + half


def effect(a: list[float], b: list[float], image_differences=None) -> Effect:
    """The difference mean(a) - mean(b) of two sides' seeds (two or more each), its standard
    error from their spread (Welch's), plus, given each image's difference of the two sides'
    seed-averaged scores (`image_differences`), the images' sampling term; Satterthwaite's
    degrees of freedom for the sum."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"an interval over seeds needs two values or more on each side, got "
                         f"{len(a)} and {len(b)}")
    terms = [(float(np.var(x, ddof=1)) / len(x), len(x) - 1) for x in (a, b)]
    if image_differences is not None:
        d = np.asarray(image_differences, dtype=float)
        terms.append((float(d.var(ddof=1)) / len(d), len(d) - 1))
    variance = sum(v for v, _ in terms)
    df = (variance**2 / sum(v**2 / k for v, k in terms if v > 0)) if variance > 0 else math.inf
    return Effect(float(np.mean(a) - np.mean(b)), math.sqrt(variance), df,
                  image_differences is not None)


def paired_effect(a, b) -> Effect:
    """The mean of the image-by-image differences a - b of two runs scored on the same images,
    with the paired t test's standard error: the images' sampling noise only."""
    if len(a) != len(b):
        raise ValueError(f"runs scored on {len(a)} and {len(b)} images; a paired comparison "
                         "needs the same images")
    return differences_effect(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))


def differences_effect(differences) -> Effect:
    """The mean of image-by-image differences with the paired t test's standard error."""
    d = np.asarray(differences, dtype=float)
    return Effect(float(d.mean()), float(d.std(ddof=1)) / math.sqrt(len(d)), len(d) - 1, True)


def holm(effects: dict[str, Effect], reference: str | dict[str, str],
         alpha: float = 1 - CONFIDENCE, method: str = WELCH,
         bounds: tuple[float, float] | None = None) -> dict[str, Comparison]:
    """Correct a family of effects against `reference` (one for all, or each effect's own)
    with Holm's step-down procedure: each comparison's adjusted p-value, whether it is
    resolved, and its interval at the confidence the procedure tests it at (see the module's
    docstring); `method` names how the effects were measured. `bounds`: the range the
    difference itself cannot leave (an accuracy's, [-1, 1]); an interval reaching past it (a
    t quantile of one or two degrees of freedom does) is cut there and marked `clipped`."""
    names = list(effects)
    if not names:
        return {}
    p = [effects[n].p for n in names]
    reject, adjusted, _, _ = multipletests(p, alpha=alpha, method="holm")
    m, out, stop = len(names), {}, None
    for rank, i in enumerate(sorted(range(m), key=lambda i: p[i])):
        if stop is None and not reject[i]:
            stop = rank  # this one and every larger p-value are tested at this level
        confidence = 1 - alpha / (m - (rank if stop is None else stop))
        e = effects[names[i]]
        low, high = e.interval(confidence)
        clipped = bounds is not None and (low < bounds[0] or high > bounds[1])
        if bounds is not None:
            low, high = max(low, bounds[0]), min(high, bounds[1])
        ref = reference if isinstance(reference, str) else reference[names[i]]
        out[names[i]] = Comparison(names[i], ref, e.difference, low, high, method,
                                   bool(reject[i]), p[i], float(adjusted[i]), confidence,
                                   e.images, e.df, clipped)
    return {n: out[n] for n in names}


def image_differences(per_image: pd.DataFrame | None, variant: str, reference: str,
                      seeds: dict[str, list[int]]) -> np.ndarray | None:
    """Each validation image's difference of the two sides' scores averaged over their `seeds`
    (`per_image`: one column per run, `<variant>/seed<k>`, e.g. its 0/1 correctness or its
    MSE, the images in the same order), None without `per_image`."""
    if per_image is None:
        return None
    a, b = (per_image[[f"{v}/seed{s}" for s in seeds[v]]].to_numpy(float).mean(axis=1)
            for v in (variant, reference))
    return a - b


def family(runs: pd.DataFrame, variants: list[str], reference: str | dict[str, str],
           metric: str, per_image: pd.DataFrame | None = None,
           alpha: float = 1 - CONFIDENCE,
           bounds: tuple[float, float] | None = None) -> dict[str, Comparison]:
    """Compare `metric` of every one of `variants` with `reference` (one for all, or each
    variant's own) over their non-diverged seeds (two or more on each side), as one family
    corrected with Holm's procedure; with `per_image` (each run's score on each validation
    image, see `image_differences`), the intervals also cover the sampling of the images;
    `bounds`: see `holm`."""
    ok = runs[runs["status"] != "diverged"]
    refs = {v: reference if isinstance(reference, str) else reference[v] for v in variants}
    sides = [*variants, *refs.values()]
    values = {v: ok.loc[ok["variant"] == v, metric].astype(float).tolist() for v in sides}
    seeds = ({v: ok.loc[ok["variant"] == v, "seed"].astype(int).tolist() for v in sides}
             if per_image is not None else {})
    one = [v for v in sides if len(values[v]) < 2]
    if one and per_image is None:
        raise ValueError(f"{one[0]} has {len(values[one[0]])} finished seed(s): with one, a "
                         f"difference needs each image's scores (per_image) for its interval")
    effects = {}
    for v in variants:
        if v != refs[v]:
            d = image_differences(per_image, v, refs[v], seeds)
            effects[v] = differences_effect(d) if one else effect(values[v], values[refs[v]], d)
    return holm(effects, reference, alpha, PAIRED if one else WELCH, bounds)


def best_group(runs: pd.DataFrame, best: str, metric: str, n_images: int | None = None,
               confidence: float = CONFIDENCE, per_image: pd.DataFrame | None = None
               ) -> list[str]:
    """The variants the evidence cannot tell apart from `best` (itself included), in order:
    with several seeds on every side, or each image's scores, the comparisons with the best as
    one family corrected with Holm's procedure (see `family`); else their Wilson intervals."""
    ok = runs[runs["status"] != "diverged"]
    variants = ok["variant"].drop_duplicates().tolist()
    if ok.groupby("variant").size().min() > 1 or per_image is not None:
        found = family(ok, [v for v in variants if v != best], best, metric, per_image,
                       1 - confidence)
        return [v for v in variants if v == best or not found[v].resolved]
    return [v for v in variants
            if v == best or not compare(ok, v, best, metric, n_images, confidence).resolved]


def mean_interval(values, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Student's t interval of the mean of `values` (e.g. each validation image's MSE: the
    sampling noise of the images)."""
    ci = stats.ttest_1samp(values, 0.0).confidence_interval(confidence)
    return float(ci.low), float(ci.high)


def paired_comparison(variant: str, reference: str, a, b,
                      confidence: float = CONFIDENCE) -> Comparison:
    """Compare two runs scored on the same images (`a`, `b`: each image's score, in the same
    order) by the paired t interval of the mean difference a - b: the images' sampling noise,
    without the seeds' (one seed cannot resolve that); a family of one."""
    return holm({variant: paired_effect(a, b)}, reference, 1 - confidence, PAIRED)[variant]
