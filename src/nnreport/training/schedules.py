"""Learning-rate schedules: pure functions shared by the PyTorch and from-scratch back-ends."""

from __future__ import annotations

SCHEDULES = ("constant", "linear", "exponential")


def lr_at(epoch: int, base_lr: float, schedule: str, epochs: int, *,
          final_fraction: float = 0.01, gamma: float = 0.95) -> float:
    """Return the learning rate of 1-based `epoch` under `schedule` (a pure function)."""
    if not 1 <= epoch <= epochs:
        raise ValueError(f"epoch: {epoch} is outside 1..{epochs}")
    if schedule == "constant":
        return base_lr
    if schedule == "linear":
        if not 0 < final_fraction <= 1:
            raise ValueError(f"lr_final_fraction: {final_fraction} must be in (0, 1]; "
                             "0 would make the last epoch's learning rate 0, an epoch that "
                             "changes nothing")
        if epochs == 1:
            return base_lr
        return base_lr * (1 - (1 - final_fraction) * (epoch - 1) / (epochs - 1))
    if schedule == "exponential":
        if not 0 < gamma <= 1:
            raise ValueError(f"lr_gamma: {gamma} must be in (0, 1]")
        return base_lr * gamma ** (epoch - 1)
    raise ValueError(f"lr_schedule: '{schedule}' is unknown; use one of {', '.join(SCHEDULES)}")


def epoch_lr(hparams: dict, epoch: int, epochs: int) -> float:
    """Return the learning rate of `epoch` under the run's schedule (`lr_schedule` and friends)."""
    def get(key, default):
        value = hparams.get(key)
        return default if value is None else value

    return lr_at(epoch, float(hparams["lr"]), str(get("lr_schedule", "constant")), epochs,
                 final_fraction=float(get("lr_final_fraction", 0.01)),
                 gamma=float(get("lr_gamma", 0.95)))
