"""The from-scratch training loop: whole dataset on the device, batches by slicing a permutation."""

from __future__ import annotations

import logging
import time
from types import ModuleType

import numpy as np

from nnreport.models.scratch import MLP, SoftmaxCrossEntropy
from nnreport.models.user_scratch import ScratchModel
from nnreport.training.history import TRAIN_EVAL_IMAGES, EarlyStopping, History
from nnreport.training.schedules import epoch_lr
from nnreport.training.scratch.optim import SGD, Adam, Optimizer

log = logging.getLogger(__name__)
# What the loop trains: the built-in MLP, or a user's class behind models/user_scratch.py
Net = MLP | ScratchModel


def _get(hparams: dict, key: str, default):
    """Return hparams[key], or `default` when the key is missing or null."""
    value = hparams.get(key)
    return default if value is None else value


def build_mlp(hparams: dict, n_in: int, n_classes: int, seed: int, xp: ModuleType) -> MLP:
    """Return a freshly initialised MLP n_in -> hidden... -> n_classes read from `hparams`."""
    if hparams.get("hidden") is not None:
        if "n1" in hparams or "n2" in hparams:
            raise ValueError("hparams give both 'hidden' and 'n1'/'n2'; give the hidden sizes "
                             "one way: hidden: [128, 64] or n1: 128, n2: 64")
        hidden = [int(h) for h in hparams["hidden"]]
    else:
        hidden = [int(_get(hparams, "n1", 128)), int(_get(hparams, "n2", 64))]
    if float(_get(hparams, "p", 0.0)) > 0:
        log.warning("dropout p=%s is not implemented in the from-scratch back-end: "
                    "its MLP trains without dropout", hparams["p"])
    return MLP([n_in, *hidden, n_classes], _get(hparams, "activation", "relu"), xp, seed)


def make_optimizer(hparams: dict, params) -> Optimizer:
    """Return the optimiser named by `hparams['optimizer']` ("sgd" or "adam")."""
    name, lr = str(hparams["optimizer"]).lower(), float(hparams["lr"])
    weight_decay = float(_get(hparams, "weight_decay", 0.0))
    if name == "adam":
        return Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        momentum = float(_get(hparams, "momentum", 0.0))
        return SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"optimizer: '{name}' is unknown to the from-scratch back-end; "
                     "use adam or sgd")


def predict(model: Net, x, xp: ModuleType, batch: int = 8192):
    """Return the predicted labels (N,) of inputs x (N, n_in), on x's device."""
    model.eval()
    return xp.concatenate([model.forward(x[i : i + batch]).argmax(axis=1)  # (b,)
                           for i in range(0, len(x), batch)])


def evaluate(model: Net, x, y, xp: ModuleType, batch: int = 8192) -> tuple[float, float]:
    """Return (mean cross-entropy, accuracy in [0, 1]) of `model` on (x, y), in eval mode."""
    model.eval()
    loss_fn = SoftmaxCrossEntropy(xp)
    loss_sum = xp.zeros((), dtype=xp.float64)
    correct = xp.zeros((), dtype=xp.int64)
    for i in range(0, len(y), batch):
        logits = model.forward(x[i : i + batch])  # (b, C)
        loss_sum += loss_fn.forward(logits, y[i : i + batch], reduction="sum")
        correct += (logits.argmax(axis=1) == y[i : i + batch]).sum()
    n = len(y)
    return float(loss_sum) / n, int(correct) / n


def train(model: Net, train_x, train_y, val_x, val_y, hparams: dict, epochs: int, seed: int,
          xp: ModuleType) -> History:
    """Train `model` in place for up to `epochs` epochs; return the history of both splits.

    With `early_stopping_patience` > 0, training stops after that many epochs without a lower
    val loss and the model gets back the weights of its best epoch; `model.best_epoch` is always
    the epoch with the lowest val loss.
    """
    rng = np.random.default_rng(seed)  # host permutations: the same batches on NumPy and CuPy
    opt = make_optimizer(hparams, model.parameters())
    loss_fn = SoftmaxCrossEntropy(xp)
    bs, n = int(hparams["batch_size"]), len(train_y)
    patience = int(_get(hparams, "early_stopping_patience", 0))
    stopper, best_state, model.best_epoch = EarlyStopping(patience), None, None
    hist, start = History(gradients="scratch"), time.perf_counter()
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        opt.lr = epoch_lr(hparams, epoch, epochs)
        model.train()  # a user's dropout on (evaluate switches it off)
        perm = xp.asarray(rng.permutation(n))  # (N,)
        loss_sum = xp.zeros((), dtype=xp.float64)
        correct = xp.zeros((), dtype=xp.int64)
        for i in range(0, n, bs):
            idx = perm[i : i + bs]  # (B,)
            xb, yb = train_x[idx], train_y[idx]  # (B, 784), (B,)
            logits = model.forward(xb)  # (B, C)
            loss = loss_fn.forward(logits, yb)  # () on the device
            opt.zero_grad()
            model.backward(loss_fn.backward())  # dL/dlogits (B, C)
            opt.step()
            loss_sum += loss * len(idx)  # stays on the device: no sync per step
            correct += (logits.argmax(axis=1) == yb).sum()
        fit = (float(loss_sum) / n, int(correct) / n)
        k = min(n, TRAIN_EVAL_IMAGES)  # the same first images every epoch, in eval mode
        train_loss, train_acc = evaluate(model, train_x[:k], train_y[:k], xp)
        val_loss, val_acc = evaluate(model, val_x, val_y, xp)
        seconds = time.perf_counter() - t0
        if not hist.end_epoch(epoch, epochs, fit, (train_loss, train_acc), (val_loss, val_acc),
                              opt.lr, seconds):
            break
        verdict = stopper.update(val_loss, epoch)
        model.best_epoch = hist.best_epoch = stopper.best_epoch
        if verdict == "improved" and patience > 0:
            best_state = model.state_dict()
        elif verdict == "stop":
            break
    if best_state is not None:
        model.load_state_dict(best_state)
        log.info("restored the weights of epoch %d (lowest val loss %.4f)", model.best_epoch,
                 stopper.best_loss)
    hist.seconds = time.perf_counter() - start
    return hist
