"""The MNIST-format datasets (MNIST, FashionMNIST, KMNIST): four idx files each, found in a
named folder, a Debian package's folder or torchvision's download, and verified by MD5."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnreport.data.dataset import Dataset, make_splits
from nnreport.data.idx import (
    DataError,
    find_file,
    parse_idx,
    read_bytes,
    require_file,
    root_problem,
)

log = logging.getLogger(__name__)

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte")


@dataclass(frozen=True)
class IdxFiles:
    """Where an MNIST-format dataset's four idx files come from and how they are verified."""

    title: str  # as the dataset's authors write it
    torchvision: str  # the torchvision class that downloads it, into <download_dir>/<it>/raw
    classes: tuple[str, ...]  # the dataset's own names; the report's words translate them
    # MD5 of the decompressed idx bytes, the same whoever compressed them; or, where only the
    # published .gz files' MD5 is known (torchvision's list), that of the compressed bytes
    md5: dict[str, str] = field(default_factory=dict)
    md5_gz: dict[str, str] = field(default_factory=dict)
    cite: str = ""  # its key in refs.bib
    debian: Path | None = None  # a Debian package's folder, tried when no root is named
    package: str | None = None  # that package


SOURCES = {
    "fashion_mnist": IdxFiles(
        "FashionMNIST", "FashionMNIST",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
         "Bag", "Ankle boot"),
        md5={"train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
             "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
             "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
             "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965"},
        cite="xiao2017", debian=Path("/usr/share/datasets/fashion-mnist"),
        package="dataset-fashion-mnist"),
    "mnist": IdxFiles(
        "MNIST", "MNIST", tuple(str(d) for d in range(10)),
        md5_gz={"train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c"},
        cite="lecun1998"),
    "kmnist": IdxFiles(
        "Kuzushiji-MNIST", "KMNIST", ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        md5_gz={"train-images-idx3-ubyte": "bdb82020997e1d708af4cf47b453dcf7",
                "train-labels-idx1-ubyte": "e144d726b3acfaa3e44228e80efcd344",
                "t10k-images-idx3-ubyte": "5c965bf0a639b31b8f53240b1b52f4d7",
                "t10k-labels-idx1-ubyte": "7320c461ea6c1c855c0b718fb2a4b134"},
        cite="clanuwat2018"),
}
SIZES = (60_000, 10_000)  # images in the train and t10k files of each of them


def root_folders(key: str, root: str | Path) -> list[Path]:
    """Return the folders below a configured `dataset: root` searched for the dataset."""
    return [Path(root), Path(root) / SOURCES[key].torchvision / "raw"]


def idx_root_problem(key: str, root: str | Path) -> str | None:
    """Return why the configured `root` holds no copy of the dataset, with the fix; None when
    it does."""
    source = SOURCES[key]
    problem = root_problem(root, root_folders(key, root), list(FILES))
    others = (f"Debian's {source.debian} or torchvision's download" if source.debian
              else "torchvision's download into download_dir")
    return problem and (f"{problem}; put the four files in {root}, or set root: null to use "
                        f"{others}")


def _complete(folder: Path) -> bool:
    return all(find_file(folder, name) for name in FILES)


