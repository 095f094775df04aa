"""A prepared dataset: all images (N, C, H, W) pooled, seeded train/validation(/test) indices."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnreport.base.integrity import DamagedFileError, verified
from nnreport.base.io import atomic_path
from nnreport.data.idx import DataError


@dataclass
class Dataset:
    """All images of a dataset pooled, with a seeded train/validation split."""

    images: np.ndarray  # (N, C, H, W) uint8
    labels: np.ndarray  # (N,) int64
    train_idx: np.ndarray  # (n_train,) int64
    val_idx: np.ndarray  # (n_val,) int64: validation, or "dev" when a test set is held out
    classes: list[str]
    source: str
    test_idx: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # held out

    def __post_init__(self) -> None:
        if self.images.ndim == 3:  # grey images given (N, H, W), as files packed before 2027
            self.images = self.images[:, None]  # (N, 1, H, W)
        if self.images.ndim != 4:
            raise DataError(f"{self.source}: images of shape {self.images.shape}; expected "
                            f"(N, C, H, W) or, for grey images, (N, H, W)")

    @property
    def shape(self) -> tuple[int, int, int]:
        """The (C, H, W) of one image."""
        c, h, w = self.images.shape[1:]
        return int(c), int(h), int(w)

    def save(self, path: str | Path, params: dict | None = None) -> None:
        """Write the dataset to one uncompressed .npz file, atomically, with the dataset config
        it was built from (`params`, which the workflow reads back: see integrity.py)."""
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, images=self.images, labels=self.labels, train_idx=self.train_idx,
                     val_idx=self.val_idx, test_idx=self.test_idx,
                     classes=np.array(self.classes), source=self.source,
                     params=json.dumps(params or {}, sort_keys=True))

    @classmethod
    def load(cls, path: str | Path) -> Dataset:
        """Read a dataset written by `save`."""
        try:
            with np.load(verified(path)) as z:
                return cls(z["images"], z["labels"], z["train_idx"], z["val_idx"],
                           [str(c) for c in z["classes"]], str(z["source"]), z["test_idx"])
        except (OSError, zipfile.BadZipFile, KeyError, ValueError, EOFError) as e:
            raise DamagedFileError(path, e) from None


def split(n: int, n_train: int, n_val: int, seed: int,
          n_test: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return disjoint random (train, validation, test) index arrays drawn from range(n).

    One seeded permutation: the first n_train indices train, the next n_val validate, the
    next n_test test; so the train/validation split does not depend on n_test when n_train
    is given."""
    if n_train + n_val + n_test > n:
        asked = (f"n_train + n_val + n_test = {n_train + n_val + n_test}" if n_test
                 else f"n_train + n_val = {n_train + n_val}")
        raise DataError(f"dataset: {asked} exceeds the {n} images available; lower n_train, "
                        f"n_val{' or n_test' if n_test else ''}")
    perm = np.random.default_rng(seed).permutation(n)
    a, b = n_train, n_train + n_val
    return np.sort(perm[:a]), np.sort(perm[a:b]), np.sort(perm[b : b + n_test])


def make_splits(n_train_file: int, n_test_file: int, n_train: int | None, n_val: int,
                split_seed: int, holdout_test: bool, n_test: int = 0) -> tuple[np.ndarray, ...]:
    """Return (train, val, test) indices into the train file's images followed by the test's.

    Pooled (holdout_test false): all images are pooled and split at random into train,
    validation and, when n_test > 0, a test set never used to choose a configuration (n_train
    None: every image not in the other two). Held out: train and validation (dev) are drawn
    from the train file and the test file is the test set.
    """
    if holdout_test:
        if n_test:
            raise DataError(f"dataset: n_test is {n_test}, but holdout_test: true makes the "
                            f"test file the test set; remove n_test or set holdout_test: false")
        n_train = n_train_file - n_val if n_train is None else n_train
        train_idx, val_idx, _ = split(n_train_file, n_train, n_val, split_seed)
        test_idx = np.arange(n_train_file, n_train_file + n_test_file)
        return train_idx, val_idx, test_idx
    total = n_train_file + n_test_file
    n_train = total - n_val - n_test if n_train is None else n_train
    return split(total, n_train, n_val, split_seed, n_test)
