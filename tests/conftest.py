"""Shared fixtures: the repository, its default config, and writers of idx files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_fashion_mnist = pytest.mark.skipif(
    not (DEBIAN_FASHION / "train-images-idx3-ubyte.gz").exists(),
    reason="Debian's dataset-fashion-mnist is not installed (make setup installs it)",
)


@pytest.fixture
def default_config() -> dict:
    """The repository's config.yaml, as loaded (before schema defaults)."""
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    """Write `array` (uint8) as an idx file the way MNIST-style datasets store it."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    raw = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)
    return path
