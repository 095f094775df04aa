"""One training job: load the data onto the device, train with the run's back-end, write files."""

from __future__ import annotations

import logging
import os
import platform
import resource
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from nnreport.base.integrity import verified
from nnreport.base.io import atomic_path, write_json
from nnreport.base.usercode import Target, UserCodeError, file_digest, parse_target
from nnreport.data.dataset import Dataset
from nnreport.data.preprocess import channel_stats, normalisation, normalise, split_indices
from nnreport.models.conv import encoder_of
from nnreport.models.registry import (
    Family,
    build_model,
    describe,
    family_of,
    parameter_count,
)
from nnreport.models.user_scratch import (
    TOLERANCE,
    ScratchModel,
    gradient_check,
    gradient_message,
)
from nnreport.training.history import History
from nnreport.training.loop import evaluate as torch_evaluate
from nnreport.training.loop import train as torch_train
from nnreport.training.metrics import write_metrics
from nnreport.training.scratch import backend
from nnreport.training.scratch.train import build_mlp
from nnreport.training.scratch.train import evaluate as scratch_evaluate
from nnreport.training.scratch.train import predict as scratch_predict
from nnreport.training.scratch.train import train as scratch_train

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """Return the training device: `auto` means CUDA when present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: 'cuda' was asked for but no CUDA GPU is visible; "
                           "set device: auto or cpu")
    return torch.device(name)


def cpu_name() -> str:
    """Return the CPU's model name (from /proc/cpuinfo on Linux), else its architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    """Return a human name of `device` (the GPU model, or the CPU's)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_name()


def to_splits(data: Dataset, run: dict, device: torch.device, fam: Family | None = None):
    """Return the (train, val) splits on `device` (uint8 pixels, scaled batch by batch) and the
    normalisation used: flat (N, C*H*W) rows for an MLP, (N, C, H, W) images for a
    convolutional family; each channel standardised by its training pixels' mean and std, or
    in [0, 1] (mean 0, std 1) for a family that reconstructs its input or reads an encoder
    that did."""
    from nnreport.training.loop import Split

    fam = fam or family_of(run.get("hparams", {}))
    train_idx, val_idx = split_indices(data, run)
    c, h, w = data.shape
    norm = (normalisation(data, train_idx) if fam.scaling == "standard"
            else {"mean": [0.0] * c, "std": [1.0] * c})
    mean, std = channel_stats(norm, c)
    scale, shift = 1 / (255 * std), -mean / std  # (x / 255 - mean) / std, (C,) each
    shape = data.shape if fam.image else (-1,)
    factors: tuple  # what a batch of uint8 pixels is multiplied by, then what is added
    if c == 1:  # one number each: the float32 arithmetic of every grey study as before
        factors = (float(scale[0]), float(shift[0]))
    elif fam.image:  # (C, 1, 1): each channel's
        factors = tuple(torch.tensor(a, dtype=torch.float32, device=device).view(c, 1, 1)
                        for a in (scale, shift))
    else:  # (C * H * W,): each pixel's channel's, in the flattened order
        factors = tuple(torch.tensor(np.repeat(a, h * w), dtype=torch.float32, device=device)
                        for a in (scale, shift))
    splits = [Split(torch.from_numpy(data.images[idx].reshape(len(idx), *shape)).to(device),
                    torch.from_numpy(data.labels[idx].astype(np.int64)).to(device), *factors)
              for idx in (train_idx, val_idx)]
    return *splits, {**norm, "n_train": len(train_idx), "n_val": len(val_idx)}


def place(model: torch.nn.Module, device: torch.device, fam: Family) -> torch.nn.Module:
    """Move `model` to `device`; a built-in convolutional family's weights (and so its
    activations) go channels last: max-pooling 9x and a CNN's epoch 1.4x faster on one CPU core
    (never a user's module: its `x.view(len(x), -1)` would fail on such a tensor)."""
    model.to(device)
    if fam.channels_last:
        model.to(memory_format=torch.channels_last)
    return model


def check_code(run: dict) -> None:
    """Refuse to train a user's class whose file is not the one the workflow planned the run
    with (edited while the workflow ran): its results would be filed under the old content."""
    code = run.get("code")
    if code is None:  # a built-in family
        return
    if file_digest(code["file"]) != code["sha256"]:
        raise UserCodeError(f"{code['file']} changed after the workflow planned run "
                            f"{run['variant']} (seed {run['seed']}); run the workflow again: "
                            "it retrains the runs of the file as it is now")


