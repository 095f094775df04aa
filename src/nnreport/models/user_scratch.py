"""A user's own model written from scratch (`model: file.py:Class` with `backend: numpy`).

The protocol, in PyTorch's words (README: "Tu propio modelo"):
- `__init__(**knobs)`: every key of the run the trainer does not read, plus `input_shape`
  (C, H, W), `n_classes` and `seed` when the constructor names them; parameters made with NumPy.
- `parameters()`: a list of objects with two arrays of one shape, `.data` and `.grad`.
- `forward(x)`: x is a batch of images (B, C, H, W), float32; returns (B, n_classes) logits.
- `backward(grad_logits)`: dL/dlogits (B, n_classes) in; sets (or adds to) every parameter's
  `.grad` (the trainer sets them to zero before each batch).
- optional `train()` and `eval()`: called before each epoch and before each evaluation (dropout).

The trainer's own optimisers (SGD with momentum, Adam), schedules, L2 and early stopping train
it; on a GPU its `.data` and `.grad` are CuPy arrays, which NumPy's functions applied to them
(np.exp, np.maximum, np.zeros_like, ...) handle as CuPy's.
"""

from __future__ import annotations

import tracemalloc
from types import ModuleType
from typing import Any

import numpy as np

from nnreport.base.usercode import (
    Target,
    UserCodeError,
    call_text,
    constructor_call,
    load_class,
    where_in,
)

METHODS = ("forward", "backward", "parameters")


def missing_methods(cls: type) -> list[str]:
    """Return the protocol's methods that `cls` lacks."""
    return [m for m in METHODS if not callable(getattr(cls, m, None))]


class ScratchModel:
    """The user's object behind the interface the from-scratch trainer drives: flat rows in,
    (B, C, H, W) images to the user's forward; named parameters; state as arrays."""

    def __init__(self, target: Target, hparams: dict, input_shape: tuple[int, ...],
                 n_classes: int, seed: int, xp: ModuleType = np):
        cls = load_class(target)
        self.target, self.input_shape = target, tuple(int(d) for d in input_shape)
        kwargs = constructor_call(cls, hparams, input_shape, n_classes, seed)
        self.call = call_text(target, kwargs)
        np.random.seed(seed)  # for code that draws from NumPy's global generator
        try:
            self.user = cls(**kwargs)
        except Exception as exc:
            raise UserCodeError(f"{self.call} failed at {where_in(exc, target.path)}") from exc
        self.params = self._parameters()
        self.names = self._names()
        if xp is not np:  # the GPU: every array the trainer touches goes there
            for p in self.params:
                p.data, p.grad = xp.asarray(p.data), xp.asarray(p.grad)
        self.best_epoch: int | None = None  # set by the trainer

    def _parameters(self) -> list:
        try:
            params = list(self.user.parameters())
        except Exception as exc:
            raise UserCodeError(f"{self.call}.parameters() failed at "
                                f"{where_in(exc, self.target.path)}") from exc
        if not params:
            raise UserCodeError(f"{self.call}.parameters() returned no parameters; return the "
                                "objects whose .data the model learns (each with a .grad of the "
                                "same shape)")
        for i, p in enumerate(params):
            if any(p is q for q in params[:i]):
                raise UserCodeError(f"{self.call}.parameters() returns parameters()[{i}] twice "
                                    "(it would be counted and updated twice per step); list "
                                    "each parameter once")
            data: Any = getattr(p, "data", None)
            grad: Any = getattr(p, "grad", None)
            if not hasattr(data, "shape") or not hasattr(grad, "shape"):
                raise UserCodeError(f"{self.call}.parameters()[{i}] is a {type(p).__name__} "
                                    "without the arrays .data and .grad; give each parameter "
                                    "both, e.g. self.grad = np.zeros_like(self.data)")
            if tuple(data.shape) != tuple(grad.shape):
                raise UserCodeError(f"{self.call}.parameters()[{i}] has .data of shape "
                                    f"{tuple(data.shape)} but .grad of {tuple(grad.shape)}; "
                                    "make them the same shape")
        return params

    def _names(self) -> list[str]:
        """Each parameter's attribute name on the model (`W1`, `capa1.weight`), else its
        place in parameters()."""
        found: dict[int, str] = {}

        def visit(obj, prefix: str, depth: int) -> None:
            for key, value in vars(obj).items() if hasattr(obj, "__dict__") else ():
                if any(value is p for p in self.params):
                    found.setdefault(id(value), prefix + key)
                elif depth < 2 and hasattr(value, "__dict__") and not isinstance(value, type):
                    visit(value, f"{prefix}{key}.", depth + 1)
                elif depth < 2 and isinstance(value, list | tuple):
                    for j, item in enumerate(value):
                        if any(item is p for p in self.params):
                            found.setdefault(id(item), f"{prefix}{key}[{j}]")
                        elif hasattr(item, "__dict__"):
                            visit(item, f"{prefix}{key}[{j}].", depth + 1)

        visit(self.user, "", 0)
        return [found.get(id(p), f"parameters()[{i}]") for i, p in enumerate(self.params)]

    def parameters(self) -> list:
        """Return the user's parameters (objects with .data and .grad)."""
        return self.params

    def train(self) -> None:
        """Switch the user's model to training (dropout on), when it says how."""
        if callable(getattr(self.user, "train", None)):
            self.user.train()

    def eval(self) -> None:
        """Switch the user's model to evaluation (dropout off), when it says how."""
        if callable(getattr(self.user, "eval", None)):
            self.user.eval()

    def forward(self, x):
        """Return the user's logits (B, n_classes) of rows x (B, C*H*W)."""
        return self.user.forward(x.reshape(len(x), *self.input_shape))  # (B, C, H, W)

    __call__ = forward

    def backward(self, grad_logits) -> None:
        """Hand dL/dlogits (B, n_classes) to the user's backward."""
        self.user.backward(grad_logits)

    def state_dict(self) -> dict[str, object]:
        """Return copies of the parameters' arrays, by their names."""
        return {name: p.data.copy() for name, p in zip(self.names, self.params, strict=True)}

    def load_state_dict(self, state: dict[str, object]) -> None:
        """Copy the arrays of `state` (from state_dict) into the parameters, in place."""
        for name, p in zip(self.names, self.params, strict=True):
            p.data[...] = state[name]


