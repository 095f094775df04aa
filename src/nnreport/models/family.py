"""What a model family is: the task it learns and the module class that builds it (built-in
families are listed in models/registry.py; a user's own class is one too, models/user.py)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from nnreport.base.usercode import Target


@dataclass(frozen=True)
class Task:
    """What a family learns: the loss it minimises and the metrics recorded beside it."""

    name: str
    loss: str
    metrics: tuple[str, ...]


CLASSIFICATION = Task("classification", loss="cross_entropy", metrics=("accuracy",))
RECONSTRUCTION = Task("reconstruction", loss="mse", metrics=())


@dataclass(frozen=True)
class Family:
    """A model family: its `model:` name, its task, its module class and its back-ends."""

    name: str
    task: Task
    module: type[nn.Module]
    backends: tuple[str, ...] = ("torch",)
    image: bool = False  # takes (N, C, H, W) images; else flat (N, C*H*W) vectors
    # "standard": pixels minus the training mean over its std; "unit": pixels / 255 in [0, 1]
    # (what a sigmoid reconstructs, and so what a classifier on its encoder must see)
    scaling: str = "standard"
    # hyper-parameters the family reads besides its constructor's (the training loop's)
    trained_with: tuple[str, ...] = ()
    # what the module builds its layers with, printed before it in the code appendix
    helpers: tuple = ()
    # weights and activations channels last (the built-in convolutions: 1.4x faster on a CPU);
    # never a user's module, whose `x.view(len(x), -1)` would fail on such a tensor
    channels_last: bool = False
    # a user's own class: its file and name (the config's `model: file.py:Class`)
    user: Target | None = None
