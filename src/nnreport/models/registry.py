"""The model-family registry: each `model:` name, the task it learns, and how to build it.

A family is a PyTorch module class whose constructor takes its hyper-parameters as keywords plus
`n_in` and `n_classes` (a classifier on an encoder takes the trained encoder instead of
`n_in`); its task says what training minimises and which metrics each epoch records, so that
nothing downstream assumes a classifier with an accuracy.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch
from torch import nn

from nnreport.base.families import TRAINING_KEYS
from nnreport.models.conv import (
    CNN,
    ConvAutoencoder,
    Encoder,
    EncoderClassifier,
    conv_blocks,
    dense_head,
)
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
    image: bool = False  # takes (N, 1, H, W) images; else flat (N, H*W) vectors
    # "standard": pixels minus the training mean over its std; "unit": pixels / 255 in [0, 1]
    # (what a sigmoid reconstructs, and so what a classifier on its encoder must see)
    scaling: str = "standard"
    # hyper-parameters the family reads besides its constructor's (the training loop's)
    trained_with: tuple[str, ...] = ()
    # what the module builds its layers with, printed before it in the code appendix
    helpers: tuple = ()


FAMILIES: dict[str, Family] = {
    "mlp": Family("mlp", CLASSIFICATION, MLP, backends=("torch", "numpy")),
    "cnn": Family("cnn", CLASSIFICATION, CNN, image=True, helpers=(conv_blocks, dense_head)),
    "conv_autoencoder": Family("conv_autoencoder", RECONSTRUCTION, ConvAutoencoder, image=True,
                               scaling="unit", helpers=(conv_blocks, Encoder)),
    "encoder_classifier": Family("encoder_classifier", CLASSIFICATION, EncoderClassifier,
                                 image=True, scaling="unit", trained_with=("encoder",),
                                 helpers=(dense_head,)),
}


def family(name: str) -> Family:
    """Return the registered family called `name`; a ValueError names the known ones."""
    if name not in FAMILIES:
        raise ValueError(f"model: '{name}' is unknown; use one of {sorted(FAMILIES)}")
    return FAMILIES[name]


def knobs(name: str) -> set[str]:
    """Return the hyper-parameters the family `name` reads: its constructor's and its
    training's (config/families.py lists the same without importing PyTorch; a test)."""
    fam = family(name)
    own = set(inspect.signature(fam.module).parameters) - {"n_in", "n_classes", "encoder"}
    return own | set(fam.trained_with) | set(TRAINING_KEYS)


def build_model(hparams: dict, n_in: int, n_classes: int,
                encoder: Encoder | None = None) -> nn.Module:
    """Return a freshly initialised model of the family `hparams['model']` (default `mlp`);
    a classifier on an encoder gets the trained `encoder` (the rest of it is fresh)."""
    module = family(hparams.get("model", "mlp")).module
    accepted = inspect.signature(module).parameters
    kwargs = {k: v for k, v in hparams.items() if k in accepted and v is not None}
    if module is EncoderClassifier:
        if encoder is None:
            raise ValueError("model: encoder_classifier needs the trained encoder of its "
                             "autoencoder run (hyper-parameter `encoder`)")
        kwargs.pop("encoder", None)  # the hyper-parameter names its run; this is its module
        return module(encoder, **kwargs, n_classes=n_classes)
    return module(**kwargs, n_in=n_in, n_classes=n_classes)


def parameter_count(model: nn.Module) -> int:
    """Return the number of trainable parameters of `model` (a frozen encoder's are not)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def describe(model: nn.Module, input_shape: tuple[int, ...]) -> list[dict]:
    """Return the model's leaf layers in order: type, settings, output shape, parameters."""
    rows, hooks = [], []

    def record(module, _inputs, output):
        settings = {k: getattr(module, k) for k in ("in_features", "out_features", "p",
                                                     "negative_slope", "num_features",
                                                     "in_channels", "out_channels",
                                                     "kernel_size", "stride")
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
