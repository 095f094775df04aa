"""What the curves of a run show, decided by the evidence rather than by epoch-to-epoch noise:
a trend is the slope of a straight line fitted to the last third of the epochs
(scipy.stats.linregress, mean over seeds), and it counts only when its interval excludes zero.

The readings are the textbook ones. Overfitting: the validation loss rises while the training
loss (measured in eval mode, training/history.py) falls; its sub-cases are over-confidence (the
validation accuracy holds: only the loss, which punishes confident mistakes, worsens) and lost
accuracy. A validation loss that rises while the training loss does not fall is instability,
not overfitting. A run is still improving only when its fitted gain over the last third is
large enough to matter (GAIN_POINTS of accuracy, or GAIN_LOSS of the loss), not merely a slope
distinguishable from zero. Early stopping helps only when the accuracy at the epoch of lowest
validation loss beats the final one by more than the noise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from nnreport.evaluation.comparisons import CONFIDENCE, accuracy_interval

TAIL = 1 / 3  # the share of the epochs, at the end, whose trend is judged
MIN_POINTS = 4  # fewer epochs in the tail tell nothing
# what a run must still gain over the last third of its epochs to count as not converged
GAIN_POINTS = 0.5  # points of accuracy
GAIN_LOSS = 0.02  # of the loss's value: a 2 % lower loss


@dataclass(frozen=True)
class Trend:
    """A slope per epoch with its interval."""

    slope: float
    low: float
    high: float
    span: float = 0.0  # epochs from the first to the last of the tail
    level: float = 0.0  # the mean value over the tail

    @property
    def change(self) -> float:
        """The fitted change over the tail (slope times its span)."""
        return self.slope * self.span

    @property
    def rising(self) -> bool:
        return self.low > 0

    @property
    def falling(self) -> bool:
        return self.high < 0


@dataclass(frozen=True)
class Verdict:
    """What one run's curves show over their last epochs."""

    loss: Trend  # validation
    accuracy: Trend | None  # validation; None for a task without accuracy
    early_stop_gain: float | None  # mean accuracy at the lowest-loss epoch minus the final one
    early_stop_helps: bool  # that gain exceeds the noise
    train_loss: Trend | None = None  # eval mode; None for metrics without it

    @property
    def overfits(self) -> bool:
        """The validation loss rises while the training loss falls: the model fits its
        training images better and the others worse."""
        return self.loss.rising and self.train_loss is not None and self.train_loss.falling

    @property
    def loses_accuracy(self) -> bool:
        """Overfitting that costs validation accuracy: it falls too."""
        return self.overfits and self.accuracy is not None and self.accuracy.falling

    @property
    def overconfident(self) -> bool:
        """Overfitting whose validation accuracy holds: the model grows more confident in its
        mistakes (the loss punishes them) without losing accuracy."""
        return self.overfits and not self.loses_accuracy

    @property
    def unstable(self) -> bool:
        """The validation loss rises but the training loss does not fall: not overfitting
        (the model fits its training images no better), typically steps too large."""
        return self.loss.rising and not self.overfits

    @property
    def improving(self) -> bool:
        """Still improving at the end by an amount that matters: the fitted gain over the last
        third is resolved (its interval excludes zero) and at least GAIN_POINTS of accuracy,
        or a validation loss GAIN_LOSS lower."""
        acc = self.accuracy
        if acc is not None and acc.rising and 100 * acc.change >= GAIN_POINTS:
            return True
        return (self.loss.falling and self.loss.level > 0
                and -self.loss.change >= GAIN_LOSS * self.loss.level)

    @property
    def converged(self) -> bool:
        return not self.improving


def tail_trend(epochs: np.ndarray, values: np.ndarray,
               confidence: float = CONFIDENCE) -> Trend | None:
    """The slope of `values` against `epochs` over their last third, with its interval (None
    when the tail has fewer than MIN_POINTS epochs)."""
    n = max(MIN_POINTS, int(np.ceil(len(epochs) * TAIL)))
    if len(epochs) < n:
        return None
    x, y = epochs[-n:], values[-n:]
    span, level = float(x[-1] - x[0]), float(np.mean(y))
    if np.ptp(y) == 0:
        return Trend(0.0, 0.0, 0.0, span, level)
    fit = stats.linregress(x, y)
    half = stats.t.ppf((1 + confidence) / 2, n - 2) * fit.stderr
    return Trend(float(fit.slope), float(fit.slope - half), float(fit.slope + half), span,
                 level)


def verdict(metrics: pd.DataFrame, n_val: int, confidence: float = CONFIDENCE) -> Verdict | None:
    """The verdict on one variant's curves (`metrics`: its rows of every seed), or None when
    it has too few epochs to judge."""
    val = metrics[metrics["split"] == "val"]
    train = metrics[metrics["split"] == "train"].groupby("epoch")["loss"].mean()
    # an autoencoder's rows have no accuracy (NaN where its metrics sit beside a classifier's)
    has_accuracy = "accuracy" in val.columns and bool(val["accuracy"].notna().any())
    mean = val.groupby("epoch")[["loss", "accuracy"] if has_accuracy else ["loss"]].mean()
    epochs = mean.index.to_numpy(dtype=float)
    loss = tail_trend(epochs, mean["loss"].to_numpy(), confidence)
    if loss is None:
        return None
    accuracy = tail_trend(epochs, mean["accuracy"].to_numpy(), confidence) if has_accuracy \
        else None
    gain, helps = None, False
    if has_accuracy:
        gains, finals = [], []
        for _, run in val.groupby("seed"):
            run = run.sort_values("epoch")
            at_min = run.loc[run["loss"].idxmin(), "accuracy"]
            gains.append(float(at_min - run["accuracy"].iloc[-1]))
            finals.append((float(at_min), float(run["accuracy"].iloc[-1])))
        gain = float(np.mean(gains))
        if len(gains) > 1 and np.ptp(gains) > 0:
            ci = stats.ttest_1samp(gains, 0.0).confidence_interval(confidence)
            helps = bool(ci.low > 0)
        elif len(gains) == 1:
            (low_min, _), (_, high_final) = (accuracy_interval(a, n_val, confidence)
                                             for a in finals[0])
            helps = low_min > high_final
        else:
            helps = gain > 0
    train_loss = (tail_trend(train.index.to_numpy(dtype=float), train.to_numpy(), confidence)
                  if len(train) else None)
    return Verdict(loss, accuracy, gain, helps, train_loss)


def rising_loss_warnings(metrics: pd.DataFrame, confidence: float = CONFIDENCE) -> list[str]:
    """The build log's warnings: each variant whose mean validation loss over seeds rises over
    its last epochs by the fitted trend (not by epoch-to-epoch noise)."""
    out = []
    val = metrics[metrics["split"] == "val"]
    for variant, runs in val.groupby("variant", sort=False):
        mean = runs.groupby("epoch")["loss"].mean()
        trend = tail_trend(mean.index.to_numpy(dtype=float), mean.to_numpy(), confidence)
        if trend is not None and trend.rising:
            out.append(f"{variant}: validation loss rises over its last epochs "
                       f"({trend.slope:+.3g} per epoch, {round(100 * confidence)} % interval "
                       f"[{trend.low:+.3g}, {trend.high:+.3g}]): overfitting, growing "
                       f"over-confidence or a too-high learning rate")
    return out
