"""What each model family (`model:`) reads from a run's hyper-parameters, without importing
PyTorch: the config checks name a key a family would silently ignore before any job starts.
models/registry.py builds the families; a test keeps these lists equal to their constructors.
"""

from __future__ import annotations

# every family's training reads these (training/loop.py)
TRAINING_KEYS = frozenset({"model", "optimizer", "lr", "batch_size", "momentum", "weight_decay",
                           "lr_schedule", "lr_gamma", "lr_final_fraction",
                           "early_stopping_patience"})
MODEL_KEYS: dict[str, frozenset[str]] = {
    "mlp": frozenset({"n1", "n2", "hidden", "p", "activation", "batchnorm"}),
    "cnn": frozenset({"channels", "kernel", "blocks", "p", "dense"}),
    # sigma: the noise the training loop adds to the inputs (a denoising autoencoder)
    "conv_autoencoder": frozenset({"channels", "kernel", "blocks", "bottleneck", "sigma"}),
    # encoder: the autoencoder run whose encoder it starts from
    "encoder_classifier": frozenset({"encoder", "freeze", "dense", "p"}),
}


def family_knobs(name: str) -> frozenset[str]:
    """Return every hyper-parameter a run of the family `name` reads."""
    return MODEL_KEYS[name] | TRAINING_KEYS


def ignored_knobs(hparams: dict) -> list[str]:
    """Return the keys of `hparams` that another family reads but its own (`model`, default
    mlp) would not (a key no family reads is the schema's to name)."""
    name = hparams.get("model", "mlp")
    if name not in MODEL_KEYS:
        return []  # the schema names an unknown family
    known = set().union(*MODEL_KEYS.values())
    return sorted(k for k in hparams if k in known and k not in family_knobs(name))


# A user's own model (`model: file.py:Class`): the keys the trainer reads (besides the training
# loop's: the task, the back-end); every other key is an argument of the class's constructor.
USER_TRAINER_KEYS = TRAINING_KEYS | {"task", "backend"}
TASKS = ("classification", "reconstruction")
# What the trainer passes to a user's constructor when it names them: the images' (C, H, W),
# the number of classes and the run's seed.
PROVIDED_ARGUMENTS = ("input_shape", "n_classes", "seed")


def trainer_keys(hparams: dict) -> frozenset[str]:
    """Return the keys of a user model's run that the trainer reads: the training loop's, the
    task and the back-end, and `sigma` (noise on the inputs) when it reconstructs them."""
    noise = {"sigma"} if hparams.get("task") == "reconstruction" else set()
    return USER_TRAINER_KEYS | noise


def constructor_arguments(hparams: dict) -> dict:
    """Return the keys of a user model's run that its class's constructor receives."""
    skip = trainer_keys(hparams)
    return {k: v for k, v in hparams.items() if k not in skip}


def pooling_problem(blocks: int, input_shape: tuple[int, ...]) -> str | None:
    """Return why `blocks` convolution blocks (each halving the size with a 2x2 max-pooling)
    do not fit images of `input_shape` (C, H, W), with the fix; None when they do."""
    _, h, w = input_shape
    if min(h, w) >> blocks < 1:
        return (f"blocks: {blocks} halves a {h}x{w} image to nothing; use at most "
                f"{min(h, w).bit_length() - 1}")
    return None
