"""Atomic file writes: a killed job never leaves a file that looks finished; and each file
read back (NumPy archives, torch files, Parquet, JSON) sealed with the SHA-256 of its content
in a hidden file beside it, so damage inside a file that still parses is noticed."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nnreport.base.errors import ExpectedError


class OutputError(ExpectedError, OSError):
    """An output could not be written (full disk, unwritable folder); names the path."""

    def __init__(self, path: Path, error: OSError, written: int = 0):
        if error.errno == errno.ENOSPC or disk_full(path.parent):  # pyarrow's has no errno
            error = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            size = (f"{written / 1e6:.1f} MB" if written >= 100_000 else
                    f"{written / 1e3:.0f} kB" if written >= 1000 else f"{written} bytes")
            got = f" after {size} of this file" if written else ""
            fix = (f"the disk of {path.parent} filled{got}; free more room than that there, "
                   f"or run from a folder on a disk with room")
        else:
            fix = "make the folder writable or run from a folder you can write to"
        super().__init__(error.errno, f"cannot write {path}: {error.strerror}; {fix}. Nothing "
                         "already finished was changed")
        self.path = path

    def __str__(self) -> str:
        return self.strerror or super().__str__()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


SEALED = (".npz", ".pt", ".parquet", ".json")  # what the workflow reads back


def seal_of(path: str | os.PathLike) -> Path:
    """The hidden file beside `path` that holds the SHA-256 of its content: `.<name>.sha256`."""
    path = Path(path)
    return path.with_name(f".{path.name}.sha256")


def sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's content, in hex (about 1 GB/s here)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def seal_problem(path: str | os.PathLike) -> str | None:
    """Return why a sealed file's content is not what was written (None when it is, or when it
    has no seal: written before seals existed, or not a file the workflow reads back)."""
    seal = seal_of(path)
    if not seal.is_file() or not Path(path).is_file():
        return None
    try:
        written = seal.read_text(encoding="ascii").split()[0]
    except (OSError, UnicodeDecodeError, IndexError):
        return f"its checksum file {seal.name} is unreadable"
    now = sha256(path)
    if now != written:
        return (f"its content changed after it was written (SHA-256 {now[:12]}..., written "
                f"{written[:12]}...: a disk or copy error, or an edit)")
    return None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, seal: bool | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    `seal` (default: for the SEALED suffixes): write the SHA-256 of the finished content to
    `seal_of(path)` first, itself atomically, so a reader can tell damage from content."""
    path = Path(path)
    seal = path.suffix in SEALED if seal is None else seal
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise OutputError(path, e) from e
    os.close(fd)
    tmp = Path(name)
    sealed = seal_of(tmp).with_name(seal_of(path).name + ".tmp")
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a finished file gets the usual mode
    try:
        yield tmp
        if seal:
            digest = sha256(tmp)
            sealed.write_text(f"{digest}  {path.name}\n", encoding="ascii")
            os.replace(sealed, seal_of(path))
        os.replace(tmp, path)
    except OSError as e:
        raise OutputError(path, e, _size(tmp)) from e
    except Exception as e:  # a library's own error for a failed write (torch.save: RuntimeError)
        if not disk_full(path.parent):
            raise
        raise OutputError(path, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
                          _size(tmp)) from e
    finally:
        tmp.unlink(missing_ok=True)
        sealed.unlink(missing_ok=True)  # its seal's, when the disk filled while writing it


FULL_BYTES = 1 << 20  # less free than this on a disk after a failed write: it filled it


def disk_full(folder: str | os.PathLike) -> bool:
    """Return whether the disk holding `folder` has (almost) no room left for this user."""
    try:
        stat = os.statvfs(folder)
    except OSError:
        return False
    return stat.f_bavail * stat.f_frsize < FULL_BYTES


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write `obj` as indented JSON to `path` atomically."""
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Return the JSON document stored at `path`, after checking its seal (DamagedFileError)."""
    from nnreport.base.integrity import verified  # integrity reads seals with this module

    return json.loads(verified(Path(path)).read_text(encoding="utf-8"))
