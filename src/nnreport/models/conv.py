"""The convolutional families (PyTorch): a CNN classifier, a convolutional autoencoder and a
classifier on a trained autoencoder's encoder.

Each takes its images as (B, C, H, W), or flattened (B, C*H*W) (the form the prediction code
hands over); `input_shape` is (C, H, W). Convolutions keep the size (padding kernel // 2, an
odd kernel) and each block halves it with a 2x2 max-pooling: 28 -> 14 -> 7 -> 3.
"""

from __future__ import annotations

import math

from torch import nn

from nnreport.base.families import pooling_problem
from nnreport.models.mlp import Dropout


def block_channels(channels: int, blocks: int) -> list[int]:
    """Return the channels of each block: `channels`, doubled at each further block."""
    return [channels * 2**k for k in range(blocks)]


def _check(channels: int, kernel: int, blocks: int, input_shape: tuple[int, ...]) -> None:
    if kernel % 2 == 0:
        raise ValueError(f"kernel: {kernel} is even; use an odd size (3, 5, 7) so that a "
                         "convolution keeps the image size")
    problem = pooling_problem(blocks, input_shape)
    if problem:
        raise ValueError(problem)
    if channels < 1:
        raise ValueError(f"channels: {channels}; use 1 or more")


def conv_blocks(channels: int, kernel: int, blocks: int, c_in: int) -> nn.Sequential:
    """Return `blocks` blocks of (convolution, ReLU, 2x2 max-pooling) from `c_in` channels."""
    layers: list[nn.Module] = []
    for c_out in block_channels(channels, blocks):
        layers += [nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2), nn.ReLU(),
                   nn.MaxPool2d(2)]  # (B, c_out, s, s) -> (B, c_out, s / 2, s / 2)
        c_in = c_out
    return nn.Sequential(*layers)


def pooled_sizes(input_shape: tuple[int, ...], blocks: int) -> list[tuple[int, int]]:
    """Return the (height, width) before the first block and after each: 28, 14, 7 (floor)."""
    _, h, w = input_shape
    return [(h >> k, w >> k) for k in range(blocks + 1)]


def dense_head(n_features: int, dense: int, p: float, n_classes: int) -> nn.Sequential:
    """Return [Dropout p], Linear n_features -> dense, ReLU, [Dropout p], Linear -> classes
    (with `dense` 0: [Dropout p], Linear n_features -> classes)."""
    layers: list[nn.Module] = []
    if p > 0:
        layers.append(Dropout(p))
    if dense:
        layers += [nn.Linear(n_features, dense), nn.ReLU()]
        if p > 0:
            layers.append(Dropout(p))
        n_features = dense
    layers.append(nn.Linear(n_features, n_classes))  # (B, classes) logits
    return nn.Sequential(*layers)


class CNN(nn.Module):
    """`blocks` convolution blocks (convolution, ReLU, max-pooling; `channels` filters in the
    first, doubled in each next), then a dense head with dropout p."""

    def __init__(self, channels: int = 16, kernel: int = 3, blocks: int = 2, p: float = 0.0,
                 dense: int = 128, input_shape: tuple[int, ...] = (1, 28, 28),
                 n_classes: int = 10):
        super().__init__()
        self.shape = tuple(int(d) for d in input_shape)  # (C, H, W)
        _check(channels, kernel, blocks, self.shape)
        self.features = conv_blocks(channels, kernel, blocks, self.shape[0])
        h, w = pooled_sizes(self.shape, blocks)[-1]
        flat = block_channels(channels, blocks)[-1] * h * w
        self.head = nn.Sequential(nn.Flatten(), *dense_head(flat, dense, p, n_classes))

    def forward(self, x):
        return self.head(self.features(x.view(-1, *self.shape)))


class Encoder(nn.Module):
    """The autoencoder's encoder: the convolution blocks, then Linear to `bottleneck` values."""

    def __init__(self, channels: int, kernel: int, blocks: int, bottleneck: int,
                 input_shape: tuple[int, ...]):
        super().__init__()
        self.shape, self.bottleneck = tuple(int(d) for d in input_shape), bottleneck
        self.features = conv_blocks(channels, kernel, blocks, self.shape[0])
        h, w = pooled_sizes(self.shape, blocks)[-1]
        flat = block_channels(channels, blocks)[-1] * h * w
        self.project = nn.Sequential(nn.Flatten(), nn.Linear(flat, bottleneck))  # (B, n)

    def forward(self, x):
        return self.project(self.features(x.view(-1, *self.shape)))