def gradient_check(model: ScratchModel, n_classes: int, coordinates: int = 4,
                   batch: int = 3, eps: float = 1e-6, seed: int = 0) -> dict:
    """Compare the user's backward with central finite differences of the cross-entropy, in
    float64, on a few random coordinates of each parameter; return the largest relative error
    |analytic - numeric| / max(|analytic| + |numeric|, 1e-8), which parameter and coordinate
    it was found at, and how many coordinates were checked. The model is left in float64."""
    rng = np.random.default_rng(seed)
    for p in model.params:
        p.data, p.grad = np.asarray(p.data, np.float64), np.asarray(p.grad, np.float64)
    model.eval()  # dropout off: the loss must be a function of the parameters alone
    x = rng.normal(size=(batch, int(np.prod(model.input_shape))))  # (B, C*H*W) float64
    y = rng.integers(0, n_classes, size=batch)

    def loss() -> tuple[float, np.ndarray]:
        z = np.asarray(model.forward(x), np.float64)  # (B, K)
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(batch), y].mean()), logp

    first, logp = loss()
    again, _ = loss()
    if first != again:
        raise UserCodeError(f"{model.call}.forward gives another loss for the same input in eval "
                            f"mode ({first:.6g}, then {again:.6g}), so its gradient cannot be "
                            "checked: switch its randomness (dropout) off in an eval() method")
    z = model.forward(x)
    if getattr(z, "dtype", None) != np.float64:
        raise UserCodeError(f"{model.call}.forward returns {getattr(z, 'dtype', type(z))} for a "
                            "float64 input: the gradient check runs in float64, so compute in the "
                            "input's precision (no .astype(np.float32) inside forward)")
    for p in model.params:
        p.grad[...] = 0
    grad = np.exp(logp)
    grad[np.arange(batch), y] -= 1
    model.backward(grad / batch)  # dL/dlogits of the mean cross-entropy
    worst: dict[str, Any] = {"error": 0.0, "parameter": model.names[0], "index": None}
    checked = 0
    for name, p in zip(model.names, model.params, strict=True):
        analytic = np.array(p.grad, np.float64, copy=True)
        for flat in rng.choice(p.data.size, size=min(coordinates, p.data.size), replace=False):
            index = np.unravel_index(int(flat), p.data.shape)
            keep = p.data[index]
            p.data[index] = keep + eps
            up = loss()[0]
            p.data[index] = keep - eps
            down = loss()[0]
            p.data[index] = keep
            numeric, a = (up - down) / (2 * eps), float(analytic[index])
            error = abs(a - numeric) / max(abs(a) + abs(numeric), 1e-8)
            error = error if error == error else float("inf")  # NaN: a broken backward
            checked += 1
            if error > worst["error"]:
                worst = {"error": error, "parameter": name,
                         "index": tuple(int(i) for i in index), "analytic": a,
                         "numeric": numeric}
    return {**worst, "coordinates": checked, "parameters": len(model.params), "eps": eps,
            "batch": batch}


TOLERANCE = 1e-4  # largest relative error of a correct float64 backward: about 1e-8 measured