@dataclass
class TrainResult:
    """What one back-end's training of a run produced, before anything is written."""

    history: History
    val_loss: float  # of the model as returned (its best weights when early stopping)
    val_accuracy: float | None  # None for an autoencoder
    predictions: np.ndarray  # (n_val,) predicted class (or reconstruction MSE) of each image
    labels: np.ndarray  # (n_val,) their true class
    state: dict  # what model.pt holds besides the normalisation
    normalisation: dict
    device_name: str
    device_type: str  # "cpu" or "cuda"
    parameters: int
    layers: dict[str, int] | None = None  # a user's module: how many layers of each kind
    gradient_check: dict | None = None  # a user's from-scratch backward against differences
    dtype: str | None = None  # a user's from-scratch arrays' precision (float32, float64)


def _train_torch(run: dict, data: Dataset, threads: int, encoder: dict | None) -> TrainResult:
    torch.set_num_threads(threads)
    device = resolve_device(run["device"])
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = bool(run.get("tf32"))
    fam = family_of(run["hparams"])
    check_code(run)
    train_split, val_split, norm = to_splits(data, run, device, fam)
    torch.manual_seed(run["seed"])
    input_shape, n_classes = data.shape, len(data.classes)
    n_in = int(np.prod(input_shape))
    model = build_model(run["hparams"], n_in=n_in, n_classes=n_classes,
                        encoder=encoder_of(encoder) if encoder is not None else None,
                        input_shape=input_shape, seed=run["seed"])
    # a user's module: its layers by kind, as the report's Models section describes them
    layers = (dict(Counter(row["layer"] for row in describe(model, input_shape)))
              if fam.user is not None else None)
    place(model, device, fam)
    log.info("run %s seed %d, PyTorch on %s (%d threads): %s, %d parameters", run["variant"],
             run["seed"], device_name(device), threads, run["hparams"], parameter_count(model))
    hist = torch_train(model, train_split, val_split, run["hparams"], run["epochs"], run["seed"],
                       task=fam.task)
    val_loss, val_acc, outcome = torch_evaluate(model, val_split, fam.task)
    state = {"state_dict": model.state_dict(), "hparams": run["hparams"], "backend": "torch",
             "model": fam.name, "n_in": n_in, "n_classes": n_classes,
             "input_shape": input_shape}
    if fam.user is not None:  # the file and content it was built from
        state["code"] = run["code"]
    if encoder is not None:  # what rebuilds the encoder's layers before loading the weights
        state["encoder"] = {k: encoder[k] for k in ("hparams", "n_in", "n_classes",
                                                    "input_shape") if k in encoder}
    return TrainResult(hist, val_loss, val_acc, outcome.cpu().numpy(),
                       val_split.y.cpu().numpy(), state, norm, device_name(device), device.type,
                       parameter_count(model), layers)


def _train_numpy(run: dict, data: Dataset) -> TrainResult:
    xp = backend.get_xp(run["device"])
    train_idx, val_idx = split_indices(data, run)
    norm = {**normalisation(data, train_idx), "n_train": len(train_idx), "n_val": len(val_idx)}
    train_x, val_x = (xp.asarray(normalise(data.images[i], norm)) for i in (train_idx, val_idx))
    train_y, val_y = (xp.asarray(data.labels[i]) for i in (train_idx, val_idx))
    target = parse_target(run["hparams"].get("model"))
    if target is not None:
        return _train_user_scratch(run, data, target, xp, norm,
                                   (train_x, train_y, val_x, val_y, data.labels[val_idx]))
    model = build_mlp(run["hparams"], train_x.shape[1], len(data.classes), run["seed"], xp)
    n_params = sum(int(p.data.size) for p in model.parameters())
    dev_name, dev_type = ("CuPy (GPU)", "cuda") if xp.__name__ == "cupy" else (cpu_name(), "cpu")
    log.info("run %s seed %d, from scratch on %s with %s: %s, %d parameters", run["variant"],
             run["seed"], dev_name, xp.__name__, run["hparams"], n_params)
    hist = scratch_train(model, train_x, train_y, val_x, val_y, run["hparams"], run["epochs"],
                         run["seed"], xp)
    val_loss, val_acc = scratch_evaluate(model, val_x, val_y, xp)
    pred = backend.to_numpy(scratch_predict(model, val_x, xp))
    state = {"state_dict": {k: backend.to_numpy(v) for k, v in model.state_dict().items()},
             "hparams": run["hparams"], "backend": "numpy", "sizes": list(model.sizes)}
    return TrainResult(hist, val_loss, val_acc, pred, data.labels[val_idx], state, norm,
                       dev_name, dev_type, n_params)


