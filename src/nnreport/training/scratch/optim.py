"""SGD and Adam with torch.optim's exact update rules, and pure learning-rate schedules."""

from __future__ import annotations

import math
from collections.abc import Sequence

from nnreport.models.scratch import Parameter
from nnreport.training.schedules import lr_at  # noqa: F401 - part of this module's API


class Optimizer:
    """Holds the parameters and a learning rate `lr` that may change between steps."""

    def __init__(self, params: Sequence[Parameter], lr: float, weight_decay: float = 0.0):
        if lr <= 0:
            raise ValueError(f"lr: {lr} must be positive")
        if weight_decay < 0:
            raise ValueError(f"weight_decay: {weight_decay} must be zero or positive")
        self.params, self.lr, self.weight_decay = list(params), float(lr), float(weight_decay)

    def zero_grad(self) -> None:
        """Zero every parameter's gradient."""
        for p in self.params:  # a user's parameters need only .data and .grad
            p.grad.fill(0)

    def _grad(self, p: Parameter):
        """Return the gradient with L2 regularisation added as torch.optim does: g + wd * p."""
        return p.grad + self.weight_decay * p.data if self.weight_decay else p.grad

    def step(self) -> None:
        """Update every parameter once from its gradient."""
        raise NotImplementedError


class SGD(Optimizer):
    """torch.optim.SGD without dampening or Nesterov: buf = momentum * buf + g; p -= lr * buf."""

    def __init__(self, params: Sequence[Parameter], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum: {momentum} must be in [0, 1)")
        self.momentum = float(momentum)
        self.bufs: list = [None] * len(self.params)

    def step(self) -> None:
        """Apply one SGD step (the first momentum buffer is the gradient itself, as in torch)."""
        for i, p in enumerate(self.params):
            g = self._grad(p)
            if self.momentum:
                if self.bufs[i] is None:
                    self.bufs[i] = g.copy()
                else:
                    self.bufs[i] *= self.momentum
                    self.bufs[i] += g
                g = self.bufs[i]
            p.data -= self.lr * g


class Adam(Optimizer):
    """torch.optim.Adam (not AdamW): L2 in the gradient, bias-corrected moments, eps outside."""

    def __init__(self, params: Sequence[Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        self.beta1, self.beta2, self.eps = float(betas[0]), float(betas[1]), float(eps)
        self.t = 0
        self.m = [p.data * 0 for p in self.params]  # first moments, like the parameters
        self.v = [p.data * 0 for p in self.params]  # second moments

    def step(self) -> None:
        """Apply one Adam step: p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)."""
        self.t += 1
        bc1 = 1 - self.beta1**self.t
        bc2_sqrt = math.sqrt(1 - self.beta2**self.t)
        for p, m, v in zip(self.params, self.m, self.v, strict=True):
            g = self._grad(p)
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * (g * g)
            denom = v**0.5 / bc2_sqrt + self.eps
            p.data -= (self.lr / bc1) * (m / denom)
