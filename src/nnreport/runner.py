"""One training job: load the data onto the device, train, and write the run's files."""

from __future__ import annotations

import logging
import os
import platform
import time

import pandas as pd
import torch

from nnreport.data import Dataset
from nnreport.io import atomic_path, write_json
from nnreport.metrics import write_metrics
from nnreport.models import build_model, parameter_count
from nnreport.train import Split, evaluate, train

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """Return the training device: `auto` means CUDA when present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: 'cuda' was asked for but no CUDA GPU is visible; "
                           "set device: auto or cpu")
    return torch.device(name)


def device_name(device: torch.device) -> str:
    """Return a human name of `device` (the GPU model, or the CPU's)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine()


def to_splits(data: Dataset, run: dict, device: torch.device) -> tuple[Split, Split, dict]:
    """Return normalised (train, val) splits on `device` and the normalisation used."""
    train_idx = data.train_idx[: run["max_train"]] if run.get("max_train") else data.train_idx
    val_idx = data.val_idx[: run["max_val"]] if run.get("max_val") else data.val_idx
    images = torch.from_numpy(data.images).to(device)  # (N, 28, 28) uint8
    labels = torch.from_numpy(data.labels.astype("int64")).to(device)  # (N,)
    flat = images.reshape(len(images), -1)  # (N, 784)
    t_idx = torch.from_numpy(train_idx).to(device)
    v_idx = torch.from_numpy(val_idx).to(device)
    train_px = flat[t_idx].float() / 255.0
    mean, std = train_px.mean().item(), train_px.std().item()

    def norm(x):
        return (x.float() / 255.0 - mean) / std

    splits = Split(norm(flat[t_idx]), labels[t_idx]), Split(norm(flat[v_idx]), labels[v_idx])
    return *splits, {"mean": mean, "std": std, "n_train": len(train_idx), "n_val": len(val_idx)}


def run_job(run: dict, data_path: str, out: dict[str, str], threads: int = 1) -> dict:
    """Train one run and write metrics, model, predictions and run.json; return run.json."""
    torch.set_num_threads(threads)
    device = resolve_device(run["device"])
    data = Dataset.load(data_path)
    train_split, val_split, norm = to_splits(data, run, device)
    torch.manual_seed(run["seed"])
    model = build_model(run["hparams"], n_in=train_split.x.shape[1], n_classes=len(data.classes))
    model.to(device)
    log.info("run %s seed %d on %s (%d threads): %s, %d parameters", run["variant"], run["seed"],
             device_name(device), threads, run["hparams"], parameter_count(model))
    t0, started_at = time.perf_counter(), time.time()
    hist = train(model, train_split, val_split, run["hparams"], run["epochs"], run["seed"])
    _, _, pred = evaluate(model, val_split)
    info = {
        **run,
        "status": hist.status,
        "diverged_epoch": hist.diverged_epoch,
        "train_seconds": hist.seconds,
        "job_seconds": time.perf_counter() - t0,
        "started_at": started_at,
        "finished_at": time.time(),
        "device_name": device_name(device),
        "threads": threads,
        "parameters": parameter_count(model),
        "normalisation": norm,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "host": platform.node(),
        "pid": os.getpid(),
    }
    with atomic_path(out["model"]) as tmp:
        torch.save({"state_dict": model.state_dict(), "hparams": run["hparams"],
                    "normalisation": norm}, tmp)
    preds = pd.DataFrame({"true": val_split.y.cpu().numpy(), "pred": pred.cpu().numpy()})
    with atomic_path(out["predictions"]) as tmp:
        preds.to_parquet(tmp, index=False)
    write_metrics(out["metrics"], hist.rows, info)
    write_json(out["run"], info)
    return info
