"""What a training run produced, shared by the PyTorch and the from-scratch back-ends."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class History:
    """One row per epoch and split (epoch, split, loss, accuracy, lr, seconds), and the ending."""

    rows: list[dict] = field(default_factory=list)
    status: str = "completed"  # or "diverged"
    diverged_epoch: int | None = None
    seconds: float = 0.0
