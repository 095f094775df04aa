"""Logging set-up for workflow jobs: every job writes to its own log file."""

from __future__ import annotations

import logging
import sys

from nnreport.base.errors import ExpectedError


def to_file(path: str) -> None:
    """Send INFO and above of every logger to `path` (and warnings to stderr)."""
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    file_handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    file_handler.setFormatter(fmt)
    stderr = logging.StreamHandler()
    stderr.setLevel(logging.WARNING)
    stderr.setFormatter(fmt)
    logging.basicConfig(level=logging.INFO, handlers=[file_handler, stderr], force=True)
    sys.excepthook = _short_errors


def _short_errors(kind, error, tb) -> None:
    """Log an expected error as its message alone; anything else with its traceback."""
    if issubclass(kind, ExpectedError):
        logging.getLogger("nnreport").error("%s", error)
        sys.stderr.flush()
    else:
        logging.getLogger("nnreport").error("unexpected error", exc_info=(kind, error, tb))
