"""What the schema cannot see in a model study: model ids and `from:`, search values, the keys
every run needs, and what the from-scratch (numpy) back-end can train."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator

from nnreport.base.families import MODEL_KEYS, USER_TRAINER_KEYS, family_knobs, ignored_knobs
from nnreport.base.usercode import is_user_model
from nnreport.config.grid import candidates
from nnreport.config.messages import (
    ConfigPath,
    Problem,
    format_path,
    schema_problems,
    show,
    suggest,
)
from nnreport.models.scratch import ACTIVATIONS
from nnreport.training.scratch.train import make_optimizer

NEEDED = ("optimizer", "lr", "batch_size")  # what both trainers read without a default
# A candidate run: its hyper-parameters and where in the config each one was set.
Candidate = tuple[dict[str, Any], dict[str, ConfigPath]]


def numpy_optimizers(names: list[str]) -> list[str]:
    """Return the optimisers of `names` that the numpy back-end's make_optimizer builds."""
    out = []
    for name in names:
        try:
            make_optimizer({"optimizer": name, "lr": 1.0}, [])
            out.append(name)
        except ValueError:
            pass
    return out


def _own_candidates(model: dict, at: ConfigPath) -> list[Candidate]:
    """Return the model's own candidates (hparams plus each search change) with their paths."""
    hparams, search = model.get("hparams") or {}, model.get("search") or {}
    if not isinstance(hparams, dict) or not isinstance(search, dict) or not all(
            isinstance(v, list) for v in search.values()):
        return []  # the schema says what is wrong
    where = {k: (*at, "hparams", k) for k in hparams}
    return [({**hparams, **change},
             {**where, **{k: (*at, "search", k, search[k].index(v)) for k, v in change.items()}})
            for change in candidates(model)]


def _search_problems(model: dict, at: ConfigPath, knobs: dict) -> Iterator[Problem]:
    """Yield the search's knobs that are no hyper-parameter and values their schema refuses."""
    search = model.get("search")
    given = model.get("hparams")
    name = given.get("model", "mlp") if isinstance(given, dict) else "mlp"
    user = is_user_model(name)  # a user's class: the trainer's keys here, the others its own
    if user:
        knobs = {k: v for k, v in knobs.items() if k in USER_TRAINER_KEYS}
    # the knobs of the model's family (the schema lists every family's)
    own = [k for k in knobs if name not in MODEL_KEYS or k in family_knobs(name)]
    for knob, values in (search.items() if isinstance(search, dict) else ()):
        here = (*at, "search", knob)
        if knob not in knobs and user:
            continue  # an argument of the user's constructor: checks/usermodels.py
        if knob not in knobs:
            hint = suggest(knob, own) or "search one of those"
            yield Problem(here, f"{format_path(here)} is not a hyper-parameter; known: "
                                f"{', '.join(own)}; {hint}")
        elif isinstance(values, list) and isinstance(knobs[knob], dict):
            checker = Draft202012Validator(knobs[knob])
            for j, value in enumerate(values):
                yield from schema_problems(checker, value, (*here, j))


def numpy_problems(run: Candidate, at: ConfigPath | None, mid: Any, knobs: dict,
                   optimizers: list[str]) -> Iterator[Problem]:
    """Yield the hyper-parameters of one run of the numpy model at `at` (a model study's
    model; None for a Table I study's run) that the from-scratch back-end cannot train, each
    where the config sets it (values the schema refuses aside)."""
    hparams, where = run
    for key, why, fix in _numpy_refusals(hparams, optimizers):
        path, value = where.get(key), hparams[key]
        if path is None or not Draft202012Validator(knobs.get(key, {})).is_valid(value):
            continue
        heir = "" if at is None or path[:2] == at else (
            f", which {format_path(at)} ({mid}, backend: numpy) starts from")
        yield Problem(path, f"{format_path(path)} is {show(value)}{heir}; {why}; {fix}")


def _numpy_refusals(hparams: dict, optimizers: list[str]) -> Iterator[tuple[str, str, str]]:
    """Yield (key, why, fix) for each hyper-parameter the from-scratch back-end cannot train:
    its trainer's (the optimiser), and its MLP's (not a user's class, whose keys are its own)."""
    name = hparams.get("optimizer")
    if isinstance(name, str) and name not in optimizers:
        yield ("optimizer", f"the numpy back-end supports {', '.join(optimizers)}",
               "use one of those or backend: torch")
    elif isinstance(name, str):
        try:
            make_optimizer(hparams, [])
        except (ValueError, KeyError, TypeError) as err:  # `momentum: 1.5 must be in [0, 1)`
            key = str(err).split(":")[0].strip("'")
            if key in hparams:
                yield (key, f"the numpy back-end refuses it ({err})",
                       "change it or use backend: torch")
    if is_user_model(hparams.get("model")):
        return
    activation = hparams.get("activation")
    if activation is not None and activation not in ACTIVATIONS:
        names = ", ".join(ACTIVATIONS)
        yield ("activation", f"the numpy back-end supports {names}",
               f"use {'one of those' if len(ACTIVATIONS) > 1 else names} or backend: torch")
    if hparams.get("batchnorm") is True:
        yield ("batchnorm", "the numpy back-end has no BatchNorm",
               "use batchnorm: false or backend: torch")
    if isinstance(hparams.get("p"), int | float) and hparams["p"] > 0:
        yield ("p", "the numpy back-end has no dropout (it would train without)",
               "use p: 0.0 or backend: torch")


