"""What a study's data allows, checked before any job: the dataset is declared once (a built-in
name or the user's own format), a named `dataset: root` holds it, the user's own images are
usable (every problem naming its file), the split fits in it, and no batch is larger than the
training images (nor leaves BatchNorm a batch of one image)."""

from __future__ import annotations

import os
from collections.abc import Iterator

from nnreport.base.families import pooling_problem
from nnreport.base.usercode import is_user_model
from nnreport.checks.models import Candidate, model_runs
from nnreport.config.grid import model_size
from nnreport.config.messages import ConfigPath, Problem, format_path, show
from nnreport.data.cifar import FILES as CIFAR10_FILES
from nnreport.data.idx import DataError
from nnreport.data.registry import (
    BUILT_IN,
    OWN_FORMATS,
    OWN_SOURCE,
    describe,
    own_problems,
    root_problem,
    unknown_name,
)
from nnreport.studies.resources import MEMORY_SAFETY, memory_mb


def _dataset(config: dict, schema: dict) -> dict:
    """Return `config`'s dataset with the schema's defaults for what it does not set."""
    props = schema.get("properties", {}).get("dataset", {}).get("properties", {})
    given = config.get("dataset")
    return {**{k: p["default"] for k, p in props.items() if "default" in p},
            **(given if isinstance(given, dict) else {})}


def _files(dataset: dict) -> tuple[str, tuple[int, int]] | None:
    """Return the dataset's name as read and its (train file, test file) sizes, when known."""
    try:
        info = describe(dataset)
    except DataError:  # an unknown name: the schema names it
        return None
    if not info.sizes[0]:
        return None
    return info.title, info.sizes


def _pool(dataset: dict) -> tuple[int, str] | None:
    """Return how many images the train/validation split draws from, and which they are."""
    files = _files(dataset)
    if files is None:
        return None
    label, (n_train_file, n_test_file) = files
    if dataset.get("holdout_test") is True:
        return n_train_file, f"{label}'s {n_train_file} images of its training file"
    if not n_test_file:  # one file or folder, no test part
        return n_train_file, f"{label}'s {n_train_file} images"
    return n_train_file + n_test_file, f"{label}'s {n_train_file + n_test_file} images pooled"


def _n_test(dataset: dict) -> int:
    """The pooled test images the split holds out (none with holdout_test: true)."""
    n_test = dataset.get("n_test")
    if dataset.get("holdout_test") is True or isinstance(n_test, bool):
        return 0
    return n_test if isinstance(n_test, int) else 0


def split_problems(dataset: dict) -> Iterator[Problem]:
    """Yield a split that does not fit in the dataset (n_train + n_val + n_test, nothing left
    to train), and a test split asked for where the test file already is the test set."""
    n_test = dataset.get("n_test")
    if isinstance(n_test, int) and n_test and dataset.get("holdout_test") is True:
        yield Problem(("dataset", "n_test"), f"dataset.n_test is {n_test}, but holdout_test: "
                      f"true makes the test file the test set; remove n_test, or set "
                      f"holdout_test: false to draw the test images from the pooled images")
        return
    n_test = _n_test(dataset)
    pool, n_train, n_val = _pool(dataset), dataset.get("n_train"), dataset.get("n_val")
    if pool is None or not isinstance(n_val, int):
        return
    n, which = pool
    others = f"n_val: {n_val}" + (f" and n_test: {n_test}" if n_test else "")
    if isinstance(n_train, int) and n_train + n_val + n_test > n:
        yield Problem(("dataset", "n_train"), f"dataset.n_train is {n_train}; with {others} "
                      f"that is {n_train + n_val + n_test} images, more than {which}; use at "
                      f"most {max(n - n_val - n_test, 0)} or lower n_val"
                      + (" or n_test" if n_test else ""))
    elif n_train is None and n_val + n_test >= n:
        key, also = ("n_test", f" with n_val: {n_val}") if n_test else ("n_val", "")
        yield Problem(("dataset", key), f"dataset.{key} is {dataset[key]}, which{also} leaves "
                      f"no training image of {which}; use at most "
                      f"{n - 1 - (n_val if n_test else 0)}")


