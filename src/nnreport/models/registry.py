"""The model-family registry: each `model:` name, the task it learns, and how to build it.

A family is a PyTorch module class whose constructor takes its hyper-parameters as keywords plus
`n_in` and `n_classes` (a classifier on an encoder takes the trained encoder instead of
`n_in`); its task says what training minimises and which metrics each epoch records, so that
nothing downstream assumes a classifier with an accuracy.
"""

from __future__ import annotations

import inspect
import math

import torch
from torch import nn

from nnreport.base.families import TRAINING_KEYS
from nnreport.base.usercode import parse_target
from nnreport.models.conv import (
    CNN,
    ConvAutoencoder,
    Encoder,
    EncoderClassifier,
    conv_blocks,
    dense_head,
)
from nnreport.models.family import CLASSIFICATION, RECONSTRUCTION, Family, Task
from nnreport.models.mlp import MLP
from nnreport.models.user import build_user_model
from nnreport.models.user import family as user_family

__all__ = ["CLASSIFICATION", "FAMILIES", "RECONSTRUCTION", "Family", "Task", "build_model",
           "describe", "family", "family_of", "knobs", "parameter_count"]


FAMILIES: dict[str, Family] = {
    "mlp": Family("mlp", CLASSIFICATION, MLP, backends=("torch", "numpy")),
    "cnn": Family("cnn", CLASSIFICATION, CNN, image=True, helpers=(conv_blocks, dense_head),
                  channels_last=True),
    "conv_autoencoder": Family("conv_autoencoder", RECONSTRUCTION, ConvAutoencoder, image=True,
                               scaling="unit", helpers=(conv_blocks, Encoder),
                               channels_last=True),
    "encoder_classifier": Family("encoder_classifier", CLASSIFICATION, EncoderClassifier,
                                 image=True, scaling="unit", trained_with=("encoder",),
                                 helpers=(dense_head,), channels_last=True),
}


def family(name: str, task: str = "classification") -> Family:
    """Return the registered family called `name`, or the user's class it names
    (`file.py:Class`, learning `task`); a ValueError names the known ones."""
    if parse_target(name) is not None:
        return user_family(name, task)
    if name not in FAMILIES:
        raise ValueError(f"model: '{name}' is unknown; use one of {sorted(FAMILIES)} or a "
                         "class of yours, path/file.py:ClassName")
    return FAMILIES[name]


def family_of(hparams: dict) -> Family:
    """Return the family of a run's hyper-parameters (`model`, default mlp; a user's class
    with its `task`)."""
    return family(hparams.get("model", "mlp"), hparams.get("task", "classification"))


def knobs(name: str) -> set[str]:
    """Return the hyper-parameters the family `name` reads: its constructor's and its
    training's (config/families.py lists the same without importing PyTorch; a test)."""
    fam = family(name)
    own = set(inspect.signature(fam.module).parameters) - {"n_in", "input_shape", "n_classes",
                                                           "encoder"}
    return own | set(fam.trained_with) | set(TRAINING_KEYS)


def build_model(hparams: dict, n_in: int, n_classes: int, encoder: Encoder | None = None,
                input_shape: tuple[int, ...] | None = None, seed: int = 0) -> nn.Module:
    """Return a freshly initialised model of the family `hparams['model']` (default `mlp`);
    a classifier on an encoder gets the trained `encoder` (the rest of it is fresh); a user's
    convolutional family and a user's class get the images' `input_shape` (C, H, W; one square
    channel of `n_in` pixels when not given), a user's class the run's `seed` where its
    constructor names it."""
    fam = family_of(hparams)
    side = math.isqrt(n_in)
    shape = tuple(int(d) for d in input_shape) if input_shape else (1, side, side)
    if fam.user is not None:
        return build_user_model(fam, hparams, shape, n_classes, seed)
    module = fam.module
    accepted = inspect.signature(module).parameters
    kwargs = {k: v for k, v in hparams.items() if k in accepted and v is not None}
    if module is EncoderClassifier:
        if encoder is None:
            raise ValueError("model: encoder_classifier needs the trained encoder of its "
                             "autoencoder run (hyper-parameter `encoder`)")
        kwargs.pop("encoder", None)  # the hyper-parameter names its run; this is its module
        return module(encoder, **kwargs, n_classes=n_classes)
    if "input_shape" in accepted:
        return module(**kwargs, input_shape=shape, n_classes=n_classes)
    return module(**kwargs, n_in=n_in, n_classes=n_classes)


def parameter_count(model: nn.Module) -> int:
    """Return the number of trainable parameters of `model` (a frozen encoder's are not)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def describe(model: nn.Module, input_shape: tuple[int, ...]) -> list[dict]:
    """Return the model's leaf layers in the order a forward pass of one image of
    `input_shape` calls them: type, settings, output shape per image, parameters (a layer
    called twice counts its parameters once; parameters held by a module that is not a leaf
    close the list as one row of their own)."""
    rows: list[dict] = []
    hooks, seen = [], set()

    def record(module, _inputs, output):
        settings = {k: getattr(module, k) for k in ("in_features", "out_features", "p",
                                                     "negative_slope", "num_features",
                                                     "in_channels", "out_channels",
                                                     "kernel_size", "stride")
                    if hasattr(module, k)}
        out = output[0] if isinstance(output, tuple | list) and output else output
        own = 0 if id(module) in seen else sum(p.numel() for p in module.parameters(recurse=False))
        seen.add(id(module))
        rows.append({"layer": type(module).__name__, "settings": settings,
                     "shape": tuple(out.shape[1:]) if torch.is_tensor(out) else (),
                     "params": own})

    for module in model.modules():
        if not list(module.children()):
            hooks.append(module.register_forward_hook(record))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    rest = sum(p.numel() for p in model.parameters()) - sum(r["params"] for r in rows)
    if rest > 0:  # e.g. an nn.Parameter of the model itself, used in its forward
        rows.append({"layer": "Parameter", "settings": {}, "shape": (), "params": rest})
    return rows
