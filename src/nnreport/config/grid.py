"""Expand a study config into its runs: a base experiment plus one-knob-at-a-time variants."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnreport.base.usercode import (
    file_digest,
    is_user_model,
    measured,
    measured_macs,
    parse_target,
)
from nnreport.config.layout import dataset_name
from nnreport.config.values import normalise_values

BASE = "base"


@dataclass(frozen=True)
class Variant:
    """One trained configuration: the base, or the base with one knob changed."""

    name: str  # "base" or "<knob>~<value>", used in paths: runs/<name>/seed<k>/
    experiment: str  # id of the experiment that declares it
    knob: str | None  # the varied hyper-parameter (None for the base)
    value: Any  # its value in this variant (None for the base)
    hparams: dict[str, Any] = field(default_factory=dict)  # full resolved hyper-parameters
    backend: str = "torch"  # "torch" or "numpy" (the from-scratch MLP)
    source: str | None = None  # a model whose selected hyper-parameters this one starts from
    overrides: dict[str, Any] = field(default_factory=dict)  # a search candidate's changes
    # the run it is compared with: the study's base, or its experiment's own base run (named
    # by the experiment's id; None for that run itself and for the study's base)
    reference: str | None = BASE


def value_token(value: Any) -> str:
    """Return the text that stands for `value` in a variant name (`0.0001`, `256`, `sgd`; a
    class of the user's, `nets/otra.py:OtraRed`, by its file and name: `otra.otrared`)."""
    target = parse_target(value)
    if target is not None:  # its file's name and its class: `otra.otrared`
        return f"{Path(target.path).stem}.{target.name}".lower()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    # a folder of its own for each run: no path separator in its name (`relu/x` -> `relu_x`)
    return str(value).lower().replace("/", "_") if isinstance(value, str) else str(value)


def variant_name(knob: str | None, value: Any) -> str:
    """Return the run identity `<knob>~<value>`, or `base` for the base run."""
    return BASE if knob is None else f"{knob}~{value_token(value)}"


def coerce_numbers(config: dict, schema: dict | str | Path | None = None) -> dict:
    """Read every value as the config schema means it, in place; return `config`.

    `64.0` and `'1e3'` where an integer is meant become 64 and 1000, `'1e-3'` (YAML 1.1 reads
    it as a string) 0.001, and the strings that `snakemake --config 'seeds=[0,1]'` hands over
    the numbers they spell (see `nnreport.config_values`). Run before expanding the grid, so
    that `n1: 64.0` is the run `n1~64`. `schema`: the project's when not given.
    """
    return normalise_values(config, schema)


def base_experiment(config: dict) -> dict:
    """Return the one experiment without `vary` or a `base` of its own (the base experiment)."""
    bases = [e for e in config["experiments"] if not e.get("vary") and not e.get("base")]
    if len(bases) != 1:
        ids = [e["id"] for e in bases]
        raise ValueError(
            f"config: experiments must contain exactly one base experiment (one without "
            f"'vary'), found {len(bases)}: {ids}; give every other experiment a 'vary' mapping"
        )
    return bases[0]


def expand_grid(config: dict) -> list[Variant]:
    """Return the study's variants in Table I order: base first, then each experiment's values.

    An experiment with a `base` of its own (another model family, e.g. a classifier on the
    study's autoencoder) has its own reference run, named by the experiment's id, and its
    values vary that run's hyper-parameters. A model study (a `models` list) gives its models'
    runs instead.
    """
    if is_model_study(config):
        return expand_models(config)
    base = dict(config["base"])
    variants = [Variant(BASE, base_experiment(config)["id"], None, None, base, reference=None)]
    seen = {BASE: "base"}
    for i, exp in enumerate(config["experiments"]):
        vary, own = exp.get("vary") or {}, exp.get("base")
        reference, ref_name = (dict(own), exp["id"]) if own else (base, BASE)
        if own:
            if exp["id"] in seen:
                raise ValueError(
                    f"config: experiments[{i}].id '{exp['id']}' names its own base run, and a "
                    f"run of that name is already declared by experiment '{seen[exp['id']]}'; "
                    f"rename the experiment")
            seen[exp["id"]] = exp["id"]
            # it holds its own value of the knob its experiment varies (none without vary)
            knob = next(iter(vary)) if len(vary) == 1 else None
            variants.append(Variant(exp["id"], exp["id"], knob,
                                    reference.get(knob) if knob else None, reference,
                                    reference=None))
        if not vary:
            continue
        if len(vary) != 1:
            raise ValueError(
                f"config: experiments[{i}].vary changes {sorted(vary)}; "
                f"vary one knob per experiment"
            )
        (knob, values), = vary.items()
        where = f"experiments[{i}].base" if own else "'base'"
        if knob not in reference:
            raise ValueError(
                f"config: experiments[{i}].vary names '{knob}', which is not a key of {where} "
                f"({', '.join(reference)}); vary one of those"
            )
        for value in values:
            name = variant_name(knob, value)
            if value == reference[knob]:
                raise ValueError(
                    f"config: experiments[{i}].vary.{knob} contains {value!r}, the "
                    f"{'value of ' + where if own else 'base value'}; the {ref_name} run "
                    f"already covers it, remove it"
                )
            if name in seen:
                raise ValueError(
                    f"config: experiments[{i}].vary.{knob} repeats {value!r} (run '{name}' is "
                    f"already declared by experiment '{seen[name]}'); remove the duplicate"
                )
            seen[name] = exp["id"]
            variants.append(Variant(name, exp["id"], knob, value, {**reference, knob: value},
                                    reference=ref_name))
    return variants


def is_model_study(config: dict) -> bool:
    """Return whether `config` declares models (M0, M1, ...) rather than Table I experiments."""
    return "models" in config


def has_test_set(config: dict) -> bool:
    """Return whether the split holds out test images: the test file (`holdout_test: true`)
    or `n_test` images drawn from the pool."""
    dataset = config.get("dataset") or {}
    return dataset.get("holdout_test") is True or bool(dataset.get("n_test"))


def candidates(model: dict) -> list[dict]:
    """Return the hyper-parameter changes of each candidate of a model's declared search."""
    search = model.get("search") or {}
    if not search:
        return [{}]
    if model.get("search_mode", "grid") == "grid":
        keys = list(search)
        return [dict(zip(keys, combo, strict=True))
                for combo in itertools.product(*(search[k] for k in keys))]
    out: list[dict] = [{}]  # one at a time: the model's own hyper-parameters, then one change each
    for knob, values in search.items():
        out += [{knob: v} for v in values if v != model.get("hparams", {}).get(knob)]
    return out


def expand_models(config: dict) -> list[Variant]:
    """Return the runs of a model study: one per model, or one per candidate of its search."""
    variants, ids = [], set()
    for i, model in enumerate(config["models"]):
        if model["id"] in ids:
            raise ValueError(f"config: models[{i}].id '{model['id']}' is used twice; give each "
                             "model its own id")
        ids.add(model["id"])
        source = model.get("from")
        if source is not None and source not in ids:
            raise ValueError(f"config: models[{i}].from names '{source}', which is not a model "
                             f"declared before it ({', '.join(sorted(ids - {model['id']}))})")
        cands = candidates(model)
        for k, change in enumerate(cands, start=1):
            name = model["id"] if len(cands) == 1 else f"{model['id']}-{k}"
            variants.append(Variant(name, model["id"], None, None,
                                    {**model.get("hparams", {}), **change},
                                    model.get("backend", "torch"), source, change))
    return variants


def variants_by_name(config: dict) -> dict[str, Variant]:
    """Return the study's variants keyed by name."""
    return {v.name: v for v in expand_grid(config)}


def run_config(config: dict, variant: str, seed: int) -> dict:
    """Return everything one training job needs, resolved: hyper-parameters, epochs, data."""
    runs = run_configs(config)
    if (variant, int(seed)) in runs:
        return runs[variant, int(seed)]
    return _run(config, variants_by_name(config)[variant], seed)  # a seed the study lacks


def run_configs(config: dict, trainer: str | None = None) -> dict[tuple[str, int], dict]:
    """Return the resolved config of every run, keyed by (variant, seed), expanding the grid
    once (run_config for each run would expand it once per run).

    A run's config is its identity (its `hash`): what its computation depends on, and the
    names of its folder (study, run). What does not change the computation stays out, so it
    retrains nothing: the id of a Table I experiment (its runs are named by their knob and
    value), and the device and tf32, which the workflow compares instead with the device a
    run's run.json says it trained on (integrity.stale_runs): `device: auto` to `cpu` on a
    machine without a GPU, or `tf32: true` for runs trained on the CPU, keep them.

    A classifier on an encoder carries the hash of the autoencoder run of its seed
    (`encoder_run`): a change to that run's config changes this one's, and retrains it.
    `trainer`: the digest of the code that trains a run (the workflow's training script and
    packages), part of each run's identity: a change to that code retrains, a touch does not.
    """
    runs = {(v.name, int(s)): _run(config, v, s, trainer) for v in expand_grid(config)
            for s in config["seeds"]}
    for (_, seed), run in runs.items():
        encoder = run["hparams"].get("encoder")
        if run["hparams"].get("model") == "encoder_classifier" and encoder is not None:
            if (encoder, seed) not in runs:
                raise ValueError(f"config: run '{run['variant']}' takes the encoder of run "
                                 f"'{encoder}', which this study does not declare")
            run["encoder_run"] = runs[encoder, seed]["hash"]
            run["hash"] = config_hash({k: v for k, v in run.items() if k != "hash"})
    return runs


def _run(config: dict, v: Variant, seed: int, trainer: str | None = None) -> dict:
    dataset = config["dataset"]
    run = {
        "study": config["study"],
        "variant": v.name,
        "seed": int(seed),
        "epochs": int(config["epochs"]),
        "dataset": dataset_name(dataset),
        "max_train": config.get("max_train"),
        "max_val": config.get("max_val"),
        "hparams": dict(sorted(v.hparams.items())),  # the order they were written in is no
        # part of a run: reordering a config's keys retrains nothing
        # a user's class says its own (backend: numpy); a model study's model says it
        "backend": v.hparams.get("backend", v.backend) if is_user_model(
            v.hparams.get("model")) else v.backend,
        "source": v.source,
        "overrides": dict(sorted(v.overrides.items())),
    }
    if is_model_study(config):  # a model's id names its runs' folders (M1, M1-2, ...)
        run["experiment"] = v.experiment
    if trainer:
        run["trainer"] = trainer
    code = user_code(v.hparams)
    if code is not None:  # a user's class: editing its file retrains exactly its runs
        run["code"] = code
    run["hash"] = config_hash(run)
    return run


def user_code(hparams: dict) -> dict | None:
    """Return the file and content hash of the user's class a run trains (`model:
    file.py:Class`), None for a built-in family (and a missing file, which the checks name)."""
    target = parse_target(hparams.get("model"))
    if target is None:
        return None
    path = Path(target.path)
    return {"file": target.path, "sha256": file_digest(path) if path.is_file() else None}


def code_digest(paths: list[Path]) -> str:
    """Return the SHA-256 of the content of `paths` (files, and the .py files below folders),
    with each file's name: the same code gives the same digest wherever it lies and whatever
    its modification time."""
    files = sorted((f for p in paths for f in ([p] if p.is_file() else p.rglob("*.py"))),
                   key=lambda f: f.as_posix())
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.name}:{f.stat().st_size}:".encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def config_hash(obj: Any) -> str:
    """Return a short stable hash of a JSON-serialisable object."""
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _mlp_sizes(hparams: dict, input_shape: tuple[int, ...], n_classes: int) -> list:
    """Return an MLP's layer widths, inputs to classes (models/mlp.py's defaults where unset)."""
    hidden = hparams.get("hidden") or [hparams.get("n1", 128), hparams.get("n2", 64)]
    return [math.prod(input_shape), *hidden, n_classes]