def training_images(config: dict, schema: dict) -> tuple[int, str] | None:
    """Return how many images every run trains on and the setting that decides it (`max_train:
    2000`), or None when the config does not tell (an unknown dataset size, no max_train)."""
    dataset, max_train = _dataset(config, schema), config.get("max_train")
    pool, n_train, n_val = _pool(dataset), dataset.get("n_train"), dataset.get("n_val")
    n_test = _n_test(dataset)
    n, why = None, ""
    if pool is not None and isinstance(n_train, int):
        n, why = n_train, f"dataset.n_train: {n_train}"
    elif pool is not None and isinstance(n_val, int) and pool[0] > n_val + n_test:
        n, why = pool[0] - n_val - n_test, f"{pool[1]} less n_val: {n_val}" + (
            f" and n_test: {n_test}" if n_test else "")
    if isinstance(max_train, int) and not isinstance(max_train, bool) and (n is None or
                                                                          max_train < n):
        return max_train, f"max_train: {max_train}"
    return None if n is None else (n, why)


def _table_runs(config: dict) -> list[Candidate]:
    """Return the runs of a Table I study: the base, then one per varied value, with paths."""
    base = config.get("base")
    if not isinstance(base, dict):
        return []
    where: dict[str, ConfigPath] = {k: ("base", k) for k in base}
    runs: list[Candidate] = [(base, where)]
    for i, exp in enumerate(config.get("experiments") or []):
        vary = exp.get("vary") if isinstance(exp, dict) else None
        for knob, values in (vary.items() if isinstance(vary, dict) else ()):
            for j, value in enumerate(values if isinstance(values, list) else []):
                at = ("experiments", i, "vary", knob, j)
                runs.append(({**base, knob: value}, {**where, knob: at}))
    return runs


def batch_problems(config: dict, schema: dict) -> Iterator[Problem]:
    """Yield batch sizes larger than the training images, and those that leave a PyTorch run
    with BatchNorm a batch of one image (which it cannot train on)."""
    known = training_images(config, schema)
    if known is None:
        return
    n, why = known
    models = config.get("models")
    models = models if isinstance(models, list) else []
    runs = [(run, True) for run in _table_runs(config)] + [
        (run, models[i].get("backend", "torch") == "torch")
        for i, model_runs_ in model_runs(config).items() for run in model_runs_]
    for (hparams, where), torch in runs:
        bs, path = hparams.get("batch_size"), where.get("batch_size")
        if not isinstance(bs, int) or isinstance(bs, bool) or bs < 1 or path is None:
            continue
        said = f"{format_path(path)} is {show(bs)}"
        if bs > n:
            yield Problem(path, f"{said}, larger than the {n} training images ({why}); use at "
                                f"most {n}")
        elif torch and hparams.get("batchnorm") is True and (bs == 1 or n % bs == 1):
            bn, fix = format_path(where["batchnorm"]), next(
                (c for c in range(max(bs, 2), n + 1) if n % c != 1), None)
            left = "every batch holds" if bs == 1 else (f"the last batch of the {n} training "
                                                        f"images ({why}) holds")
            yield Problem(path, f"{said}, and with BatchNorm ({bn}) {left} one image, which "
                                f"BatchNorm cannot train on; use a batch size that leaves no "
                                f"batch of one" + (f", e.g. {fix}" if fix else ""))


