"""The MLP family (PyTorch): inputs-n1-n2-classes or any `hidden` sizes, with dropout and
BatchNorm."""

from __future__ import annotations

import math

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "silu": nn.SiLU, "gelu": nn.GELU,
    "tanh": nn.Tanh,
}


def dropout_mask(shape: tuple[int, ...], p: float, device: torch.device,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Return a dropout mask of `shape`: 0 with probability p, else 1 / (1 - p).

    On the CPU: 16 random bits per element, thresholded by float arithmetic (drop probability
    round(p * 65536) / 65536: 0.2 -> 0.19999695). PyTorch's bernoulli_ costs about 175 ms of a
    0.68 s epoch of the base MLP on one CPU core; this mask about 95 ms. CUDA: bernoulli_.
    """
    if device.type != "cpu":
        return torch.empty(shape, device=device, dtype=dtype).bernoulli_(1 - p).div_(1 - p)
    n = math.prod(shape)
    # the full int64 range: random_() alone leaves the top bit 0 (a quarter never dropped)
    words = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-(2**63), 2**63 - 1)
    bits = words.view(torch.int16)[:n].view(shape).to(dtype)  # in [-32768, 32767]
    threshold = round(p * 65536) - 32768  # drop where bits < threshold
    return bits.sub_(threshold - 1).clamp_(0, 1).mul_(1 / (1 - p))  # 0 or 1/(1-p)


class Dropout(nn.Dropout):
    """nn.Dropout with the cheaper CPU mask of `dropout_mask`; CUDA keeps PyTorch's fused
    kernel."""

    def forward(self, x):
        if not self.training or self.p in (0, 1) or x.device.type != "cpu":
            return super().forward(x)
        return x * dropout_mask(x.shape, self.p, x.device, x.dtype)


class MLP(nn.Module):
    """MLP n_in -> hidden... -> n_classes, n_in the C * H * W pixels of one image: each hidden
    layer is Linear, [BatchNorm], activation, [Dropout p]. `n1`, `n2` give two hidden layers;
    `hidden` gives any list of sizes."""

    def __init__(self, n_in: int, n_classes: int, n1: int = 128, n2: int = 64, p: float = 0.0,
                 hidden: list[int] | None = None,
                 activation: str = "relu", batchnorm: bool = False):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation: '{activation}' is unknown; use one of "
                             f"{', '.join(ACTIVATIONS)}")
        layers: list[nn.Module] = [nn.Flatten()]  # (B, C, H, W) -> (B, C * H * W)
        sizes = [n_in, *(hidden if hidden else [n1, n2])]
        for n_prev, n_next in zip(sizes[:-1], sizes[1:], strict=True):
            layers.append(nn.Linear(n_prev, n_next))  # (B, n_next)
            if batchnorm:
                layers.append(nn.BatchNorm1d(n_next))
            layers.append(ACTIVATIONS[activation]())
            if p > 0:
                layers.append(Dropout(p))
        layers.append(nn.Linear(sizes[-1], n_classes))  # (B, classes) logits; softmax in the loss
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)
