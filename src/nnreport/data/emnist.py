"""EMNIST (ByMerge and the other splits): find the idx files, turn the images upright."""

from __future__ import annotations

import logging
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

# Expected sizes (train, test) of each split, from the EMNIST paper (Cohen et al., 2017).
EMNIST_SIZES = {"bymerge": (697_932, 116_323), "byclass": (697_932, 116_323),
                "balanced": (112_800, 18_800), "letters": (124_800, 20_800),
                "digits": (240_000, 40_000), "mnist": (60_000, 10_000)}


def file_names(split: str) -> dict[str, str]:
    """Return the idx and mapping file names of an EMNIST split, as the dataset ships them."""
    stem = f"emnist-{split}"
    return {"train_images": f"{stem}-train-images-idx3-ubyte",
            "train_labels": f"{stem}-train-labels-idx1-ubyte",
            "test_images": f"{stem}-test-images-idx3-ubyte",
            "test_labels": f"{stem}-test-labels-idx1-ubyte",
            "mapping": f"{stem}-mapping.txt"}


def _has_split(folder: Path, split: str) -> bool:
    names = file_names(split)
    return all(find_file(folder, names[k]) for k in names if k != "mapping")


def root_folders(root: str | Path) -> list[Path]:
    """Return the folders below a configured `dataset: root` searched for EMNIST."""
    return [Path(root), Path(root) / "gzip", Path(root) / "EMNIST" / "raw"]


def emnist_root_problem(root: str | Path, split: str) -> str | None:
    """Return why the configured `root` holds no EMNIST `split`, with the fix; None when it does."""
    names = [name for key, name in file_names(split).items() if key != "mapping"]
    problem = root_problem(root, root_folders(root), names)
    return problem and (f"{problem}; unzip NIST's gzip.zip into {root} (its gzip/ folder), or "
                        f"set root: null to use torchvision's download into download_dir")


def locate_emnist(root: str | None, download_dir: str | None, split: str) -> Path:
    """Return a folder holding the split's idx files, downloading with torchvision last.

    A `root` named in the config must hold them: no other copy stands in for it silently.
    """
    if root:
        for folder in root_folders(root):
            if _has_split(folder, split):
                return folder
        raise DataError(f"dataset.root is {str(root)!r}; {emnist_root_problem(root, split)}")
    looked = []
    if download_dir:
        folder = Path(download_dir) / "EMNIST" / "raw"
        looked.append(folder)
        if _has_split(folder, split):
            return folder
        try:
            from torchvision.datasets import EMNIST

            EMNIST(download_dir, split=split, train=True, download=True)
            if _has_split(folder, split):
                return folder
        except Exception as e:  # noqa: BLE001 - any download failure ends in the same advice
            log.warning("torchvision download of EMNIST failed: %s", e)
    names = file_names(split)
    where = "\n".join(f"  - {f}" for f in looked) or "  (no folder: dataset: root is not set)"
    raise DataError(
        f"EMNIST '{split}' not found. Looked for {names['train_images']}[.gz], "
        f"{names['train_labels']}[.gz], {names['test_images']}[.gz] and "
        f"{names['test_labels']}[.gz] in:\n{where}\nand the download failed. Download "
        "EMNIST's gzip.zip from NIST, unzip it, and set `dataset: root: <folder>` to the folder "
        "holding the gzip/ folder (or the files themselves).")


def class_names(folder: Path, split: str) -> list[str]:
    """Return the character of each label, from the split's mapping file when present."""
    path = folder / file_names(split)["mapping"]
    if not path.exists():
        path = folder.parent / file_names(split)["mapping"]
    if path.exists():
        mapping = {}
        for line in path.read_text().split("\n"):
            if line.strip():
                label, code = line.split()[:2]
                mapping[int(label)] = chr(int(code))
        return [mapping[i] for i in range(len(mapping))]
    from torchvision.datasets import EMNIST

    names = EMNIST.classes_split_dict[split]
    log.info("no %s: class names from torchvision's EMNIST", path.name)
    return list(names)


def upright(images: np.ndarray) -> np.ndarray:
    """Return EMNIST images (N, 28, 28) turned upright: the files store each image transposed."""
    return np.ascontiguousarray(images.transpose(0, 2, 1))  # (N, 28, 28)


def prepare_emnist(root: str | None, download_dir: str | None, n_train: int | None,
                   n_val: int, split_seed: int, holdout_test: bool = True,
                   split: str = "bymerge", n_test: int = 0, **ignored: object) -> Dataset:
    """Return an EMNIST split, upright, with a seeded train/dev split and the test set held out."""
    if split not in EMNIST_SIZES:
        raise DataError(f"dataset: split '{split}' is not an EMNIST split; use one of "
                        f"{sorted(EMNIST_SIZES)}")
    folder = locate_emnist(root, download_dir, split)
    names = file_names(split)
    arrays = {}
    for key in ("train_images", "train_labels", "test_images", "test_labels"):
        path = require_file(folder, names[key])
        arrays[key] = parse_idx(read_bytes(path), str(path))
    for part in ("train", "test"):
        if len(arrays[f"{part}_images"]) != len(arrays[f"{part}_labels"]):
            raise DataError(f"{folder}: {names[part + '_images']} and {names[part + '_labels']} "
                            f"hold different numbers of items; the files are corrupt")
    n_tr, n_te = len(arrays["train_labels"]), len(arrays["test_labels"])
    if (n_tr, n_te) != EMNIST_SIZES[split]:
        log.warning("EMNIST %s has %d + %d images, the published split has %d + %d", split,
                    n_tr, n_te, *EMNIST_SIZES[split])
    images = upright(np.concatenate([arrays["train_images"], arrays["test_images"]]))[:, None]
    labels = np.concatenate([arrays["train_labels"], arrays["test_labels"]]).astype(np.int64)
    classes = class_names(folder, split)
    if labels.max() >= len(classes):
        raise DataError(f"{folder}: labels go up to {labels.max()} but EMNIST {split} has "
                        f"{len(classes)} classes; the label files do not belong to this split")
    train_idx, val_idx, test_idx = make_splits(n_tr, n_te, n_train, n_val, split_seed,
                                               holdout_test, n_test)
    log.info("EMNIST %s from %s: %d classes", split, folder, len(classes))
    return Dataset(images, labels, train_idx, val_idx, classes, str(folder), test_idx)