def declaration_problems(dataset: dict) -> Iterator[Problem]:
    """Yield a dataset declared by neither a name nor a format, or by both, a format without
    its file or folder, and keys that only the other kind of dataset reads."""
    name, form = dataset.get("name"), dataset.get("format")
    own = "format: image_folder (with root: the folder) or format: npz (with path: the file)"
    if name is None and form is None:
        yield Problem(("dataset",), f"dataset names no dataset; give name: one of "
                                    f"{', '.join(sorted(BUILT_IN))}, or your own images with "
                                    f"{own}")
        return
    if isinstance(name, str) and form is None and name not in BUILT_IN:
        yield Problem(("dataset", "name"), unknown_name(name))
        return
    if name is not None and form is not None:
        yield Problem(("dataset", "format"), f"dataset gives both name: {name} and format: "
                      f"{form}; keep name for the built-in dataset, or format for your own "
                      f"images")
        return
    if form in OWN_FORMATS:
        key = OWN_SOURCE[form]
        if not dataset.get(key):
            what = "folder of class sub-folders" if key == "root" else ".npz file"
            yield Problem(("dataset", key), f"dataset.format is {form} but dataset.{key} is "
                          f"not set; set it to your {what}")
    own_images = "your own images (format)"
    reads = {"path": (form == "npz", "format: npz"),
             "test_root": (form == "image_folder", "format: image_folder"),
             "title": (form is not None, own_images),
             "description": (form is not None, own_images),
             "split": (name == "emnist", "name: emnist"),
             "md5": (name == "cifar10", "name: cifar10")}
    md5 = dataset.get("md5")
    if name == "cifar10" and isinstance(md5, dict) and set(md5) != set(CIFAR10_FILES):
        missing = [f for f in CIFAR10_FILES if f not in md5]
        yield Problem(("dataset", "md5"), f"dataset.md5 gives no digest for {', '.join(missing)}"
                      f"; give all seven files' (md5sum prints them), or remove md5 to check "
                      f"against the published ones")
    for key, (read, who) in reads.items():
        if key in dataset and not read:
            kind = f"format: {form}" if form else f"name: {name}"
            yield Problem(("dataset", key), f"dataset.{key} is read only with {who}, not "
                          f"with {kind}; remove it")


def own_data_problems(dataset: dict) -> Iterator[Problem]:
    """Yield every problem of the user's own images, each naming its file and the fix."""
    for key, message in own_problems(dataset):
        yield Problem(("dataset", key), f"dataset.{key}: {message}")


def root_problems(config: dict, schema: dict) -> Iterator[Problem]:
    """Yield a `dataset: root` that does not hold the dataset (no other copy stands in)."""
    dataset = _dataset(config, schema)
    problem = root_problem(dataset)
    if problem:
        root = dataset["root"]
        yield Problem(("dataset", "root"), f"dataset.root is {root!r}; {problem}")  # in full


def pooling_problems(config: dict, schema: dict) -> Iterator[Problem]:
    """Yield a convolutional run whose `blocks` halve the dataset's images to nothing."""
    try:
        shape = describe(_dataset(config, schema)).shape
    except DataError:
        return
    runs = _table_runs(config) + [run for model_runs_ in model_runs(config).values()
                                  for run in model_runs_]
    said = set()
    for hparams, where in runs:
        blocks, path = hparams.get("blocks", 2), where.get("blocks")
        if (hparams.get("model") not in ("cnn", "conv_autoencoder") or isinstance(blocks, bool)
                or not isinstance(blocks, int) or blocks < 0):
            continue
        problem = pooling_problem(blocks, shape)
        if problem and (path, blocks) not in said:
            said.add((path, blocks))
            at = path or where.get("model") or ("base",)
            yield Problem(at, f"{format_path(at)}: {problem} (the dataset's images are "
                              f"{shape[1]}x{shape[2]})")


SIZE_KNOBS = ("n1", "n2", "hidden", "channels", "dense", "bottleneck", "blocks", "batch_size")