def family_problems(hparams: dict, where: dict[str, ConfigPath]) -> Iterator[Problem]:
    """Yield a problem for each key of one run that its model family would silently ignore
    (`n1` beside `model: cnn`), and for an even convolution kernel (a user's own class takes
    its keys as it likes: checks/usermodels.py)."""
    name = hparams.get("model", "mlp")
    if is_user_model(name):
        return
    for key in ignored_knobs(hparams):
        if key not in where:
            continue
        reads = ", ".join(sorted(MODEL_KEYS[name]))
        yield Problem(where[key], f"{format_path(where[key])} is set, but model {name!r} does not "
                                  f"read it (its own knobs: {reads}); remove it, or set the "
                                  f"model that reads it")
    kernel = hparams.get("kernel")
    if isinstance(kernel, int) and kernel % 2 == 0 and "kernel" in where:
        yield Problem(where["kernel"], f"{format_path(where['kernel'])} is {kernel}, an even size; "
                                       "use an odd one (3, 5, 7) so that a convolution keeps the "
                                       "image size")


def size_problems(hparams: dict, where: dict[str, ConfigPath]) -> Iterator[Problem]:
    """Yield a problem for `n1`/`n2` set beside `hidden` in one run: the MLP takes its hidden
    sizes from `hidden` alone and would silently ignore them (either back-end)."""
    if (hparams.get("hidden") is None or "hidden" not in where
            or is_user_model(hparams.get("model"))):
        return
    for key in ("n1", "n2"):
        if key in hparams and key in where:
            yield Problem(where[key], f"{format_path(where[key])} is {show(hparams[key])}, but "
                          f"{format_path(where['hidden'])} sets the hidden sizes, and the MLP "
                          "takes them from hidden alone (it would ignore n1 and n2); give hidden "
                          "alone, or n1 and n2 alone")


def model_runs(config: dict) -> dict[int, list[Candidate]]:
    """Return, for each model's index, every run it may train: its hyper-parameters (those of
    any candidate of the model it starts from, then its own) and where each one is set.

    A model whose `from:` names no model before it gets none: its runs are unknown."""
    models = config.get("models")
    runs: dict[int, list[Candidate]] = {}
    index: dict[Any, int] = {}  # model id -> the first model of that id
    for i, model in enumerate(models if isinstance(models, list) else []):
        if not isinstance(model, dict):
            continue
        source = model.get("from")
        if source is None or source in index:
            inherited = runs[index[source]] if source is not None else [({}, {})]
            runs[i] = [({**h0, **h1}, {**w0, **w1}) for (h0, w0), (h1, w1)
                       in itertools.product(inherited, _own_candidates(model, ("models", i)))]
        index.setdefault(model.get("id"), i)
    return runs


def model_problems(config: dict, schema: dict) -> Iterator[Problem]:
    """Yield the problems of a model study that the schema cannot see, one per config value."""
    models = config.get("models")
    if not isinstance(models, list):
        return
    knobs = schema.get("$defs", {}).get("hparams", {}).get("properties", {})
    optimizers = numpy_optimizers(list(knobs.get("optimizer", {}).get("enum", [])))
    runs = model_runs(config)
    ids: dict[Any, int] = {}
    for i, model in enumerate(models):
        at = ("models", i)
        if not isinstance(model, dict):
            continue
        mid, source = model.get("id"), model.get("from")
        if mid in ids:
            yield Problem((*at, "id"), f"{format_path(at)}.id is {mid!r}, the id of "
                                       f"models[{ids[mid]}] too; give each model its own id")
        if source is not None and source not in ids:
            known = ", ".join(map(str, ids)) or "none: it is the first model"
            yield Problem((*at, "from"), f"{format_path(at)}.from is {show(source)}, which no "
                                         f"model before it is called; models before it: {known}")
        ids.setdefault(mid, i)
        yield from _search_problems(model, at, knobs)
        for key in NEEDED:
            if any(key not in h for h, _ in runs.get(i, [])):
                yield Problem((*at, "hparams", key), f"{format_path(at)}.hparams.{key} is "
                              f"missing; add it (every model needs {', '.join(NEEDED)}, in "
                              f"hparams, its search, or the model it starts from (from:))")
        for hparams, where in runs.get(i, []):
            yield from size_problems(hparams, where)
            yield from family_problems(hparams, where)
        for run in runs.get(i, []) if model.get("backend") == "numpy" else []:
            yield from numpy_problems(run, at, mid, knobs, optimizers)
