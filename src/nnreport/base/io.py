"""Atomic file writes: a killed job never leaves a file that looks finished."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nnreport.base.errors import ExpectedError


class OutputError(ExpectedError, OSError):
    """An output could not be written (full disk, unwritable folder); names the path."""

    def __init__(self, path: Path, error: OSError):
        fix = ("free some space on that disk" if error.errno == errno.ENOSPC
               else "make the folder writable or run from a folder you can write to")
        super().__init__(error.errno, f"cannot write {path}: {error.strerror}; {fix}. Nothing "
                         "already finished was changed")
        self.path = path

    def __str__(self) -> str:
        return self.strerror or super().__str__()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise OutputError(path, e) from e
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a finished file gets the usual mode
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        raise OutputError(path, e) from e
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write `obj` as indented JSON to `path` atomically."""
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Return the JSON document stored at `path`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