def machine_memory_mb() -> float:
    """The memory of the machine this runs on, in MB."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e6


def _size_knob(where: dict) -> tuple[str, ConfigPath] | None:
    """The knob that sets the run's size and where: one it varies, else its first size knob."""
    knobs = [k for k in SIZE_KNOBS if k in where]
    varied = [k for k in knobs if where[k][0] != "base"]
    if not knobs:
        return None
    knob = (varied or knobs)[0]
    return knob, where[knob]


def memory_limit(config: dict) -> tuple[float, str]:
    """Return the memory a run may use, in MB, and what sets it: `memory_limit_mb`, else this
    machine's memory."""
    limit = config.get("memory_limit_mb")
    return ((limit, f"memory_limit_mb: {limit}") if isinstance(limit, int)
            else (machine_memory_mb(), "this machine's memory"))


def too_big(at: ConfigPath, value, need_mb: float, what: str, config: dict) -> Problem:
    """The problem of a run that needs `need_mb` (`what` it holds) beyond memory_limit."""
    limit, whose = memory_limit(config)
    return Problem(at, f"{format_path(at)} is {show(value)}: a run needs about "
                       f"{need_mb / 1000:.1f} GB ({what}), more than {whose} "
                       f"({limit / 1000:.1f} GB); make the model or the batch smaller, or set "
                       f"memory_limit_mb to the memory of the machine that trains (a cluster "
                       f"node's)")


def memory_problems(config: dict, schema: dict, users: bool = False) -> Iterator[Problem]:
    """Yield a run whose estimated memory (the data, its model's parameters with gradients and
    optimiser state, a batch's activations) exceeds the machine's, or `memory_limit_mb`.
    `users`: only the runs of a user's own class, sized from what its check measured (a pass
    after that check; before it they are sized by their data alone)."""
    limit, _ = memory_limit(config)
    sized = {**config, "dataset": _dataset(config, schema)}
    try:
        shape = describe(sized["dataset"]).shape
    except DataError:
        return
    models = config.get("models")
    models = models if isinstance(models, list) else []
    runs = [(run, "torch") for run in _table_runs(config)] + [
        (run, models[i].get("backend", "torch")) for i, model_runs_ in model_runs(config).items()
        for run in model_runs_]
    said = set()
    for (hparams, where), backend in runs:
        if users and not is_user_model(hparams.get("model")):
            continue
        hidden = hparams.get("hidden", [])
        if not all(isinstance(hparams.get(k, 1), int | float) and not isinstance(
                hparams.get(k, 1), bool) for k in SIZE_KNOBS if k != "hidden") or not (
                isinstance(hidden, list) and all(isinstance(n, int) for n in hidden)):
            continue  # a value the schema refuses
        need = memory_mb(sized, backend if backend in ("torch", "numpy") else "torch", 1,
                         hparams) / MEMORY_SAFETY
        # a user's class takes any knob: name the one its experiment (or search) varies
        varied = [k for k in where if {"vary", "search"} & set(where[k])] if users else []
        knob, at = ((varied[0], where[varied[0]]) if varied else _size_knob(where)
                    or ("model", where.get("model", ("base",))))
        if need > limit and at not in said:
            said.add(at)
            size = model_size(hparams, shape)
            what = (f"{size[0]:.3g} parameters with their gradients and optimiser state, and "
                    f"the activations of a batch of {hparams.get('batch_size', 256)} images"
                    if size else "its data")
            yield too_big(at, hparams.get(knob, hparams.get("model")), need, what, config)


def data_problems(config: dict, schema: dict) -> Iterator[Problem]:
    """Yield every problem of the study's data: its root, its split, its batch sizes, the
    convolution blocks its images allow."""
    declared = list(declaration_problems(_dataset(config, schema)))
    if declared:
        yield from declared
        return
    yield from own_data_problems(_dataset(config, schema))
    yield from root_problems(config, schema)
    split = list(split_problems(_dataset(config, schema)))
    yield from split
    if not split:
        yield from batch_problems(config, schema)
    yield from pooling_problems(config, schema)
    yield from memory_problems(config, schema)

