"""A user's own PyTorch module as a model family: `model: file.py:Class` in a config.

The class's constructor receives every key of the run the trainer does not read
(base/families.py), plus `input_shape` (C, H, W) and `n_classes` when it names them; its
`forward` receives a batch of images (B, C, H, W) and returns (B, n_classes) logits, or for
`task: reconstruction` a tensor of the input's shape.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import torch
from torch import nn

from nnreport.base.usercode import (
    Target,
    UserCodeError,
    call_text,
    constructor_call,
    file_digest,
    load_class,
    parse_target,
    where_in,
)
from nnreport.models.family import CLASSIFICATION, RECONSTRUCTION, Family

TASKS = {"classification": CLASSIFICATION, "reconstruction": RECONSTRUCTION}


@functools.cache
def _family(target: Target, digest: str, task: str) -> Family:  # once per content and task
    cls = load_class(target)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        bases = ", ".join(b.__name__ for b in cls.__mro__[1:-1]) or "object"
        raise UserCodeError(f"{target.path}: {target.name} is not a torch.nn.Module (its bases: "
                            f"{bases}); write `class {target.name}(nn.Module):`, or set "
                            "backend: numpy for a model written from scratch")
    return Family(str(target), TASKS[task], cls, image=True,
                  scaling="unit" if task == "reconstruction" else "standard",
                  user=target)


def family(model: str, task: str = "classification") -> Family:
    """Return the family of the user's class `model` (`file.py:Class`) for `task`; the file is
    imported again whenever its content changed."""
    target = parse_target(model)
    if target is None:
        raise ValueError(f"model: {model!r} names no file of yours (path/file.py:ClassName)")
    if not Path(target.path).is_file():
        raise UserCodeError(f"{target.path}: no such file (model: {model})")
    return _family(target, file_digest(target.path), task)


def build_user_model(fam: Family, hparams: dict, input_shape: tuple[int, ...],
                     n_classes: int, seed: int = 0) -> nn.Module:
    """Return the user's module built with a run's arguments; an exception in their
    constructor names their file and line."""
    kwargs = constructor_call(fam.module, hparams, input_shape, n_classes, seed)
    assert fam.user is not None
    try:
        return fam.module(**kwargs)
    except Exception as exc:
        raise UserCodeError(f"{call_text(fam.user, kwargs)} failed at "
                            f"{where_in(exc, fam.user.path)}") from exc


def probe(model: str, hparams: dict, input_shape: tuple[int, ...], n_classes: int) -> dict:
    """Build the user's module with a run's arguments and pass two images of `input_shape`
    forward and back, as training will; return its trainable parameters and multiply-adds
    per image. A UserCodeError says what failed, at which line of their file, and the fix."""
    fam = family(model, hparams.get("task", "classification"))
    assert fam.user is not None
    torch.manual_seed(0)
    net = build_user_model(fam, hparams, input_shape, n_classes)
    call = call_text(fam.user, constructor_call(fam.module, hparams, input_shape, n_classes))
    trainable = [p for p in net.parameters() if p.requires_grad]
    if not trainable:
        raise UserCodeError(f"{call} has no trainable parameters (no layer is an attribute of "
                            "the module?); assign its layers to self in __init__, e.g. "
                            "self.fc = nn.Linear(...)")
    x = torch.randn(2, *input_shape)  # (2, C, H, W)
    macs = [0]
    hooks = [m.register_forward_hook(_count(macs)) for m in net.modules()
             if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d)]
    own = {p.untyped_storage().data_ptr() for p in net.parameters()}
    kept: dict[int, int] = {}  # storage -> bytes autograd keeps of it for the backward pass
    net.train()
    try:
        with torch.autograd.graph.saved_tensors_hooks(_keep(own, kept), lambda t: t):
            out = net(x)
    except Exception as exc:
        raise UserCodeError(f"{call}.forward(x) with x of shape {_shape(x.shape)} failed at "
                            f"{where_in(exc, fam.user.path)}; forward receives a batch of images "
                            f"(B, C, H, W) = (B, {', '.join(map(str, input_shape))})") from exc
    finally:
        for h in hooks:
            h.remove()
    wanted = (2, n_classes) if fam.task is CLASSIFICATION else (2, *input_shape)
    if not torch.is_tensor(out) or tuple(out.shape) != wanted:
        got = _shape(out.shape) if torch.is_tensor(out) else f"a {type(out).__name__}"
        what = (f"one logit per class: (B, {n_classes})" if fam.task is CLASSIFICATION
                else "a reconstruction of the input's shape (task: reconstruction)")
        raise UserCodeError(f"{call}.forward(x) with x of shape {_shape(x.shape)} returned "
                            f"{got}; expected {_shape(wanted)}, {what}")
    try:
        out.float().square().mean().backward()
    except Exception as exc:
        raise UserCodeError(f"{call}: the backward pass through its output failed at "
                            f"{where_in(exc, fam.user.path)}") from exc
    one = torch.zeros(1, *input_shape)  # evaluation and Table III: any batch size, eval mode
    net.eval()
    try:
        with torch.no_grad():
            single = net(one)
    except Exception as exc:
        raise UserCodeError(f"{call}.forward(x) in eval mode with x of shape "
                            f"{_shape(one.shape)} failed at {where_in(exc, fam.user.path)}; "
                            "forward must take a batch of any size, one image too (avoid "
                            "x.squeeze())") from exc
    if not torch.is_tensor(single) or tuple(single.shape) != (1, *wanted[1:]):
        got = _shape(single.shape) if torch.is_tensor(single) else f"a {type(single).__name__}"
        raise UserCodeError(f"{call}.forward(x) in eval mode with x of shape "
                            f"{_shape(one.shape)} returned {got}; expected "
                            f"{_shape((1, *wanted[1:]))} (avoid x.squeeze())")
    return {"parameters": sum(p.numel() for p in trainable), "macs": macs[0] // len(x),
            "activations": sum(kept.values()) // 4 // len(x)}


def parameter_count(model: str, hparams: dict, input_shape: tuple[int, ...],
                    n_classes: int) -> int | None:
    """Return the trainable parameters of the user's module built with a run's arguments on
    PyTorch's meta device, which allocates nothing (a layer of 10^10 weights is counted, not
    built); None when it does not build there (the real build then says why)."""
    try:
        fam = family(model, hparams.get("task", "classification"))
        with torch.device("meta"):
            net = build_user_model(fam, hparams, input_shape, n_classes)
        return sum(p.numel() for p in net.parameters() if p.requires_grad)
    except Exception:  # noqa: BLE001 - any failure of theirs is the real build's to report
        return None


def _keep(own: set[int], kept: dict[int, int]):
    """A pack hook of saved_tensors_hooks recording the bytes of each tensor autograd saves
    for the backward pass (the activations a training step holds), but not the parameters'."""

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in own:
            kept[storage.data_ptr()] = storage.nbytes()
        return tensor

    return pack


def _count(total: list[int]):
    """A forward hook adding a layer's multiply-adds to total[0]."""

    def hook(module, _inputs, output):
        if isinstance(module, nn.Linear):
            total[0] += output.numel() * module.in_features
        else:  # a convolution: each output value reads in_channels/groups x kernel values
            k = math.prod(module.kernel_size)
            total[0] += output.numel() * module.in_channels // module.groups * k

    return hook


def _shape(shape) -> str:
    return "(" + ", ".join(str(int(d)) for d in shape) + ")"