def _train_user_scratch(run: dict, data: Dataset, target: Target, xp, norm: dict,
                        arrays: tuple) -> TrainResult:
    """Train a user's from-scratch class (backend: numpy) with the from-scratch trainer, after
    checking its backward against finite differences (recorded for the report)."""
    check_code(run)
    train_x, train_y, val_x, val_y, val_labels = arrays
    shape, n_classes = data.shape, len(data.classes)
    checked = ScratchModel(target, run["hparams"], shape, n_classes, run["seed"])
    check = gradient_check(checked, n_classes)
    if not check["error"] <= TOLERANCE:  # NaN too: the pre-job check says the same, once
        raise UserCodeError(gradient_message(checked.call, check))
    model = ScratchModel(target, run["hparams"], shape, n_classes, run["seed"], xp)
    n_params = sum(int(p.data.size) for p in model.parameters())
    dev_name, dev_type = ("CuPy (GPU)", "cuda") if xp.__name__ == "cupy" else (cpu_name(), "cpu")
    log.info("run %s seed %d, %s from %s on %s with %s, %d parameters; its backward against "
             "finite differences: largest relative error %.1e", run["variant"], run["seed"],
             model.call, target.path, dev_name, xp.__name__, n_params, check["error"])
    hist = scratch_train(model, train_x, train_y, val_x, val_y, run["hparams"], run["epochs"],
                         run["seed"], xp)
    val_loss, val_acc = scratch_evaluate(model, val_x, val_y, xp)
    pred = backend.to_numpy(scratch_predict(model, val_x, xp))
    state = {"state_dict": {k: backend.to_numpy(v) for k, v in model.state_dict().items()},
             "hparams": run["hparams"], "backend": "numpy", "model": str(target),
             "code": run["code"], "input_shape": shape, "n_classes": n_classes}
    return TrainResult(hist, val_loss, val_acc, pred, val_labels, state, norm, dev_name,
                       dev_type, n_params, gradient_check=check,
                       dtype=str(model.parameters()[0].data.dtype))


def peak_memory_mb() -> float:
    """This process's peak resident memory so far, in MB (what a cluster job's mem_mb must
    cover; Linux reports kibibytes)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6, 1)


def run_job(run: dict, data_path: str, out: dict[str, str], threads: int = 1,
            selection: dict | None = None, encoder: str | None = None) -> dict:
    """Train one run and write metrics, model, predictions and run.json; return run.json.

    `selection` is the selection file of the model this run starts from (`from: M1`): its
    chosen hyper-parameters come first, the run's own ones override them. `encoder` is the
    model.pt of the autoencoder run whose encoder a classifier on an encoder starts from.
    predictions.parquet holds each validation image's true class and predicted one (`pred`),
    or, for an autoencoder, its reconstruction's MSE (`mse`).
    """
    if selection is not None:
        run = {**run, "hparams": {**selection["hparams"], **run["hparams"]},
               "source_variant": selection["variant"]}
    data = Dataset.load(data_path)
    t0, started_at = time.perf_counter(), time.time()
    if run.get("backend", "torch") == "numpy":
        result = _train_numpy(run, data)
    else:
        state = (torch.load(verified(encoder), map_location="cpu", weights_only=False)
                 if encoder is not None else None)
        result = _train_torch(run, data, threads, state)
    hist = result.history
    info = {
        **run,
        "status": hist.status,
        "gradients": hist.gradients,
        "diverged_epoch": hist.diverged_epoch,
        "best_epoch": hist.best_epoch,
        "val_loss": result.val_loss,
        "val_accuracy": result.val_accuracy,
        "train_seconds": hist.seconds,
        "job_seconds": time.perf_counter() - t0,
        "started_at": started_at,
        "finished_at": time.time(),
        "device_name": result.device_name,
        "device_type": result.device_type,
        "tf32": bool(run.get("tf32")) and result.device_type == "cuda",  # what matmuls used
        "threads": threads,
        "peak_memory_mb": peak_memory_mb(),
        "parameters": result.parameters,
        **({"layers": result.layers} if result.layers is not None else {}),
        **({"gradient_check": result.gradient_check} if result.gradient_check else {}),
        **({"dtype": result.dtype} if result.dtype else {}),
        "normalisation": result.normalisation,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "host": platform.node(),
        "pid": os.getpid(),
    }
    with atomic_path(out["model"]) as tmp:
        torch.save({**result.state, "normalisation": result.normalisation}, tmp)
    outcome = "pred" if result.val_accuracy is not None else "mse"
    with atomic_path(out["predictions"]) as tmp:
        pd.DataFrame({"true": result.labels, outcome: result.predictions}).to_parquet(
            tmp, index=False)
    write_metrics(out["metrics"], hist.rows, info)
    write_json(out["run"], info)
    return info
