"""The PyTorch training loop: whole dataset on the device, batches by slicing a permutation."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nnreport.history import EarlyStopping, History
from nnreport.schedules import epoch_lr

log = logging.getLogger(__name__)


@dataclass
class Split:
    """One split held on the training device."""

    x: torch.Tensor  # (N, 784) float32, normalised
    y: torch.Tensor  # (N,) int64


def make_optimizer(hparams: dict, params) -> torch.optim.Optimizer:
    """Return the optimiser named by `hparams['optimizer']` with its learning rate."""
    name, lr = hparams["optimizer"].lower(), float(hparams["lr"])
    momentum = float(hparams.get("momentum", 0.0))
    weight_decay = float(hparams.get("weight_decay", 0.0))
    # fused: one kernel updates every parameter (measured 0.81 -> 0.73 s/epoch, base MLP, 1 CPU)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                               fused=True)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"optimizer: '{name}' is unknown; use adam, adamw, sgd or rmsprop")


@torch.inference_mode()
def evaluate(model: nn.Module, split: Split,
             batch: int = 8192) -> tuple[float, float, torch.Tensor]:
    """Return (mean cross-entropy, accuracy in [0, 1], predicted labels) on `split`."""
    model.eval()
    loss_sum = torch.zeros((), device=split.x.device)
    preds = []
    for i in range(0, len(split.y), batch):
        logits = model(split.x[i : i + batch])  # (b, C)
        loss_sum += F.cross_entropy(logits, split.y[i : i + batch], reduction="sum")
        preds.append(logits.argmax(1))
    pred = torch.cat(preds)
    n = len(split.y)
    return loss_sum.item() / n, (pred == split.y).sum().item() / n, pred


def train(model: nn.Module, train_split: Split, val_split: Split, hparams: dict, epochs: int,
          seed: int) -> History:
    """Train `model` for `epochs` epochs; return the per-epoch history of both splits.

    The learning rate follows `lr_schedule`; with `early_stopping_patience` > 0 training stops
    once the validation loss has not improved for that many epochs and the best weights are
    restored. `model.best_epoch` is the epoch of minimal validation loss either way.
    """
    device = train_split.x.device
    gen = torch.Generator(device=device).manual_seed(seed)
    opt = make_optimizer(hparams, model.parameters())
    bs, n = int(hparams["batch_size"]), len(train_split.y)
    patience = int(hparams.get("early_stopping_patience") or 0)
    stopper, best_state, model.best_epoch = EarlyStopping(patience, best_epoch=0), None, 0
    hist, start = History(), time.perf_counter()
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        lr = epoch_lr(hparams, epoch, epochs)
        for group in opt.param_groups:
            group["lr"] = lr
        model.train()
        perm = torch.randperm(n, device=device, generator=gen)  # (N,)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        for i in range(0, n, bs):
            idx = perm[i : i + bs]
            # index_select is a leaner gather than x[idx] (about 35 ms/epoch less, 1 CPU)
            xb = train_split.x.index_select(0, idx)  # (B, 784)
            yb = train_split.y.index_select(0, idx)  # (B,)
            logits = model(xb)  # (B, C)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * len(idx)  # stays on the device: no sync per step
            correct += (logits.detach().argmax(1) == yb).sum()
        train_loss, train_acc = loss_sum.item() / n, correct.item() / n
        val_loss, val_acc, _ = evaluate(model, val_split)
        seconds = time.perf_counter() - t0
        if not hist.end_epoch(epoch, epochs, (train_loss, train_acc), (val_loss, val_acc), lr,
                              seconds):
            break
        verdict = stopper.update(val_loss, epoch)
        model.best_epoch = stopper.best_epoch
        if verdict == "improved" and patience:
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif verdict == "stop":
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    hist.seconds = time.perf_counter() - start
    return hist
