"""What a training run produced, and the end-of-epoch bookkeeping shared by the PyTorch and the
from-scratch back-ends."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# the training images measured in eval mode at each epoch's end: the first of the training
# split (a seeded permutation, so a random sample), the same for every run on that split;
# 5,000 give an accuracy to about 0.4 points at 90 % and cost 17 ms per epoch of the base MLP
TRAIN_EVAL_IMAGES = 5000


@dataclass
class History:
    """One row per epoch and split (epoch, split, loss, accuracy, lr, seconds), and the ending."""

    rows: list[dict] = field(default_factory=list)
    status: str = "completed"  # or "diverged"
    diverged_epoch: int | None = None
    seconds: float = 0.0
    best_epoch: int | None = None  # of the lowest validation loss
    # what computed the gradients: "backprop" (training/backprop.py's hand-written backward
    # pass), "autograd" (PyTorch's), or "scratch" (the from-scratch layers' own backward)
    gradients: str = "autograd"

    def end_epoch(self, epoch: int, epochs: int, fit: tuple[float, float | None],
                  train: tuple[float, float | None], val: tuple[float, float | None], lr: float,
                  seconds: float) -> bool:
        """Record an epoch's (loss, accuracy) and log it; return False when a loss is not
        finite (the run diverged and must stop). `fit`: the running mean over the epoch's
        batches, as the optimiser saw them (dropout active); `train`: measured in eval mode at
        the epoch's end on TRAIN_EVAL_IMAGES fixed training images, so that its gap to `val`
        is the generalisation gap. A task without accuracy (an autoencoder's) gives None: the
        accuracy is then absent from the metrics, not zero."""
        for split, (loss, acc) in (("fit", fit), ("train", train), ("val", val)):
            row = {"epoch": epoch, "split": split, "loss": loss, "lr": lr, "seconds": seconds}
            if acc is not None:
                row["accuracy"] = acc
            self.rows.append(row)
        accs = "".join(f" {name} acc {acc:.4f}" for name, (_, acc) in (("train", train),
                                                                     ("val", val))
                       if acc is not None)
        log.info("epoch %3d/%d  fit loss %.4f  train loss %.4f  val loss %.4f%s  lr %.3g  "
                 "%.2fs", epoch, epochs, fit[0], train[0], val[0], accs, lr, seconds)
        if all(math.isfinite(loss) for loss, _ in (fit, train, val)):
            return True
        self.status, self.diverged_epoch = "diverged", epoch
        log.warning("loss is not finite at epoch %d: run diverged, training stopped", epoch)
        return False


@dataclass
class EarlyStopping:
    """Follows the lowest validation loss; says when `patience` epochs passed without a new one
    (patience 0: never)."""

    patience: int
    best_epoch: int | None = None
    best_loss: float = math.inf

    def update(self, val_loss: float, epoch: int) -> str:
        """Return "improved" (a new lowest loss), "stop" (patience ran out) or "wait"."""
        if val_loss < self.best_loss:
            self.best_loss, self.best_epoch = val_loss, epoch
            return "improved"
        if (self.patience and self.best_epoch is not None
                and epoch - self.best_epoch >= self.patience):
            log.info("early stopping at epoch %d: best validation loss at epoch %d", epoch,
                     self.best_epoch)
            return "stop"
        return "wait"
