"""FashionMNIST: find its idx files (a named folder, Debian's package, torchvision's download)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from nnreport.data.dataset import Dataset, make_splits
from nnreport.data.idx import DataError, find_file, load_idx_pair, root_folders, root_problem

log = logging.getLogger(__name__)


DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


# MD5 of the *decompressed* idx files: the same everywhere, whoever compressed them.
FASHION_MNIST_MD5 = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}


FASHION_MNIST_CLASSES = [  # the dataset's own names; the report's words translate them
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip


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


def prepare_fashion_mnist(root: str | None, download_dir: str | None, n_train: int | None,
                          n_val: int, split_seed: int, holdout_test: bool = False,
                          split: str | None = None, n_test: int = 0) -> Dataset:
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
                                               holdout_test, n_test)
    return Dataset(images, labels, train_idx, val_idx, FASHION_MNIST_CLASSES, str(folder),
                   test_idx)
