"""A student's MLP as they would write it, the same structure as the built-in 784-128-64-10:
bench_training.py trains it through `model: benchmarks/user_mlp.py:MLPDelUsuario` (autograd,
PyTorch's own Dropout) beside the built-in MLP (hand-written backward, cheaper dropout mask)."""

from torch import nn


class MLPDelUsuario(nn.Module):
    def __init__(self, n1=128, n2=64, p=0.2, n_classes=10):
        super().__init__()
        self.red = nn.Sequential(
            nn.Flatten(),  # (B, 1, 28, 28) -> (B, 784)
            nn.Linear(784, n1), nn.ReLU(), nn.Dropout(p),
            nn.Linear(n1, n2), nn.ReLU(), nn.Dropout(p),
            nn.Linear(n2, n_classes),
        )

    def forward(self, x):
        return self.red(x)
