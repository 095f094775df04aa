"""Whether this machine shows a GPU to CUDA, without importing torch (seconds at every parse)."""

from __future__ import annotations

import glob
import os

# CUDA_VISIBLE_DEVICES values that hide every GPU
HIDDEN = {"", "-1", "none", "NoDevFiles"}


def gpu_visible() -> bool:
    """Return whether a process here could see a GPU: an NVIDIA device file (/dev/nvidia0, ...)
    or AMD's compute device (/dev/kfd, which PyTorch's ROCm build drives through torch.cuda),
    unless CUDA_VISIBLE_DEVICES hides them all. A driver too old for the installed PyTorch is
    not detected here: the training job then says so itself."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", "0").strip() in HIDDEN:
        return False
    return bool(glob.glob("/dev/nvidia[0-9]*")) or os.path.exists("/dev/kfd")
