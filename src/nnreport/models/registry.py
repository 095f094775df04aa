"""The model-family registry: each `model:` name, the task it learns, and how to build it.

A family is a PyTorch module class whose constructor takes its hyper-parameters as keywords plus
`n_in` and `n_classes`; its task says what training minimises and which metrics each epoch
records, so that nothing downstream assumes a classifier with an accuracy.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch
from torch import nn

from nnreport.models.mlp import MLP


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


FAMILIES: dict[str, Family] = {
    "mlp": Family("mlp", CLASSIFICATION, MLP, backends=("torch", "numpy")),
}


def family(name: str) -> Family:
    """Return the registered family called `name`; a ValueError names the known ones."""
    if name not in FAMILIES:
        raise ValueError(f"model: '{name}' is unknown; use one of {sorted(FAMILIES)}")
    return FAMILIES[name]


def build_model(hparams: dict, n_in: int, n_classes: int) -> nn.Module:
    """Return a freshly initialised model of the family `hparams['model']` (default `mlp`)."""
    module = family(hparams.get("model", "mlp")).module
    accepted = inspect.signature(module).parameters
    kwargs = {k: v for k, v in hparams.items() if k in accepted and v is not None}
    return module(**kwargs, n_in=n_in, n_classes=n_classes)


def parameter_count(model: nn.Module) -> int:
    """Return the number of trainable parameters of `model`."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def describe(model: nn.Module, input_shape: tuple[int, ...]) -> list[dict]:
    """Return the model's leaf layers in order: type, settings, output shape, parameters."""
    rows, hooks = [], []

    def record(module, _inputs, output):
        settings = {k: getattr(module, k) for k in ("in_features", "out_features", "p",
                                                     "negative_slope", "num_features")
                    if hasattr(module, k)}
        rows.append({"layer": type(module).__name__, "settings": settings,
                     "shape": tuple(output.shape[1:]),
                     "params": sum(p.numel() for p in module.parameters(recurse=False))})

    for module in model.modules():
        if not list(module.children()):
            hooks.append(module.register_forward_hook(record))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *input_shape))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return rows
