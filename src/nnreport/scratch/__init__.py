"""The from-scratch MLP back-end: NumPy on the CPU, CuPy on a GPU, same contract as PyTorch's."""

from nnreport.scratch.backend import get_xp, to_numpy
from nnreport.scratch.layers import MLP, Linear, Parameter, ReLU, SoftmaxCrossEntropy
from nnreport.scratch.optim import SGD, Adam, lr_at
from nnreport.scratch.train import build_mlp, evaluate, make_optimizer, predict, train

__all__ = [
    "MLP", "SGD", "Adam", "Linear", "Parameter", "ReLU", "SoftmaxCrossEntropy", "build_mlp",
    "evaluate", "get_xp", "lr_at", "make_optimizer", "predict", "to_numpy", "train",
]
