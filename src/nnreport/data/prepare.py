"""The dataset registry: each dataset name and the loader that prepares it."""

from __future__ import annotations

from nnreport.data.dataset import Dataset
from nnreport.data.emnist import prepare_emnist
from nnreport.data.fashion_mnist import prepare_fashion_mnist
from nnreport.data.idx import DataError


def prepare(name: str, **kwargs) -> Dataset:
    """Return the named dataset, prepared by its loader."""
    loaders = {"fashion_mnist": prepare_fashion_mnist, "emnist": prepare_emnist}
    if name not in loaders:
        raise DataError(f"dataset: name '{name}' is unknown; use one of {sorted(loaders)}")
    return loaders[name](**kwargs)
