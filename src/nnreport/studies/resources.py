"""What each job of the workflow asks a scheduler for: memory (`mem_mb`) and wall time
(`runtime`, minutes), sized from what the job does.

One truth for local and cluster runs: locally Snakemake holds the jobs to `--resources
mem_mb=...` with these numbers; the SLURM executor passes them to sbatch (`--mem`, `-t`).
The constants were measured on a 2-core AMD EPYC with one thread per job (sacct's MaxRSS of
each job step, and run.json's `peak_memory_mb` and `train_seconds`; ../shared/notes/slurm.md):

- A job step that imports PyTorch holds about 0.9 GB before its data (PyTorch alone 0.47 GB,
  Snakemake's own process in the step 0.2 GB); a training step on FashionMNIST's 70,000 images
  peaked at 1.06 GB. The images are uint8 (C x H x W bytes each: 784 for FashionMNIST, 3,072
  for CIFAR-10, from the dataset registry); a PyTorch run holds them about three times (the
  packed file, the train and validation copies), the NumPy back-end adds their float32 copies
  (four bytes a pixel).
- Training time per image and epoch follows `training_cost` (multiply-adds, counted per
  family): one unit of it took 5.6e-6 s for the PyTorch MLP, 5.2e-6 s for the NumPy one, and
  6.8e-6 to 1.7e-5 s for the CNNs (two jobs at once on the two cores; the smallest CNN, 8
  filters, was the slowest per multiply-add: pooling and memory traffic weigh more there), so
  `SECONDS_PER_UNIT` takes the slowest, and `SAFETY` covers a slower or shared cluster core.

A job that fails, out of time or memory, is retried (profiles/slurm: `retries: 1`) with
`attempt` times the wall time and the memory.
"""

from __future__ import annotations

import math

from nnreport.config.grid import model_size, training_cost
from nnreport.data.registry import describe

STEP_MB = 1000  # a job step with PyTorch, NumPy and pandas loaded, before its data
COPIES = {"torch": 3, "numpy": 3 + 4}  # the images' bytes a run holds at its peak (float32: 4)
MEMORY_SAFETY = 1.5
CUDA_MB = 1500  # host memory of CUDA's libraries in a GPU job: not measured here (no GPU)
SECONDS_PER_UNIT = 1.7e-5  # one training_cost unit of one image: the slowest run measured
SAFETY = 3.0  # a cluster core may be slower than the one measured, or shared
STARTUP_S = 120  # Python, Snakemake and PyTorch start, the data loads (slow shared file systems)
MIN_MINUTES = 5
LIGHT_MB = 2048  # tables, figures of curves, the report (its step peaked at 1.08 GB)
LIGHT_MINUTES = 10


def pool_images(dataset: dict) -> int:
    """How many images the study's dataset holds (its train and test files together)."""
    return sum(describe(dataset).sizes)


def data_mb(config: dict) -> float:
    """The packed images' size in MB (what every job that loads the data holds at least)."""
    info = describe(config["dataset"])
    return sum(info.sizes) * info.pixels / 1e6


def split_sizes(config: dict) -> tuple[int, int, int]:
    """At most how many images a run trains on, validates on, and a final model is tested on:
    the dataset's split, then the `max_*` caps."""
    dataset = config["dataset"]
    sizes = describe(dataset).sizes
    pool = sum(sizes)
    n_val = dataset.get("n_val") or 10_000
    n_test = dataset.get("n_test") or 0
    if dataset.get("holdout_test"):  # the dataset's test file
        n_test = sizes[1]
    n_train = dataset.get("n_train") or max(pool - n_val - n_test, 0)

    def cap(n: int, split: str) -> int:
        return min(n, config.get(f"max_{split}") or pool)

    return cap(n_train, "train"), cap(n_val, "val"), cap(n_test, "test")


def _round_up(value: float, step: int) -> int:
    return int(math.ceil(value / step) * step)


# Bytes a float32 parameter holds while training: itself, its gradient and the optimiser's
# state (Adam: two moments; SGD: a momentum buffer, kept whether or not it is used).
PARAMETER_BYTES = {"adam": 16, "sgd": 12}
ACTIVATION_BYTES = 8  # a float32 activation of each image of a batch, and its gradient


def model_mb(config: dict, hparams: dict) -> float:
    """The memory one training run's model needs besides the data, in MB: its parameters with
    their gradients and optimiser state, and a batch's activations with their gradients (a
    user's class: what its check measured; 0 before it is checked)."""
    info = describe(config["dataset"])
    size = model_size(hparams, info.shape, info.n_classes)
    if size is None:
        return 0.0
    params, activations = size
    batch = int(hparams.get("batch_size", 256))
    return parameters_mb(hparams, params) + ACTIVATION_BYTES * batch * activations / 1e6


def parameters_mb(hparams: dict, count: int) -> float:
    """The MB `count` trainable parameters hold while training with the run's optimiser: each
    with its gradient and the optimiser's state (PARAMETER_BYTES)."""
    return PARAMETER_BYTES.get(str(hparams.get("optimizer", "adam")), 16) * count / 1e6


def memory_mb(config: dict, backend: str = "torch", attempt: int = 1,
              hparams: dict | None = None) -> int:
    """Memory of a job that loads the data and trains or evaluates models on it, in MB;
    `attempt` times that on a retry (a job killed for memory comes back with more).
    `hparams`: the run's, whose model adds its share (model_mb)."""
    peak = STEP_MB + COPIES[backend] * data_mb(config)
    if hparams is not None:
        peak += model_mb(config, hparams)
    if config.get("device") == "cuda":
        peak += CUDA_MB
    return _round_up(MEMORY_SAFETY * peak, 256) * attempt


def minutes(units: float, attempt: int = 1) -> int:
    """Wall time of a job doing `units` training_cost units (summed over its images), in
    whole minutes, with the start-up and the safety factor; `attempt` times that on a retry."""
    seconds = STARTUP_S + SAFETY * SECONDS_PER_UNIT * units
    return max(MIN_MINUTES, math.ceil(seconds / 60)) * attempt


def train_units(config: dict, run: dict, hparams: dict | None = None) -> float:
    """training_cost units of one run: every epoch's training images, plus its validation
    images at a third of the cost (a forward pass). `hparams`: the ones to count when the
    run's own are not all (a run that starts from another model's choice)."""
    n_train, n_val, _ = split_sizes(config)
    info = describe(config["dataset"])
    per_image = training_cost(hparams or run["hparams"], run["epochs"], info.shape,
                              info.n_classes)
    return per_image * (n_train + n_val / 3)


def evaluation_units(config: dict, hparams: dict, passes: int) -> float:
    """training_cost units of scoring a model `passes` times over its validation and test
    images (one seed and noise level a pass)."""
    _, n_val, n_test = split_sizes(config)
    info = describe(config["dataset"])
    return training_cost(hparams, 1, info.shape, info.n_classes) / 3 * (n_val + n_test) * passes