def probe(target: Target, hparams: dict, input_shape: tuple[int, ...], n_classes: int) -> dict:
    """Build the user's class with a run's arguments, pass two images forward and back as the
    trainer will, and check its backward against finite differences; return its parameter
    count and the check. A UserCodeError says what failed, at which line, and the fix."""
    model = ScratchModel(target, hparams, input_shape, n_classes, seed=0)
    x = np.random.default_rng(0).normal(size=(2, int(np.prod(input_shape)))).astype(np.float32)
    shape = "(2, " + ", ".join(map(str, input_shape)) + ")"
    model.train()
    try:
        out = model.forward(x)
    except Exception as exc:
        raise UserCodeError(f"{model.call}.forward(x) with x of shape {shape} failed at "
                            f"{where_in(exc, target.path)}; forward receives a batch of images "
                            f"(B, C, H, W) = (B, {', '.join(map(str, input_shape))})") from exc
    got = tuple(int(d) for d in out.shape) if hasattr(out, "shape") else None
    if got != (2, n_classes):
        what = f"an array of shape {got}" if got is not None else f"a {type(out).__name__}"
        raise UserCodeError(f"{model.call}.forward(x) with x of shape {shape} returned {what}; "
                            f"expected (2, {n_classes}), one logit per class: (B, {n_classes})")
    model.eval()  # evaluation: eval mode, batches of any size, one image too
    try:
        single = model.forward(x[:1])
    except Exception as exc:
        raise UserCodeError(f"{model.call}.forward(x) in eval mode with x of shape (1, "
                            f"{', '.join(map(str, input_shape))}) failed at "
                            f"{where_in(exc, target.path)}; forward must take a batch of any "
                            "size, one image too (avoid x.squeeze())") from exc
    if tuple(getattr(single, "shape", ())) != (1, n_classes):
        raise UserCodeError(f"{model.call}.forward(x) in eval mode with x of shape (1, "
                            f"{', '.join(map(str, input_shape))}) returned shape "
                            f"{tuple(getattr(single, 'shape', ()))}; expected (1, {n_classes}) "
                            "(avoid x.squeeze())")
    model.train()
    model.forward(x)  # the training pass again: what backward reads
    for p in model.params:
        p.grad.fill(0)
    try:
        model.backward(np.ones_like(out) / len(out))
        check = gradient_check(ScratchModel(target, hparams, input_shape, n_classes, seed=0),
                               n_classes)
    except UserCodeError:
        raise
    except Exception as exc:
        raise UserCodeError(f"{model.call}.backward(grad_logits) with grad_logits of shape "
                            f"(B, {n_classes}) failed at {where_in(exc, target.path)}") from exc
    if not check["error"] <= TOLERANCE:  # NaN too
        raise UserCodeError(gradient_message(model.call, check))
    # a from-scratch model's matrices are used once per image each: their sizes are its
    # multiply-adds (exact for an MLP)
    macs = sum(int(p.data.size) for p in model.params if p.data.ndim >= 2)
    return {"parameters": sum(int(p.data.size) for p in model.params), "macs": macs,
            "activations": _kept_per_image(model, input_shape, n_classes),
            "gradient_check": check}


def _kept_per_image(model: ScratchModel, input_shape: tuple[int, ...], n_classes: int) -> int:
    """Return the float32 values per image a training step of the model holds at its peak (the
    batch, what forward keeps for backward, what backward computes): the peak NumPy memory of
    a step of 32 images less that of 8, over 24, each measured on a second step, when what the
    step before kept is of the same size, as in training (tracemalloc sees NumPy's arrays)."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    peaks = []
    try:
        for batch in (8, 32):
            for _ in range(2):
                tracemalloc.reset_peak()
                x = np.zeros((batch, int(np.prod(input_shape))), np.float32)
                model.forward(x)
                model.backward(np.full((batch, n_classes), 1 / batch, np.float32))
            peaks.append(tracemalloc.get_traced_memory()[1])
    finally:
        if started:
            tracemalloc.stop()
    return max(0, (peaks[1] - peaks[0]) // 24 // 4)


def gradient_message(call: str, check: dict) -> str:
    """Return why a backward the gradient check measured is refused, and what to look at."""
    return (f"{call}.backward does not compute the gradient of its forward: for "
            f"{check['parameter']}{list(check['index'] or [])} it gives "
            f"{check.get('analytic', float('nan')):.6g} where finite differences of the "
            f"cross-entropy give {check.get('numeric', float('nan')):.6g} (largest relative "
            f"error {check['error']:.2g} over {check['coordinates']} coordinates, in float64; "
            f"at most {TOLERANCE:g} passes); check how backward computes the gradient of "
            f"{check['parameter']}")
