"""CIFAR-10 from its python pickle batches: found in a named folder or torchvision's download,
each file's MD5 verified before it is unpickled."""

from __future__ import annotations

import hashlib
import logging
import pickle
from pathlib import Path

import numpy as np

from nnreport.data.dataset import Dataset, make_splits
from nnreport.data.idx import DataError

log = logging.getLogger(__name__)

FOLDER = "cifar-10-batches-py"  # what cifar-10-python.tar.gz extracts to
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILES = ("test_batch",)
META_FILE = "batches.meta"
FILES = (*TRAIN_FILES, *TEST_FILES, META_FILE)
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"

# From torchvision/datasets/cifar.py, class CIFAR10 (train_list, test_list, meta).
CIFAR10_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
CIFAR10_SIZES = (50_000, 10_000)  # images in the five data batches and in test_batch
SHAPE = (3, 32, 32)  # each row of a batch's `data`: the red plane, then green, then blue
HOW = (f"download cifar-10-python.tar.gz ({URL}), extract it (tar xzf) and set `dataset: root` "
       f"to the folder it makes, {FOLDER}")


def root_folders(root: str | Path) -> list[Path]:
    """Return the folders below a configured `dataset: root` searched for CIFAR-10."""
    return [Path(root), Path(root) / FOLDER]


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in FILES)


def cifar10_root_problem(root: str | Path) -> str | None:
    """Return why the configured `root` holds no CIFAR-10, with the fix; None when it does."""
    folders = root_folders(root)
    if any(_complete(f) for f in folders):
        return None
    where = " and ".join(map(str, folders))
    if not Path(root).is_dir():
        return f"{root} is not a folder (looked for CIFAR-10's batches in {where}); {HOW}"
    missing = {f: [n for n in FILES if not (f / n).is_file()] for f in folders}
    folder = min((f for f in folders if f.is_dir()), key=lambda f: len(missing[f]))
    if len(missing[folder]) == len(FILES):
        return f"none of {where} holds CIFAR-10's batches ({', '.join(FILES)}); {HOW}"
    return f"{folder} lacks {', '.join(missing[folder])} (looked in {where}); {HOW}"


def locate_cifar10(root: str | None, download_dir: str | None) -> Path:
    """Return a folder holding CIFAR-10's seven batch files, downloading as a last resort.

    A `root` named in the config must hold them: no other copy stands in for it silently.
    """
    if root:
        for folder in root_folders(root):
            if _complete(folder):
                return folder
        raise DataError(f"dataset.root is {str(root)!r}; {cifar10_root_problem(root)}")
    looked: list[Path] = []
    if download_dir:
        folder = Path(download_dir) / FOLDER
        looked.append(folder)
        if _complete(folder):
            return folder
        try:
            from torchvision.datasets import CIFAR10

            CIFAR10(download_dir, train=True, download=True)  # the archive holds both parts
            if _complete(folder):
                return folder
        except Exception as e:  # noqa: BLE001 - any download failure ends in the same advice
            log.warning("torchvision download of CIFAR-10 failed: %s", e)
    where = "\n".join(f"  - {f}" for f in looked) or "  (no folder: dataset: root is not set)"
    failed = "the download failed" if download_dir else "no download_dir to download into"
    raise DataError(f"CIFAR-10 not found. Looked for {', '.join(FILES)} in:\n{where}\nand "
                    f"{failed}. Provide the files: {HOW}.")


def read_pickle(path: Path, md5: dict[str, str]) -> dict:
    """Return the dict pickled in `path`, after checking its MD5 against `md5[path.name]`."""
    expected = md5.get(path.name)
    if not expected:
        raise DataError(f"{path}: no expected MD5 for {path.name}; unpickling unverified bytes "
                        f"can run code, so it is refused; give its digest in md5")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e}); replace it with a fresh copy: {HOW}") from e
    digest = hashlib.md5(raw).hexdigest()
    if digest != expected:
        raise DataError(f"{path}: MD5 is {digest}, expected {expected}; the file is corrupt, "
                        f"truncated or not CIFAR-10's. Replace it: {HOW}")
    # Unpickling runs whatever code the bytes name: only bytes whose MD5 matched get here.
    try:
        entry = pickle.loads(raw, encoding="bytes")
    except Exception as e:  # noqa: BLE001 - a matching digest makes this a wrong md5 entry
        raise DataError(f"{path}: not a pickled CIFAR batch ({e}); replace it: {HOW}") from e
    if not isinstance(entry, dict):
        raise DataError(f"{path}: holds a {type(entry).__name__}, not CIFAR's dict of arrays; "
                        f"replace it: {HOW}")
    return entry


