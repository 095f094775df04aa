"""Confusion matrices of a classifier's predictions, and what the report says about them."""

from __future__ import annotations

import numpy as np


def confusion(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Return the confusion matrix in % of each true class (rows sum to 100)."""
    k = n_classes
    counts = np.bincount(true * k + pred, minlength=k * k).reshape(k, k).astype(float)
    return 100.0 * counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)


def confusion_summary(matrix: np.ndarray, classes: list[str]) -> dict:
    """Return the most frequent confusion and the best and worst recognised classes."""
    off = matrix.copy()
    np.fill_diagonal(off, -1.0)
    i, j = np.unravel_index(np.argmax(off), off.shape)
    diag = np.diag(matrix)
    return {
        "confusion": {"true": classes[i], "pred": classes[j], "percent": float(matrix[i, j])},
        "easiest": {"name": classes[int(np.argmax(diag))], "percent": float(diag.max())},
        "hardest": {"name": classes[int(np.argmin(diag))], "percent": float(diag.min())},
    }
