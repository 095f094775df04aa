"""Trends of the validation curves, decided by the evidence (values small enough by hand)."""

import numpy as np
import pandas as pd
import pytest

from nnreport.evaluation.trends import GAIN_LOSS, GAIN_POINTS, tail_trend, verdict


def _metrics(loss, accuracy, seeds=(0,), train=None):
    """Validation rows of one variant: loss and accuracy per epoch, the same for each seed
    unless given per seed (a list of lists); `train`: the training loss per epoch (eval
    mode), the same for every seed (no training rows without it)."""
    rows = []
    for k, seed in enumerate(seeds):
        ls = loss[k] if isinstance(loss[0], list) else loss
        acc = accuracy[k] if isinstance(accuracy[0], list) else accuracy
        rows += [{"seed": seed, "epoch": e, "split": "val", "loss": x, "accuracy": a}
                 for e, (x, a) in enumerate(zip(ls, acc, strict=True), start=1)]
        rows += [{"seed": seed, "epoch": e, "split": "train", "loss": x, "accuracy": 0.9}
                 for e, x in enumerate(train or [], start=1)]
    return pd.DataFrame(rows)


FALLING = [1.0 * 0.9 ** e for e in range(12)]  # a training loss that keeps falling


def test_a_straight_rise_has_its_slope_and_a_zero_width_interval():
    epochs = np.arange(1, 13, dtype=float)
    trend = tail_trend(epochs, 0.1 * epochs)  # the last third: epochs 9-12
    assert trend.slope == pytest.approx(0.1) and trend.rising and not trend.falling


def test_epoch_to_epoch_noise_is_not_a_trend():
    epochs = np.arange(1, 13, dtype=float)
    trend = tail_trend(epochs, np.array([0.5, 0.52] * 6))
    assert trend.low < 0 < trend.high and not trend.rising


def test_by_hand_slope_interval_of_four_points():
    # y = 0, 1, 1, 2 at x = 1..4: slope 0.6, residuals -0.1 .3 -.3 .1, s^2 = 0.2/2 = 0.1,
    # stderr = sqrt(0.1 / 5) = 0.141421, t(0.975, 2) = 4.302653: 0.6 -+ 0.608495
    trend = tail_trend(np.array([1.0, 2, 3, 4]), np.array([0.0, 1, 1, 2]))
    assert (trend.slope, trend.low, trend.high) == pytest.approx((0.6, -0.008495, 1.208495),
                                                                  abs=1e-5)


def test_too_few_epochs_give_no_verdict():
    assert verdict(_metrics([0.5, 0.4], [0.8, 0.81]), n_val=1000) is None


def test_rising_loss_with_flat_accuracy_is_overfitting_seen_as_over_confidence():
    loss = [1.0, 0.6, 0.5, 0.45, 0.44, 0.45, 0.47, 0.49, 0.51, 0.53, 0.55, 0.57]
    acc = [0.70, 0.80, 0.85, 0.86, 0.87, 0.87, 0.871, 0.869, 0.87, 0.871, 0.869, 0.87]
    v = verdict(_metrics(loss, acc, train=FALLING), n_val=10_000)
    assert v.loss.rising and not v.accuracy.falling and v.train_loss.falling
    assert v.overfits and v.overconfident and not v.loses_accuracy and not v.unstable
    assert v.converged
    # at the lowest loss (epoch 5) the accuracy was 0.87, the same as at the end
    assert v.early_stop_gain == pytest.approx(0.0) and not v.early_stop_helps


def test_rising_loss_with_falling_accuracy_is_overfitting_and_early_stopping_helps():
    loss = [1.0, 0.6, 0.5, 0.45, 0.44, 0.46, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75]
    acc = [0.70, 0.80, 0.85, 0.86, 0.88, 0.87, 0.86, 0.85, 0.84, 0.83, 0.82, 0.81]
    v = verdict(_metrics(loss, acc, train=FALLING), n_val=10_000)
    assert v.overfits and v.loses_accuracy and not v.overconfident
    # one seed: 0.88 and 0.81 on 10,000 images, Wilson intervals far apart
    assert v.early_stop_gain == pytest.approx(0.07) and v.early_stop_helps


