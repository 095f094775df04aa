"""Predictions of final models on dev, test and noisy test images."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from nnreport.base.integrity import verified
from nnreport.base.usercode import UserCodeError, file_digest, parse_target
from nnreport.config.layout import CHOSEN, Layout
from nnreport.evaluation.selection import best_variant
from nnreport.evaluation.statistics import over_seeds
from nnreport.models.conv import encoder_of
from nnreport.models.registry import build_model, family_of
from nnreport.models.scratch import MLP as ScratchMLP
from nnreport.models.user_scratch import ScratchModel

log = logging.getLogger(__name__)


def load_predictor(path: str | Path) -> Callable[[np.ndarray], np.ndarray]:
    """Return a function mapping normalised (N, C*H*W) float32 arrays to the model's outputs
    (logits; an autoencoder's reconstructions), from model.pt."""
    state = torch.load(verified(path), map_location="cpu", weights_only=False)
    if state["backend"] == "numpy" and parse_target(state.get("model")) is not None:
        return _user_scratch_predictor(path, state)
    if state["backend"] == "numpy":
        scratch = ScratchMLP(state["sizes"], state["hparams"].get("activation", "relu"), np,
                             seed=0)
        scratch.load_state_dict(state["state_dict"])
        return lambda x: scratch.forward(x)
    sd = state["state_dict"]
    if "n_in" in state:  # written since the model-family registry
        n_in, n_classes = state["n_in"], state["n_classes"]
    else:  # an older model.pt: the MLP's first and last weights give them
        weights = [v for k, v in sd.items() if k.endswith("weight") and v.ndim == 2]
        n_in, n_classes = weights[0].shape[1], weights[-1].shape[0]
    # a classifier on an encoder: the encoder's layers, then every weight from the state
    encoder = encoder_of(state["encoder"]) if "encoder" in state else None
    fam = family_of(state["hparams"])
    check_trained_code(path, state)
    model = build_model(state["hparams"], n_in, n_classes, encoder=encoder,
                        input_shape=state.get("input_shape"))
    model.load_state_dict(sd)
    model.eval()
    # images through convolutions go 256 at a time, as in training's evaluation: the 32-filter
    # CNN's activations for 8192 images took 2.1 GB (0.6 GB in batches of 256)
    batch = 256 if fam.image else None
    shape = tuple(state["input_shape"]) if fam.user is not None else None

    def predict(x: np.ndarray) -> np.ndarray:
        if shape is not None:  # a user's module takes (N, C, H, W) images
            x = np.ascontiguousarray(x.reshape(len(x), *shape))
        with torch.inference_mode():
            if batch is None or len(x) <= batch:
                return model(torch.from_numpy(x)).numpy()
            return np.concatenate([model(torch.from_numpy(x[i : i + batch])).numpy()
                                   for i in range(0, len(x), batch)])

    return predict


def check_trained_code(path: str | Path, state: dict) -> None:
    """Refuse a model.pt of a user's class whose file has changed since it trained (the
    workflow retrains it; read alone, it would be rebuilt from other code)."""
    code = state.get("code")
    if code is not None and file_digest(code["file"]) != code["sha256"]:
        raise UserCodeError(f"{path} was trained with another version of {code['file']}; "
                            f"retrain it: snakemake --cores 1 --force {Path(path).parent}/"
                            "metrics.parquet")


def _user_scratch_predictor(path: str | Path, state: dict) -> Callable[[np.ndarray], np.ndarray]:
    """The logits of a user's from-scratch class (backend: numpy) with its trained arrays."""
    target = parse_target(state["model"])
    assert target is not None
    check_trained_code(path, state)
    model = ScratchModel(target, state["hparams"], tuple(state["input_shape"]),
                         int(state["n_classes"]), seed=0)
    model.load_state_dict(state["state_dict"])
    model.eval()
    return lambda x: np.asarray(model.forward(x))


def scores(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Return (mean cross-entropy, accuracy) of logits (N, C) against labels (N,)."""
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean()), float((logits.argmax(1) == y).mean())


def add_noise(images: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """Return images (N, C, H, W) on the [0, 255] scale plus Gaussian noise of std `sigma` on
    the [0, 1] scale, clipped to [0, 1] before scaling back."""
    rng = np.random.default_rng(seed)
    x = images.astype(np.float32) / 255.0
    noisy = np.clip(x + rng.normal(0.0, sigma, x.shape).astype(np.float32), 0.0, 1.0)
    return noisy * 255.0  # back to the [0, 255] scale the normalisation expects


def batched(predict, x: np.ndarray, batch: int = 8192) -> np.ndarray:
    """Return predict(x) computed in batches."""
    return np.concatenate([predict(x[i : i + batch]) for i in range(0, len(x), batch)])


def evaluate_final(model: str, selection: dict, model_files: list[str], data,
                   max_val: int | None, max_test: int | None, sigmas: list[float],
                   noise_seed: int) -> tuple[dict, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return a final model's dev and test scores, its noise curve, its test predictions and
    its correctness on each dev image (one column per seed, `seed<k>`, 0 or 1, the images in
    the split's order: what pairs the comparisons of models on dev).

    Every seed of the selected candidate is evaluated; the scores are their means.
    """
    from nnreport.data.preprocess import normalise

    if len(data.test_idx) == 0:
        raise ValueError("dataset: no test images are held out; set `dataset: holdout_test: "
                         "true` (the test file) or `dataset: n_test` (images of the pool)")
    chosen = [p for p in model_files if Layout.run_of(p)[0] == selection["variant"]]
    dev_idx = data.val_idx[:max_val] if max_val else data.val_idx
    test_idx = data.test_idx[:max_test] if max_test else data.test_idx
    rows, noise_rows, test_preds, dev_correct = [], [], [], {}
    for path in sorted(chosen):
        seed = Layout.run_of(path)[1]
        norm = torch.load(verified(path), map_location="cpu", weights_only=False)["normalisation"]
        predict = load_predictor(path)
        row: dict[str, float] = {"seed": seed}
        for split, idx in (("dev", dev_idx), ("test", test_idx)):
            logits = batched(predict, normalise(data.images[idx], norm))
            row[f"{split}_loss"], row[f"{split}_accuracy"] = scores(logits, data.labels[idx])
            if split == "test":  # every seed's: the confusion matrix adds their counts
                test_preds.append(pd.DataFrame({"seed": seed, "true": data.labels[idx],
                                                "pred": logits.argmax(1)}))
            else:
                dev_correct[f"seed{seed}"] = (logits.argmax(1) == data.labels[idx]).astype(
                    np.int8)
        rows.append(row)
        for k, sigma in enumerate(sigmas):
            noisy = add_noise(data.images[test_idx], sigma, noise_seed + k)
            loss, acc = scores(batched(predict, normalise(noisy, norm)), data.labels[test_idx])
            noise_rows.append({"model": model, "seed": seed, "sigma": float(sigma),
                               "loss": loss, "accuracy": acc})
    per_seed = pd.DataFrame(rows).assign(model=model)
    columns = [c for c in per_seed.columns if c not in ("seed", "model")]
    stats = over_seeds(per_seed, "model", columns).iloc[0]
    evaluation = {"model": model, "variant": selection["variant"], "n_seeds": len(rows),
                  "seeds": sorted(int(r["seed"]) for r in rows),
                  "n_dev": len(dev_idx), "n_test": len(test_idx),
                  **{c: float(stats[f"{c}_mean"]) for c in columns},
                  **{f"{c}_std": float(stats[f"{c}_std"]) for c in columns},
                  "per_seed": [{k: (int(v) if k == "seed" else float(v)) for k, v in r.items()}
                               for r in rows]}  # for comparisons between models
    return (evaluation, pd.DataFrame(noise_rows), pd.concat(test_preds, ignore_index=True),
            pd.DataFrame(dev_correct))


def evaluate_chosen(runs: pd.DataFrame, model_files: list[str], data, max_val: int | None,
                    max_test: int | None) -> tuple[dict, pd.DataFrame]:
    """Return the validation and test scores of a Table I study's chosen configuration (the
    variant with the best mean final validation accuracy, as the report ranks them), every
    finished seed of it, and their test predictions."""
    variant = best_variant(runs, "final_val_accuracy")
    finished = {(variant, int(s)) for s in runs.loc[(runs["variant"] == variant)
                                                    & (runs["status"] != "diverged"), "seed"]}
    files = [p for p in model_files if Layout.run_of(p) in finished]
    evaluation, _, predictions, _ = evaluate_final(CHOSEN, {"variant": variant}, files, data,
                                                max_val, max_test, [], 0)
    return evaluation, predictions
