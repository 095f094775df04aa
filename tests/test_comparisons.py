"""The report's comparisons on inputs small enough to check by hand."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from nnreport.evaluation.comparisons import (
    BINOMIAL,
    PAIRED,
    WELCH,
    Effect,
    accuracy_interval,
    best_group,
    compare,
    effect,
    family,
    holm,
    welch_interval,
)
from nnreport.evaluation.statistics import correctness


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


def test_with_one_seed_each_difference_is_paired_over_the_images_and_corrected_with_holm():
    rng = np.random.default_rng(3)
    truth = rng.random(2000) < 0.85  # the base's correctness on 2,000 validation images
    flip = {"same": 0.0, "small": 0.015, "large": 0.06}  # images a variant gets wrong more
    per_image = {"base/seed0": truth.astype(float)}
    for name, share in flip.items():
        per_image[f"{name}/seed0"] = (truth & (rng.random(2000) >= share)).astype(float)
    per_image = pd.DataFrame(per_image)
    runs = _runs({v: [per_image[f"{v}/seed0"].mean()] for v in ["base", *flip]})
    found = family(runs, list(flip), "base", "final_val_accuracy", per_image)
    # the paired t test of each variant's correctness against the base's, then Holm's
    p = [stats.ttest_rel(per_image[f"{v}/seed0"], per_image["base/seed0"]).pvalue
         for v in flip]
    p = [1.0 if math.isnan(x) else x for x in p]  # identical runs: scipy's 0/0, no difference
    reject, adjusted, _, _ = multipletests(p, method="holm")
    for (v, c), pv, r, a in zip(found.items(), p, reject, adjusted, strict=True):
        assert c.method == PAIRED and c.images
        assert c.difference == pytest.approx(per_image[f"{v}/seed0"].mean() - truth.mean())
        assert c.p == pytest.approx(pv) and c.p_adjusted == pytest.approx(a)
        assert c.resolved == r == (c.low > 0 or c.high < 0)  # the interval agrees
    assert not found["same"].resolved and found["large"].resolved
    with pytest.raises(ValueError, match="with one, a difference needs each image's scores"):
        family(runs, list(flip), "base", "final_val_accuracy")
    # the best group: what the paired family cannot tell from the best (here the base)
    assert best_group(runs, "base", "final_val_accuracy", per_image=per_image) == [
        v for v in ["base", *flip] if v == "base" or not found[v].resolved]


def test_the_best_group_holds_what_cannot_be_told_apart_from_the_best():
    runs = _runs({"base": [0.88, 0.89, 0.90], "best": [0.905, 0.91, 0.915],
                  "close": [0.90, 0.91, 0.92], "far": [0.80, 0.81, 0.82],
                  "broken": [0.95, 0.95, 0.95]}, diverged=("broken",))
    assert best_group(runs, "best", "final_val_accuracy") == ["base", "best", "close"]


def test_without_images_an_effect_is_welchs_test():
    a, b = [0.90, 0.91, 0.925], [0.88, 0.89, 0.90, 0.905]
    e = effect(a, b)
    welch = stats.ttest_ind(a, b, equal_var=False)
    ci = welch.confidence_interval(0.95)
    assert e.p == pytest.approx(welch.pvalue, rel=1e-9)
    assert e.interval(0.95) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert e.df == pytest.approx(welch.df, rel=1e-9) and not e.images


def test_the_images_add_their_paired_sampling_noise():
    # each image's difference of seed-averaged correctness: 12 of 1,000 images differ by +1,
    # 2 by -1, a variance over the images added to the seeds' 1e-4/3 + 1e-4/3
    d = np.zeros(1000)
    d[:12], d[12:14] = 1.0, -1.0
    seeds = effect([0.90, 0.91, 0.92], [0.88, 0.89, 0.90])
    both = effect([0.90, 0.91, 0.92], [0.88, 0.89, 0.90], d)
    assert both.images and both.difference == seeds.difference
    assert both.se == pytest.approx(math.sqrt(2e-4 / 3 + d.var(ddof=1) / 1000), rel=1e-12)
    # Satterthwaite: (sum of the terms)^2 / sum(term^2 / its df)
    terms = [(1e-4 / 3, 2), (1e-4 / 3, 2), (d.var(ddof=1) / 1000, 999)]
    df = sum(v for v, _ in terms) ** 2 / sum(v**2 / k for v, k in terms)
    # a well-measured term also adds degrees of freedom: here the larger error comes with a
    # t of 5.8 degrees of freedom instead of 4
    assert both.df == pytest.approx(df, rel=1e-9) and both.se > seeds.se and both.df > seeds.df


def test_holm_matches_statsmodels_and_its_intervals_agree_with_its_decisions():
    # fixed effects: the p-values 0.0005, 0.004, 0.012, 0.03, 0.2 and their Holm correction
    effects = {f"v{i}": Effect(d, se, 4.0, False) for i, (d, se) in enumerate(
        [(0.03, 0.004), (-0.02, 0.004), (0.015, 0.004), (0.01, 0.004), (0.004, 0.004)])}
    found = holm(effects, "base")
    p = [effects[n].p for n in effects]
    reject, adjusted, _, _ = multipletests(p, alpha=0.05, method="holm")
    assert [found[n].p_adjusted for n in effects] == pytest.approx(list(adjusted), rel=1e-12)
    assert [found[n].resolved for n in effects] == list(reject)
    for c in found.values():
        assert c.resolved == (c.low > 0 or c.high < 0)  # an interval excludes 0 iff resolved
    # uncorrected, 4 of the 5 are below 0.05; Holm keeps fewer
    assert sum(x < 0.05 for x in p) > sum(reject) >= 1
    smallest = min(found.values(), key=lambda c: c.p)
    assert smallest.confidence == pytest.approx(1 - 0.05 / 5)


def test_a_family_of_seeds_and_images_corrects_every_variant_against_the_base():
    runs = _runs({"base": [0.88, 0.89, 0.90], "up": [0.95, 0.96, 0.97],
                  "same": [0.885, 0.895, 0.905], "broken": [0.1, 0.1, 0.1]},
                 diverged=("broken",))
    rng = np.random.default_rng(0)
    correct = pd.DataFrame({f"{v}/seed{s}": (rng.random(500) < acc).astype("uint8")
                            for v, accs in {"base": [0.89] * 3, "up": [0.96] * 3,
                                            "same": [0.89] * 3, "broken": [0.1] * 3}.items()
                            for s, acc in enumerate(accs)})
    found = family(runs, ["up", "same"], "base", "final_val_accuracy", correct)
    assert set(found) == {"up", "same"} and found["up"].resolved and not found["same"].resolved
    assert found["up"].images and found["up"].p_adjusted == pytest.approx(
        min(1.0, 2 * min(c.p for c in found.values())))


def test_an_interval_of_two_seeds_is_cut_to_the_range_an_accuracy_difference_can_take():
    # two seeds a side: Welch's df is about 1.6 here, and Holm over 4 tests at 98.75 %: the
    # t interval of a -60 point drop reaches far past -100 points before the cut
    runs = _runs({"base": [0.85, 0.86], "sgd": [0.1, 0.4], "a": [0.84, 0.86],
                  "b": [0.85, 0.87], "c": [0.86, 0.85]})
    raw = family(runs, ["sgd", "a", "b", "c"], "base", "final_val_accuracy")
    cut = family(runs, ["sgd", "a", "b", "c"], "base", "final_val_accuracy",
                 bounds=(-1.0, 1.0))
    assert raw["sgd"].low < -1 < 1 < raw["sgd"].high and not raw["sgd"].clipped
    assert (cut["sgd"].low, cut["sgd"].high) == (-1.0, 1.0) and cut["sgd"].clipped
    assert cut["sgd"].df == pytest.approx(effect([0.1, 0.4], [0.85, 0.86]).df)
    assert cut["sgd"].df < 2
    # everything else as without the cut: the decision, the p-values, an interval inside
    assert cut["sgd"].p_adjusted == raw["sgd"].p_adjusted and not cut["sgd"].resolved
    narrow = [n for n in ("a", "b", "c") if raw[n].low >= -1 and raw[n].high <= 1]
    assert narrow and all((cut[n].low, cut[n].high, cut[n].clipped)
                          == (raw[n].low, raw[n].high, False) for n in narrow)


def test_correctness_pairs_the_runs_on_the_same_images():
    same = pd.DataFrame({"true": [0, 1, 2], "pred": [0, 1, 1]})
    frame = correctness({"base/seed0": same, "n1~64/seed0": same.assign(pred=[0, 0, 2]),
                         "ae/seed0": pd.DataFrame({"true": [0, 1, 2], "mse": [0.1] * 3})})
    assert frame.to_dict("list") == {"base/seed0": [1, 1, 0], "n1~64/seed0": [1, 0, 1]}
    with pytest.raises(ValueError, match="run x/seed0 was scored on other validation images"):
        correctness({"base/seed0": same, "x/seed0": same.assign(true=[2, 1, 0])})