def test_a_rising_validation_loss_without_a_falling_training_loss_is_not_overfitting():
    loss = [1.0, 0.6, 0.5, 0.45, 0.44, 0.46, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75]
    acc = [0.70, 0.80, 0.85, 0.86, 0.88, 0.87, 0.86, 0.85, 0.84, 0.83, 0.82, 0.81]
    rising = [0.5, 0.4, 0.35, 0.33, 0.32, 0.33, 0.35, 0.37, 0.4, 0.42, 0.45, 0.48]
    v = verdict(_metrics(loss, acc, train=rising), n_val=10_000)
    assert v.loss.rising and v.unstable and not v.overfits and not v.overconfident
    # metrics without training rows (none measured) never read as overfitting
    v = verdict(_metrics(loss, acc), n_val=10_000)
    assert v.train_loss is None and not v.overfits and v.unstable


def test_a_resolved_but_negligible_gain_is_convergence():
    # 0.03 points per epoch, perfectly straight (its interval excludes zero): over the last
    # four epochs a gain of 0.09 points, below GAIN_POINTS; the loss falls 0.1 % over them
    acc = [0.88 + 0.0003 * e for e in range(12)]
    loss = [0.35 - 0.0001 * e for e in range(12)]
    v = verdict(_metrics(loss, acc), n_val=10_000)
    assert v.accuracy.rising and v.loss.falling
    assert 100 * v.accuracy.change < GAIN_POINTS and v.converged
    # the same line, 20 times steeper: 1.8 points over the tail, still improving
    acc = [0.70 + 0.006 * e for e in range(12)]
    assert not verdict(_metrics(loss, acc), n_val=10_000).converged
    # a loss 5 % lower over the tail, with a flat accuracy: still improving
    loss = [0.35 * (1 - 0.017 * e) for e in range(12)]
    v = verdict(_metrics(loss, [0.88] * 12), n_val=10_000)
    assert -v.loss.change > GAIN_LOSS * v.loss.level and not v.converged


def test_a_run_still_improving_at_its_last_epoch_has_not_converged():
    loss = [1.0 - 0.05 * e for e in range(12)]
    acc = [0.5 + 0.02 * e for e in range(12)]
    assert not verdict(_metrics(loss, acc), n_val=1000).converged


def test_with_seeds_early_stopping_helps_only_beyond_the_spread_of_its_gain():
    consistent = [[0.80] * 5 + [0.85] + [0.80] * 6, [0.81] * 5 + [0.86] + [0.81] * 6,
                  [0.79] * 5 + [0.84] + [0.79] * 6]  # each seed 0.05 better at its lowest loss
    loss = [[1.0] * 5 + [0.1] + [1.0] * 6] * 3
    assert verdict(_metrics(loss, consistent, seeds=(0, 1, 2)), 1000).early_stop_helps
    mixed = [[0.80] * 5 + [0.85] + [0.80] * 6, [0.80] * 5 + [0.76] + [0.80] * 6,
             [0.80] * 5 + [0.81] + [0.80] * 6]  # +0.05, -0.04, +0.01: within the noise
    v = verdict(_metrics(loss, mixed, seeds=(0, 1, 2)), 1000)
    assert v.early_stop_gain == pytest.approx(0.02 / 3) and not v.early_stop_helps


def test_an_autoencoders_curves_beside_a_classifiers_get_a_loss_verdict_only():
    # metrics of several runs concatenated: the autoencoder's accuracy column is all NaN
    epochs = np.arange(1, 10)
    auto = pd.DataFrame({"epoch": epochs, "split": "val", "seed": 0, "variant": "ae",
                         "loss": 0.05 / epochs, "accuracy": np.nan})
    v = verdict(auto, n_val=1000)
    assert v is not None and v.accuracy is None and v.early_stop_gain is None
    assert v.loss.falling and not v.converged
