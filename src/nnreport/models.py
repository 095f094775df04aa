"""Model families behind one registry; a model knows nothing about data or files."""

from __future__ import annotations

import torch
from torch import nn


class MLP(nn.Module):
    """MLP 784 -> n1 -> n2 -> 10 with ReLU and dropout p after each hidden layer."""

    def __init__(self, n1: int = 128, n2: int = 64, p: float = 0.2, n_in: int = 784,
                 n_classes: int = 10):
        super().__init__()
        self.flatten = nn.Flatten()  # (B, 28, 28) -> (B, 784)
        self.layers = nn.Sequential(
            nn.Linear(n_in, n1),  # (B, n1)
            nn.ReLU(),
            nn.Dropout(p),
            nn.Linear(n1, n2),  # (B, n2)
            nn.ReLU(),
            nn.Dropout(p),
            nn.Linear(n2, n_classes),  # (B, 10) logits; softmax lives in the loss
        )

    def forward(self, x):
        return self.layers(self.flatten(x))


MODELS: dict[str, type[nn.Module]] = {"mlp": MLP}
# Hyper-parameters that belong to the optimiser and the loop, not to the model's constructor.
TRAINING_KEYS = {"model", "optimizer", "lr", "batch_size", "momentum", "weight_decay"}


def build_model(hparams: dict, n_in: int, n_classes: int) -> nn.Module:
    """Return a freshly initialised model named by `hparams['model']`."""
    name = hparams["model"]
    if name not in MODELS:
        raise ValueError(f"base.model: '{name}' is unknown; use one of {sorted(MODELS)}")
    kwargs = {k: v for k, v in hparams.items() if k not in TRAINING_KEYS}
    return MODELS[name](**kwargs, n_in=n_in, n_classes=n_classes)


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
