"""Layers, an MLP and the softmax cross-entropy loss, each with a hand-written backward pass."""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import ModuleType

import numpy as np

INITS = ("kaiming_uniform", "kaiming_normal")


class Parameter:
    """A trainable array and the gradient accumulated into it (same shape, dtype and device)."""

    def __init__(self, data):
        self.data = data
        self.grad = data * 0  # zeros on the same device, same dtype

    def zero_grad(self) -> None:
        """Set the gradient to zero in place."""
        self.grad.fill(0)


class Module:
    """Base of layers: forward caches what backward needs; backward accumulates gradients."""

    def parameters(self) -> list[Parameter]:
        """Return the trainable parameters (none by default)."""
        return []

    def zero_grad(self) -> None:
        """Zero every parameter's gradient."""
        for p in self.parameters():
            p.zero_grad()

    def train(self) -> None:
        """Switch to training mode (these layers behave the same in both modes)."""

    def eval(self) -> None:
        """Switch to evaluation mode."""

    def __call__(self, x):
        return self.forward(x)


class Linear(Module):
    """y = x W^T + b with W of shape (n_out, n_in) as in torch.nn.Linear; He init, zero bias."""

    def __init__(self, n_in: int, n_out: int, xp: ModuleType = np,
                 rng: np.random.Generator | None = None, init: str = "kaiming_uniform",
                 dtype=np.float32):
        rng = rng if rng is not None else np.random.default_rng(0)
        if init == "kaiming_uniform":
            bound = math.sqrt(6.0 / n_in)  # He: gain sqrt(2) for ReLU, Var = 2 / fan_in
            w = rng.uniform(-bound, bound, size=(n_out, n_in))
        elif init == "kaiming_normal":
            w = rng.normal(0.0, math.sqrt(2.0 / n_in), size=(n_out, n_in))
        else:
            raise ValueError(f"init: '{init}' is unknown; use one of {', '.join(INITS)}")
        # Drawn on the host, so NumPy and CuPy runs with one seed start from the same weights.
        self.weight = Parameter(xp.asarray(w, dtype=dtype))  # (out, in)
        self.bias = Parameter(xp.zeros(n_out, dtype=dtype))  # (out,)
        self.x = None

    def forward(self, x):
        """Return x W^T + b and keep x for the backward pass."""
        self.x = x  # (B, in)
        return x @ self.weight.data.T + self.bias.data  # (B, out)

    def backward(self, grad_out):
        """Accumulate dL/dW and dL/db; return dL/dx."""
        self.weight.grad += grad_out.T @ self.x  # (out, B) @ (B, in) -> (out, in)
        self.bias.grad += grad_out.sum(axis=0)  # (out,)
        return grad_out @ self.weight.data  # (B, out) @ (out, in) -> (B, in)

    def parameters(self) -> list[Parameter]:
        """Return [weight, bias]."""
        return [self.weight, self.bias]


class ReLU(Module):
    """max(x, 0), with gradient 1 where x > 0 and 0 elsewhere (as in PyTorch)."""

    def __init__(self):
        self.mask = None

    def forward(self, x):
        """Return max(x, 0) and keep the mask of positive inputs."""
        self.mask = x > 0  # (B, n) bool
        return x.clip(0, None)  # (B, n); keeps NaN so a diverging run is seen

    def backward(self, grad_out):
        """Return dL/dx: the incoming gradient where the input was positive."""
        return grad_out * self.mask  # (B, n)


ACTIVATIONS: dict[str, type[Module]] = {"relu": ReLU}


class MLP(Module):
    """Linear layers of the given sizes with an activation between them; returns logits."""

    def __init__(self, sizes: Sequence[int] = (784, 128, 64, 47), activation: str = "relu",
                 xp: ModuleType = np, seed: int = 0, init: str = "kaiming_uniform",
                 dtype=np.float32):
        if len(sizes) < 2:
            raise ValueError(f"sizes: {list(sizes)} needs at least an input and an output size")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation: '{activation}' is unknown; "
                             f"use one of {', '.join(ACTIVATIONS)}")
        rng = np.random.default_rng(seed)
        self.sizes = [int(s) for s in sizes]
        self.layers: list[Module] = []
        for i, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:], strict=True)):
            self.layers.append(Linear(n_in, n_out, xp, rng, init, dtype))  # (B, n_out)
            if i < len(self.sizes) - 2:
                self.layers.append(ACTIVATIONS[activation]())
        self.best_epoch: int | None = None  # set by the trainer

    def forward(self, x):
        """Return the logits (B, C) of a batch x (B, n_in)."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out):
        """Backpropagate dL/dlogits (B, C) through every layer; return dL/dx (B, n_in)."""
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def parameters(self) -> list[Parameter]:
        """Return every layer's parameters, first layer first."""
        return [p for layer in self.layers for p in layer.parameters()]

    def state_dict(self) -> dict[str, object]:
        """Return copies of the parameters, named like torch.nn.Sequential ('0.weight', ...)."""
        return {f"{i}.{name}": getattr(layer, name).data.copy()
                for i, layer in enumerate(self.layers) if isinstance(layer, Linear)
                for name in ("weight", "bias")}

    def load_state_dict(self, state: dict[str, object]) -> None:
        """Copy the arrays of `state` (from state_dict) into the parameters, in place."""
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Linear):
                layer.weight.data[...] = state[f"{i}.weight"]
                layer.bias.data[...] = state[f"{i}.bias"]


class SoftmaxCrossEntropy:
    """Mean (or summed) cross-entropy of logits and integer labels, stable for huge logits."""

    def __init__(self, xp: ModuleType = np):
        self.xp = xp
        self.probs = self.y = None
        self.reduction = "mean"

    def forward(self, logits, y, reduction: str = "mean"):
        """Return the loss as a 0-d array on the device; keep the softmax for backward."""
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction: '{reduction}' is unknown; use mean or sum")
        xp, self.reduction = self.xp, reduction
        z = logits - logits.max(axis=1, keepdims=True)  # (B, C), max 0: exp cannot overflow
        lse = xp.log(xp.exp(z).sum(axis=1, keepdims=True))  # (B, 1)
        logp = z - lse  # (B, C) log-softmax
        self.probs, self.y = xp.exp(logp), y  # (B, C), (B,)
        nll = -logp[xp.arange(len(y)), y]  # (B,)
        return nll.mean() if reduction == "mean" else nll.sum()

    def backward(self):
        """Return dL/dlogits: softmax - one_hot(y), divided by B for the mean loss."""
        grad = self.probs.copy()  # (B, C)
        grad[self.xp.arange(len(self.y)), self.y] -= 1
        return grad / len(self.y) if self.reduction == "mean" else grad  # (B, C)

    __call__ = forward