class ConvAutoencoder(nn.Module):
    """Encoder (convolution blocks down to a code of `bottleneck` values) and decoder (Linear
    back to the last block's maps, then one transposed convolution per block, each doubling the
    size), sigmoid output in [0, 1]. Trained to minimise the MSE against its clean input; with
    `sigma` > 0 the training inputs get Gaussian noise (a denoising autoencoder: the training
    loop adds it, the model does not)."""

    def __init__(self, channels: int = 16, kernel: int = 3, blocks: int = 2,
                 bottleneck: int = 32, sigma: float = 0.0,
                 input_shape: tuple[int, ...] = (1, 28, 28), n_classes: int = 10):
        super().__init__()
        shape = tuple(int(d) for d in input_shape)  # (C, H, W)
        _check(channels, kernel, blocks, shape)
        if bottleneck < 1:
            raise ValueError(f"bottleneck: {bottleneck}; use 1 or more")
        self.sigma = sigma
        self.encoder = Encoder(channels, kernel, blocks, bottleneck, shape)
        chans, sizes = block_channels(channels, blocks), pooled_sizes(shape, blocks)
        h, w = sizes[-1]
        layers: list[nn.Module] = [nn.Linear(bottleneck, chans[-1] * h * w), nn.ReLU(),
                                   nn.Unflatten(1, (chans[-1], h, w))]
        outs = [*chans[-2::-1], shape[0]]  # channels after each transposed convolution
        for k, c_out in enumerate(outs):
            (h_in, w_in), (h_out, w_out) = sizes[blocks - k], sizes[blocks - k - 1]
            # (s_in - 1) * 2 + 2 + output_padding = s_out: 7 -> 14, and 3 -> 7 with padding 1
            layers.append(nn.ConvTranspose2d(chans[blocks - k - 1], c_out, 2, stride=2,
                                             output_padding=(h_out - 2 * h_in,
                                                             w_out - 2 * w_in)))
            layers.append(nn.ReLU() if k < blocks - 1 else nn.Sigmoid())
        self.decoder = nn.Sequential(*layers)

    def encode(self, x):
        """Return the code (B, bottleneck) of images x."""
        return self.encoder(x)

    def forward(self, x):
        return self.decoder(self.encoder(x)).view(x.shape)  # the input's own shape


class EncoderClassifier(nn.Module):
    """A trained autoencoder's encoder (`freeze`: its weights stay as trained; otherwise they
    are fine-tuned with the head), then a dense head with dropout p."""

    def __init__(self, encoder: Encoder, freeze: bool = True, dense: int = 128, p: float = 0.0,
                 n_classes: int = 10):
        super().__init__()
        self.encoder, self.freeze = encoder, freeze
        for param in encoder.parameters():
            param.requires_grad_(not freeze)
        self.head = dense_head(encoder.bottleneck, dense, p, n_classes)

    def forward(self, x):
        return self.head(self.encoder(x))


def encoder_of(state: dict) -> Encoder:
    """Return the encoder of an autoencoder's model.pt contents `state`: trained when `state`
    holds its weights (`state_dict`), else only its layers (weights to be loaded)."""
    auto = ConvAutoencoder(**{k: v for k, v in state["hparams"].items()
                              if k in ("channels", "kernel", "blocks", "bottleneck")},
                           input_shape=input_shape_of(state), n_classes=state["n_classes"])
    if "state_dict" in state:
        auto.load_state_dict(state["state_dict"])
    return auto.encoder


def input_shape_of(state: dict) -> tuple[int, int, int]:
    """Return the (C, H, W) a model.pt's model (or its encoder's record) was built for: the
    recorded one, else one square grey channel of its `n_in` pixels (files written before)."""
    if state.get("input_shape"):
        c, h, w = state["input_shape"]
        return int(c), int(h), int(w)
    side = math.isqrt(int(state["n_in"]))
    return 1, side, side