def _conv_blocks(hparams: dict, input_shape: tuple[int, ...]
                 ) -> tuple[int, list[tuple[int, int, int, int]], int]:
    """Return a convolutional family's kernel size, each block's (channels in, channels out,
    height, width) at its input, and the features the blocks leave (models/conv.py's defaults
    where unset), on images of `input_shape` (C, H, W)."""
    (c_in, h, w), blocks = input_shape, []
    for k in range(int(hparams.get("blocks", 2))):
        c_out = int(hparams.get("channels", 16)) * 2**k
        blocks.append((c_in, c_out, h, w))
        c_in, h, w = c_out, h // 2, w // 2
    return int(hparams.get("kernel", 3)), blocks, c_in * h * w


def _conv_macs(hparams: dict, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """Return (multiply-adds per image of the convolution blocks, features they leave) of a
    convolutional family's hyper-parameters on images of `input_shape` (C, H, W)."""
    kernel, blocks, flat = _conv_blocks(hparams, input_shape)
    return sum(h * w * kernel * kernel * c_in * c_out for c_in, c_out, h, w in blocks), flat


def model_size(hparams: dict, input_shape: tuple[int, ...] = (1, 28, 28),
               n_classes: int = 10) -> tuple[int, int] | None:
    """Return (parameters, activations per image) of a built-in family's model (the defaults
    of models/ where unset) on images of `input_shape` (C, H, W): the numbers a training run's
    memory grows with. A user's class: what its check measured (None before it is checked)."""
    model = hparams.get("model", "mlp")
    if is_user_model(model):
        found = measured(hparams)
        if "parameters" not in found or "activations" not in found:
            return None
        return int(found["parameters"]), int(found["activations"])
    if model == "mlp":
        sizes = [int(n) for n in _mlp_sizes(hparams, input_shape, n_classes)]
        params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
        # each hidden layer keeps its linear output, its activation and its dropout's
        return params, sizes[0] + 3 * sum(sizes[1:-1]) + sizes[-1]
    kernel, blocks, flat = _conv_blocks(hparams, input_shape)
    params = sum(kernel * kernel * c_in * c_out + c_out for c_in, c_out, _, _ in blocks)
    acts = math.prod(input_shape) + sum(  # each block's convolution, ReLU and pooling
        2 * h * w * c_out + (h // 2) * (w // 2) * c_out for _, c_out, h, w in blocks)
    dense = int(hparams.get("dense", 128))
    if model == "conv_autoencoder":
        code = int(hparams.get("bottleneck", 32))
        return 2 * params + 2 * flat * code, 2 * acts + code
    if model == "encoder_classifier":
        flat = 32  # the default autoencoder's code
    head = (flat * dense + dense + dense * n_classes + n_classes) if dense else (
        flat * n_classes + n_classes)
    return params + head, acts + 3 * dense + n_classes


def training_cost(hparams: dict, epochs: int, input_shape: tuple[int, ...] = (1, 28, 28),
                  n_classes: int = 10) -> float:
    """Return a run's training time in units of one forward pass of one sample through a
    784-128-64-10 MLP, for scheduling the longest runs first.

    Per sample and epoch: forward and backward are 3 passes over the weights, plus a fixed cost
    per optimiser step (measured on one CPU core: about 0.45 ms, the time of 20 M multiply-adds)
    shared by the batch. Runs that start from another model's choice (`from:`) count the
    defaults for what they do not set. A convolutional family counts its convolutions' and
    dense layers' multiply-adds (an autoencoder's decoder about as many as its encoder; a
    classifier on an encoder the default encoder's); a user's class the multiply-adds its
    check measured (the default CNN's before it is checked).
    """
    model = hparams.get("model", "mlp")
    measured = measured_macs(hparams) if is_user_model(model) else None
    if measured is not None:  # a user's class: what its check counted
        macs = measured
    elif model == "mlp":
        sizes = _mlp_sizes(hparams, input_shape, n_classes)
        macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))  # per sample
    else:
        conv, flat = _conv_macs(hparams, input_shape)
        dense = int(hparams.get("dense", 128))
        head = (flat * dense + dense * n_classes) if dense else flat * n_classes
        if model == "conv_autoencoder":
            macs = 2 * conv + 2 * flat * int(hparams.get("bottleneck", 32))
        elif model == "encoder_classifier":
            head = 32 * dense + dense * n_classes if dense else 32 * n_classes
            macs = conv + flat * 32 + head
        else:
            macs = conv + head
    per_sample = 3 * macs + 2e7 / int(hparams.get("batch_size", 256))
    return epochs * per_sample / (3 * (784 * 128 + 128 * 64 + 64 * 10))