def locate(key: str, root: str | None, download_dir: str | None) -> Path:
    """Return a folder holding the dataset's four idx files, downloading as a last resort.

    A `root` named in the config must hold them: no other copy stands in for it silently.
    """
    source = SOURCES[key]
    if root:
        for folder in root_folders(key, root):
            if _complete(folder):
                return folder
        raise DataError(f"dataset.root is {str(root)!r}; {idx_root_problem(key, root)}")
    looked = [source.debian] if source.debian else []
    for folder in looked:
        if _complete(folder):
            return folder
    if download_dir:
        folder = Path(download_dir) / source.torchvision / "raw"
        try:
            import torchvision.datasets

            for train in (True, False):
                getattr(torchvision.datasets, source.torchvision)(download_dir, train=train,
                                                                  download=True)
            if _complete(folder):
                return folder
        except Exception as e:  # noqa: BLE001 - any download failure ends in the same advice
            log.warning("torchvision download of %s failed: %s", source.title, e)
        looked.append(folder)
    where = "\n".join(f"  - {f}" for f in looked) or "  (no folder: root and download_dir unset)"
    package = f"`apt-get install {source.package}` (Debian/Ubuntu), or " if source.package else ""
    raise DataError(
        f"{source.title} not found. Looked for {', '.join(n + '[.gz]' for n in FILES)} in:\n"
        f"{where}\nand the download failed. Provide the files one of these ways: {package}copy "
        "the four files into a folder and set `dataset: root: <folder>` in the config.")


def verify(path: Path, raw: bytes, source: IdxFiles, name: str) -> None:
    """Refuse `raw` (the decompressed bytes of `path`) when it is not the published file."""
    if name in source.md5:
        digest, expected, what = hashlib.md5(raw).hexdigest(), source.md5[name], "decompressed data"
    elif name in source.md5_gz and path.suffix == ".gz":
        digest, expected, what = (hashlib.md5(path.read_bytes()).hexdigest(), source.md5_gz[name],
                                  "compressed file")
    else:  # a decompressed copy of a dataset published only as .gz: its shape is checked
        log.info("%s: no published MD5 of the decompressed file; shape checked only", path)
        return
    if digest != expected:
        fix = (f"`apt-get install --reinstall {source.package}`" if source.package
               else "a fresh download")
        raise DataError(f"{path}: MD5 of the {what} is {digest}, expected {expected}; the file "
                        f"is corrupt or truncated. Replace it ({fix}) or point `dataset: root` "
                        f"at a good copy.")


def load_pair(folder: Path, source: IdxFiles, images: str, labels: str) -> tuple:
    """Return (images (N, 28, 28), labels (N,)) from two verified idx files."""
    arrays = []
    for name in (images, labels):
        path = require_file(folder, name)
        raw = read_bytes(path)
        verify(path, raw, source, name)
        arrays.append(parse_idx(raw, str(path)))
    x, y = arrays
    if len(x) != len(y):
        raise DataError(f"{folder}: {images} has {len(x)} images but {labels} has {len(y)} labels")
    if x.ndim != 3 or y.ndim != 1:
        raise DataError(f"{folder}: {images} holds an array of shape {x.shape} and {labels} one "
                        f"of {y.shape}; expected (N, H, W) images and (N,) labels")
    return x, y


def prepare_idx(key: str, root: str | None, download_dir: str | None, n_train: int | None,
                n_val: int, split_seed: int, holdout_test: bool = False, n_test: int = 0,
                **ignored: object) -> Dataset:
    """Return an MNIST-format dataset's 70,000 images with a seeded train/validation(/test)
    split."""
    source = SOURCES[key]
    folder = locate(key, root, download_dir)
    log.info("%s from %s", source.title, folder)
    x1, y1 = load_pair(folder, source, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    x2, y2 = load_pair(folder, source, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    if (len(x1), len(x2)) != SIZES:
        log.warning("%s has %d + %d images, the published files %d + %d", source.title,
                    len(x1), len(x2), *SIZES)
    labels = np.concatenate([y1, y2]).astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= len(source.classes)):
        raise DataError(f"{folder}: labels go from {labels.min()} to {labels.max()}, but "
                        f"{source.title} has {len(source.classes)} classes; the label files do "
                        f"not belong to it")
    images = np.concatenate([x1, x2])[:, None]  # (N, 1, 28, 28)
    train_idx, val_idx, test_idx = make_splits(len(x1), len(x2), n_train, n_val, split_seed,
                                               holdout_test, n_test)
    return Dataset(images, labels, train_idx, val_idx, list(source.classes), str(folder),
                   test_idx)
