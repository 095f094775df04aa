"""One training job: load the data onto the device, train with the run's back-end, write files."""

from __future__ import annotations

import logging
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from nnreport.base.io import atomic_path, write_json
from nnreport.data.dataset import Dataset
from nnreport.data.preprocess import normalisation, normalise, split_indices
from nnreport.training.history import History
from nnreport.training.metrics import write_metrics

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


def to_splits(data: Dataset, run: dict, device: torch.device):
    """Return the (train, val) splits on `device` (uint8 pixels, normalised batch by batch) and
    the normalisation used."""
    from nnreport.training.loop import Split

    train_idx, val_idx = split_indices(data, run)
    norm = normalisation(data, train_idx)
    scale, shift = 1 / (255 * norm["std"]), -norm["mean"] / norm["std"]  # (x / 255 - mean) / std
    splits = [Split(torch.from_numpy(data.images[idx].reshape(len(idx), -1)).to(device),
                    torch.from_numpy(data.labels[idx].astype(np.int64)).to(device), scale, shift)
              for idx in (train_idx, val_idx)]
    return *splits, {**norm, "n_train": len(train_idx), "n_val": len(val_idx)}


def _train_torch(run: dict, data: Dataset, threads: int) -> tuple:
    from nnreport.models.mlp import build_model, parameter_count
    from nnreport.training.loop import evaluate, train

    torch.set_num_threads(threads)
    device = resolve_device(run["device"])
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = bool(run.get("tf32"))
    train_split, val_split, norm = to_splits(data, run, device)
    torch.manual_seed(run["seed"])
    model = build_model(run["hparams"], n_in=train_split.x.shape[1], n_classes=len(data.classes))
    model.to(device)
    log.info("run %s seed %d, PyTorch on %s (%d threads): %s, %d parameters", run["variant"],
             run["seed"], device_name(device), threads, run["hparams"], parameter_count(model))
    hist = train(model, train_split, val_split, run["hparams"], run["epochs"], run["seed"])
    val_loss, val_acc, pred = evaluate(model, val_split)
    state = {"state_dict": model.state_dict(), "hparams": run["hparams"], "backend": "torch"}
    return (hist, model.best_epoch, val_loss, val_acc, pred.cpu().numpy(),
            val_split.y.cpu().numpy(), state, norm, (device_name(device), device.type),
            parameter_count(model))


def _train_numpy(run: dict, data: Dataset) -> tuple:
    from nnreport.training.scratch import backend
    from nnreport.training.scratch.train import build_mlp, evaluate, predict, train

    xp = backend.get_xp(run["device"])
    train_idx, val_idx = split_indices(data, run)
    norm = {**normalisation(data, train_idx), "n_train": len(train_idx), "n_val": len(val_idx)}
    arrays = [xp.asarray(a) for a in (normalise(data.images[train_idx], norm),
                                      data.labels[train_idx], normalise(data.images[val_idx], norm),
                                      data.labels[val_idx])]
    model = build_mlp(run["hparams"], arrays[0].shape[1], len(data.classes), run["seed"], xp)
    n_params = sum(int(p.data.size) for p in model.parameters())
    device = ("CuPy (GPU)", "cuda") if xp.__name__ == "cupy" else (cpu_name(), "cpu")
    log.info("run %s seed %d, from scratch on %s with %s: %s, %d parameters", run["variant"],
             run["seed"], device[0], xp.__name__, run["hparams"], n_params)
    hist = train(model, *arrays, run["hparams"], run["epochs"], run["seed"], xp)
    val_loss, val_acc = evaluate(model, arrays[2], arrays[3], xp)
    pred = backend.to_numpy(predict(model, arrays[2], xp))
    state = {"state_dict": {k: backend.to_numpy(v) for k, v in model.state_dict().items()},
             "hparams": run["hparams"], "backend": "numpy", "sizes": list(model.sizes)}
    return (hist, model.best_epoch, val_loss, val_acc, pred, data.labels[val_idx], state, norm,
            device, n_params)


def run_job(run: dict, data_path: str, out: dict[str, str], threads: int = 1,
            selection: dict | None = None) -> dict:
    """Train one run and write metrics, model, predictions and run.json; return run.json.

    `selection` is the selection file of the model this run starts from (`from: M1`): its
    chosen hyper-parameters come first, the run's own ones override them.
    """
    if selection is not None:
        run = {**run, "hparams": {**selection["hparams"], **run["hparams"]},
               "source_variant": selection["variant"]}
    data = Dataset.load(data_path)
    t0, started_at = time.perf_counter(), time.time()
    if run.get("backend", "torch") == "numpy":
        result = _train_numpy(run, data)
    else:
        result = _train_torch(run, data, threads)
    hist, best_epoch, val_loss, val_acc, pred, true, state, norm, device, n_params = result
    dev_name, dev_type = device
    hist: History
    info = {
        **run,
        "status": hist.status,
        "diverged_epoch": hist.diverged_epoch,
        "best_epoch": best_epoch,
        "val_loss": val_loss,  # of the model as returned (best weights when early stopping)
        "val_accuracy": val_acc,
        "train_seconds": hist.seconds,
        "job_seconds": time.perf_counter() - t0,
        "started_at": started_at,
        "finished_at": time.time(),
        "device_name": dev_name,
        "device_type": dev_type,
        "tf32": bool(run.get("tf32")) and dev_type == "cuda",  # what the matrix products used
        "threads": threads,
        "parameters": n_params,
        "normalisation": norm,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "host": platform.node(),
        "pid": os.getpid(),
    }
    with atomic_path(out["model"]) as tmp:
        torch.save({**state, "normalisation": norm}, tmp)
    with atomic_path(out["predictions"]) as tmp:
        pd.DataFrame({"true": true, "pred": pred}).to_parquet(tmp, index=False)
    write_metrics(out["metrics"], hist.rows, info)
    write_json(out["run"], info)
    return info
