"""Datasets: find the raw idx files, verify them, and pack them into one compact file."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnreport.errors import ExpectedError
from nnreport.integrity import DamagedFileError
from nnreport.io import atomic_path

log = logging.getLogger(__name__)

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

# MD5 of the *decompressed* idx files: the same everywhere, whoever compressed them.
FASHION_MNIST_MD5 = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}
FASHION_MNIST_CLASSES = [
    "Camiseta/top", "Pantalón", "Suéter", "Vestido", "Abrigo",
    "Sandalia", "Camisa", "Zapatilla", "Bolso", "Botín",
]  # fmt: skip

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataError(ExpectedError, RuntimeError):
    """A dataset is missing, corrupt or unreadable; the message says what to do."""


def read_bytes(path: Path) -> bytes:
    """Return the decompressed bytes of an idx file (`.gz` or plain)."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: cannot read ({e}); the file is corrupt or truncated, "
                        f"replace it with a fresh copy") from e


def parse_idx(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Return the array stored in idx-format bytes (big-endian header, then the data)."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{source}: not an idx file (header {raw[:4].hex()!r}); "
                        f"expected the MNIST idx format (two zero bytes, a type code, ndim)")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    expected = offset + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(f"{source}: idx header announces shape {shape} ({expected} bytes) but "
                        f"the file has {len(raw)} bytes; the file is truncated or corrupt")
    return np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape)


def find_file(folder: Path, name: str) -> Path | None:
    """Return `folder/name` or `folder/name.gz`, whichever exists."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def root_folders(root: str | Path) -> list[Path]:
    """Return the folders below a configured `dataset: root` searched for FashionMNIST."""
    return [Path(root), Path(root) / "FashionMNIST" / "raw"]


def root_problem(root: str | Path, folders: list[Path], names: list[str]) -> str | None:
    """Return why none of `folders` (below the configured `root`) holds every file of `names`
    (each plain or .gz): what is missing and where it was looked for; None when one does."""
    missing = {f: [n for n in names if find_file(f, n) is None] for f in folders}
    if not all(missing.values()):
        return None
    folders_, names_ = ", ".join(map(str, folders)), ", ".join(names)
    if not Path(root).is_dir():
        return f"{root} is not a folder (looked for {names_}, each plain or .gz, in {folders_})"
    folder = min((f for f in folders if f.is_dir()), key=lambda f: len(missing[f]))
    if len(missing[folder]) == len(names):
        return f"none of {folders_} holds {names_} (each plain or .gz)"
    return f"{folder} lacks {', '.join(missing[folder])} (each plain or .gz; looked in {folders_})"


def fashion_mnist_root_problem(root: str | Path) -> str | None:
    """Return why the configured `root` holds no FashionMNIST, with the fix; None when it does."""
    problem = root_problem(root, root_folders(root), list(FASHION_MNIST_MD5))
    return problem and (f"{problem}; put the four files in {root}, or set root: null to use "
                        f"Debian's {DEBIAN_FASHION_MNIST} or torchvision's download")


def locate_fashion_mnist(root: str | None, download_dir: str | None) -> Path:
    """Return a folder holding the four FashionMNIST idx files, downloading as a last resort.

    A `root` named in the config must hold them: no other copy stands in for it silently.
    """
    looked = root_folders(root) if root else [DEBIAN_FASHION_MNIST]
    for folder in looked:
        if all(find_file(folder, name) for name in FASHION_MNIST_MD5):
            return folder
    if root:
        raise DataError(f"dataset.root is {str(root)!r}; {fashion_mnist_root_problem(root)}")
    if download_dir:
        try:
            from torchvision.datasets import FashionMNIST

            FashionMNIST(download_dir, train=True, download=True)
            FashionMNIST(download_dir, train=False, download=True)
            folder = Path(download_dir) / "FashionMNIST" / "raw"
            if all(find_file(folder, name) for name in FASHION_MNIST_MD5):
                return folder
            looked.append(folder)
        except Exception as e:  # noqa: BLE001 - any download failure ends in the same advice
            log.warning("torchvision download failed: %s", e)
            looked.append(Path(download_dir))
    where = "\n".join(f"  - {f}" for f in looked)
    raise DataError(
        "FashionMNIST not found. Looked for train-images-idx3-ubyte[.gz], "
        "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz] and "
        f"t10k-labels-idx1-ubyte[.gz] in:\n{where}\nand the download failed. Provide the files "
        "one of these ways: `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or copy "
        "the four files into a folder and set `dataset: root: <folder>` in the config."
    )


def load_idx_pair(folder: Path, images: str, labels: str, md5: dict[str, str]) -> tuple:
    """Return (images, labels) from two idx files, verified against `md5`."""
    arrays = []
    for name in (images, labels):
        path = find_file(folder, name)
        raw = read_bytes(path)
        digest = hashlib.md5(raw).hexdigest()
        if md5.get(name) and digest != md5[name]:
            raise DataError(
                f"{path}: MD5 of the decompressed data is {digest}, expected {md5[name]}; the "
                f"file is corrupt or truncated. Replace it (e.g. `apt-get install --reinstall "
                f"dataset-fashion-mnist`) or point `dataset: root` at a good copy."
            )
        arrays.append(parse_idx(raw, str(path)))
    x, y = arrays
    if len(x) != len(y):
        raise DataError(f"{folder}: {images} has {len(x)} images but {labels} has {len(y)} labels")
    return x, y


@dataclass
class Dataset:
    """All images of a dataset pooled, with a seeded train/validation split."""

    images: np.ndarray  # (N, 28, 28) uint8
    labels: np.ndarray  # (N,) int64
    train_idx: np.ndarray  # (n_train,) int64
    val_idx: np.ndarray  # (n_val,) int64: validation, or "dev" when a test set is held out
    classes: list[str]
    source: str
    test_idx: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # held out

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
            with np.load(path) as z:
                return cls(z["images"], z["labels"], z["train_idx"], z["val_idx"],
                           [str(c) for c in z["classes"]], str(z["source"]), z["test_idx"])
        except (OSError, zipfile.BadZipFile, KeyError, ValueError, EOFError) as e:
            raise DamagedFileError(path, e) from None


def split(n: int, n_train: int, n_val: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return disjoint random (train, validation) index arrays drawn from range(n)."""
    if n_train + n_val > n:
        raise DataError(f"dataset: n_train + n_val = {n_train + n_val} exceeds the {n} images "
                        f"available; lower n_train or n_val")
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[:n_train]), np.sort(perm[n_train : n_train + n_val])


