"""The array module of the from-scratch back-end, chosen once: CuPy on a usable GPU, else NumPy."""

from __future__ import annotations

import logging
from types import ModuleType

import numpy as np

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")


def _cupy_or_reason() -> tuple[ModuleType | None, str]:
    """Return (cupy, "") when CuPy imports and runs a kernel on a GPU, else (None, why not)."""
    try:
        import cupy
    except Exception as err:  # ImportError, or a CUDA library that fails to load
        return None, f"CuPy does not import ({type(err).__name__}: {err})"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None, "CuPy sees no CUDA GPU"
        # An elementwise kernel compiles through NVRTC: this catches a CuPy built for another CUDA.
        (cupy.arange(4, dtype=cupy.float32) * 2).sum().item()
    except Exception as err:
        return None, f"CuPy cannot use a CUDA GPU ({type(err).__name__}: {err})"
    return cupy, ""


def get_xp(device: str = "auto") -> ModuleType:
    """Return the array module for `device` ("auto", "cpu" or "cuda"): cupy or numpy."""
    if device not in DEVICES:
        raise ValueError(f"device: '{device}' is unknown; use one of {', '.join(DEVICES)}")
    if device == "cpu":
        return np
    cupy, why = _cupy_or_reason()
    if cupy is not None:
        return cupy
    if device == "cuda":
        raise RuntimeError(
            f"device: 'cuda' was asked for the from-scratch back-end but {why}; install CuPy "
            "for your CUDA (pip install 'nnreport[cuda13]' or 'nnreport[cuda12]') on a machine "
            "with a CUDA GPU, or set device: auto or cpu")
    log.info("CuPy or a CUDA GPU is missing (%s): the from-scratch back-end runs on NumPy", why)
    return np


def to_numpy(a) -> np.ndarray:
    """Return `a` (a NumPy or CuPy array, or a scalar) as a NumPy array on the host."""
    get = getattr(a, "get", None)  # cupy.ndarray.get() copies to the host; NumPy has no .get
    return get() if callable(get) else np.asarray(a)
