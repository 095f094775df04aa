"""What a run sees of a dataset: its split indices and the normalisation of its pixels."""

from __future__ import annotations

import numpy as np
import torch

from nnreport.data.dataset import Dataset


def split_indices(data: Dataset, run: dict) -> tuple[np.ndarray, np.ndarray]:
    """Return the (train, val) indices of a run, cut to max_train / max_val when set."""
    train_idx = data.train_idx[: run["max_train"]] if run.get("max_train") else data.train_idx
    val_idx = data.val_idx[: run["max_val"]] if run.get("max_val") else data.val_idx
    return train_idx, val_idx


def normalisation(data: Dataset, train_idx: np.ndarray) -> dict:
    """Return each channel's mean and std of the training pixels (in [0, 1]), used to normalise
    every split: {"mean": [per channel], "std": [per channel]}.

    Exact, from the histogram of the uint8 values: no float copy of the images is made
    (torch.bincount: 0.04 s for 47 M pixels, np.bincount 0.7 s).
    """
    pixels = torch.from_numpy(data.images[train_idx])  # (N, C, H, W) uint8
    values = np.arange(256) / 255.0
    means, stds = [], []
    for c in range(pixels.shape[1]):
        counts = torch.bincount(pixels[:, c].reshape(-1), minlength=256).numpy()
        counts = counts.astype(np.float64)
        mean = (counts * values).sum() / counts.sum()
        means.append(float(mean))
        stds.append(float(np.sqrt((counts * (values - mean) ** 2).sum() / counts.sum())))
    return {"mean": means, "std": stds}


def channel_stats(norm: dict, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the (mean, std) of each of `channels` channels, (C,) float64 each, from a
    normalisation (one number for every channel in a model.pt written before channels)."""
    mean, std = (np.broadcast_to(np.asarray(norm[k], np.float64), (channels,))
                 for k in ("mean", "std"))
    return mean, std


def normalise(images: np.ndarray, norm: dict) -> np.ndarray:
    """Return uint8 images (N, C, H, W) as normalised float32 vectors (N, C * H * W), each
    channel by its own mean and std."""
    n, c = len(images), images.shape[1]
    mean, std = channel_stats(norm, c)
    x = images.reshape(n, c, -1).astype(np.float32)  # (N, C, H * W)
    x /= 255.0  # in place: one float32 copy at a time (EMNIST's 700k images: 2.2 GB each)
    x -= mean.astype(np.float32)[:, None]
    x /= std.astype(np.float32)[:, None]
    return x.reshape(n, -1)