def make_splits(n_train_file: int, n_test_file: int, n_train: int | None, n_val: int,
                split_seed: int, holdout_test: bool) -> tuple[np.ndarray, ...]:
    """Return (train, val, test) indices into the train file's images followed by the test's.

    Pooled (holdout_test false): all images are pooled and split at random into train and
    validation; no test set. Held out: train and validation (dev) are drawn from the train
    file and the test file is the test set.
    """
    if holdout_test:
        n_train = n_train_file - n_val if n_train is None else n_train
        train_idx, val_idx = split(n_train_file, n_train, n_val, split_seed)
        test_idx = np.arange(n_train_file, n_train_file + n_test_file)
        return train_idx, val_idx, test_idx
    total = n_train_file + n_test_file
    n_train = total - n_val if n_train is None else n_train
    return (*split(total, n_train, n_val, split_seed), np.zeros(0, np.int64))


def prepare_fashion_mnist(root: str | None, download_dir: str | None, n_train: int | None,
                          n_val: int, split_seed: int, holdout_test: bool = False,
                          split: str | None = None) -> Dataset:
    """Return FashionMNIST's 70,000 images with a seeded train/validation(/test) split."""
    if split is not None:
        log.warning("dataset: split '%s' applies to EMNIST only; FashionMNIST ignores it", split)
    folder = locate_fashion_mnist(root, download_dir)
    log.info("FashionMNIST from %s", folder)
    x1, y1 = load_idx_pair(folder, "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           FASHION_MNIST_MD5)
    x2, y2 = load_idx_pair(folder, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
                           FASHION_MNIST_MD5)
    images = np.concatenate([x1, x2])
    labels = np.concatenate([y1, y2]).astype(np.int64)
    train_idx, val_idx, test_idx = make_splits(len(x1), len(x2), n_train, n_val, split_seed,
                                               holdout_test)
    return Dataset(images, labels, train_idx, val_idx, FASHION_MNIST_CLASSES, str(folder),
                   test_idx)


def prepare(name: str, **kwargs) -> Dataset:
    """Return the named dataset, prepared by its loader."""
    from nnreport.emnist import prepare_emnist

    loaders = {"fashion_mnist": prepare_fashion_mnist, "emnist": prepare_emnist}
    if name not in loaders:
        raise DataError(f"dataset: name '{name}' is unknown; use one of {sorted(loaders)}")
    return loaders[name](**kwargs)
