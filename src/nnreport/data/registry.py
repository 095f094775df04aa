"""The dataset registry: what each dataset a config can declare is — its image shape (C, H, W),
its classes, the sizes of its files, its citation — and the loader that packs it. The checks,
the workflow, the models and the report all read a dataset from here.

A built-in dataset is named (`dataset: name: mnist`); the user's own images are given by their
format (`dataset: {format: image_folder, root: ...}` or `{format: npz, path: ...}`), and what
they are is read from their files (nnreport.data.own's Summary: each file read once for
its digest, only image headers decoded). Adding a
built-in is one loader module, its entry in BUILT_IN, and its words (`datasets.<name>` and its
class names in each language's catalogue, `refs.bib` for its citation): the schema, the checks,
the workflow and the report read the registry.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nnreport.data.cifar import CIFAR10_SIZES, cifar10_root_problem, prepare_cifar10
from nnreport.data.dataset import Dataset
from nnreport.data.emnist import EMNIST_SIZES, emnist_root_problem, prepare_emnist
from nnreport.data.idx import DataError
from nnreport.data.mnist import SIZES as MNIST_SIZES
from nnreport.data.mnist import SOURCES, idx_root_problem, prepare_idx
from nnreport.data.own import (
    TEST_FIX,
    Summary,
    holdout_problem,
    image_folder_summary,
    npz_summary,
    prepare_image_folder,
    prepare_npz,
)

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
    verified: bool = False  # every raw file checked against its published MD5
    own: bool = False  # the user's own images (a format, not a name): no citation, no words
    description: str | None = None  # what the user's images show, as the config says

    @property
    def pixels(self) -> int:
        """Bytes of one uint8 image (C * H * W)."""
        return self.shape[0] * self.shape[1] * self.shape[2]


def emnist_split(dataset: dict) -> str:
    """Return the EMNIST split a config reads (ByMerge unless it names another)."""
    return dataset.get("split") or "bymerge"


OWN_SOURCE = {"image_folder": "root", "npz": "path"}  # where each format's files are named
OWN_FORMATS = tuple(OWN_SOURCE)


def _signature(path: str) -> tuple:
    """What changes when a file, or any file of a folder of class folders, changes (the
    cache's key): each file's name, size and modification time, one stat call each."""
    p = Path(path)
    try:
        files = sorted(p.glob("*/*")) if p.is_dir() else [p]
        return tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    except OSError:
        return ()


@functools.lru_cache(maxsize=8)
def _summary(form: str, source: str, test_root: str | None, _signatures: tuple) -> Summary:
    if form == "npz":
        return npz_summary(source)
    return image_folder_summary(source, test_root)


def own_summary(dataset: dict) -> Summary | None:
    """Return what the user's own images hold (read once per process while their files stay
    unchanged); None for a built-in dataset or a format without its file or folder named."""
    form = str(dataset.get("format"))
    source = dataset.get(OWN_SOURCE.get(form, ""))
    if form not in OWN_FORMATS or not isinstance(source, str) or not source:
        return None
    test_root = dataset.get("test_root") if form == "image_folder" else None
    test_root = test_root if isinstance(test_root, str) and test_root else None
    signatures = (_signature(source), _signature(test_root) if test_root else ())
    return _summary(form, source, test_root, signatures)


def own_problems(dataset: dict) -> list[tuple[str, str]]:
    """Return each problem of the user's own images as (its config key, the message naming
    the file and the fix); [] for a built-in dataset."""
    summary = own_summary(dataset)
    if summary is None:
        return []
    form = str(dataset["format"])
    key = OWN_SOURCE[form]
    found = [(key, p) for p in summary.problems]
    late = holdout_problem(str(dataset[key]), summary, dataset.get("holdout_test") is True,
                           TEST_FIX[form])
    return found + ([("holdout_test", late)] if late else [])


@dataclass(frozen=True)
class BuiltIn:
    """One built-in dataset: what it is (for a config's dataset settings), its loader, and why a
    configured `root` holds no copy of it (None when it does)."""

    info: Callable[[dict], DatasetInfo]
    prepare: Callable[..., Dataset]
    root_problem: Callable[[dict, str], str | None]


def _idx(key: str) -> BuiltIn:
    source = SOURCES[key]
    return BuiltIn(lambda _: DatasetInfo(key, source.title, (1, 28, 28), len(source.classes),
                                         MNIST_SIZES, source.cite, verified=bool(source.md5)),
                   functools.partial(prepare_idx, key),
                   lambda _, root: idx_root_problem(key, root))


def _emnist(dataset: dict) -> DatasetInfo:
    split = emnist_split(dataset)
    return DatasetInfo("emnist", f"EMNIST {EMNIST_TITLES.get(split, split)}", (1, 28, 28),
                       EMNIST_CLASSES.get(split, 47), EMNIST_SIZES.get(split, (0, 0)),
                       "cohen2017")


BUILT_IN: dict[str, BuiltIn] = {
    **{key: _idx(key) for key in SOURCES},
    "emnist": BuiltIn(_emnist, prepare_emnist,
                      lambda d, root: emnist_root_problem(root, emnist_split(d))
                      if emnist_split(d) in EMNIST_SIZES else None),
    "cifar10": BuiltIn(lambda _: DatasetInfo("cifar10", "CIFAR-10", (3, 32, 32), 10,
                                             CIFAR10_SIZES, "krizhevsky2009", verified=True),
                       prepare_cifar10, lambda _, root: cifar10_root_problem(root)),
}


def unknown_name(name: object) -> str:
    """The message for a `dataset: name` the registry does not hold."""
    return (f"dataset.name is {name!r}, not a built-in dataset; use one of "
            f"{', '.join(sorted(BUILT_IN))}, or give your own images with format: "
            f"image_folder (with root: the folder) or format: npz (with path: the file)")


def describe(dataset: dict) -> DatasetInfo:
    """Return what the dataset a config declares is (a built-in's: no file is read; the
    user's own: from their files' headers)."""
    summary = own_summary(dataset)
    if summary is not None:
        form = str(dataset["format"])
        title = dataset.get("title") or Path(str(dataset[OWN_SOURCE[form]])).stem
        return DatasetInfo(form, str(title), summary.shape, len(summary.classes),
                           summary.sizes, None, own=True,
                           description=dataset.get("description"))
    name = dataset.get("name")
    if isinstance(name, str) and name in BUILT_IN:
        return BUILT_IN[name].info(dataset)
    if dataset.get("format") in OWN_FORMATS:
        form = dataset["format"]
        raise DataError(f"dataset.format is {form}: set dataset.{OWN_SOURCE[form]}")
    raise DataError(unknown_name(name))


def root_problem(dataset: dict) -> str | None:
    """Return why the `dataset: root` a config names holds no copy of its built-in dataset,
    with the fix; None when it does (or names none)."""
    root, name = dataset.get("root"), dataset.get("name")
    if not isinstance(root, str) or not root or not isinstance(name, str):
        return None
    return BUILT_IN[name].root_problem(dataset, root) if name in BUILT_IN else None


OWN: dict[str, Callable[..., Dataset]] = {"image_folder": prepare_image_folder,
                                          "npz": prepare_npz}


def content_digest(dataset: dict) -> str | None:
    """Return the SHA-256 of the user's own images' bytes (None for a built-in): the packed
    data is rebuilt when it changes, and only then."""
    summary = own_summary(dataset)
    return None if summary is None else summary.digest


def prepare(dataset: dict) -> Dataset:
    """Return the dataset a config declares, read and split by its loader; images (N, C, H, W)."""
    settings = {k: v for k, v in dataset.items() if k not in ("name", "format")}
    form, name = dataset.get("format"), dataset.get("name")
    if form in OWN:  # its loader refuses images other than those planned (`content`)
        return OWN[form](**settings)
    if not isinstance(name, str) or name not in BUILT_IN:
        raise DataError(unknown_name(name))
    return BUILT_IN[name].prepare(**settings)