def read_batch(path: Path, md5: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Return one batch's images (n, 3, 32, 32) uint8 and labels (n,) int64."""
    entry = read_pickle(path, md5)
    if b"data" not in entry or b"labels" not in entry:
        raise DataError(f"{path}: no b'data' or no b'labels' (keys: {sorted(entry)}); not a "
                        f"CIFAR-10 batch, replace it: {HOW}")
    data, labels = np.asarray(entry[b"data"]), np.asarray(entry[b"labels"])
    size = int(np.prod(SHAPE))
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != size:
        raise DataError(f"{path}: data is {data.dtype} of shape {data.shape}; a CIFAR-10 batch "
                        f"holds uint8 rows of {size} values (3 x 32 x 32); replace it: {HOW}")
    if labels.ndim != 1 or len(labels) != len(data) or labels.dtype.kind not in "iu":
        raise DataError(f"{path}: {len(data)} images but labels of shape {labels.shape} "
                        f"({labels.dtype}); one integer label per image; replace it: {HOW}")
    return data.reshape(-1, *SHAPE), labels.astype(np.int64)  # (n, 3, 32, 32)


def read_classes(path: Path, md5: dict[str, str]) -> list[str]:
    """Return the class names stored in `batches.meta` (its b'label_names')."""
    names = read_pickle(path, md5).get(b"label_names")
    if not isinstance(names, list) or not all(isinstance(n, bytes | str) for n in names):
        raise DataError(f"{path}: no list b'label_names'; not CIFAR-10's batches.meta, "
                        f"replace it: {HOW}")
    return [n.decode() if isinstance(n, bytes) else n for n in names]


def prepare_cifar10(root: str | None, download_dir: str | None, n_train: int | None,
                    n_val: int, split_seed: int, holdout_test: bool = False, n_test: int = 0,
                    md5: dict[str, str] | None = None, **ignored: object) -> Dataset:
    """Return CIFAR-10's images (N, 3, 32, 32) with a seeded train/validation(/test) split."""
    digests = CIFAR10_MD5 if md5 is None else md5
    folder = locate_cifar10(root, download_dir)
    classes = read_classes(folder / META_FILE, digests)
    parts = [[read_batch(folder / name, digests) for name in names]
             for names in (TRAIN_FILES, TEST_FILES)]
    sizes = [sum(len(y) for _, y in part) for part in parts]
    images = np.empty((sum(sizes), *SHAPE), np.uint8)  # (N, 3, 32, 32)
    labels = np.empty(sum(sizes), np.int64)
    start = 0
    for x, y in (batch for part in parts for batch in part):
        images[start : start + len(y)], labels[start : start + len(y)] = x, y
        start += len(y)
    if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        raise DataError(f"{folder}: labels range {labels.min()}..{labels.max()} but "
                        f"{META_FILE} names {len(classes)} classes; the batches do not belong "
                        f"together, replace them: {HOW}")
    if tuple(sizes) != CIFAR10_SIZES:
        log.warning("CIFAR-10 in %s has %d + %d images, the published one %d + %d", folder,
                    *sizes, *CIFAR10_SIZES)
    train_idx, val_idx, test_idx = make_splits(sizes[0], sizes[1], n_train, n_val, split_seed,
                                               holdout_test, n_test)
    log.info("CIFAR-10 from %s", folder)
    return Dataset(images, labels, train_idx, val_idx, classes, str(folder), test_idx)
