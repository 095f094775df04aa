"""The dataset registry: what each dataset a config can declare is — its image shape (C, H, W),
its classes, the sizes of its files, its citation — and the loader that packs it. The checks,
the workflow, the models and the report all read a dataset from here.

A dataset is named (`dataset: name: mnist`). Adding a built-in is one loader module, its
entry in BUILT_IN and `describe`, and its words (`datasets.<name>` in each language's
catalogue, `refs.bib` for its citation).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from nnreport.data.dataset import Dataset
from nnreport.data.emnist import EMNIST_SIZES, emnist_root_problem, prepare_emnist
from nnreport.data.idx import DataError
from nnreport.data.mnist import SIZES as MNIST_SIZES
from nnreport.data.mnist import SOURCES, idx_root_problem, prepare_idx

# EMNIST's splits: classes per split (letters: labels 1-26, so 27 outputs, as torchvision has)
EMNIST_CLASSES = {"byclass": 62, "bymerge": 47, "balanced": 47, "letters": 27, "digits": 10,
                  "mnist": 10}
EMNIST_TITLES = {"byclass": "ByClass", "bymerge": "ByMerge", "balanced": "Balanced",
                 "letters": "Letters", "digits": "Digits", "mnist": "MNIST"}


@dataclass(frozen=True)
class DatasetInfo:
    """What a declared dataset is, known before any job runs."""

    key: str  # its words' key: its name
    title: str  # its name in prose: "FashionMNIST", "EMNIST ByMerge"
    shape: tuple[int, int, int]  # (C, H, W) of one image
    n_classes: int
    sizes: tuple[int, int]  # images in its train file and in its test file (0: none)
    cite: str | None  # its key in refs.bib

    @property
    def pixels(self) -> int:
        """Bytes of one uint8 image (C * H * W)."""
        return self.shape[0] * self.shape[1] * self.shape[2]


def emnist_split(dataset: dict) -> str:
    """Return the EMNIST split a config reads (ByMerge unless it names another)."""
    return dataset.get("split") or "bymerge"


def describe(dataset: dict) -> DatasetInfo:
    """Return what the dataset a config declares is (no file is read)."""
    name = dataset.get("name")
    if name in SOURCES:
        source = SOURCES[name]
        return DatasetInfo(name, source.title, (1, 28, 28), len(source.classes), MNIST_SIZES,
                           source.cite)
    if name == "emnist":
        split = emnist_split(dataset)
        return DatasetInfo(name, f"EMNIST {EMNIST_TITLES.get(split, split)}", (1, 28, 28),
                           EMNIST_CLASSES.get(split, 47), EMNIST_SIZES.get(split, (0, 0)),
                           "cohen2017")
    raise DataError(f"dataset: name '{name}' is unknown; use one of {sorted(BUILT_IN)}")


def root_problem(dataset: dict) -> str | None:
    """Return why the `dataset: root` a config names holds no copy of its built-in dataset,
    with the fix; None when it does (or names none)."""
    root, name = dataset.get("root"), dataset.get("name")
    if not isinstance(root, str) or not root:
        return None
    if name in SOURCES:
        return idx_root_problem(name, root)
    if name == "emnist" and emnist_split(dataset) in EMNIST_SIZES:
        return emnist_root_problem(root, emnist_split(dataset))
    return None


BUILT_IN: dict[str, Callable[..., Dataset]] = {
    **{name: functools.partial(prepare_idx, name) for name in SOURCES},
    "emnist": prepare_emnist,
}


def prepare(dataset: dict) -> Dataset:
    """Return the dataset a config declares, read and split by its loader; images (N, C, H, W)."""
    settings = {k: v for k, v in dataset.items() if k != "name"}
    name = dataset.get("name")
    if name not in BUILT_IN:
        describe(dataset)  # its message
    return BUILT_IN[str(name)](**settings)
