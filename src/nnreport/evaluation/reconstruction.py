"""What a trained convolutional autoencoder does with images: reconstructions, noisy inputs,
codes and their two principal components."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch

from nnreport.base.errors import ExpectedError
from nnreport.base.integrity import DamagedFileError, verified
from nnreport.data.dataset import Dataset
from nnreport.data.preprocess import channel_stats
from nnreport.evaluation.prediction import add_noise
from nnreport.models.conv import ConvAutoencoder
from nnreport.models.registry import build_model

BATCH = 2048  # images per forward pass: a few MB of activations for the small autoencoders


class AutoencoderError(ExpectedError, ValueError):
    """A model file or an argument does not fit what the autoencoder's figures need."""


def read_autoencoder(path: str | Path) -> tuple[ConvAutoencoder, dict]:
    """Return the autoencoder of a model.pt (eval mode, on the CPU) and its normalisation."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file; train the autoencoder run first "
                                "(its results/<study>/runs/<variant>/seed<k>/model.pt)")
    try:
        state = torch.load(verified(path), map_location="cpu", weights_only=False)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile,
            ValueError) as e:
        raise DamagedFileError(path, e) from None
    if not isinstance(state, dict) or state.get("model") != "conv_autoencoder":
        found = state.get("model", "mlp") if isinstance(state, dict) else type(state).__name__
        raise AutoencoderError(f"{path}: holds a '{found}' model, not a conv_autoencoder; the "
                               "reconstruction and latent-space figures need the model.pt of "
                               "an autoencoder run (model: conv_autoencoder)")
    model = build_model(state["hparams"], state["n_in"], state["n_classes"],
                        input_shape=state.get("input_shape"))
    assert isinstance(model, ConvAutoencoder)  # what the registry builds for conv_autoencoder
    model.load_state_dict(state["state_dict"])
    model.eval()
    return model, state["normalisation"]


def load_autoencoder(path: str | Path) -> ConvAutoencoder:
    """Return the autoencoder of a model.pt, in eval mode on the CPU."""
    return read_autoencoder(path)[0]


def inputs(images: np.ndarray, normalisation: dict) -> torch.Tensor:
    """Return images as the model's float32 inputs (N, C, H, W): (pixels - mean) / std, each
    channel by its own.

    `images` (N, C, H, W), or (N, H, W) grey ones, are uint8 pixels (0 to 255) or floats in
    [0, 1] (as `noisy` returns); an autoencoder's normalisation is mean 0, std 1, so its inputs
    are pixels in [0, 1].
    """
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4:
        raise AutoencoderError(f"images of shape {images.shape}; expected (N, channels, "
                               "height, width)")
    if images.dtype == np.uint8:
        x = images.astype(np.float32) / 255.0
    elif np.issubdtype(images.dtype, np.floating):
        if images.size and (images.min() < 0 or images.max() > 1):
            raise AutoencoderError(f"float images range over [{images.min():g}, "
                                   f"{images.max():g}]; expected pixels in [0, 1] (or uint8)")
        x = images.astype(np.float32)
    else:
        raise AutoencoderError(f"images of dtype {images.dtype}; expected uint8 pixels or "
                               "floats in [0, 1]")
    mean, std = (a.astype(np.float32)[:, None, None]
                 for a in channel_stats(normalisation, x.shape[1]))  # (C, 1, 1) each
    return torch.from_numpy((x - mean) / std)  # (N, C, H, W)


@torch.inference_mode()
def reconstruct(model: ConvAutoencoder, x: torch.Tensor) -> np.ndarray:
    """Return the reconstructions (N, C, H, W), in [0, 1], of the inputs x (N, C, H, W)."""
    out = [model(x[i : i + BATCH]) for i in range(0, len(x), BATCH)]  # (b, C, H, W) each
    return torch.cat(out).numpy() if out else np.zeros((0, *x.shape[1:]), np.float32)


@torch.inference_mode()
def codes(model: ConvAutoencoder, x: torch.Tensor) -> np.ndarray:
    """Return the codes (N, bottleneck) of the inputs x (N, C, H, W)."""
    out = [model.encode(x[i : i + BATCH]) for i in range(0, len(x), BATCH)]  # (b, bottleneck)
    return torch.cat(out).numpy() if out else np.zeros((0, model.encoder.bottleneck), np.float32)


def noisy(images: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """Return uint8 images (N, [C,] H, W) plus Gaussian noise of std `sigma`, clipped, as float32 in
    [0, 1]: the noise `prediction.add_noise` draws for the same seed, on the [0, 1] scale."""
    if sigma < 0:
        raise AutoencoderError(f"sigma: {sigma}; the noise's standard deviation is 0 or more")
    return np.clip(add_noise(images, sigma, seed) / np.float32(255.0), 0.0, 1.0)


def pca_2d(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the codes (N, d) projected on their first two principal components (N, 2) and
    the share of the variance each explains (2,).

    From the SVD of the centred codes; each component's sign makes its largest loading
    positive, so the same codes always give the same picture.
    """
    if codes.ndim != 2 or codes.shape[0] < 2 or codes.shape[1] < 2:
        raise AutoencoderError(f"codes of shape {codes.shape}; two principal components need "
                               "at least 2 codes of at least 2 values each (bottleneck >= 2)")
    centred = codes.astype(np.float64) - codes.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)  # vt: (min(N, d), d)
    components = vt[:2]  # (2, d)
    biggest = np.abs(components).argmax(axis=1)
    components = components * np.sign(components[np.arange(2), biggest])[:, None]
    variance = s**2
    total = variance.sum()
    explained = variance[:2] / total if total > 0 else np.zeros(2)
    return centred @ components.T, explained  # (N, 2), (2,)


def fixed_images(data: Dataset, n: int, seed: int) -> np.ndarray:
    """Return the indices (n,) of validation images chosen reproducibly by `seed`: one of each
    class in class order (of as many classes as n allows, drawn at random when n is smaller than
    the number of classes), then further ones at random."""
    val = data.val_idx
    if not 1 <= n <= len(val):
        raise AutoencoderError(f"n_images: {n}; choose between 1 and the {len(val)} "
                               "validation images")
    rng = np.random.default_rng(seed)
    present = np.unique(data.labels[val])
    classes = np.sort(rng.choice(present, size=min(n, len(present)), replace=False))
    chosen = [int(rng.choice(val[data.labels[val] == c])) for c in classes]
    rest = np.setdiff1d(val, chosen)
    extra = rng.choice(rest, size=n - len(chosen), replace=False)
    return np.array([*chosen, *extra], dtype=np.int64)


def validation_sample(data: Dataset, max_images: int, seed: int) -> np.ndarray:
    """Return the indices of every validation image, or of `max_images` of them drawn by `seed`
    (sorted) when there are more."""
    if max_images < 1:
        raise AutoencoderError(f"max_points: {max_images}; use 1 or more")
    if len(data.val_idx) <= max_images:
        return data.val_idx
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(data.val_idx, size=max_images, replace=False))
