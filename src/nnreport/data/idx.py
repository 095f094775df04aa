"""Reading idx files (MNIST's format), gzipped or not, and verifying their checksums."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from nnreport.base.errors import ExpectedError

_IDX_DTYPES: dict[int, type | str] = {
    0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8",
}


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


def require_file(folder: Path, name: str) -> Path:
    """Return `folder/name` or `folder/name.gz`; raise DataError naming both when neither is."""
    path = find_file(folder, name)
    if path is None:
        raise DataError(f"{folder}: neither {name} nor {name}.gz is there; put the dataset's "
                        f"idx files in that folder or point `dataset: root` at a complete copy")
    return path


def find_file(folder: Path, name: str) -> Path | None:
    """Return `folder/name` or `folder/name.gz`, whichever exists."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


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
